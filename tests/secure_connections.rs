//! Day 10 and docs/temporal-cloud.md: every role reaches Temporal through the SDK's standard
//! connection settings, over TLS, mTLS or with an API key, as it would reach a secured cluster
//! or Temporal Cloud. A real TLS-terminating proxy (nginx, `support::tls`) stands in front of a
//! dev server; the roles are the real binary. Wrong settings fail at start-up, at once, naming
//! the setting to fix.

use crate::support;
use capstone::api::views::{Accepted, OrderView, ReadSource};
use capstone::temporal::dev_server::{DevServer, DevServerConfig};
use capstone_workflows::order::OrderStatus;
use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};
use support::{PATIENCE, TEST_PAYLOAD_KEYS, client_with_key, cluster::Cluster, orders, temporal_cli, tls::TlsProxy};

struct Run {
    success: bool,
    stdout: String,
    stderr: String,
    took: Duration,
}

/// `capstone <args>` with exactly `env` for its Temporal settings (none of this machine's).
async fn capstone(args: &[&str], env: &[(String, String)]) -> Run {
    let started = Instant::now();
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_capstone"));
    for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("TEMPORAL_") && name != "TEMPORAL_CLI") {
        command.env_remove(name);
    }
    command.args(args).env("PAYLOAD_KEYS", TEST_PAYLOAD_KEYS).envs(env.iter().map(|(k, v)| (k, v)));
    let output = tokio::time::timeout(Duration::from_secs(60), command.output())
        .await
        .unwrap_or_else(|_| panic!("capstone {args:?} hung for a minute"))
        .expect("capstone runs");
    Run {
        success: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        took: started.elapsed(),
    }
}

