//! A real SMTP server that keeps what it receives: Python's aiosmtpd (installed into
//! `.tools/venv` by `make setup`, next to the Temporal CLI) with its `Mailbox` handler, which
//! writes each message into a Maildir. `capstone dev` starts one for the user and the tests
//! start one each, then read the delivered messages from that Maildir: what the SMTP server
//! received, not what our outbox table says. (Compose and kind run Mailpit instead.)
//!
//! Like the Temporal dev server, the child runs in its own process group and gets SIGTERM if
//! we die.

use anyhow::Context;
use std::{
    fs,
    path::{Path, PathBuf},
    process::Stdio,
    time::{Duration, Instant},
};
use tokio::process::{Child, Command};

/// Where `make setup` puts the Python that has aiosmtpd, relative to the repository root.
pub const PROJECT_LOCAL_PYTHON: &str = ".tools/venv/bin/python";
/// The version `make setup` installs.
pub const PINNED_AIOSMTPD: &str = "1.4.6";

/// The Python with aiosmtpd: `explicit` (`MAIL_CATCHER_PYTHON`), else the project-local venv
/// (from the current directory, then from this crate's checkout), if it has aiosmtpd.
pub fn find_python(explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
    let checkout = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(PROJECT_LOCAL_PYTHON);
    let candidates = match explicit {
        Some(path) => vec![path.to_owned()],
        None => vec![PathBuf::from(PROJECT_LOCAL_PYTHON), checkout],
    };
    for python in candidates.into_iter().filter(|path| path.is_file()) {
        let has_aiosmtpd = std::process::Command::new(&python)
            .args(["-c", "import aiosmtpd"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        if has_aiosmtpd {
            return Ok(python);
        }
    }
    anyhow::bail!(
        "no Python with aiosmtpd was found ({}).\nGet it with one of:\n  \
         make setup                                   (installs aiosmtpd=={PINNED_AIOSMTPD} into .tools/venv)\n  \
         MAIL_CATCHER_PYTHON=/path/to/python           (a Python that has aiosmtpd)\n  \
         SMTP_URL=smtp://host:port                     (use an SMTP server you already run)",
        explicit.map(|path| path.display().to_string()).unwrap_or_else(|| PROJECT_LOCAL_PYTHON.to_owned())
    )
}

/// One message as the SMTP server stored it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaughtMail {
    pub message_id: String,
    pub from: String,
    pub to: String,
    pub subject: String,
    pub body: String,
}

pub struct MailCatcher {
    child: Child,
    /// `host:port` of the SMTP listener.
    pub address: String,
    pub maildir: PathBuf,
}

impl MailCatcher {
    /// Starts aiosmtpd on `ip:port` (0: a free port) storing into `maildir`, and waits until it
    /// accepts connections.
    pub async fn start(python: &Path, ip: &str, port: u16, maildir: &Path) -> anyhow::Result<Self> {
        let [port] = capstone_processes::free_ports_where_zero(ip, [port])?;
        // aiosmtpd's Maildir makes these only when the folder itself is new.
        for folder in ["tmp", "new", "cur"] {
            let path = maildir.join(folder);
            fs::create_dir_all(&path).with_context(|| format!("creating {}", path.display()))?;
        }
        let mut command = Command::new(python);
        command
            .args(["-m", "aiosmtpd", "--nosetuid", "--listen", &format!("{ip}:{port}")])
            .args(["--class", "aiosmtpd.handlers.Mailbox"])
            .arg(maildir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .process_group(0);
        // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
        unsafe {
            command.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command.spawn().with_context(|| format!("running {} -m aiosmtpd", python.display()))?;
        let mut catcher = Self { child, address: format!("{ip}:{port}"), maildir: maildir.to_owned() };
        catcher.wait_until_listening(Duration::from_secs(20)).await?;
        Ok(catcher)
    }

    async fn wait_until_listening(&mut self, within: Duration) -> anyhow::Result<()> {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait()? {
                anyhow::bail!(
                    "the mail catcher (aiosmtpd) exited during start-up ({status}); is {} free?",
                    self.address
                );
            }
            if tokio::net::TcpStream::connect(&self.address).await.is_ok() {
                tracing::info!(address = %self.address, "mail catcher ready after {:.1?}", started.elapsed());
                return Ok(());
            }
            if started.elapsed() > within {
                anyhow::bail!("the mail catcher (aiosmtpd) did not listen on {} within {within:?}", self.address);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn smtp_url(&self) -> String {
        format!("smtp://{}", self.address)
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Every message received so far, oldest first.
    pub fn messages(&self) -> anyhow::Result<Vec<CaughtMail>> {
        read_maildir(&self.maildir)
    }

    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.child.kill().await?;
        Ok(())
    }
}

/// Reads a Maildir's `new/` and `cur/` messages, oldest file first.
pub fn read_maildir(maildir: &Path) -> anyhow::Result<Vec<CaughtMail>> {
    let mut files = Vec::new();
    for folder in ["new", "cur"] {
        let Ok(entries) = fs::read_dir(maildir.join(folder)) else { continue };
        for entry in entries {
            let entry = entry?;
            files.push((entry.metadata()?.modified()?, entry.path()));
        }
    }
    files.sort();
    files.into_iter().map(|(_, path)| Ok(parse(&fs::read_to_string(&path)?))).collect()
}

/// Headers (unfolded) and the plain-text body of one stored message. Enough for the mails the
/// shop sends (one text part, 7-bit or quoted-printable); not a MIME parser.
fn parse(raw: &str) -> CaughtMail {
    let raw = raw.replace("\r\n", "\n");
    let (head, body) = raw.split_once("\n\n").unwrap_or((&raw, ""));
    let unfolded = head.replace("\n ", " ").replace("\n\t", " ");
    let header = |name: &str| {
        unfolded
            .lines()
            .find_map(|line| {
                let (key, value) = line.split_once(':')?;
                key.eq_ignore_ascii_case(name).then(|| value.trim().to_owned())
            })
            .unwrap_or_default()
    };
    let body = if header("Content-Transfer-Encoding").eq_ignore_ascii_case("quoted-printable") {
        body.replace("=\n", "").replace("=3D", "=")
    } else {
        body.to_owned()
    };
    CaughtMail {
        message_id: header("Message-ID"),
        from: header("From"),
        to: header("To"),
        subject: header("Subject"),
        body: body.trim_end().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_message_reads_back_with_its_headers_and_body() {
        let raw = "From: Shop <shop@capstone.local>\r\nTo: ada@example.com\r\nSubject: Your order\r\n \
                   is confirmed\r\nMessage-ID: <ord-1.confirmation@capstone.shop>\r\n\
                   Content-Transfer-Encoding: quoted-printable\r\n\r\nTotal =3D 12.00 =\r\nEUR\r\n";
        let mail = parse(raw);
        assert_eq!(mail.message_id, "<ord-1.confirmation@capstone.shop>");
        assert_eq!(mail.subject, "Your order is confirmed");
        assert_eq!(mail.to, "ada@example.com");
        assert_eq!(mail.body, "Total = 12.00 EUR");
    }
}
