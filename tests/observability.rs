//! Days 4 and 12: what the system tells its operators. Every process serves `/metrics` with
//! the Temporal SDK's metrics next to ours; Prometheus scrapes a real run, and every panel of
//! every Grafana dashboard has data.

use crate::support;
use capstone::api::views::{BatchAccepted, BatchView};
use capstone_workflows::batch::BatchState;
use capstone_workflows::order::OrderStatus;
use reqwest::StatusCode;
use serde_json::json;
use std::collections::BTreeMap;
use support::{TestShop, orders};

/// `name{labels} value` lines of a Prometheus text answer, summed by series name + labels.
fn samples(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            Some((series.to_owned(), value.parse::<f64>().ok()?))
        })
        .collect()
}

/// The value of the one series whose name starts `name{` and has every `label="value"` given.
fn value(samples: &BTreeMap<String, f64>, name: &str, labels: &[&str]) -> f64 {
    samples
        .iter()
        .filter(|(series, _)| {
            (series.starts_with(&format!("{name}{{")) || series.as_str() == name)
                && labels.iter().all(|label| series.contains(label))
        })
        .map(|(_, value)| value)
        .sum()
}

async fn metrics(shop: &TestShop, url: &str) -> String {
    let response = shop.http.get(format!("{url}/metrics")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_process_serves_its_own_metrics_and_the_sdks() {
    let shop = TestShop::start().await;
    shop.with_workers(|| async {
        let completed = shop.place(&orders::example()).await;
        shop.wait_until_final(completed.order_id.as_str()).await;
        let mut declined = orders::with_items("grace", &[("CB-004", 1)]);
        declined["payment"]["card_token"] = json!("tok_decline_1");
        let compensated = shop.place(&declined).await;
        shop.wait_until_final(compensated.order_id.as_str()).await;
        // A subscription renews at once (no trial): one renewal charge.
        let subscription =
            json!({ "customer_id": "ada", "plan": "basic", "trial_days": 0, "payment": { "card_token": "tok_visa" } });
        let response =
            shop.http.post(format!("{}/subscriptions", shop.api_url())).json(&subscription).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        let deadline = tokio::time::Instant::now() + support::PATIENCE;
        let charged = |text: &str| {
            value(&samples(text), "capstone_subscription_renewal_charges_total", &[r#"outcome="charged""#])
        };
        while charged(&metrics(&shop, &shop.api_url()).await) < 1.0 {
            assert!(tokio::time::Instant::now() < deadline, "no renewal was charged");
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    })
    .await;

    let text = metrics(&shop, &shop.api_url()).await;
    if let Ok(path) = std::env::var("DUMP_METRICS") {
        std::fs::write(path, &text).unwrap();
    }
    let all = samples(&text);
    // Ours: HTTP in and out, and the business.
    assert!(
        value(
            &all,
            "capstone_http_server_requests_total",
            &[r#"service="api""#, r#"route="/orders""#, r#"status="202""#]
        ) >= 2.0
    );
    assert!(value(&all, "capstone_http_client_requests_total", &[r#"target="payments""#, r#"status="201""#]) >= 1.0);
    assert!(value(&all, "capstone_http_client_requests_total", &[r#"target="payments""#, r#"status="402""#]) >= 1.0);
    assert!(value(&all, "capstone_orders_finished_total", &[r#"status="COMPLETED""#]) >= 1.0);
    assert!(value(&all, "capstone_orders_finished_total", &[r#"status="COMPENSATED""#]) >= 1.0);
    assert!(value(&all, "capstone_payments_ledger_entries_total", &[r#"kind="charge""#, r#"provider="card""#]) >= 1.0);
    // Each step of the two POST /orders, timed.
    for step in ["catalog", "read_model", "start_workflow"] {
        let label = format!(r#"step="{step}""#);
        assert!(value(&all, "capstone_api_order_step_seconds_count", &[&label]) >= 2.0, "{step}");
    }
    // The SDK's, from the same endpoint.
    assert!(value(&all, "temporal_workflow_completed_total", &[r#"workflow_type="OrderWorkflow""#]) >= 2.0);
    assert!(value(&all, "temporal_activity_execution_latency_seconds_count", &[]) >= 1.0);
    assert!(text.contains("temporal_workflow_task_schedule_to_start_latency_seconds_bucket"));
    // The client's gRPC calls (no `temporal_` prefix; see services/src/metrics/sdk.rs).
    assert!(value(&all, "request_total", &[r#"operation="StartWorkflowExecution""#]) >= 2.0, "{text}");
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_worker_process_serves_metrics_on_its_own_port() {
    let shop = TestShop::start().await;
    let [port] = capstone_processes::free_ports_where_zero("127.0.0.1", [0]).unwrap();
    let addr = format!("127.0.0.1:{port}");
    let worker = shop.spawn_worker_with("activity-worker", &[("METRICS_ADDR", addr.as_str())]);
    worker.wait_for_log("worker started").await;
    let text = metrics(&shop, &format!("http://{addr}")).await;
    assert!(text.contains("temporal_worker_task_slots_available"), "{text}");
    assert!(text.contains(r#"task_queue="order-activities""#), "{text}");
    let health: serde_json::Value =
        shop.http.get(format!("http://{addr}/healthz")).send().await.unwrap().json().await.unwrap();
    assert_eq!(health["service"], "activity-worker");
    drop(worker);
    shop.stop().await;
}

/// A real Prometheus (the Debian package) with a config of our own: scrapes every 1 s.
struct Prometheus {
    child: std::process::Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `None` (and the test skips) when Prometheus is not installed, except in CI, where
/// `make setup` installs it and its absence is a failure.
fn prometheus_installed() -> bool {
    let found = ["prometheus", "promtool"].iter().all(|tool| {
        std::process::Command::new(tool).arg("--version").output().is_ok_and(|output| output.status.success())
    });
    if !found {
        assert!(std::env::var_os("CI").is_none(), "CI must have Prometheus: scripts/setup.sh installs it");
        eprintln!("skipped: Prometheus is not installed (apt-get install prometheus, or make setup as root)");
    }
    found
}

async fn start_prometheus(jobs: &[(&str, String)]) -> Prometheus {
    let dir = tempfile::tempdir().unwrap();
    let mut config = String::from("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n");
    for (job, target) in jobs {
        config.push_str(&format!("  - job_name: {job}\n    static_configs:\n      - targets: ['{target}']\n"));
    }
    let config_file = dir.path().join("prometheus.yml");
    std::fs::write(&config_file, config).unwrap();
    let [port] = capstone_processes::free_ports_where_zero("127.0.0.1", [0]).unwrap();
    let child = std::process::Command::new("prometheus")
        .arg(format!("--config.file={}", config_file.display()))
        .arg(format!("--storage.tsdb.path={}", dir.path().join("data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--log.level=warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("prometheus starts");
    let prometheus = Prometheus { child, url: format!("http://127.0.0.1:{port}"), _dir: dir };
    let deadline = tokio::time::Instant::now() + support::PATIENCE;
    while !reqwest::get(format!("{}/-/ready", prometheus.url))
        .await
        .is_ok_and(|response| response.status().is_success())
    {
        assert!(tokio::time::Instant::now() < deadline, "Prometheus never got ready");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    prometheus
}

impl Prometheus {
    /// The series an instant query returns.
    async fn query(&self, expr: &str) -> Vec<serde_json::Value> {
        let answer: serde_json::Value = reqwest::Client::new()
            .get(format!("{}/api/v1/query", self.url))
            .query(&[("query", expr)])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(answer["status"], "success", "{expr}: {answer}");
        answer["data"]["result"].as_array().cloned().unwrap_or_default()
    }
}

/// Every panel expression of a dashboard (panels inside rows too).
fn panel_exprs(dashboard: &serde_json::Value) -> Vec<(String, String)> {
    fn walk(panels: &serde_json::Value, out: &mut Vec<(String, String)>) {
        for panel in panels.as_array().into_iter().flatten() {
            let title = panel["title"].as_str().unwrap_or("?").to_owned();
            for target in panel["targets"].as_array().into_iter().flatten() {
                if let Some(expr) = target["expr"].as_str() {
                    out.push((title.clone(), expr.to_owned()));
                }
            }
            walk(&panel["panels"], out);
        }
    }
    let mut out = Vec::new();
    walk(&dashboard["panels"], &mut out);
    out
}

fn repo_path(path: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

fn dashboards() -> Vec<(String, serde_json::Value)> {
    let mut files: Vec<_> = std::fs::read_dir(repo_path("grafana/dashboards"))
        .expect("grafana/dashboards exists")
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            let json = serde_json::from_str(&text).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
            (path.file_name().unwrap().to_string_lossy().into_owned(), json)
        })
        .collect()
}

#[test]
fn dashboards_parse_have_unique_uids_and_use_the_provisioned_datasource() {
    let provisioning = std::fs::read_to_string(repo_path("grafana/provisioning/datasources/prometheus.yml")).unwrap();
    assert!(provisioning.contains("uid: prometheus"), "{provisioning}");
    let all = dashboards();
    assert!(all.len() >= 4, "expected the four dashboards, found {}", all.len());
    let mut uids = std::collections::BTreeSet::new();
    for (file, dashboard) in &all {
        let uid = dashboard["uid"].as_str().unwrap_or_else(|| panic!("{file} has no uid"));
        assert!(uids.insert(uid.to_owned()), "{file}: uid {uid} is used twice");
        let exprs = panel_exprs(dashboard);
        assert!(!exprs.is_empty(), "{file} has no panels with queries");
        for (title, expr) in exprs {
            assert!(!expr.contains('$'), "{file} / {title}: template variables cannot be checked: {expr}");
        }
        let text = dashboard.to_string();
        for datasource in text.match_indices("\"datasource\"") {
            let rest = &text[datasource.0..];
            let object = &rest[..rest.find('}').unwrap_or(rest.len())];
            // Grafana's own built-in datasource (annotations) is the one other kind allowed.
            let allowed = object.contains(r#""uid":"prometheus""#) || object.contains(r#""type":"grafana""#);
            assert!(allowed, "{file}: a datasource other than the provisioned one: {object}");
        }
    }
}

#[test]
fn prometheus_config_and_alerting_rules_pass_promtool() {
    if !prometheus_installed() {
        return;
    }
    let dir = repo_path("deploy/prometheus");
    for args in [
        vec!["check", "config", "prometheus.yml"],
        vec!["check", "config", "prometheus-dev.yml"],
        vec!["check", "rules", "alerts.yml"],
        vec!["test", "rules", "alerts_test.yml"],
    ] {
        let output = std::process::Command::new("promtool").args(&args).current_dir(&dir).output().unwrap();
        assert!(
            output.status.success(),
            "promtool {}: {}{}",
            args.join(" "),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn prometheus_scrapes_a_real_run_and_every_dashboard_panel_has_data() {
    if !prometheus_installed() {
        return;
    }
    // The e-mails go to a real SMTP server, so the e-mail panel has deliveries to show.
    let mail_dir = tempfile::tempdir().unwrap();
    let catcher = support::mail::catcher(mail_dir.path()).await;
    let shop = TestShop::start_with(|config| config.smtp = Some(support::mail::relay_to(&catcher.smtp_url(), 8))).await;
    let temporal_metrics =
        shop.server.metrics_url.trim_start_matches("http://").trim_end_matches("/metrics").to_owned();
    let prometheus =
        start_prometheus(&[("capstone", shop.shop.api.addr.to_string()), ("temporal-server", temporal_metrics)]).await;

    // A bit of everything the dashboards show: a completed order, a declined card, an approval,
    // a refund (the shipping country is blocked) and a batch.
    shop.with_workers(|| async {
        let mut placed = vec![shop.place(&orders::example()).await];
        let mut declined = orders::with_items("grace", &[("CB-004", 1)]);
        declined["payment"]["card_token"] = json!("tok_decline_1");
        placed.push(shop.place(&declined).await);
        let mut blocked = orders::with_items("linus", &[("CB-004", 1)]);
        blocked["shipping_address"]["country"] = json!("AQ");
        placed.push(shop.place(&blocked).await);
        let large = shop.place(&orders::large()).await;
        let large_id = large.order_id.clone();
        shop.wait_for_status(&large_id, OrderStatus::AwaitingApproval).await;
        let response = shop
            .http
            .post(format!("{}/orders/{large_id}/approve", shop.api_url()))
            .json(&json!({"operator": "alice", "reason": "observability test"}))
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{}", response.text().await.unwrap());
        placed.push(large);
        let batch = json!({
            "count": 2, "window": 2, "customer_prefix": "bulk", "email": "bulk@example.com",
            "order": { "items": [{"sku": "CB-004", "qty": 1}], "shipping_address": orders::example()["shipping_address"], "payment": orders::example()["payment"] },
        });
        let response = shop.http.post(format!("{}/batches", shop.api_url())).json(&batch).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        let batch_id = response.json::<BatchAccepted>().await.unwrap().batch_id;
        for order in &placed {
            shop.wait_until_final(order.order_id.as_str()).await;
        }
        // The batch's duration comes from the SDK when its workflow completes.
        let deadline = tokio::time::Instant::now() + support::PATIENCE;
        let completed = |batch: serde_json::Value| {
            serde_json::from_value::<BatchView>(batch).is_ok_and(|batch| batch.progress.state == BatchState::Completed)
        };
        while !completed(shop.get(&format!("/batches/{batch_id}")).await.1) {
            assert!(tokio::time::Instant::now() < deadline, "the batch never completed");
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        // Wait until Prometheus has seen the end of it all (the count the process shows now;
        // other tests in this binary share the process's registry), then a few more scrapes.
        let finished = value(&samples(&metrics(&shop, &shop.api_url()).await), "capstone_orders_finished_total", &[]);
        let seen = format!("sum(capstone_orders_finished_total) >= {finished}");
        let deadline = tokio::time::Instant::now() + support::PATIENCE;
        while prometheus.query(&seen).await.is_empty() {
            assert!(tokio::time::Instant::now() < deadline, "Prometheus never scraped the finished orders");
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        }
        tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    })
    .await;

    let mut empty = Vec::new();
    let mut checked = 0;
    for (file, dashboard) in dashboards() {
        for (title, expr) in panel_exprs(&dashboard) {
            checked += 1;
            if prometheus.query(&expr).await.is_empty() {
                empty.push(format!("{file} / {title}: {expr}"));
            }
        }
    }
    assert!(checked >= 20, "only {checked} panel queries");
    assert!(empty.is_empty(), "panels without data:\n{}", empty.join("\n"));
    drop(prometheus);
    shop.stop().await;
    catcher.stop().await.unwrap();
}
