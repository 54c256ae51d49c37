//! The docs must not drift from the code: every syllabus day has its page, every relative link
//! in the docs points at a file that exists and every `#anchor` at a heading of its page, no
//! page tells the project's history instead of the lesson, every `capstone <command>` they show is a command
//! the binary has, every Rust symbol they name in `code` is in the sources, every table of
//! the saga's activity calls is the one the workflow tests assert, and every `cargo test`
//! command they show selects tests that exist.

use crate::support;

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
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
    capstone::cli::subcommand_names().into_iter().chain(["help".to_owned()]).collect()
}

/// What the reference solutions (`solutions/day-NN.patch`) add: the pages may name what an
/// exercise asks learners to build (a command, a type, a file) once its solution builds it.
struct Solutions {
    /// The added lines of every patch.
    added: String,
    /// The files the patches create or change.
    files: BTreeSet<String>,
}

fn solutions() -> Solutions {
    let mut solutions = Solutions { added: String::new(), files: BTreeSet::new() };
    for entry in std::fs::read_dir(repo("solutions")).expect("solutions/ exists") {
        let patch = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for line in patch.lines() {
            if let Some(file) = line.strip_prefix("+++ b/") {
                solutions.files.insert(file.to_owned());
            } else if let Some(added) = line.strip_prefix('+') {
                solutions.added.push_str(added);
                solutions.added.push('\n');
            }
        }
    }
    solutions
}

/// `revoke-api-key` is a command a solution adds when it adds the variant `RevokeApiKey` to
/// the binary's `Command`.
fn added_by_a_solution(command: &str, solutions: &Solutions) -> bool {
    let variant: String = command
        .split('-')
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map(|first| first.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
        })
        .collect();
    solutions.added.contains(&format!("Command::{variant}("))
}

/// A page, split into what the checks read: the prose (outside fenced blocks and `inline`
/// code), the lines of its fenced blocks, and its `inline` code spans.
struct Markdown {
    prose: String,
    fenced: Vec<String>,
    inline: Vec<String>,
}

fn markdown(text: &str) -> Markdown {
    let mut page = Markdown { prose: String::new(), fenced: Vec::new(), inline: Vec::new() };
    let mut in_fence = false;
    let mut block: Vec<&str> = Vec::new();
    for line in text.lines() {
        if is_fence(line) {
            if in_fence {
                page.fenced.extend(commands_of_block(&block));
                block.clear();
            }
            in_fence = !in_fence;
        } else if in_fence {
            block.push(line);
        } else {
            page.prose.extend(line.split('`').step_by(2));
            page.prose.push('\n');
            page.inline.extend(line.split('`').skip(1).step_by(2).map(str::to_owned));
        }
    }
    page
}

/// The lines of a fenced block that are code. In a transcript (some line starts with `$ `),
/// only the prompted lines and their `\` continuations: the rest is what the commands printed.
fn commands_of_block(block: &[&str]) -> Vec<String> {
    if !block.iter().any(|line| line.trim_start().starts_with("$ ")) {
        return block.iter().map(|line| (*line).to_owned()).collect();
    }
    let mut lines = Vec::new();
    let mut continued = false;
    for line in block {
        if line.trim_start().starts_with("$ ") || continued {
            lines.push((*line).to_owned());
            continued = line.trim_end().ends_with('\\');
        }
    }
    lines
}

