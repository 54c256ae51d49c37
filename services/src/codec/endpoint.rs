//! The codec endpoint (`POST /codec/encode`, `POST /codec/decode`): the remote codec protocol
//! of the Temporal Web UI and CLI. The UI posts the payloads it shows as
//! `{"payloads": [{"metadata": {"encoding": "<base64>"}, "data": "<base64>"}]}` and displays
//! what comes back, so an operator reads orders in the UI while the server stores only
//! ciphertext. Mounted by the api behind operator keys and CORS for the UI's origin
//! (`api/routes.rs`); docs/day-10.md has the UI setting.
//!
//! Decoding is for people: a payload our converter wrote as MessagePack (the batch's,
//! `capstone_workflows::payloads`) comes back as JSON, which the UI and the CLI show as a
//! document; its metadata keeps the original encoding under `decoded-from`.

use super::{EncryptionCodec, aes::CodecError};
use crate::http::{ApiError, ApiResult, JsonBody};
use axum::{Json, extract::State};
use base64::{Engine, engine::general_purpose::STANDARD as BASE64};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use temporalio_common::protos::temporal::api::common::v1::Payload;

/// One payload in the protocol's JSON form (proto3 JSON: bytes as base64).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct JsonPayload {
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    #[serde(default)]
    pub data: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct JsonPayloads {
    #[serde(default)]
    pub payloads: Vec<JsonPayload>,
}

pub async fn encode(
    State(codec): State<EncryptionCodec>,
    JsonBody(body): JsonBody<JsonPayloads>,
) -> ApiResult<Json<JsonPayloads>> {
    convert(body, |payload| codec.encrypt(payload))
}

pub async fn decode(
    State(codec): State<EncryptionCodec>,
    JsonBody(body): JsonBody<JsonPayloads>,
) -> ApiResult<Json<JsonPayloads>> {
    convert(body, |payload| codec.decrypt(payload).map(for_people))
}

/// A MessagePack payload as JSON (what the UI can show); any other payload as it is.
fn for_people(payload: Payload) -> Payload {
    let Some(value) = capstone_workflows::payloads::as_json(&payload) else { return payload };
    let mut metadata = payload.metadata;
    let original = metadata.insert("encoding".to_owned(), b"json/plain".to_vec()).unwrap_or_default();
    metadata.insert("decoded-from".to_owned(), original);
    Payload { metadata, data: serde_json::to_vec(&value).unwrap_or_default(), ..Payload::default() }
}

fn convert(
    body: JsonPayloads,
    mut step: impl FnMut(Payload) -> Result<Payload, CodecError>,
) -> ApiResult<Json<JsonPayloads>> {
    let payloads = body
        .payloads
        .into_iter()
        .enumerate()
        .map(|(index, payload)| {
            let payload = from_json(index, payload)?;
            let converted = step(payload)
                .map_err(|error| ApiError::invalid("codec_failed", format!("payloads[{index}]: {error}")))?;
            Ok(to_json(&converted))
        })
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(Json(JsonPayloads { payloads }))
}

pub fn from_json(index: usize, payload: JsonPayload) -> ApiResult<Payload> {
    let bytes = |field: &str, text: &str| {
        BASE64.decode(text).map_err(|_| ApiError::invalid_request(format!("payloads[{index}].{field} is not base64")))
    };
    let mut metadata = std::collections::HashMap::new();
    for (key, value) in &payload.metadata {
        metadata.insert(key.clone(), bytes(&format!("metadata.{key}"), value)?);
    }
    Ok(Payload { metadata, data: bytes("data", &payload.data)?, ..Payload::default() })
}

pub fn to_json(payload: &Payload) -> JsonPayload {
    JsonPayload {
        metadata: payload.metadata.iter().map(|(key, value)| (key.clone(), BASE64.encode(value))).collect(),
        data: BASE64.encode(&payload.data),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use capstone_workflows::payloads::{ENCODING, Packed};
    use temporalio_common::data_converters::{
        GenericPayloadConverter, PayloadConverter, SerializationContext, SerializationContextData,
    };

    #[test]
    fn a_messagepack_payload_is_shown_as_json_and_others_as_they_are() {
        let converter = PayloadConverter::default();
        let context = SerializationContext::new(&SerializationContextData::None, &converter);
        let value = serde_json::json!({"batch_id": "bat-1", "count": 3, "completed_orders": ["bat-1-00000"]});
        let packed = converter.to_payload(&context, &Packed(value.clone())).unwrap();
        assert_eq!(packed.metadata["encoding"], ENCODING.as_bytes());
        let shown = for_people(packed);
        assert_eq!(shown.metadata["encoding"], b"json/plain");
        assert_eq!(shown.metadata["decoded-from"], ENCODING.as_bytes());
        assert_eq!(serde_json::from_slice::<serde_json::Value>(&shown.data).unwrap(), value);
        let plain = converter.to_payload(&context, &value).unwrap();
        assert_eq!(for_people(plain.clone()), plain, "JSON payloads pass unchanged");
    }
}
