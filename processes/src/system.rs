//! The shop as separate processes, as in production: every service and both workers are their
//! own `capstone <role>` process on loopback ports fixed at the start (a restarted role comes
//! back at the same address), sharing one database. `capstone bench` measures them one by one;
//! the fault suite (tests/faults.rs) kills and restarts them; the worker tests start one role
//! at a time (`spawn_role`).

use anyhow::Context;
use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

pub const SERVICES: [&str; 5] = ["api", "inventory", "payments", "shipping", "notifications"];
pub const WORKERS: [&str; 2] = ["workflow-worker", "activity-worker"];

/// A running role: its process and its log file.
struct Running {
    child: Child,
    log: PathBuf,
}

pub struct ProcessSystem {
    exe: PathBuf,
    dir: PathBuf,
    env: Vec<(String, String)>,
    urls: BTreeMap<&'static str, String>,
    running: BTreeMap<&'static str, Running>,
}

impl ProcessSystem {
    /// Picks the services' ports and builds every role's environment. `env` is added to it
    /// (the Temporal address, the database, the keys, ...). Starts nothing yet.
    pub fn new(exe: PathBuf, dir: &Path, env: &[(&str, &str)]) -> anyhow::Result<Self> {
        let ports = crate::free_ports_where_zero("127.0.0.1", [0; 5])?;
        let urls: BTreeMap<&'static str, String> =
            SERVICES.iter().zip(ports).map(|(name, port)| (*name, format!("http://127.0.0.1:{port}"))).collect();
        let mut all_env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        for (name, port) in SERVICES.iter().zip(ports) {
            all_env.push((format!("{}_ADDR", name.to_uppercase()), format!("127.0.0.1:{port}")));
            all_env.push((format!("{}_URL", name.to_uppercase()), urls[name].clone()));
        }
        // Each worker's /metrics on a free port of its own.
        all_env.push(("METRICS_ADDR".into(), "127.0.0.1:0".into()));
        Ok(Self { exe, dir: dir.to_owned(), env: all_env, urls, running: BTreeMap::new() })
    }

    pub fn url(&self, service: &str) -> &str {
        &self.urls[service]
    }

    pub fn pid(&self, role: &str) -> Option<u32> {
        self.running.get(role).map(|running| running.child.id())
    }

    pub fn log(&self, role: &str) -> String {
        self.running.get(role).and_then(|running| std::fs::read_to_string(&running.log).ok()).unwrap_or_default()
    }

    /// Starts every service, then both workers; each is ready when this returns.
    pub async fn start_all(&mut self, ready_within: Duration) -> anyhow::Result<()> {
        for role in SERVICES.iter().chain(WORKERS.iter()) {
            self.start(role, ready_within).await?;
        }
        Ok(())
    }

    /// Starts `role` and waits until a service answers `/healthz` or a worker polls.
    pub async fn start(&mut self, role: &'static str, ready_within: Duration) -> anyhow::Result<()> {
        let (child, log) =
            spawn_role(&self.exe, role, &self.dir, self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
        self.running.insert(role, Running { child, log });
        let deadline = Instant::now() + ready_within;
        let http = reqwest::Client::new();
        loop {
            let ready = match self.urls.get(role) {
                Some(url) => http.get(format!("{url}/healthz")).send().await.is_ok_and(|r| r.status().is_success()),
                None => self.log(role).contains("worker started"),
            };
            if ready {
                return Ok(());
            }
            let running = self.running.get_mut(role).expect("just started");
            if let Some(status) = running.child.try_wait()? {
                anyhow::bail!("capstone {role} exited ({status}):\n{}", self.log(role));
            }
            anyhow::ensure!(Instant::now() < deadline, "capstone {role} not ready in time:\n{}", self.log(role));
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// SIGKILL: the role dies at once, mid-request or mid-task, telling no one.
    pub fn kill_9(&mut self, role: &str) {
        if let Some(mut running) = self.running.remove(role) {
            let _ = running.child.kill();
            let _ = running.child.wait();
        }
    }

    /// Stops every role (SIGKILL: nothing here needs a clean shutdown).
    pub fn stop_all(&mut self) {
        let roles: Vec<&str> = self.running.keys().copied().collect();
        for role in roles {
            self.kill_9(role);
        }
    }
}

/// Starts `capstone <role>` (`exe`) with `env`, its logs (stderr, at info) in a new file in
/// `dir`; answers the process and that file.
pub fn spawn_role<'a>(
    exe: &Path,
    role: &str,
    dir: &Path,
    env: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> anyhow::Result<(Child, PathBuf)> {
    let log = dir.join(format!("{role}-{}.log", uuid::Uuid::new_v4().simple()));
    let child = Command::new(exe)
        .arg(role)
        .envs(env)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log)?)
        .spawn()
        .with_context(|| format!("starting capstone {role}"))?;
    Ok((child, log))
}

impl Drop for ProcessSystem {
    fn drop(&mut self) {
        self.stop_all();
    }
}