/// The targets of `[text](target)` links in the prose.
fn links(text: &str) -> Vec<String> {
    let text = markdown(text).prose;
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
    let Markdown { fenced, inline, .. } = markdown(text);
    fenced.into_iter().chain(inline).collect()
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

/// GitHub's anchor of a heading: lower case, punctuation dropped (but `-` and `_`), spaces
/// as `-`.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The anchors of a page's headings (outside fenced code), with GitHub's `-1`, `-2` for repeats.
fn anchors(text: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut in_fence = false;
    for line in text.lines() {
        if is_fence(line) {
            in_fence = !in_fence;
            continue;
        }
        let Some(heading) = line.strip_prefix('#') else { continue };
        if in_fence {
            continue;
        }
        let base = slug(heading.trim_start_matches('#'));
        let mut anchor = base.clone();
        let mut repeat = 0;
        while seen.contains(&anchor) {
            repeat += 1;
            anchor = format!("{base}-{repeat}");
        }
        seen.insert(anchor);
    }
    seen
}

/// A line that opens or closes a fenced block, also as a list item's first line (`3. ```sh`).
fn is_fence(line: &str) -> bool {
    let line = line.trim_start();
    let line = line.strip_prefix("- ").or_else(|| line.strip_prefix("* ")).unwrap_or(line);
    let line = match line.split_once(". ") {
        Some((number, rest)) if !number.is_empty() && number.chars().all(|c| c.is_ascii_digit()) => rest,
        _ => line,
    };
    line.starts_with("```")
}

/// `page: link` for every link whose `#anchor` names no heading of the page it points at.
fn broken_anchors(page: &Path, text: &str) -> Vec<String> {
    let mut broken = Vec::new();
    for target in links(text) {
        let Some((path, anchor)) = target.split_once('#') else { continue };
        let external = ["http://", "https://", "mailto:"].iter().any(|scheme| target.starts_with(scheme));
        if external || anchor.is_empty() || !(path.is_empty() || path.ends_with(".md")) {
            continue;
        }
        let target_text = if path.is_empty() {
            text.to_owned()
        } else {
            match std::fs::read_to_string(page.parent().unwrap().join(path)) {
                Ok(text) => text,
                Err(_) => continue, // the file check reports it
            }
        };
        if !anchors(&target_text).contains(anchor) {
            broken.push(format!("{}: {target}", page.strip_prefix(repo("")).unwrap_or(page).display()));
        }
    }
    broken
}

#[test]
fn every_anchor_in_the_docs_names_a_heading() {
    let broken: Vec<String> =
        pages().iter().flat_map(|page| broken_anchors(page, &std::fs::read_to_string(page).unwrap())).collect();
    assert!(broken.is_empty(), "links to headings that do not exist:\n{}", broken.join("\n"));
}

#[test]
fn the_anchor_check_finds_a_heading_that_is_not_there() {
    let page = repo("docs/day-01.md");
    let text = "# Day 1: `capstone` (one)\n\n## Run it\n\n```\n# not a heading\n```\n\n## Run it\n\n\
                3. ```sh\n   # nor this\n   ```\n\n\
                [ok](#day-1-capstone-one) [ok](#run-it) [ok](#run-it-1) [gone](#not-a-heading) [gone](#nor-this) \
                [gone](#walk-it)";
    assert_eq!(
        broken_anchors(&page, text),
        ["docs/day-01.md: #not-a-heading", "docs/day-01.md: #nor-this", "docs/day-01.md: #walk-it"]
    );
}

/// `(N tests)` on a line that links one test file (`../tests/NAME.rs`): N must be that file's
/// number of tests, counted, not typed.
fn test_count_problems(text: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for line in text.lines() {
        let files: Vec<&str> = line
            .match_indices("(../tests/")
            .filter_map(|(at, _)| line[at + 1..].split(')').next())
            .filter(|target| target.ends_with(".rs"))
            .collect();
        let Some((before, _)) = line.split_once(" tests)") else { continue };
        let Some(claimed) = before.rsplit('(').next().and_then(|n| n.trim().parse::<usize>().ok()) else { continue };
        let [file] = files.as_slice() else { continue };
        let source = std::fs::read_to_string(repo("docs").join(file)).unwrap_or_default();
        let counted = source
            .lines()
            .filter(|line| {
                let line = line.trim_start();
                line.starts_with("#[test]") || line.starts_with("#[tokio::test")
            })
            .count();
        if counted != claimed {
            problems.push(format!("{file}: the page says {claimed} tests, the file has {counted}"));
        }
    }
    problems
}

#[test]
fn every_test_count_in_the_docs_is_the_file_s() {
    let problems: Vec<String> =
        pages().iter().flat_map(|page| test_count_problems(&std::fs::read_to_string(page).unwrap())).collect();
    assert!(problems.is_empty(), "typed test counts that drifted:\n{}", problems.join("\n"));
}

#[test]
fn a_drifted_test_count_is_noticed() {
    let line = "| activity | [`activities.rs`](../tests/activities.rs) | ... | under 1 s (99 tests) |";
    assert_eq!(test_count_problems(line).len(), 1);
}

/// Phrases that tell how the project came to be rather than what the reader is learning.
const HISTORY_PHRASES: [&str; 6] =
    ["later issue", "where this was written", "this issue", "previous session", "the first wave", "the second wave"];

fn history_phrases(text: &str) -> Vec<String> {
    let lower = text.to_lowercase();
    let mut found: Vec<String> =
        HISTORY_PHRASES.iter().filter(|phrase| lower.contains(*phrase)).map(|phrase| phrase.to_string()).collect();
    // "issue 7": our own issue numbers (an upstream project's issues are links, `#1234`).
    let words: Vec<&str> = lower.split_whitespace().collect();
    for pair in words.windows(2) {
        if pair[0] == "issue" && pair[1].trim_end_matches(|c: char| !c.is_ascii_digit()).parse::<u32>().is_ok() {
            found.push(format!("{} {}", pair[0], pair[1]));
        }
    }
    found
}

#[test]
fn no_page_tells_the_project_s_history_instead_of_the_lesson() {
    let mut found = Vec::new();
    for page in pages() {
        for phrase in history_phrases(&std::fs::read_to_string(&page).unwrap()) {
            found.push(format!("{}: {phrase:?}", page.strip_prefix(repo("")).unwrap_or(&page).display()));
        }
    }
    assert!(found.is_empty(), "phrases about the project's history, not the lesson:\n{}", found.join("\n"));
}

#[test]
fn the_history_check_finds_an_issue_number_and_a_phrase() {
    assert_eq!(history_phrases("As issue 7 asked, a later issue adds it."), ["later issue", "issue 7"]);
    assert!(history_phrases("The issue is that a retry repeats the step (sdk-core #1234).").is_empty());
}

#[test]
fn every_capstone_command_in_the_docs_exists() {
    let commands = subcommands();
    assert!(commands.contains("dev") && commands.contains("migrate"), "{commands:?}");
    let solutions = solutions();
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
                if !commands.contains(word) && !added_by_a_solution(word, &solutions) {
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

/// Symbols the exercises ask learners to create (docs/day-13.md's project options).
const EXERCISE_SYMBOLS: [&str; 5] =
    ["ReturnWorkflow", "ReturnStatus", "RestockWorkflow", "StockWatchWorkflow", "LoyaltyWorkflow"];
/// Names the docs use that are not ours: SDK span names and methods, PromQL.
const EXTERNAL_NAMES: [&str; 6] = ["RunWorkflow", "StartWorkflow", "cause", "type_name", "is_non_retryable", "rate"];
/// Type names we coin end like this; other CamelCase words in the docs are Temporal's
/// (event types), Kubernetes' or the alerts', and are not checked.
const OUR_TYPE_SUFFIXES: [&str; 16] = [
    "Workflow",
    "Activities",
    "Input",
    "Settings",
    "Policy",
    "Snapshot",
    "View",
    "Request",
    "Decision",
    "Tuning",
    "Config",
    "Codec",
    "Progress",
    "Status",
    "State",
    "Template",
];
const OUR_CRATES: [&str; 4] = ["capstone", "capstone_workflows", "capstone_activities", "crate"];

/// What our Rust sources declare, and their whole text (for names that are strings there,
/// such as a tracing target or a failure type).
struct Sources {
    /// Modules, types, traits, functions, constants.
    items: BTreeSet<String>,
    /// `items` plus enum variants and struct fields.
    names: BTreeSet<String>,
    text: String,
}

fn is_identifier(word: &str) -> bool {
    word.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && word.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn sources() -> Sources {
    let mut files = Vec::new();
    for dir in ["workflows", "activities", "services", "tests"] {
        files_under(&repo(dir), &mut files);
    }
    files.retain(|file| file.extension().is_some_and(|extension| extension == "rs"));
    let mut sources = Sources { items: BTreeSet::new(), names: BTreeSet::new(), text: String::new() };
    // Not this file: its own test names misspelt symbols on purpose.
    files.retain(|file| !file.ends_with("tests/docs.rs"));
    // What the solutions add counts as declared: an exercise's page names it before the
    // learner has written it.
    let texts = files.into_iter().map(|file| std::fs::read_to_string(file).unwrap()).chain([solutions().added]);
    for text in texts {
        let words: Vec<&str> =
            text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).filter(|w| !w.is_empty()).collect();
        for pair in words.windows(2) {
            if ["fn", "struct", "enum", "trait", "type", "const", "static", "mod"].contains(&pair[0]) {
                sources.items.insert(pair[1].to_owned());
            }
        }
        // Enum variants and struct fields: a line that starts with a name and goes on with
        // `,`, `(`, `{`, `:` or `=`.
        for line in text.lines() {
            let line = line.trim_start();
            let line = ["pub(crate) ", "pub(super) ", "pub "].iter().find_map(|p| line.strip_prefix(p)).unwrap_or(line);
            let name: String = line.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            let rest = line[name.len()..].trim_start();
            if is_identifier(&name) && [",", "(", "{", ":", "="].iter().any(|p| rest.starts_with(p)) {
                sources.names.insert(name);
            }
        }
        sources.text.push_str(&text);
    }
    sources.names.extend(sources.items.iter().cloned());
    sources
}

/// The Rust symbols in `text`'s inline code that our sources do not have.
fn unknown_symbols(text: &str, sources: &Sources) -> Vec<String> {
    let mut unknown = Vec::new();
    for span in markdown(text).inline {
        let symbol = span.trim().trim_end_matches("()").trim_end_matches('!');
        let segments: Vec<&str> = symbol.split("::").collect();
        if !segments.iter().all(|segment| is_identifier(segment)) {
            continue;
        }
        let checked: &[&str] = if segments.len() > 1 {
            if OUR_CRATES.contains(&segments[0]) {
                &segments[1..]
            } else if sources.items.contains(segments[0]) {
                &segments
            } else {
                continue; // another crate's path
            }
        } else if span.trim().ends_with("()") {
            &segments
        } else {
            let ours = symbol.starts_with(|c: char| c.is_ascii_uppercase())
                && OUR_TYPE_SUFFIXES.iter().any(|suffix| symbol.len() > suffix.len() && symbol.ends_with(suffix));
            if !ours {
                continue;
            }
            &segments
        };
        let known = checked.iter().all(|segment| sources.names.contains(*segment))
            || sources.text.contains(symbol)
            || EXERCISE_SYMBOLS.contains(&symbol)
            || EXTERNAL_NAMES.contains(&symbol);
        if !known {
            unknown.push(span.trim().to_owned());
        }
    }
    unknown
}

#[test]
fn the_symbol_check_finds_a_misspelt_name() {
    let sources = sources();
    let text = "`OrderWorkflow::status` and `OrderWorkflow::statuz`, `charge_payment_twice()`, \
                `OrderTimelineView`, `capstone::shop::Shop`, `std::time::Instant` (not ours)";
    assert_eq!(
        unknown_symbols(text, &sources),
        ["OrderWorkflow::statuz", "charge_payment_twice()", "OrderTimelineView"]
    );
}

#[test]
fn every_rust_symbol_in_the_docs_exists() {
    let sources = sources();
    let mut unknown = Vec::new();
    for page in pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        for symbol in unknown_symbols(&text, &sources) {
            unknown.push(format!("{}: `{symbol}`", page.strip_prefix(repo("")).unwrap_or(&page).display()));
        }
    }
    unknown.sort();
    unknown.dedup();
    assert!(
        unknown.is_empty(),
        "symbols the sources do not have (renamed? add exercise names to EXERCISE_SYMBOLS):\n{}",
        unknown.join("\n")
    );
}

/// Files the exercises ask learners to create (docs/day-13.md), and the SDK's own files.
const EXERCISE_AND_SDK_FILES: [&str; 7] = [
    "tests/returns.rs",
    "tests/histories/return-completed.json",
    "deploy/k8s/base/supplier.yaml",
    "tests/restock.rs",
    "tests/loyalty.rs",
    "tests/failover.rs",
    "telemetry/prometheus_meter.rs",
];
const FILE_EXTENSIONS: [&str; 12] = ["rs", "md", "yml", "yaml", "json", "sh", "sql", "toml", "html", "js", "css", "py"];

/// Every file under `dir`, hidden ones and `target` left out.
fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy();
        if name.starts_with('.') || name == "target" {
            continue;
        }
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

#[test]
fn every_file_named_in_the_docs_code_exists() {
    let mut paths = Vec::new();
    files_under(&repo(""), &mut paths);
    let files: Vec<String> =
        paths.iter().map(|path| path.strip_prefix(repo("")).unwrap().to_string_lossy().replace('\\', "/")).collect();
    let solutions = solutions();
    let mut missing = Vec::new();
    for page in pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        for span in markdown(&text).inline {
            // `path/to/file.rs` or `path/to/file.rs:42`; not globs, variables or commands.
            let path = span.trim().split(':').next().unwrap_or_default();
            let looks_like_a_file = path.contains('/')
                && path.chars().all(|c| c.is_ascii_alphanumeric() || "_-./".contains(c))
                && path.rsplit_once('.').is_some_and(|(_, extension)| FILE_EXTENSIONS.contains(&extension));
            if !looks_like_a_file || EXERCISE_AND_SDK_FILES.contains(&path) || solutions.files.contains(path) {
                continue;
            }
            // From the root, from the page, or a crate-relative path (`order/steps.rs`).
            let exists = repo(path).exists()
                || page.parent().unwrap().join(path).exists()
                || files.iter().any(|file| file.ends_with(&format!("/{path}")));
            if !exists {
                missing.push(format!("{}: `{path}`", page.strip_prefix(repo("")).unwrap_or(&page).display()));
            }
        }
    }
    assert!(missing.is_empty(), "files named in the docs that do not exist:\n{}", missing.join("\n"));
}

#[test]
fn every_day_page_has_its_parts() {
    let mut missing = Vec::new();
    for day in 1..=13 {
        let page = format!("docs/day-{day:02}.md");
        let text = std::fs::read_to_string(repo(&page)).unwrap();
        let headings: Vec<&str> = text.lines().filter(|line| line.starts_with('#')).map(str::trim).collect();
        let parts: &[&str] = if day == 13 {
            &["## The review checklist", "## Production tips", "## The web console"]
        } else {
            &["## Break it", "## Exercise", "### Acceptance criteria"]
        };
        for part in parts {
            if !headings.contains(part) {
                missing.push(format!("{page}: no `{part}` heading"));
            }
        }
        for what in ["Web UI", "Grafana"] {
            if !text.contains(what) {
                missing.push(format!("{page}: says nothing of the {what}"));
            }
        }
    }
    assert!(missing.is_empty(), "day pages without their parts:\n{}", missing.join("\n"));
}

const CALL_TABLE_START: &str = "<!-- call-lists -->";
const CALL_TABLE_END: &str = "<!-- /call-lists -->";

/// The tables of activity calls in `text`: what stands between a line that is exactly
/// `CALL_TABLE_START` and the next line that is exactly `CALL_TABLE_END`.
fn call_tables(text: &str) -> Vec<String> {
    let mut tables = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        match (line.trim(), current.as_mut()) {
            (CALL_TABLE_START, None) => current = Some(String::new()),
            (CALL_TABLE_END, Some(_)) => tables.extend(current.take()),
            (_, Some(table)) => {
                table.push_str(line);
                table.push('\n');
            }
            _ => {}
        }
    }
    tables
}

