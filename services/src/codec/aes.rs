//! The AES-256-GCM payload codec: every payload the SDK sends to the server is serialized
//! whole (data *and* metadata, so not even the encoding shows) and sealed with the ring's
//! current key; the key id travels in the clear in the new payload's metadata so that a
//! process with an older ring entry can still open it.
//!
//! Payload layout: metadata `encoding = binary/encrypted`, `encryption-key-id = <id>`,
//! `encryption-cipher = AES256GCM`; data = 12-byte random nonce || ciphertext || 16-byte tag.
//! The key id is also the AEAD's associated data, so a payload relabelled with another id
//! does not open.

use super::keys::KeyRing;
use futures::{FutureExt, future::BoxFuture};
use prost::Message;
use ring::{
    aead::{Aad, NONCE_LEN, Nonce},
    rand::{SecureRandom, SystemRandom},
};
use temporalio_common::{
    data_converters::{PayloadCodec, PayloadConversionError, SerializationContextData},
    protos::temporal::api::common::v1::Payload,
};

pub const ENCODING: &str = "binary/encrypted";
pub const KEY_ID: &str = "encryption-key-id";
pub const CIPHER: &str = "encryption-cipher";
const CIPHER_NAME: &str = "AES256GCM";

#[derive(Debug, Clone)]
pub struct EncryptionCodec {
    keys: KeyRing,
}

impl EncryptionCodec {
    pub fn new(keys: KeyRing) -> Self {
        Self { keys }
    }

    pub fn keys(&self) -> &KeyRing {
        &self.keys
    }

    /// Seals one payload with the current key. Already-encrypted payloads pass unchanged
    /// (a payload the server hands back, re-sent as is, must not be sealed twice).
    pub fn encrypt(&self, payload: Payload) -> Result<Payload, CodecError> {
        if is_encrypted(&payload) {
            return Ok(payload);
        }
        let key = self.keys.current();
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new().fill(&mut nonce).map_err(|_| CodecError::Random)?;
        let mut sealed = payload.encode_to_vec();
        key.key
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(key.id.as_bytes()), &mut sealed)
            .map_err(|_| CodecError::Seal)?;
        let mut data = Vec::with_capacity(NONCE_LEN + sealed.len());
        data.extend_from_slice(&nonce);
        data.extend_from_slice(&sealed);
        let metadata = [
            ("encoding".to_owned(), ENCODING.as_bytes().to_vec()),
            (KEY_ID.to_owned(), key.id.as_bytes().to_vec()),
            (CIPHER.to_owned(), CIPHER_NAME.as_bytes().to_vec()),
        ]
        .into();
        Ok(Payload { metadata, data, ..Payload::default() })
    }

    /// Opens one payload. Payloads that are not ours (plain JSON from a client without the
    /// codec, say) pass unchanged.
    pub fn decrypt(&self, payload: Payload) -> Result<Payload, CodecError> {
        if !is_encrypted(&payload) {
            return Ok(payload);
        }
        let id = payload.metadata.get(KEY_ID).map(|id| String::from_utf8_lossy(id).into_owned()).unwrap_or_default();
        let key = self.keys.find(&id).ok_or_else(|| CodecError::UnknownKey(id.clone()))?;
        if payload.data.len() < NONCE_LEN {
            return Err(CodecError::Open(id));
        }
        let (nonce, sealed) = payload.data.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| CodecError::Open(id.clone()))?;
        let mut buffer = sealed.to_vec();
        let plain = key
            .key
            .open_in_place(nonce, Aad::from(key.id.as_bytes()), &mut buffer)
            .map_err(|_| CodecError::Open(id.clone()))?;
        Payload::decode(&plain[..]).map_err(|_| CodecError::Open(id))
    }
}

pub fn is_encrypted(payload: &Payload) -> bool {
    payload.metadata.get("encoding").is_some_and(|encoding| encoding == ENCODING.as_bytes())
}

