//! The SMTP side of the notifications service: where the relay sends the outbox (`SMTP_URL`),
//! as whom (`SMTP_FROM`), and one message handed to the server with lettre.

use crate::notifications::store::Email;
use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Mailbox, header::ContentType},
    transport::smtp::authentication::Credentials,
};
use std::time::Duration;

/// How the relay delivers the outbox.
#[derive(Debug, Clone)]
pub struct SmtpSettings {
    /// `smtp://[user:password@]host[:port]`: a plain SMTP relay (a mail catcher on loopback,
    /// Mailpit in compose and kind, your provider's relay inside the network).
    pub url: String,
    /// The sender of every e-mail, e.g. `Capstone Shop <shop@capstone.local>`.
    pub from: String,
    /// How often the relay looks for messages whose turn has come.
    pub poll: Duration,
    /// Attempts before a message is `failed` for good (a refusal the server calls permanent
    /// fails it at once).
    pub max_attempts: u32,
}

/// Why one attempt did not deliver.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The server refused this message for good (a 5xx answer): trying again cannot help.
    #[error("refused for good: {0}")]
    Permanent(String),
    /// No answer, a dropped connection, a 4xx: the next attempt may get through.
    #[error("{0}")]
    Transient(String),
}

pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    /// Checks the settings (so a typo fails at start-up, naming the variable) and builds the
    /// transport. Nothing is connected yet.
    pub fn new(settings: &SmtpSettings) -> anyhow::Result<Self> {
        let url = url::Url::parse(&settings.url).map_err(|error| {
            anyhow::anyhow!("SMTP_URL {:?} is not a URL ({error}); e.g. smtp://127.0.0.1:1025", settings.url)
        })?;
        if url.scheme() != "smtp" {
            anyhow::bail!(
                "SMTP_URL {:?}: only plain smtp:// relays are supported (TLS would need lettre's rustls feature); \
                 e.g. smtp://127.0.0.1:1025",
                settings.url
            );
        }
        let host = url
            .host_str()
            .ok_or_else(|| anyhow::anyhow!("SMTP_URL {:?} has no host; e.g. smtp://127.0.0.1:1025", settings.url))?;
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(url.port().unwrap_or(25))
            .timeout(Some(Duration::from_secs(15)));
        if !url.username().is_empty() {
            let password = url.password().unwrap_or_default();
            builder = builder.credentials(Credentials::new(url.username().to_owned(), password.to_owned()));
        }
        let from = settings.from.parse::<Mailbox>().map_err(|error| {
            anyhow::anyhow!("SMTP_FROM {:?} is not a mailbox ({error}); e.g. Shop <shop@example.com>", settings.from)
        })?;
        Ok(Self { transport: builder.build(), from })
    }

    /// Hands one message to the server. Its `Message-ID` comes from the message key, so a
    /// message that has to be sent again after a lost answer carries the same id and the
    /// receiving side can tell it is the same e-mail.
    pub async fn send(&self, email: &Email) -> Result<(), SendError> {
        let to = email
            .recipient
            .parse::<Mailbox>()
            .map_err(|error| SendError::Permanent(format!("recipient {:?}: {error}", email.recipient)))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&email.subject)
            .message_id(Some(message_id(&email.message_key)))
            .header(ContentType::TEXT_PLAIN)
            .body(email.body.clone())
            .map_err(|error| SendError::Permanent(error.to_string()))?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(error) if error.is_permanent() => Err(SendError::Permanent(error.to_string())),
            Err(error) => Err(SendError::Transient(error.to_string())),
        }
    }
}

/// `<KEY@capstone.shop>` with every character a Message-ID may not hold replaced by `.`; our
/// keys are `order:purpose`, so `ord-1:confirmation` becomes `<ord-1.confirmation@capstone.shop>`.
pub fn message_id(message_key: &str) -> String {
    let local: String =
        message_key.chars().map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '.' }).collect();
    format!("<{local}@capstone.shop>")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(url: &str) -> SmtpSettings {
        SmtpSettings {
            url: url.to_owned(),
            from: "Shop <shop@capstone.local>".to_owned(),
            poll: Duration::from_secs(1),
            max_attempts: 3,
        }
    }

    #[test]
    fn the_message_id_is_the_message_key_made_safe() {
        assert_eq!(message_id("ord-1:confirmation"), "<ord-1.confirmation@capstone.shop>");
        assert_eq!(message_id("a b<c>"), "<a.b.c.@capstone.shop>");
    }

    #[test]
    fn a_wrong_smtp_url_names_the_variable_and_an_example() {
        for url in ["127.0.0.1:1025", "smtps://mail.example.com:465", "smtp://"] {
            let error = Mailer::new(&settings(url)).err().expect(url).to_string();
            assert!(error.contains("SMTP_URL") && error.contains("smtp://127.0.0.1:1025"), "{error}");
        }
        assert!(Mailer::new(&settings("smtp://user:secret@127.0.0.1:1025")).is_ok());
        let mut bad_from = settings("smtp://127.0.0.1:1025");
        bad_from.from = "not a mailbox".to_owned();
        assert!(Mailer::new(&bad_from).err().unwrap().to_string().contains("SMTP_FROM"));
    }
}
