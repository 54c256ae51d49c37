//! Payload encryption: the AES-256-GCM codec every client and worker uses, its key
//! ring, and the codec endpoint through which the Temporal Web UI shows decrypted payloads.

pub mod aes;
pub mod endpoint;
pub mod keys;

pub use aes::EncryptionCodec;
pub use keys::KeyRing;

use temporalio_common::data_converters::{DataConverter, DefaultFailureConverter, PayloadConverter};

/// The data converter of every client, worker and replayer: the SDK's composite payload
/// converter (a wrapper type's own encoding first, such as the batch's MessagePack in
/// `capstone_workflows::payloads`, then JSON for every other type), then encryption.
pub fn data_converter(keys: &KeyRing) -> DataConverter {
    DataConverter::new(
        PayloadConverter::default(),
        DefaultFailureConverter::default(),
        EncryptionCodec::new(keys.clone()),
    )
}
