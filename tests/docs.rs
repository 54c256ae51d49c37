//! The docs must not drift from the code: every syllabus day has its page, every relative link
//! in the docs points at a file that exists, every `capstone <command>` they show is a command
//! the binary has, every Rust symbol they name in `code` is in the sources, and every table of
//! the saga's activity calls is the one the workflow tests assert.

mod support;

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

/// Commands the exercises ask learners to add: named in the docs, not in the binary yet.
const EXERCISE_COMMANDS: [&str; 1] = ["revoke-api-key"];

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
        if line.trim_start().starts_with("```") {
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
    for file in files {
        let text = std::fs::read_to_string(file).unwrap();
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
    let mut missing = Vec::new();
    for page in pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        for span in markdown(&text).inline {
            // `path/to/file.rs` or `path/to/file.rs:42`; not globs, variables or commands.
            let path = span.trim().split(':').next().unwrap_or_default();
            let looks_like_a_file = path.contains('/')
                && path.chars().all(|c| c.is_ascii_alphanumeric() || "_-./".contains(c))
                && path.rsplit_once('.').is_some_and(|(_, extension)| FILE_EXTENSIONS.contains(&extension));
            if !looks_like_a_file || EXERCISE_AND_SDK_FILES.contains(&path) {
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