#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("the payload was encrypted with key {0:?}, which is not in this process's PAYLOAD_KEYS")]
    UnknownKey(String),
    #[error("the payload does not open with key {0:?}: it was altered, or the key is wrong")]
    Open(String),
    #[error("encryption failed")]
    Seal,
    #[error("the system random source failed")]
    Random,
}

impl PayloadCodec for EncryptionCodec {
    fn encode(
        &self,
        _context: &SerializationContextData,
        payloads: Vec<Payload>,
    ) -> BoxFuture<'static, Result<Vec<Payload>, PayloadConversionError>> {
        let result = payloads.into_iter().map(|payload| self.encrypt(payload)).collect::<Result<Vec<_>, _>>();
        async move { result.map_err(|error| PayloadConversionError::EncodingError(Box::new(error))) }.boxed()
    }

    fn decode(
        &self,
        _context: &SerializationContextData,
        payloads: Vec<Payload>,
    ) -> BoxFuture<'static, Result<Vec<Payload>, PayloadConversionError>> {
        let result = payloads.into_iter().map(|payload| self.decrypt(payload)).collect::<Result<Vec<_>, _>>();
        async move { result.map_err(|error| PayloadConversionError::EncodingError(Box::new(error))) }.boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLD: &str = "old:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    const NEW: &str = "new:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";

    fn codec(keys: &str) -> EncryptionCodec {
        EncryptionCodec::new(KeyRing::parse(keys).unwrap())
    }

    fn json(text: &str) -> Payload {
        Payload {
            metadata: [("encoding".to_owned(), b"json/plain".to_vec())].into(),
            data: text.as_bytes().to_vec(),
            ..Payload::default()
        }
    }

    #[test]
    fn a_payload_round_trips_and_hides_data_and_metadata() {
        let codec = codec(NEW);
        let plain = json(r#"{"card_token":"tok_visa"}"#);
        let sealed = codec.encrypt(plain.clone()).unwrap();
        assert!(is_encrypted(&sealed));
        assert_eq!(sealed.metadata[KEY_ID], b"new");
        let bytes = format!("{:?}", sealed);
        assert!(!bytes.contains("tok_visa") && !bytes.contains("json/plain"), "{bytes}");
        assert_ne!(codec.encrypt(plain.clone()).unwrap().data, sealed.data, "a fresh nonce every time");
        assert_eq!(codec.decrypt(sealed.clone()).unwrap(), plain);
        assert_eq!(codec.encrypt(sealed.clone()).unwrap(), sealed, "never sealed twice");
        assert_eq!(codec.decrypt(plain.clone()).unwrap(), plain, "plain payloads pass");
    }

    #[test]
    fn after_rotation_old_payloads_still_open_and_new_ones_use_the_new_key() {
        let before = codec(OLD).encrypt(json("1")).unwrap();
        let rotated = codec(&format!("{NEW},{OLD}"));
        assert_eq!(rotated.decrypt(before.clone()).unwrap(), json("1"));
        assert_eq!(rotated.encrypt(json("2")).unwrap().metadata[KEY_ID], b"new");
        let error = codec(NEW).decrypt(before).unwrap_err();
        assert!(matches!(error, CodecError::UnknownKey(ref id) if id == "old"), "{error}");
    }

    #[test]
    fn a_tampered_or_relabelled_payload_does_not_open() {
        let codec = codec(&format!("{NEW},{OLD}"));
        let mut tampered = codec.encrypt(json("1")).unwrap();
        *tampered.data.last_mut().unwrap() ^= 1;
        assert!(matches!(codec.decrypt(tampered), Err(CodecError::Open(_))));
        let mut relabelled = codec.encrypt(json("1")).unwrap();
        relabelled.metadata.insert(KEY_ID.to_owned(), b"old".to_vec());
        assert!(matches!(codec.decrypt(relabelled), Err(CodecError::Open(_))));
    }
}
