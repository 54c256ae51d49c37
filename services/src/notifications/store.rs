//! SQL for the outbox. The message key is the primary key: one e-mail per key, ever.

use crate::{db::Db, now_ms};
use capstone_workflows::contracts::notifications::SendEmailRequest;
use serde::Serialize;
use sqlx::Row;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Email {
    pub message_key: String,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub created_at_ms: i64,
}

/// Returns true when the e-mail is new, false when the key was queued before.
pub async fn enqueue(db: &Db, request: &SendEmailRequest) -> sqlx::Result<bool> {
    let inserted = sqlx::query(
        "INSERT INTO notifications_outbox (message_key, recipient, subject, body, status, created_at_ms) \
         VALUES ($1, $2, $3, $4, 'queued', $5) ON CONFLICT (message_key) DO NOTHING",
    )
    .bind(&request.message_key)
    .bind(&request.to)
    .bind(&request.subject)
    .bind(&request.body)
    .bind(now_ms())
    .execute(db)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}

pub async fn list(db: &Db, recipient: Option<&str>) -> sqlx::Result<Vec<Email>> {
    let rows = sqlx::query(
        "SELECT message_key, recipient, subject, body, created_at_ms FROM notifications_outbox \
         WHERE ($1 IS NULL OR recipient = $2) ORDER BY created_at_ms, message_key",
    )
    .bind(recipient)
    .bind(recipient)
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(Email {
                message_key: row.try_get("message_key")?,
                recipient: row.try_get("recipient")?,
                subject: row.try_get("subject")?,
                body: row.try_get("body")?,
                created_at_ms: row.try_get("created_at_ms")?,
            })
        })
        .collect()
}
