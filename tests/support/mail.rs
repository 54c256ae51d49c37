//! A real SMTP server for the tests: aiosmtpd from `make setup` (`capstone::mail_catcher`),
//! and what it received, read from its Maildir.

use capstone::{
    mail_catcher::{self, CaughtMail, MailCatcher},
    notifications::smtp::SmtpSettings,
};
use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

/// An SMTP server on a free loopback port, storing into `dir/mail`.
pub async fn catcher(dir: &Path) -> MailCatcher {
    catcher_on(dir, 0).await
}

/// The same on `port` (a test that starts the server late, where the relay already sends).
pub async fn catcher_on(dir: &Path, port: u16) -> MailCatcher {
    let explicit = std::env::var_os("MAIL_CATCHER_PYTHON").map(PathBuf::from);
    let python = mail_catcher::find_python(explicit.as_deref()).unwrap_or_else(|error| panic!("{error:#}"));
    MailCatcher::start(&python, "127.0.0.1", port, &dir.join("mail")).await.expect("the mail catcher starts")
}

/// The relay as the tests run it: quick polls, `max_attempts` attempts.
pub fn relay_to(smtp_url: &str, max_attempts: u32) -> SmtpSettings {
    SmtpSettings {
        url: smtp_url.to_owned(),
        from: "Capstone Shop <shop@capstone.local>".to_owned(),
        poll: Duration::from_millis(100),
        max_attempts,
    }
}

/// Waits until the server has received a message with each of `message_ids`, then answers
/// everything it received.
pub async fn wait_for(catcher: &MailCatcher, message_ids: &[String]) -> Vec<CaughtMail> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mails = catcher.messages().expect("the maildir is readable");
        if message_ids.iter().all(|id| mails.iter().any(|mail| &mail.message_id == id)) {
            return mails;
        }
        assert!(Instant::now() < deadline, "{message_ids:?} not received in 30 s; received: {mails:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
