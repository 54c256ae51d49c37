//! The whole system as separate processes (`capstone_processes::ProcessSystem`), as in production, on a
//! file-backed Temporal dev server (restartable without losing anything) and one SQLite file:
//! for the tests that kill things.

use super::{PATIENCE, TEST_PAYLOAD_KEYS, temporal_cli};
use capstone::{
    api::api_keys::{self, Role},
    db::Db,
    temporal::dev_server::{DevServer, DevServerConfig},
};
use capstone_processes::ProcessSystem;
use std::time::Duration;

pub struct Cluster {
    /// The cluster's files (logs, the database, the server's state), removed when it drops.
    _dir: tempfile::TempDir,
    server_config: DevServerConfig,
    pub server: Option<DevServer>,
    pub system: ProcessSystem,
    /// The shared database, for the checks.
    pub db: Db,
    pub operator_key: String,
    /// The SMTP server the notifications process delivers to, running while the cluster does.
    _mail: capstone::mail_catcher::MailCatcher,
    /// What the backend services accept (the fault injection and the stocking need it).
    pub service_key: String,
}

impl Cluster {
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// Like `start`, with more environment for every role (e.g. shorter subscription periods).
    pub async fn start_with(extra_env: &[(&str, &str)]) -> Self {
        let extra: Vec<(String, String)> = extra_env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Self::start_with_env_from(|_| async { extra }).await
    }

    /// Like `start_with`, with the extra environment made once the dev server runs, from its
    /// address (e.g. a TLS proxy in front of it, which the roles then connect through).
    pub async fn start_with_env_from<F, Fut>(extra_env: F) -> Self
    where
        F: FnOnce(String) -> Fut,
        Fut: std::future::Future<Output = Vec<(String, String)>>,
    {
        capstone::telemetry::init_for_tests();
        let dir = tempfile::tempdir().unwrap();
        let mut server_config = DevServerConfig::ephemeral(temporal_cli());
        // Fixed ports and a file: a restarted server is the same server.
        let [port, metrics_port] = capstone_processes::free_ports_where_zero("127.0.0.1", [0, 0]).unwrap();
        server_config.port = port;
        server_config.metrics_port = metrics_port;
        server_config.db_filename = Some(dir.path().join("temporal.db"));
        server_config.log_file = Some(dir.path().join("temporal.log"));
        let server = DevServer::start(server_config.clone(), PATIENCE).await.expect("the dev server starts");

        let database_url = format!("sqlite://{}/shop.db?mode=rwc", dir.path().display());
        let service_key = api_keys::generate_key().unwrap();
        let mail = super::mail::catcher(dir.path()).await;
        let smtp_url = mail.smtp_url();
        let mut env = vec![
            ("DATABASE_URL", database_url.as_str()),
            ("SMTP_URL", smtp_url.as_str()),
            ("TEMPORAL_ADDRESS", server.address.as_str()),
            ("PAYLOAD_KEYS", TEST_PAYLOAD_KEYS),
            ("SERVICE_KEY", service_key.as_str()),
            ("FAULT_INJECTION", "true"),
            ("OPERATORS", "alice,bob"),
            // Orders follow their parcels: the shipping process runs a quick simulated carrier.
            ("CARRIER_SIMULATOR", "true"),
            ("CARRIER_STEP", "200ms"),
            ("WORKER_STATUS_INTERVAL", "5s"),
        ];
        let extra = extra_env(server.address.clone()).await;
        env.extend(extra.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let exe = env!("CARGO_BIN_EXE_capstone").into();
        let mut system = ProcessSystem::new(exe, dir.path(), &env).unwrap();
        system.start_all(PATIENCE).await.unwrap_or_else(|error| panic!("{error:#}"));
        let db = capstone::db::connect(&database_url).await.expect("the database opens");
        // The api has created its tables by now.
        let operator_key = api_keys::generate_key().unwrap();
        api_keys::store(&db, &operator_key, Role::Operator, Some("alice"), "fault-suite").await.unwrap();
        Self { _dir: dir, server_config, server: Some(server), system, db, operator_key, _mail: mail, service_key }
    }

    pub fn url(&self, service: &str) -> &str {
        self.system.url(service)
    }

    /// `kill -9` `role`, wait `down_for`, start it again.
    pub async fn crash_and_restart(&mut self, role: &'static str, down_for: Duration) {
        self.system.kill_9(role);
        tokio::time::sleep(down_for).await;
        self.system.start(role, PATIENCE).await.unwrap_or_else(|error| panic!("{error:#}"));
    }

    /// Stops the Temporal server (its state is in a file), waits `down_for`, starts it again
    /// on the same port.
    pub async fn restart_temporal(&mut self, down_for: Duration) {
        self.stop_temporal().await;
        tokio::time::sleep(down_for).await;
        self.start_temporal().await;
    }

    pub async fn stop_temporal(&mut self) {
        self.server.take().expect("the server runs").stop().await.expect("the dev server stops");
    }

    /// Starts the server again on its own ports, which every role is configured with. While it
    /// was down, another test may have picked one of them for a moment: try again until
    /// `PATIENCE` runs out.
    pub async fn start_temporal(&mut self) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            match DevServer::start(self.server_config.clone(), PATIENCE).await {
                Ok(server) => break self.server = Some(server),
                Err(error) if tokio::time::Instant::now() < deadline => {
                    tracing::warn!("the dev server did not restart, trying again: {error:#}");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                Err(error) => panic!("the dev server restarts: {error:#}"),
            }
        }
    }

    /// A Temporal client of this cluster's server (with the test payload keys).
    pub async fn client(&self) -> temporalio_client::Client {
        let address = &self.server.as_ref().expect("the server runs").address;
        capstone::temporal::connect(&super::plain(address), "capstone-test", PATIENCE, &super::test_keys())
            .await
            .expect("a client connects")
    }

    pub async fn stop(mut self) {
        self.system.stop_all();
        if let Some(server) = self.server.take() {
            let _ = server.stop().await;
        }
    }
}
