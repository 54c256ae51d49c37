//! A payload encoding of our own: MessagePack, for the large payloads.
//!
//! Temporal turns every workflow and activity input, result, query answer and signal into a
//! `Payload` in two layers. The **payload converter** turns a value into bytes and names the
//! encoding in the payload's metadata (`encoding: json/plain`); the **codec** then transforms
//! those bytes (our `EncryptionCodec` encrypts them: `encoding: binary/encrypted`). The SDK's
//! default converter is a composite: it first asks the value's own type (a "wrapper" such
//! as [`Packed`]) and falls back to serde JSON for every other type.
//!
//! [`Packed`] is that wrapper: a value in it is written as MessagePack under its own encoding,
//! [`ENCODING`], with field names (so that a field added with `#[serde(default)]` still reads,
//! as with JSON). The batch's input, which carries its aggregate from run to run, and its
//! result use it: lists of order ids and counters, the payloads that grow with a batch. The
//! codec encrypts the MessagePack bytes as it encrypted JSON; the codec endpoint shows them to
//! the Web UI as JSON again (services/src/codec/endpoint.rs).
//!
//! Reading accepts JSON too: histories recorded before a type was packed hold `json/plain`
//! payloads, and a workflow replaying them must read its input as it was written.

use serde::{Serialize, de::DeserializeOwned};
use std::collections::HashMap;
use temporalio_common::{
    data_converters::{PayloadConversionError, SerializationContext, TemporalDeserializable, TemporalSerializable},
    protos::temporal::api::common::v1::Payload,
};

/// The `encoding` metadata of a [`Packed`] payload.
pub const ENCODING: &str = "binary/msgpack";
/// What the SDK's JSON converter writes (and histories from before packing hold).
const JSON_ENCODING: &str = "json/plain";
const ENCODING_KEY: &str = "encoding";

/// A value written as MessagePack (see the module's documentation). Workflows take it apart
/// with `.0`; clients wrap what they send: `Packed(input)`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Packed<T>(pub T);

impl<T: Serialize + 'static> TemporalSerializable for Packed<T> {
    fn to_payload(&self, _: &SerializationContext<'_>) -> Result<Payload, PayloadConversionError> {
        let data =
            rmp_serde::to_vec_named(&self.0).map_err(|error| PayloadConversionError::EncodingError(error.into()))?;
        Ok(Payload {
            metadata: HashMap::from([(ENCODING_KEY.to_owned(), ENCODING.as_bytes().to_vec())]),
            data,
            external_payloads: vec![],
        })
    }
}

impl<T: DeserializeOwned + 'static> TemporalDeserializable for Packed<T> {
    fn from_payload(_: &SerializationContext<'_>, payload: Payload) -> Result<Self, PayloadConversionError> {
        let encoding = payload.metadata.get(ENCODING_KEY).map(Vec::as_slice);
        let value = if encoding == Some(ENCODING.as_bytes()) {
            rmp_serde::from_slice(&payload.data).map_err(|error| PayloadConversionError::EncodingError(error.into()))?
        } else if encoding == Some(JSON_ENCODING.as_bytes()) {
            serde_json::from_slice(&payload.data)
                .map_err(|error| PayloadConversionError::EncodingError(error.into()))?
        } else {
            return Err(PayloadConversionError::WrongEncoding);
        };
        Ok(Packed(value))
    }
}

/// A MessagePack payload's value as JSON: what the codec endpoint shows people. `None` for
/// any other payload.
pub fn as_json(payload: &Payload) -> Option<serde_json::Value> {
    if payload.metadata.get(ENCODING_KEY).map(Vec::as_slice) != Some(ENCODING.as_bytes()) {
        return None;
    }
    rmp_serde::from_slice(&payload.data).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::{BatchInput, BatchProgress, BatchState, OrderTemplate, RollbackPolicy};
    use temporalio_common::data_converters::{GenericPayloadConverter, PayloadConverter, SerializationContextData};

    /// A batch's input as it is carried into a late run: hundreds of order ids.
    fn large_input() -> BatchInput {
        let completed: Vec<String> = (0..500).map(|index| format!("bat-ada-6a83f26c80584b70-{index:05}")).collect();
        BatchInput {
            batch_id: "bat-ada-6a83f26c80584b70".into(),
            count: 5_000,
            template: OrderTemplate { customer_prefix: "bulk".into(), total_cents: 1_200, ..OrderTemplate::default() },
            window: 20,
            rollback: RollbackPolicy { max_failure_percent: 50, min_finished: 10 },
            children_per_run: 500,
            progress: BatchProgress {
                state: BatchState::Running,
                next_index: 500,
                started: 500,
                finished: 500,
                by_status: [("COMPLETED".to_owned(), 500)].into(),
                charged_cents: 500 * 1_200,
                completed_orders: completed,
                runs: 1,
                ..BatchProgress::default()
            },
        }
    }

    fn round_trip<T: Serialize + DeserializeOwned + 'static>(value: &Packed<T>) -> (Payload, Packed<T>) {
        // The SDK's default converter, as `capstone::codec::data_converter` uses it.
        let converter = PayloadConverter::default();
        let context = SerializationContext::new(&SerializationContextData::None, &converter);
        let payload = converter.to_payload(&context, value).expect("it serializes");
        let back = converter.from_payload(&context, payload.clone()).expect("it deserializes");
        (payload, back)
    }

    #[test]
    fn every_packed_payload_type_round_trips_as_messagepack() {
        let input = Packed(large_input());
        let (payload, back) = round_trip(&input);
        assert_eq!(payload.metadata[ENCODING_KEY], ENCODING.as_bytes());
        assert_eq!(back, input);
        let result = Packed(large_input().progress);
        let (payload, back) = round_trip(&result);
        assert_eq!(payload.metadata[ENCODING_KEY], ENCODING.as_bytes());
        assert_eq!(back, result);
        assert_eq!(as_json(&payload), Some(serde_json::to_value(&result.0).unwrap()), "shown as JSON");
    }

    #[test]
    fn other_types_stay_json_and_json_reads_into_a_packed_type() {
        let converter = PayloadConverter::default();
        let context = SerializationContext::new(&SerializationContextData::None, &converter);
        let plain = converter.to_payload(&context, &large_input()).unwrap();
        assert_eq!(plain.metadata[ENCODING_KEY], JSON_ENCODING.as_bytes(), "unwrapped values stay JSON");
        assert_eq!(as_json(&plain), None);
        // A history written before packing: its JSON input reads into the packed type.
        let read: Packed<BatchInput> = converter.from_payload(&context, plain).unwrap();
        assert_eq!(read.0, large_input());
        let unknown = Payload {
            metadata: HashMap::from([(ENCODING_KEY.to_owned(), b"binary/protobuf".to_vec())]),
            ..Payload::default()
        };
        let refused: Result<Packed<BatchInput>, _> = converter.from_payload(&context, unknown);
        assert!(refused.is_err(), "an encoding it does not know is an error, not a guess");
    }

    #[test]
    fn messagepack_is_smaller_than_json_for_a_large_batch_input() {
        let input = large_input();
        let json = serde_json::to_vec(&input).unwrap().len();
        let (payload, _) = round_trip(&Packed(input.clone()));
        let named = payload.data.len();
        let compact = rmp_serde::to_vec(&input).unwrap().len();
        println!(
            "a batch input with 500 completed orders: JSON {json} B, MessagePack {named} B (without field names {compact} B)"
        );
        assert!(named < json, "MessagePack {named} B, JSON {json} B");
    }
}
