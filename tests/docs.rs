//! The docs must not drift from the code: every syllabus day has its page, every relative link
//! in the docs points at a file that exists, and every `capstone <command>` they show is a
//! command the binary has.

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
    process::Command,
};

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

/// README.md, every page in docs/, and the READMEs under tests/.
fn pages() -> Vec<PathBuf> {
    let mut pages = vec![repo("README.md"), repo("tests/README.md"), repo("tests/histories/README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(repo("docs"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "md"))
        .collect();
    docs.sort();
    pages.extend(docs);
    pages
}

fn subcommands() -> BTreeSet<String> {
    let output = Command::new(env!("CARGO_BIN_EXE_capstone")).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&output.stdout).into_owned();
    let commands = help.split("Commands:").nth(1).expect("a Commands section");
    commands
        .lines()
        .skip(1)
        .take_while(|line| !line.trim().is_empty())
        .filter_map(|line| line.split_whitespace().next().map(str::to_owned))
        .collect()
}

/// Commands the exercises ask learners to add: named in the docs, not in the binary yet.
const EXERCISE_COMMANDS: [&str; 1] = ["revoke-api-key"];

/// The text outside fenced blocks and `inline` code.
fn prose(text: &str) -> String {
    let mut out = String::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if !fenced {
            out.extend(line.split('`').step_by(2));
            out.push('\n');
        }
    }
    out
}

/// The targets of `[text](target)` links in the prose.
fn links(text: &str) -> Vec<String> {
    let text = prose(text);
    text.match_indices("](")
        .filter_map(|(at, _)| {
            let rest = &text[at + 2..];
            let end = rest.find(')')?;
            Some(rest[..end].trim().to_owned())
        })
        .collect()
}

/// Code: fenced blocks and `inline` spans.
fn code(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            out.push(line.to_owned());
        } else {
            out.extend(line.split('`').skip(1).step_by(2).map(str::to_owned));
        }
    }
    out
}

#[test]
fn every_syllabus_day_has_its_page() {
    let missing: Vec<String> =
        (1..=13).map(|day| format!("docs/day-{day:02}.md")).filter(|page| !repo(page).exists()).collect();
    assert!(missing.is_empty(), "days without a page: {missing:?}");
}

#[test]
fn every_relative_link_in_the_docs_points_at_a_file_that_exists() {
    let mut broken = Vec::new();
    for page in pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        for target in links(&text) {
            let path = target.split('#').next().unwrap_or_default();
            let external = ["http://", "https://", "mailto:"].iter().any(|scheme| target.starts_with(scheme));
            if path.is_empty() || external || path.contains(' ') {
                continue;
            }
            if !page.parent().unwrap().join(path).exists() {
                broken.push(format!("{}: {target}", page.strip_prefix(repo("")).unwrap_or(&page).display()));
            }
        }
    }
    assert!(broken.is_empty(), "links to files that do not exist:\n{}", broken.join("\n"));
}

#[test]
fn every_capstone_command_in_the_docs_exists() {
    let commands = subcommands();
    assert!(commands.contains("dev") && commands.contains("migrate"), "{commands:?}");
    let mut unknown = Vec::new();
    for page in pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        for snippet in code(&text) {
            // The binary as a program: `capstone api`, `target/release/capstone api`,
            // `... exec deploy/api -- capstone migrate`, `cargo run -q -- api`. Not `capstone`
            // as a name (`--context capstone`, a kind cluster, `capstone:local`).
            let tokens: Vec<&str> = snippet.split_whitespace().collect();
            for (at, token) in tokens.iter().enumerate() {
                let program = *token == "capstone" || token.ends_with("/capstone");
                let cargo_run =
                    *token == "--" && at >= 2 && tokens[..at].contains(&"run") && tokens[..at].contains(&"cargo");
                let previous = at.checked_sub(1).map(|before| tokens[before]);
                let at_command_position = previous.is_none_or(|before| {
                    ["$", "--", "&&", "||", "|", ";", "exec", "sudo"].contains(&before) || before.contains('=')
                });
                if !((program && at_command_position) || cargo_run) {
                    continue;
                }
                let Some(next) = tokens.get(at + 1) else { continue };
                if !next.chars().next().is_some_and(|c| c.is_ascii_lowercase()) {
                    continue; // a flag, `<role>`, `$ROLE`
                }
                let word = next.trim_end_matches(|c: char| !(c.is_ascii_alphanumeric() || c == '-'));
                if !commands.contains(word) && !EXERCISE_COMMANDS.contains(&word) {
                    unknown
                        .push(format!("{}: capstone {word}", page.strip_prefix(repo("")).unwrap_or(&page).display()));
                }
            }
        }
    }
    unknown.sort();
    unknown.dedup();
    assert!(unknown.is_empty(), "commands the binary does not have:\n{}", unknown.join("\n"));
}
