//! The outbox relay: sends what the workflows queued, over SMTP, each message once.
//!
//! Every `poll` it takes the messages whose turn has come, claims each (only one relay, in one
//! process or many, wins a message), hands it to the SMTP server and records the answer:
//! `delivered`, back to `queued` with a growing pause after an answer that may change (no
//! connection, a 4xx), or `failed` after a refusal for good or the last attempt. A relay that
//! dies between the claim and the answer leaves the message `sending`; once its lease runs out
//! another relay sends it again, under the same Message-ID (SMTP has no idempotency key: that
//! short window is the one place a message can arrive twice, and the id lets the receiver tell).

use super::{
    smtp::{Mailer, SendError, SmtpSettings},
    store,
};
use crate::{db::Db, now_ms};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Longer than lettre's 15 s timeout: a live relay always answers before its lease ends.
const LEASE: Duration = Duration::from_secs(60);
/// The pause after a failed attempt doubles up to this.
const LONGEST_PAUSE: Duration = Duration::from_secs(60);
const BATCH: i64 = 50;

pub fn start(db: Db, settings: SmtpSettings, shutdown: CancellationToken) -> anyhow::Result<()> {
    let mailer = Mailer::new(&settings)?;
    tracing::info!(smtp = %settings.url, "e-mail relay started");
    tokio::spawn(async move {
        let mut every = tokio::time::interval(settings.poll);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = every.tick() => {}
                _ = shutdown.cancelled() => return,
            }
            if let Err(error) = deliver_due(&db, &mailer, &settings).await {
                tracing::warn!("the e-mail relay could not read the outbox: {error}");
            }
        }
    });
    Ok(())
}

async fn deliver_due(db: &Db, mailer: &Mailer, settings: &SmtpSettings) -> sqlx::Result<()> {
    for email in store::due(db, now_ms(), BATCH).await? {
        let now = now_ms();
        if !store::claim(db, &email.message_key, now, now + LEASE.as_millis() as i64).await? {
            continue; // another relay took it
        }
        let attempt = email.attempts + 1;
        match mailer.send(&email).await {
            Ok(()) => {
                store::delivered(db, &email.message_key).await?;
                crate::metrics::email::outcome("delivered");
                tracing::info!(message_key = %email.message_key, attempt, "e-mail delivered");
            }
            Err(SendError::Transient(error)) if attempt < i64::from(settings.max_attempts) => {
                let next = now_ms() + pause_after(attempt, settings.poll).as_millis() as i64;
                store::retry_later(db, &email.message_key, next, &error).await?;
                crate::metrics::email::outcome("retried");
                tracing::warn!(message_key = %email.message_key, attempt, "e-mail not delivered yet: {error}");
            }
            Err(error) => {
                store::failed(db, &email.message_key, &error.to_string()).await?;
                crate::metrics::email::outcome("failed");
                tracing::error!(message_key = %email.message_key, attempt, "e-mail failed for good: {error}");
            }
        }
    }
    Ok(())
}

/// `poll`, then twice as long after each further failure, at most [`LONGEST_PAUSE`].
fn pause_after(attempt: i64, poll: Duration) -> Duration {
    let doublings = u32::try_from(attempt.saturating_sub(1)).unwrap_or(u32::MAX).min(16);
    poll.saturating_mul(2u32.saturating_pow(doublings)).min(LONGEST_PAUSE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pause_doubles_and_stops_growing_at_a_minute() {
        let poll = Duration::from_secs(1);
        let pauses: Vec<u64> = (1..=8).map(|attempt| pause_after(attempt, poll).as_secs()).collect();
        assert_eq!(pauses, [1, 2, 4, 8, 16, 32, 60, 60]);
    }
}
