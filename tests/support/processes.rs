//! Worker roles of the real `capstone` binary as child processes, for the tests that crash
//! them (kill -9) or stop them (SIGTERM).

use std::{
    path::{Path, PathBuf},
    process::{Child, ExitStatus},
    time::{Duration, Instant},
};

pub struct WorkerProcess {
    child: Child,
    pub role: String,
    /// stderr of the process (its logs).
    pub log: PathBuf,
}

impl WorkerProcess {
    pub fn spawn(role: &str, dir: &Path, env: &[(&str, &str)]) -> Self {
        let (child, log) =
            capstone_processes::spawn_role(Path::new(env!("CARGO_BIN_EXE_capstone")), role, dir, env.iter().copied())
                .unwrap_or_else(|error| panic!("{error:#}"));
        Self { child, role: role.to_owned(), log }
    }

    /// The process's log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the log contains `text` (e.g. "worker started").
    pub async fn wait_for_log(&self, text: &str) {
        let deadline = Instant::now() + super::PATIENCE;
        while !self.log_text().contains(text) {
            assert!(Instant::now() < deadline, "{} never logged {text:?}:\n{}", self.role, self.log_text());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// SIGKILL: the process dies at once, mid-task, without telling anyone.
    pub fn kill_9(&mut self) {
        self.child.kill().expect("SIGKILL is delivered");
        self.child.wait().expect("the killed process is reaped");
    }

    /// SIGTERM: the process should drain and exit on its own.
    pub fn terminate(&self) {
        // SAFETY: a plain syscall on our own child's pid.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
    }

    /// Waits for the process to exit on its own.
    pub async fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("the child is waitable") {
                return status;
            }
            assert!(Instant::now() < deadline, "{} did not exit within {within:?}:\n{}", self.role, self.log_text());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