/// How `text`'s tables of activity calls differ from `support::call_lists` (none: nothing).
fn call_table_problems(text: &str) -> Vec<String> {
    let expected = support::call_lists::markdown_table();
    call_tables(text)
        .into_iter()
        .filter(|shown| shown.trim() != expected.trim())
        .map(|shown| format!("the table is:\n{}\nit should be:\n{expected}", shown.trim()))
        .collect()
}

#[test]
fn every_table_of_activity_calls_is_the_one_the_tests_assert() {
    let mut problems = Vec::new();
    let mut tables = 0;
    for page in pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        tables += call_tables(&text).len();
        problems.extend(call_table_problems(&text).into_iter().map(|problem| format!("{}: {problem}", page.display())));
    }
    assert!(problems.is_empty(), "tables of calls drifted from tests/support/call_lists.rs:\n{}", problems.join("\n"));
    assert!(tables >= 2, "days 7 and 11 show the table of calls ({tables} found)");
}

#[test]
fn a_drifted_table_of_calls_is_noticed() {
    let table = support::call_lists::markdown_table();
    let page = |table: &str| format!("text\n{CALL_TABLE_START}\n{table}{CALL_TABLE_END}\nmore");
    assert!(call_table_problems(&page(&table)).is_empty());
    let drifted = table.replacen("refund, release", "release, refund", 1);
    assert_ne!(drifted, table);
    assert_eq!(call_table_problems(&page(&drifted)).len(), 1);
}

