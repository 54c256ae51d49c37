//! SQL for the outbox. The message key is the primary key: one e-mail per key, ever. The
//! relay's life of a message: `queued` → claimed as `sending` → `delivered`, or back to
//! `queued` for a later attempt, or `failed` for good.

use crate::{db::Db, now_ms};
use capstone_workflows::contracts::notifications::SendEmailRequest;
use serde::Serialize;
use sqlx::{Row, any::AnyRow};

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Email {
    pub message_key: String,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub created_at_ms: i64,
    /// `queued`, `sending`, `delivered` or `failed`.
    pub status: String,
    /// How many times it was handed to the SMTP server.
    pub attempts: i64,
    pub delivered_at_ms: Option<i64>,
    /// What the SMTP server (or the connection to it) said at the last failed attempt.
    pub last_error: Option<String>,
}

/// The columns of [`Email`], spliced into the queries at compile time (sqlx takes only
/// `'static` SQL, so no runtime `format!`).
macro_rules! columns {
    () => {
        "message_key, recipient, subject, body, created_at_ms, status, attempts, delivered_at_ms, last_error"
    };
}

fn email(row: &AnyRow) -> sqlx::Result<Email> {
    Ok(Email {
        message_key: row.try_get("message_key")?,
        recipient: row.try_get("recipient")?,
        subject: row.try_get("subject")?,
        body: row.try_get("body")?,
        created_at_ms: row.try_get("created_at_ms")?,
        status: row.try_get("status")?,
        attempts: row.try_get::<i64, _>("attempts")?,
        delivered_at_ms: row.try_get("delivered_at_ms")?,
        last_error: row.try_get("last_error")?,
    })
}

/// Returns true when the e-mail is new, false when the key was queued before.
pub async fn enqueue(db: &Db, request: &SendEmailRequest) -> sqlx::Result<bool> {
    let now = now_ms();
    let inserted = sqlx::query(
        "INSERT INTO notifications_outbox (message_key, recipient, subject, body, status, created_at_ms, next_attempt_at_ms) \
         VALUES ($1, $2, $3, $4, 'queued', $5, $6) ON CONFLICT (message_key) DO NOTHING",
    )
    .bind(&request.message_key)
    .bind(&request.to)
    .bind(&request.subject)
    .bind(&request.body)
    .bind(now)
    .bind(now)
    .execute(db)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}

pub async fn list(db: &Db, recipient: Option<&str>) -> sqlx::Result<Vec<Email>> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        columns!(),
        " FROM notifications_outbox WHERE ($1 IS NULL OR recipient = $2) ORDER BY created_at_ms, message_key"
    ))
    .bind(recipient)
    .bind(recipient)
    .fetch_all(db)
    .await?;
    rows.iter().map(email).collect()
}

/// Up to `limit` messages whose turn has come: queued and due, or left `sending` by a relay
/// whose lease ran out (it died between the claim and the answer).
pub async fn due(db: &Db, now: i64, limit: i64) -> sqlx::Result<Vec<Email>> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        columns!(),
        " FROM notifications_outbox \
         WHERE (status = 'queued' AND next_attempt_at_ms <= $1) OR (status = 'sending' AND lease_until_ms < $2) \
         ORDER BY created_at_ms, message_key LIMIT $3"
    ))
    .bind(now)
    .bind(now)
    .bind(limit)
    .fetch_all(db)
    .await?;
    rows.iter().map(email).collect()
}

/// Takes the message for one attempt, until `lease_until_ms`. Exactly one relay wins a
/// message: the update only matches while it is still due, and counts the attempt.
pub async fn claim(db: &Db, message_key: &str, now: i64, lease_until_ms: i64) -> sqlx::Result<bool> {
    let claimed = sqlx::query(
        "UPDATE notifications_outbox SET status = 'sending', lease_until_ms = $1, attempts = attempts + 1 \
         WHERE message_key = $2 AND ((status = 'queued' AND next_attempt_at_ms <= $3) \
                                     OR (status = 'sending' AND lease_until_ms < $4))",
    )
    .bind(lease_until_ms)
    .bind(message_key)
    .bind(now)
    .bind(now)
    .execute(db)
    .await?
    .rows_affected();
    Ok(claimed == 1)
}

pub async fn delivered(db: &Db, message_key: &str) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE notifications_outbox SET status = 'delivered', delivered_at_ms = $1, lease_until_ms = NULL, \
         last_error = NULL WHERE message_key = $2 AND status = 'sending'",
    )
    .bind(now_ms())
    .bind(message_key)
    .execute(db)
    .await?;
    Ok(())
}

/// Back to the queue until `next_attempt_at_ms`, remembering why.
pub async fn retry_later(db: &Db, message_key: &str, next_attempt_at_ms: i64, error: &str) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE notifications_outbox SET status = 'queued', next_attempt_at_ms = $1, lease_until_ms = NULL, \
         last_error = $2 WHERE message_key = $3 AND status = 'sending'",
    )
    .bind(next_attempt_at_ms)
    .bind(error)
    .bind(message_key)
    .execute(db)
    .await?;
    Ok(())
}

/// Given up: the server refused the message for good, or every attempt failed.
pub async fn failed(db: &Db, message_key: &str, error: &str) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE notifications_outbox SET status = 'failed', lease_until_ms = NULL, last_error = $1 \
         WHERE message_key = $2 AND status = 'sending'",
    )
    .bind(error)
    .bind(message_key)
    .execute(db)
    .await?;
    Ok(())
}

/// Deletes up to `batch` e-mails that are done (delivered or failed) and created before
/// `older_than_ms`. Queued and sending ones stay, however old: they are still owed.
pub async fn purge_done(db: &Db, older_than_ms: i64, batch: i64) -> sqlx::Result<i64> {
    let deleted = sqlx::query(
        "DELETE FROM notifications_outbox WHERE message_key IN (SELECT message_key FROM notifications_outbox \
         WHERE status IN ('delivered', 'failed') AND created_at_ms < $1 ORDER BY created_at_ms LIMIT $2)",
    )
    .bind(older_than_ms)
    .bind(batch)
    .execute(db)
    .await?
    .rows_affected();
    Ok(deleted as i64)
}
