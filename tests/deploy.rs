//! Day 12, deployment: docker-compose.yml and deploy/k8s must not drift from the binary. Every
//! container that runs the `capstone` image must name a real subcommand, set only environment
//! variables some role reads (as its `--help` lists them), and expose only ports the roles
//! listen on. The files themselves are checked against their schemas by scripts/check-deploy.sh.

use serde_yaml::Value;
use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
    process::Command,
};

const CAPSTONE: &str = env!("CARGO_BIN_EXE_capstone");

/// Read by the binary without a flag (OpenTelemetry's own variables, the log filter).
const ALSO_READ: [&str; 3] = ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_SERVICE_NAME", "RUST_LOG"];

/// The ports the roles listen on: the five services and the two workers' /metrics.
const PORTS: [u64; 7] = [8080, 8081, 8082, 8083, 8084, 9091, 9092];

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

fn help(args: &[&str]) -> String {
    let output = Command::new(CAPSTONE).args(args).arg("--help").output().unwrap();
    assert!(output.status.success());
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The subcommands `capstone --help` lists.
fn roles() -> BTreeSet<String> {
    capstone::cli::subcommand_names().into_iter().collect()
}

/// Every `[env: NAME=...]` of every role's `--help`.
fn env_vars(roles: &BTreeSet<String>) -> BTreeSet<String> {
    let mut names: BTreeSet<String> = ALSO_READ.iter().map(|name| name.to_string()).collect();
    for role in roles {
        for part in help(&[role]).split("[env: ").skip(1) {
            let name: String =
                part.chars().take_while(|c| c.is_ascii_uppercase() || *c == '_' || c.is_ascii_digit()).collect();
            names.insert(name);
        }
    }
    names
}

/// Every YAML document in `path` (a file, or a folder searched recursively), merge keys applied.
fn documents(path: &Path) -> Vec<(PathBuf, Value)> {
    let mut out = Vec::new();
    if path.is_dir() {
        let mut entries: Vec<_> = std::fs::read_dir(path).unwrap().map(|entry| entry.unwrap().path()).collect();
        entries.sort();
        for entry in entries {
            out.extend(documents(&entry));
        }
    } else if path.extension().is_some_and(|extension| extension == "yaml" || extension == "yml") {
        let text = std::fs::read_to_string(path).unwrap();
        for document in serde_yaml::Deserializer::from_str(&text) {
            let mut value = Value::deserialize(document).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
            value.apply_merge().unwrap();
            out.push((path.to_owned(), value));
        }
    }
    out
}

use serde::Deserialize;

/// Strings in a `command`/`args` value (a list, or one shell-like string).
fn words(value: &Value) -> Vec<String> {
    match value {
        Value::String(text) => text.split_whitespace().map(str::to_owned).collect(),
        Value::Sequence(items) => items.iter().filter_map(|item| item.as_str().map(str::to_owned)).collect(),
        _ => Vec::new(),
    }
}

struct Checked {
    problems: Vec<String>,
    containers: usize,
}

impl Checked {
    fn role(&mut self, place: &str, args: &[String], roles: &BTreeSet<String>) {
        match args.first() {
            Some(role) if roles.contains(role) => {}
            other => self.problems.push(format!("{place}: {other:?} is not a capstone subcommand")),
        }
    }

    fn env(&mut self, place: &str, name: &str, known: &BTreeSet<String>) {
        if !known.contains(name) {
            self.problems.push(format!("{place}: the binary reads no {name}"));
        }
    }

    fn port(&mut self, place: &str, port: u64) {
        if !PORTS.contains(&port) {
            self.problems.push(format!("{place}: no role listens on {port}"));
        }
    }
}

fn is_capstone_image(image: Option<&str>) -> bool {
    image.is_some_and(|image| image.split(':').next().unwrap_or_default().ends_with("capstone"))
}

/// A Kubernetes container running the capstone image.
fn check_container(
    container: &Value,
    place: &str,
    roles: &BTreeSet<String>,
    known: &BTreeSet<String>,
    checked: &mut Checked,
) {
    if !is_capstone_image(container["image"].as_str()) {
        return;
    }
    checked.containers += 1;
    let mut args = words(&container["command"]);
    if args.first().is_some_and(|first| first.ends_with("capstone")) {
        args.remove(0);
    }
    args.extend(words(&container["args"]));
    checked.role(place, &args, roles);
    for variable in container["env"].as_sequence().into_iter().flatten() {
        checked.env(place, variable["name"].as_str().unwrap_or_default(), known);
    }
    for port in container["ports"].as_sequence().into_iter().flatten() {
        checked.port(place, port["containerPort"].as_u64().unwrap_or_default());
    }
}

/// Walks any Kubernetes object for containers (Deployments, Jobs, StatefulSets, CronJobs).
fn walk(value: &Value, place: &str, roles: &BTreeSet<String>, known: &BTreeSet<String>, checked: &mut Checked) {
    match value {
        Value::Mapping(map) => {
            for (key, child) in map {
                if matches!(key.as_str(), Some("containers" | "initContainers")) {
                    for container in child.as_sequence().into_iter().flatten() {
                        let name = container["name"].as_str().unwrap_or("?");
                        check_container(container, &format!("{place} container {name}"), roles, known, checked);
                    }
                } else {
                    walk(child, place, roles, known, checked);
                }
            }
        }
        Value::Sequence(items) => items.iter().for_each(|item| walk(item, place, roles, known, checked)),
        _ => {}
    }
}

#[test]
fn compose_and_kubernetes_files_name_only_what_the_binary_has() {
    let roles = roles();
    assert!(roles.contains("api") && roles.contains("activity-worker") && roles.contains("migrate"), "{roles:?}");
    let known = env_vars(&roles);
    assert!(known.contains("TEMPORAL_ADDRESS") && known.contains("PAYLOAD_KEYS"), "{known:?}");
    let mut checked = Checked { problems: Vec::new(), containers: 0 };

    // docker-compose.yml: services built from this repository or using the capstone image.
    let compose = &documents(&repo("docker-compose.yml"))[0].1;
    for (name, service) in compose["services"].as_mapping().expect("services").iter() {
        let name = name.as_str().unwrap_or("?");
        if !(service.get("build").is_some() || is_capstone_image(service["image"].as_str())) {
            continue;
        }
        checked.containers += 1;
        let place = format!("docker-compose.yml service {name}");
        checked.role(&place, &words(&service["command"]), &roles);
        match &service["environment"] {
            Value::Mapping(map) => {
                map.keys().for_each(|key| checked.env(&place, key.as_str().unwrap_or_default(), &known))
            }
            Value::Sequence(items) => items.iter().for_each(|item| {
                let entry = item.as_str().unwrap_or_default();
                checked.env(&place, entry.split('=').next().unwrap_or_default(), &known)
            }),
            _ => {}
        }
        let healthcheck = words(&service["healthcheck"]["test"]).join(" ");
        for url in healthcheck.split_whitespace().filter(|word| word.contains("://")) {
            let port = url
                .split("://")
                .nth(1)
                .and_then(|rest| rest.split('/').next())
                .and_then(|host| host.rsplit(':').next());
            match port.and_then(|port| port.parse::<u64>().ok()) {
                Some(port) => checked.port(&place, port),
                None => checked.problems.push(format!("{place}: healthcheck URL {url} names no port")),
            }
        }
    }

    // deploy/k8s: every container running the capstone image, and the app's ConfigMap keys.
    for (path, document) in documents(&repo("deploy/k8s")) {
        let place = path.strip_prefix(repo("")).unwrap_or(&path).display().to_string();
        walk(&document, &place, &roles, &known, &mut checked);
        let is_app_config = document["kind"] == "ConfigMap"
            && document["metadata"]["name"].as_str().is_some_and(|name| name.starts_with("capstone"));
        if is_app_config {
            for key in document["data"].as_mapping().into_iter().flatten().map(|(key, _)| key) {
                checked.env(&format!("{place} ConfigMap"), key.as_str().unwrap_or_default(), &known);
            }
        }
    }
    assert!(
        checked.containers >= 14,
        "only {} capstone containers found in compose and deploy/k8s",
        checked.containers
    );
    assert!(checked.problems.is_empty(), "deploy files drifted from the binary:\n{}", checked.problems.join("\n"));
}