#[test]
fn every_environment_variable_of_the_binary_is_in_the_configuration_table() {
    let table = std::fs::read_to_string(repo("docs/architecture.md")).unwrap();
    let variables = capstone::cli::environment_variables();
    assert!(variables.len() > 40, "the variables come from clap: {variables:?}");
    let missing: Vec<&String> = variables.iter().filter(|variable| !table.contains(&format!("`{variable}`"))).collect();
    assert!(missing.is_empty(), "environment variables missing from docs/architecture.md's configuration: {missing:?}");
}

/// A day page's core (its opening, before the first `## `, and the `## ` sections its
/// table's `core` row links to) is a lesson of about 1,500 words of prose at most; detail
/// belongs to the deep dive. Code, tables and pictures do not count.
const CORE_PROSE_WORDS: usize = 1_550;

/// The prose words of a page's core.
fn core_prose_words(text: &str) -> usize {
    let core_row = text.lines().find(|line| line.starts_with("| core |")).unwrap_or_default();
    let core: BTreeSet<String> =
        core_row.split("](#").skip(1).filter_map(|rest| rest.split(')').next()).map(str::to_owned).collect();
    let mut words = 0;
    let mut in_core = true; // the opening counts
    let mut in_fence = false;
    for line in text.lines() {
        if is_fence(line) {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        if let Some(heading) = line.strip_prefix("## ") {
            in_core = core.contains(&slug(heading));
            continue;
        }
        let trimmed = line.trim_start();
        if in_core && !trimmed.starts_with('|') && !trimmed.starts_with("![") {
            words += line.split_whitespace().count();
        }
    }
    words
}

#[test]
fn every_day_page_s_core_is_short_enough_to_teach_from() {
    let mut long = Vec::new();
    for page in pages().into_iter().filter(|page| page.to_string_lossy().contains("/docs/day-")) {
        let text = std::fs::read_to_string(&page).unwrap();
        let words = core_prose_words(&text);
        assert!(words > 300, "{}: a core row that names its sections ({words} words)", page.display());
        if words > CORE_PROSE_WORDS {
            long.push(format!("{}: {words} words", page.strip_prefix(repo("")).unwrap_or(&page).display()));
        }
    }
    assert!(
        long.is_empty(),
        "cores longer than {CORE_PROSE_WORDS} words of prose (move detail to the deep dive):\n{}",
        long.join("\n")
    );
}

#[test]
fn a_core_that_grew_is_noticed() {
    let page = "| core | [Idea](#idea) |\n|---|\n\nOpening words.\n\n## Idea\n\n".to_owned();
    let short = core_prose_words(&page);
    let long = format!("{page}{}\n\n```\nnot counted\n```\n\n## Later\n\nnot counted either\n", "word ".repeat(2_000));
    assert_eq!(short, 2, "the opening counts, the table does not");
    assert_eq!(core_prose_words(&long), 2_002, "a core section counts; code and other sections do not");
}

/// docs/performance.md shows the benchmark's targets as `capstone bench` judges them.
#[test]
fn every_benchmark_target_is_the_one_performance_md_shows() {
    let page = std::fs::read_to_string(repo("docs/performance.md")).unwrap();
    for target in capstone::bench::targets::ALL {
        let cell = format!("| {} |", target.label());
        assert!(page.contains(&cell), "docs/performance.md shows no target `{cell}` ({})", target.figure);
    }
}

/// The `capstone` crate's test binaries (`[[test]]` names in services/Cargo.toml) and the
/// files of the integration binary (`mod NAME;` in tests/integration.rs).
struct TestTargets {
    binaries: BTreeSet<String>,
    integration_files: BTreeSet<String>,
}

fn test_targets() -> TestTargets {
    let manifest = std::fs::read_to_string(repo("services/Cargo.toml")).unwrap();
    let mut binaries = BTreeSet::new();
    let mut in_test = false;
    for line in manifest.lines() {
        if line.starts_with('[') {
            in_test = line == "[[test]]";
        } else if let Some(name) = line.strip_prefix("name = ").filter(|_| in_test) {
            binaries.insert(name.trim_matches('"').to_owned());
        }
    }
    let root = std::fs::read_to_string(repo("tests/integration.rs")).unwrap();
    let integration_files = root
        .lines()
        .filter_map(|line| line.strip_prefix("mod ")?.strip_suffix(';'))
        .filter(|module| *module != "support")
        .map(str::to_owned)
        .collect();
    TestTargets { binaries, integration_files }
}

/// What is wrong with the `cargo test` commands in `text`: a `--test` naming no test binary,
/// or, for the integration binary, a `file::` filter naming no file of it, or a `file::name`
/// that starts the name of no function in that file. `read_file` gives a test file's source.
fn cargo_test_problems(text: &str, targets: &TestTargets, read_file: &dyn Fn(&str) -> String) -> Vec<String> {
    let mut problems = Vec::new();
    for snippet in code(text) {
        let Some((_, command)) = snippet.split_once("cargo test") else { continue };
        let tokens: Vec<&str> = command.split_whitespace().collect();
        // `FILE`, `<feature>`: a placeholder the reader fills in.
        let placeholder = |name: &str| name.contains(|c: char| c.is_ascii_uppercase() || c == '<');
        for pair in tokens.windows(2).filter(|pair| pair[0] == "--test" && !placeholder(pair[1])) {
            if !targets.binaries.contains(pair[1]) {
                problems.push(format!("`--test {}`: no such test binary", pair[1]));
            }
        }
        if !tokens.windows(2).any(|pair| pair == ["--test", "integration"]) {
            continue;
        }
        for (file, name) in tokens.iter().filter_map(|token| token.split_once("::")) {
            if placeholder(file) {
                continue;
            }
            if !targets.integration_files.contains(file) {
                problems.push(format!("`{file}::{name}`: tests/integration.rs has no `mod {file};`"));
            } else if !name.is_empty() && !read_file(file).contains(&format!("fn {name}")) {
                problems.push(format!("`{file}::{name}`: no function of tests/{file}.rs starts so"));
            }
        }
    }
    problems
}

#[test]
fn every_cargo_test_command_in_the_docs_names_tests_that_exist() {
    let targets = test_targets();
    assert!(targets.binaries.contains("integration") && targets.integration_files.contains("replay"));
    let read_file = |file: &str| std::fs::read_to_string(repo(&format!("tests/{file}.rs"))).unwrap();
    let mut problems = Vec::new();
    for page in pages() {
        for problem in cargo_test_problems(&std::fs::read_to_string(&page).unwrap(), &targets, &read_file) {
            problems.push(format!("{}: {problem}", page.strip_prefix(repo("")).unwrap_or(&page).display()));
        }
    }
    assert!(problems.is_empty(), "test commands in the docs that run nothing:\n{}", problems.join("\n"));
}

#[test]
fn the_test_command_check_finds_a_gone_binary_a_gone_file_and_a_misspelt_test() {
    let targets = test_targets();
    let read_file = |_: &str| "async fn a_placed_order_completes() {}".to_owned();
    let text = "Run `cargo test -p capstone --test replay`, then\n\
                `cargo test -p capstone --test integration -- order_saga::a_placed replays::`, and\n\
                `cargo test -p capstone --test integration order_saga::a_placed_ordr`.";
    assert_eq!(
        cargo_test_problems(text, &targets, &read_file),
        [
            "`--test replay`: no such test binary",
            "`replays::`: tests/integration.rs has no `mod replays;`",
            "`order_saga::a_placed_ordr`: no function of tests/order_saga.rs starts so",
        ]
    );
}
