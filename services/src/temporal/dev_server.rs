//! A Temporal dev server (`temporal server start-dev`) as a child process: started by
//! `capstone dev` and by every integration test, stopped when they end.
//!
//! The child runs in its own process group, so a Ctrl-C in the terminal reaches only us and we
//! stop things in order (workers drain first, the server goes last). If we die without
//! cleaning up (SIGKILL), the kernel sends the child SIGTERM (`PR_SET_PDEATHSIG`), so no
//! orphaned server keeps the ports.

use anyhow::Context;
use capstone_processes::free_ports_where_zero;
use std::{
    fs::File,
    path::PathBuf,
    process::Stdio,
    time::{Duration, Instant},
};
use tokio::process::{Child, Command};

#[derive(Debug, Clone)]
pub struct DevServerConfig {
    pub binary: PathBuf,
    pub ip: String,
    /// gRPC frontend port; 0 picks a free one.
    pub port: u16,
    /// Web UI port; `None` runs headless.
    pub ui_port: Option<u16>,
    /// The Web UI's remote codec endpoint (`--ui-codec-endpoint`), so it shows decrypted payloads.
    pub ui_codec_endpoint: Option<String>,
    /// The server's own Prometheus metrics; 0 picks a free one.
    pub metrics_port: u16,
    /// Persist state here; `None` keeps it in memory (lost on exit).
    pub db_filename: Option<PathBuf>,
    /// Where the server's output goes; `None` discards it.
    pub log_file: Option<PathBuf>,
    /// Custom search attributes to register at start (`Name=Type`).
    pub search_attributes: Vec<String>,
    /// More `--dynamic-config-value KEY=VALUE` settings (tests make slow server loops fast).
    pub dynamic_config: Vec<String>,
}

impl DevServerConfig {
    /// A headless, in-memory server on free ports, with the shop's search attributes: what
    /// tests want.
    pub fn ephemeral(binary: PathBuf) -> Self {
        Self {
            binary,
            ip: "127.0.0.1".to_owned(),
            port: 0,
            ui_port: None,
            ui_codec_endpoint: None,
            metrics_port: 0,
            db_filename: None,
            log_file: None,
            search_attributes: super::search_attributes::dev_server_flags(),
            dynamic_config: Vec::new(),
        }
    }
}

pub struct DevServer {
    child: Child,
    /// `host:port` of the gRPC frontend.
    pub address: String,
    pub ui_url: Option<String>,
    pub metrics_url: String,
}

impl DevServer {
    /// Starts the server and waits until its frontend accepts connections.
    ///
    /// Ports left at 0 are picked free just before the server starts, so another process can
    /// take one in between; the server then exits at once. That start is retried (three
    /// attempts in all) with new ports. Any other failure is reported straight away.
    pub async fn start(config: DevServerConfig, ready_within: Duration) -> anyhow::Result<Self> {
        let mut attempt = 1;
        loop {
            match Self::start_once(&config, ready_within).await {
                Err(StartError::ExitedEarly(error)) if attempt < 3 => {
                    tracing::warn!("Temporal dev server start {attempt} failed, retrying with new ports: {error:#}");
                    attempt += 1;
                }
                Err(StartError::ExitedEarly(error) | StartError::Other(error)) => return Err(error),
                Ok(server) => return Ok(server),
            }
        }
    }

    async fn start_once(config: &DevServerConfig, ready_within: Duration) -> Result<Self, StartError> {
        let [port, metrics_port, http_port] = free_ports_where_zero(&config.ip, [config.port, config.metrics_port, 0])?;
        let mut command = Command::new(&config.binary);
        command
            .args(["server", "start-dev", "--ip", &config.ip, "--port", &port.to_string()])
            .args(["--http-port", &http_port.to_string(), "--metrics-port", &metrics_port.to_string()])
            .args(["--log-level", "warn"])
            // The SDK's own test server turns these on; updates need them on older servers.
            .args(["--dynamic-config-value", "frontend.enableUpdateWorkflowExecution=true"])
            .args(["--dynamic-config-value", "frontend.enableUpdateWorkflowExecutionAsyncAccepted=true"]);
        match config.ui_port {
            Some(ui_port) => command.args(["--ui-port", &ui_port.to_string(), "--ui-disable-news-fetch"]),
            None => command.arg("--headless"),
        };
        if let Some(endpoint) = &config.ui_codec_endpoint {
            command.args(["--ui-codec-endpoint", endpoint]);
        }
        if let Some(db) = &config.db_filename {
            command.arg("--db-filename").arg(db);
        }
        for attribute in &config.search_attributes {
            command.args(["--search-attribute", attribute]);
        }
        for setting in &config.dynamic_config {
            command.args(["--dynamic-config-value", setting]);
        }
        let output = match &config.log_file {
            Some(path) => {
                let file = File::options()
                    .create(true)
                    .append(true)
                    .open(path)
                    .with_context(|| format!("opening {}", path.display()))?;
                (Stdio::from(file.try_clone()?), Stdio::from(file))
            }
            None => (Stdio::null(), Stdio::null()),
        };
        command.stdin(Stdio::null()).stdout(output.0).stderr(output.1).kill_on_drop(true).process_group(0);
        // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
        unsafe {
            command.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command.spawn().with_context(|| format!("running {}", config.binary.display()))?;
        let mut server = Self {
            child,
            address: format!("{}:{port}", config.ip),
            ui_url: config.ui_port.map(|ui_port| format!("http://{}:{ui_port}", config.ip)),
            metrics_url: format!("http://{}:{metrics_port}/metrics", config.ip),
        };
        server.wait_until_ready(ready_within, config).await?;
        Ok(server)
    }

    async fn wait_until_ready(&mut self, ready_within: Duration, config: &DevServerConfig) -> Result<(), StartError> {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait()? {
                // The log's last lines: a test's log file goes with its temporary folder.
                let log_hint = config
                    .log_file
                    .as_ref()
                    .map(|path| {
                        let text = std::fs::read_to_string(path).unwrap_or_default();
                        let lines: Vec<&str> = text.lines().collect();
                        let tail = lines[lines.len().saturating_sub(5)..].join("\n");
                        format!("; its log is in {}, ending:\n{tail}", path.display())
                    })
                    .unwrap_or_default();
                return Err(StartError::ExitedEarly(anyhow::anyhow!(
                    "the Temporal dev server exited during start-up ({status}){log_hint}"
                )));
            }
            if super::answers(&super::TemporalConnection::plain(&self.address, "default")?).await {
                tracing::info!(address = %self.address, "Temporal dev server ready after {:.1?}", started.elapsed());
                return Ok(());
            }
            if started.elapsed() > ready_within {
                let _ = self.child.kill().await;
                return Err(StartError::Other(anyhow::anyhow!(
                    "the Temporal dev server did not answer at {} within {ready_within:?}",
                    self.address
                )));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Asks the server to stop (SIGTERM), waits for it, and kills it if it takes too long.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(pid) = self.child.id() {
            // SAFETY: plain syscall on a pid we own.
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGTERM) };
            match tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await {
                Ok(status) => tracing::info!("Temporal dev server stopped ({})", status?),
                Err(_) => {
                    tracing::warn!("Temporal dev server ignored SIGTERM for 10 s; killing it");
                    self.child.kill().await?;
                }
            }
        }
        Ok(())
    }
}

enum StartError {
    /// The process ended before it answered: most often a port that was taken.
    ExitedEarly(anyhow::Error),
    Other(anyhow::Error),
}

impl<E: Into<anyhow::Error>> From<E> for StartError {
    fn from(error: E) -> Self {
        Self::Other(error.into())
    }
}