fn env(pairs: &[(&str, String)]) -> Vec<(String, String)> {
    pairs.iter().map(|(name, value)| (name.to_string(), value.clone())).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_shop_runs_over_mtls_and_api_keys_and_wrong_settings_fail_at_once() {
    let slot: Arc<Mutex<Option<TlsProxy>>> = Arc::default();
    let proxy_slot = slot.clone();
    // Every role of the cluster (api, both workers) connects through the mTLS port.
    let cluster = Cluster::start_with_env_from(|upstream| async move {
        let Some(proxy) = TlsProxy::start(&upstream).await else { return Vec::new() };
        let env = proxy.mtls_env();
        *proxy_slot.lock().unwrap() = Some(proxy);
        env
    })
    .await;
    let Some(proxy) = slot.lock().unwrap().take() else {
        cluster.stop().await;
        return;
    };

    // An order, end to end, through the proxy: the api starts it, the workers run it.
    let api = cluster.url("api").to_owned();
    let operator = client_with_key(&cluster.operator_key);
    let accepted: Accepted =
        operator.post(format!("{api}/orders")).json(&orders::example()).send().await.unwrap().json().await.unwrap();
    let order_id = accepted.order_id.clone();
    let deadline = Instant::now() + PATIENCE;
    loop {
        let order: OrderView =
            operator.get(format!("{api}/orders/{order_id}")).send().await.unwrap().json().await.unwrap();
        if order.status == OrderStatus::Completed && order.source == ReadSource::ReadModel {
            break;
        }
        assert!(Instant::now() < deadline, "the order never completed over mTLS: {order:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let log = proxy.access_log();
    assert!(
        log.lines().any(|line| line.contains("PollWorkflowTaskQueue") && line.contains("verify=SUCCESS")),
        "the workers polled through the proxy with their certificate:\n{log}"
    );
    assert!(
        log.lines().any(|line| line.contains("ExecuteMultiOperation") && line.contains("CN=capstone-test-client")),
        "the api started the order through the proxy:\n{log}"
    );

    let at = |port: u16| ("TEMPORAL_ADDRESS", format!("127.0.0.1:{port}"));
    let ca = ("TEMPORAL_TLS_SERVER_CA_CERT_PATH", proxy.file("ca.pem"));

    // A workflow through the API-key port: the CLI role's client sends the key over TLS.
    let hello =
        capstone(&["hello", "ada"], &env(&[at(proxy.api_key), ca.clone(), ("TEMPORAL_API_KEY", proxy.key.clone())]))
            .await;
    assert!(hello.success && hello.stdout.contains("Hello, ada!"), "{}\n{}", hello.stdout, hello.stderr);
    assert!(proxy.access_log().contains(&format!("auth=\"Bearer {}\"", proxy.key)));

    // The right settings connect: by variables, by a temporal.toml profile, with an API key.
    let profile = proxy.dir.path().join("temporal.toml");
    std::fs::write(
        &profile,
        format!(
            "[profile.mtls]\naddress = \"127.0.0.1:{}\"\n[profile.mtls.tls]\nserver_ca_cert_path = \"{}\"\n\
             client_cert_path = \"{}\"\nclient_key_path = \"{}\"\n",
            proxy.mtls,
            proxy.file("ca.pem"),
            proxy.file("client.pem"),
            proxy.file("client.key")
        ),
    )
    .unwrap();
    for (what, settings, says) in [
        ("TLS with our CA", env(&[at(proxy.tls), ca.clone()]), "already has every search attribute"),
        (
            "a temporal.toml profile for mTLS",
            env(&[("TEMPORAL_CONFIG_FILE", profile.display().to_string()), ("TEMPORAL_PROFILE", "mtls".into())]),
            "already has every search attribute",
        ),
        (
            "an API key, where the operator API is closed (as on Temporal Cloud)",
            env(&[at(proxy.api_key), ca.clone(), ("TEMPORAL_API_KEY", proxy.key.clone())]),
            "Checked with a visibility query",
        ),
    ] {
        let run = capstone(&["setup-temporal"], &settings).await;
        assert!(run.success && run.stdout.contains(says), "{what}:\n{}\n{}", run.stdout, run.stderr);
    }

    // Wrong settings: each fails at start-up, in seconds, naming what to fix; no panic.
    for (what, settings, names) in [
        (
            "another CA",
            env(&[at(proxy.tls), ("TEMPORAL_TLS_SERVER_CA_CERT_PATH", proxy.file("wrong-ca.pem"))]),
            "TEMPORAL_TLS_SERVER_CA_CERT_PATH",
        ),
        ("no client certificate", env(&[at(proxy.mtls), ca.clone()]), "TEMPORAL_TLS_CLIENT_CERT_PATH"),
        (
            "a client certificate nobody trusts",
            env(&[
                at(proxy.mtls),
                ca.clone(),
                ("TEMPORAL_TLS_CLIENT_CERT_PATH", proxy.file("stranger.pem")),
                ("TEMPORAL_TLS_CLIENT_KEY_PATH", proxy.file("stranger.key")),
            ]),
            "TEMPORAL_TLS_CLIENT_CERT_PATH",
        ),
        (
            "a wrong API key",
            env(&[at(proxy.api_key), ca.clone(), ("TEMPORAL_API_KEY", "tk_wrong".into())]),
            "TEMPORAL_API_KEY",
        ),
        (
            "a name the certificate does not hold",
            env(&[at(proxy.tls), ca.clone(), ("TEMPORAL_TLS_SERVER_NAME", "other.example".into())]),
            "TEMPORAL_TLS_SERVER_NAME",
        ),
        (
            "TLS to the plain port",
            env(&[
                ("TEMPORAL_ADDRESS", cluster.server.as_ref().unwrap().address.clone()),
                ("TEMPORAL_TLS", "true".into()),
            ]),
            "TEMPORAL_TLS=false",
        ),
        (
            "a profile that does not exist",
            env(&[("TEMPORAL_CONFIG_FILE", profile.display().to_string()), ("TEMPORAL_PROFILE", "nope".into())]),
            "TEMPORAL_PROFILE",
        ),
        (
            "a CA file that does not exist",
            env(&[at(proxy.tls), ("TEMPORAL_TLS_SERVER_CA_CERT_PATH", "/nowhere/ca.pem".into())]),
            "/nowhere/ca.pem",
        ),
    ] {
        let run = capstone(&["setup-temporal"], &settings).await;
        eprintln!("{what}: {}", run.stderr.trim());
        assert!(!run.success, "{what} connected:\n{}", run.stdout);
        assert!(run.stderr.contains(names), "{what}: the message should name {names}:\n{}", run.stderr);
        assert!(!run.stderr.contains("panicked"), "{what}: {}", run.stderr);
        assert!(run.took < Duration::from_secs(20), "{what}: took {:?}, a failure to wait out", run.took);
    }
    drop(proxy);
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn setup_temporal_on_a_closed_operator_api_prints_the_steps_and_checks_the_attributes() {
    // A namespace without the shop's attributes, reachable only with an API key, whose
    // operator API is closed: what `setup-temporal` meets on a new Temporal Cloud namespace.
    let mut config = DevServerConfig::ephemeral(temporal_cli());
    config.search_attributes = Vec::new();
    let server = DevServer::start(config, PATIENCE).await.expect("the dev server starts");
    let Some(proxy) = TlsProxy::start(&server.address).await else {
        server.stop().await.unwrap();
        return;
    };
    let settings = env(&[
        ("TEMPORAL_ADDRESS", format!("127.0.0.1:{}", proxy.api_key)),
        ("TEMPORAL_TLS_SERVER_CA_CERT_PATH", proxy.file("ca.pem")),
        ("TEMPORAL_API_KEY", proxy.key.clone()),
    ]);
    let run = capstone(&["setup-temporal", "--temporal-namespace", "default"], &settings).await;
    assert!(!run.success, "{}", run.stdout);
    let tcld = "tcld namespace search-attributes add --namespace default --search-attribute \"OrderStatus=Keyword\"";
    assert!(run.stdout.contains(tcld), "the exact tcld command:\n{}", run.stdout);
    assert!(run.stdout.contains("Cloud UI"), "{}", run.stdout);
    for attribute in ["OrderStatus (Keyword)", "CustomerId (Keyword)", "OrderTotal (Int)", "Region (Keyword)"] {
        assert!(run.stderr.contains(attribute), "the check names {attribute} as missing:\n{}", run.stderr);
    }
    // Once they exist (created here through the open port, as tcld would on Cloud), the check passes.
    let client = capstone::temporal::connect(&support::plain(&server.address), "test", PATIENCE, &support::test_keys())
        .await
        .unwrap();
    capstone::temporal::search_attributes::register(&client, "default").await.unwrap();
    let deadline = Instant::now() + PATIENCE;
    loop {
        let again = capstone(&["setup-temporal"], &settings).await;
        if again.success {
            assert!(again.stdout.contains("Checked with a visibility query"), "{}", again.stdout);
            break;
        }
        assert!(Instant::now() < deadline, "the attributes never showed: {}", again.stderr);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    drop(proxy);
    server.stop().await.unwrap();
}
