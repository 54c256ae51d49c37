//! `JsonBody<T>`: axum's `Json<T>` with rejections in our error shape.
//!
//! | problem                          | status | error                    |
//! |----------------------------------|--------|--------------------------|
//! | not JSON at all / truncated      | 400    | `malformed_json`         |
//! | JSON of the wrong shape or types | 422    | `invalid_body`           |
//! | no `content-type: application/json` | 415 | `unsupported_media_type` |
//! | body over the size limit         | 413    | `payload_too_large`      |

use super::ApiError;
use crate::http::codes;
use axum::{
    extract::{FromRequest, Request, rejection::JsonRejection},
    http::StatusCode,
};
use serde::de::DeserializeOwned;

pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(reject(rejection)),
        }
    }
}

fn reject(rejection: JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::JsonSyntaxError(error) => {
            ApiError::new(StatusCode::BAD_REQUEST, "malformed_json", error.body_text())
        }
        JsonRejection::JsonDataError(error) => ApiError::invalid(codes::INVALID_BODY, error.body_text()),
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as JSON with `content-type: application/json`",
        ),
        other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the body is larger than {} bytes", super::MAX_BODY_BYTES),
        ),
        other => ApiError::new(StatusCode::BAD_REQUEST, "unreadable_body", other.body_text()),
    }
}
