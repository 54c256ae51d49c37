//! | route                    | does                                                          |
//! |--------------------------|---------------------------------------------------------------|
//! | `POST /emails`           | queue an e-mail; idempotent by `message_key`                  |
//! | `GET /emails?recipient=` | the outbox and each message's delivery (for one recipient)    |
//! | `POST /internal/purge`   | the retention schedule: delivered or failed e-mails past an age |

use super::store;
use crate::{
    db::Db,
    http::{ApiError, ApiResult, JsonBody},
};
use axum::{
    Json, Router,
    extract::{Query, State},
    http::StatusCode,
    routing::post,
};
use capstone_workflows::contracts::notifications::{EmailReceipt, SendEmailRequest};
use serde::{Deserialize, Serialize};

pub fn routes(db: Db) -> Router {
    Router::new()
        .route("/emails", post(send_email).get(list_emails))
        .route("/internal/purge", post(purge))
        .with_state(db)
}

async fn send_email(
    State(db): State<Db>,
    JsonBody(request): JsonBody<SendEmailRequest>,
) -> ApiResult<(StatusCode, Json<EmailReceipt>)> {
    if request.message_key.is_empty() || request.to.is_empty() || request.subject.is_empty() {
        return Err(ApiError::invalid_request("message_key, to and subject are required"));
    }
    let created = store::enqueue(&db, &request).await?;
    if created {
        tracing::info!(message_key = %request.message_key, "e-mail queued");
    }
    let receipt = EmailReceipt { message_key: request.message_key };
    Ok((if created { StatusCode::CREATED } else { StatusCode::OK }, Json(receipt)))
}

#[derive(Deserialize)]
struct OutboxFilter {
    recipient: Option<String>,
}

#[derive(Serialize)]
struct Outbox {
    emails: Vec<store::Email>,
}

async fn list_emails(State(db): State<Db>, Query(filter): Query<OutboxFilter>) -> ApiResult<Json<Outbox>> {
    Ok(Json(Outbox { emails: store::list(&db, filter.recipient.as_deref()).await? }))
}

/// The retention schedule's batch: e-mails that are done (delivered or failed) and old.
async fn purge(
    State(db): State<Db>,
    JsonBody(request): JsonBody<capstone_workflows::contracts::operations::PurgeRequest>,
) -> ApiResult<Json<capstone_workflows::contracts::operations::Purged>> {
    use capstone_workflows::contracts::operations::{PurgeTarget, Purged};
    request.check(PurgeTarget::SentEmails).map_err(ApiError::invalid_request)?;
    let deleted = store::purge_done(&db, request.older_than_ms, request.batch).await?;
    Ok(Json(Purged { target: request.target, deleted }))
}
