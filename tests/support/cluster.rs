//! The whole system as separate processes, as in production: every service and both workers
//! are their own `capstone <role>` process, on fixed loopback ports (so a restarted one comes
//! back at the same address), sharing one SQLite file; Temporal is a file-backed dev server
//! (so it can be restarted without losing anything). For the tests that kill things.

use super::{PATIENCE, TEST_PAYLOAD_KEYS, processes::WorkerProcess, temporal_cli};
use capstone::{
    api::api_keys::{self, Role},
    db::Db,
    temporal::dev_server::{DevServer, DevServerConfig, free_ports_where_zero},
};
use std::{collections::BTreeMap, time::Duration};
use tokio::time::Instant;

pub const SERVICES: [&str; 5] = ["api", "inventory", "payments", "shipping", "notifications"];
pub const WORKERS: [&str; 2] = ["workflow-worker", "activity-worker"];

pub struct Cluster {
    pub dir: tempfile::TempDir,
    server_config: DevServerConfig,
    pub server: Option<DevServer>,
    env: Vec<(String, String)>,
    pub urls: BTreeMap<&'static str, String>,
    pub processes: BTreeMap<&'static str, WorkerProcess>,
    /// The shared database, for the checks.
    pub db: Db,
    pub operator_key: String,
}

impl Cluster {
    pub async fn start() -> Self {
        capstone::telemetry::init_for_tests();
        let dir = tempfile::tempdir().unwrap();
        let [temporal, temporal_metrics, api, inventory, payments, shipping, notifications] =
            free_ports_where_zero("127.0.0.1", [0; 7]).unwrap();
        let mut server_config = DevServerConfig::ephemeral(temporal_cli());
        server_config.port = temporal;
        server_config.metrics_port = temporal_metrics;
        server_config.db_filename = Some(dir.path().join("temporal.db"));
        server_config.log_file = Some(dir.path().join("temporal.log"));
        let server = DevServer::start(server_config.clone(), PATIENCE).await.expect("the dev server starts");

        let database_url = format!("sqlite://{}/shop.db?mode=rwc", dir.path().display());
        let ports = [
            ("api", api),
            ("inventory", inventory),
            ("payments", payments),
            ("shipping", shipping),
            ("notifications", notifications),
        ];
        let urls: BTreeMap<&'static str, String> =
            ports.iter().map(|(name, port)| (*name, format!("http://127.0.0.1:{port}"))).collect();
        let service_key = api_keys::generate_key().unwrap();
        let mut env: Vec<(String, String)> = vec![
            ("DATABASE_URL".into(), database_url.clone()),
            ("TEMPORAL_ADDRESS".into(), server.address.clone()),
            ("PAYLOAD_KEYS".into(), TEST_PAYLOAD_KEYS.into()),
            ("API_SERVICE_KEY".into(), service_key),
            ("FAULT_INJECTION".into(), "true".into()),
            ("OPERATORS".into(), "alice,bob".into()),
            ("METRICS_ADDR".into(), "127.0.0.1:0".into()),
            ("WORKER_STATUS_INTERVAL".into(), "5s".into()),
        ];
        for (name, port) in ports {
            env.push((format!("{}_ADDR", name.to_uppercase()), format!("127.0.0.1:{port}")));
            env.push((format!("{}_URL", name.to_uppercase()), urls[name].clone()));
        }
        let db = capstone::db::connect(&database_url).await.expect("the database opens");
        let mut cluster = Self {
            dir,
            server_config,
            server: Some(server),
            env,
            urls,
            processes: BTreeMap::new(),
            db,
            operator_key: String::new(),
        };
        for role in SERVICES.iter().chain(WORKERS.iter()) {
            cluster.spawn(role).await;
        }
        // The api has created its tables by now.
        cluster.operator_key = api_keys::generate_key().unwrap();
        api_keys::store(&cluster.db, &cluster.operator_key, Role::Operator, None, "fault-suite").await.unwrap();
        cluster
    }

    /// Starts `role` and waits until it is ready (a service answers `/healthz`, a worker polls).
    pub async fn spawn(&mut self, role: &'static str) {
        let env: Vec<(&str, &str)> = self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let process = WorkerProcess::spawn(role, self.dir.path(), &env);
        match self.urls.get(role) {
            Some(url) => wait_healthy(url, &process).await,
            None => process.wait_for_log("worker started").await,
        }
        self.processes.insert(role, process);
    }

    /// `kill -9` `role`, wait `down_for`, start it again.
    pub async fn crash_and_restart(&mut self, role: &'static str, down_for: Duration) {
        let mut process = self.processes.remove(role).expect("the role runs");
        process.kill_9();
        tokio::time::sleep(down_for).await;
        self.spawn(role).await;
    }

    /// Stops the Temporal server (its state is in a file), waits `down_for`, starts it again
    /// on the same port.
    pub async fn restart_temporal(&mut self, down_for: Duration) {
        self.server.take().expect("the server runs").stop().await.expect("the dev server stops");
        tokio::time::sleep(down_for).await;
        let server = DevServer::start(self.server_config.clone(), PATIENCE).await.expect("the dev server restarts");
        self.server = Some(server);
    }

    pub fn url(&self, service: &str) -> &str {
        &self.urls[service]
    }

    pub async fn stop(mut self) {
        for (_, process) in std::mem::take(&mut self.processes) {
            process.terminate();
            drop(process);
        }
        if let Some(server) = self.server.take() {
            let _ = server.stop().await;
        }
    }
}

async fn wait_healthy(url: &str, process: &WorkerProcess) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Ok(answer) = reqwest::get(format!("{url}/healthz")).await
            && answer.status().is_success()
        {
            return;
        }
        assert!(Instant::now() < deadline, "{} never became healthy:\n{}", process.role, process.log_text());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
