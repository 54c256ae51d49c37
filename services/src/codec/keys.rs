//! The key ring: which AES-256 keys encrypt payloads, and which still decrypt old ones.
//!
//! Keys come from `PAYLOAD_KEYS` or from a file (`PAYLOAD_KEYS_FILE`, default
//! `.data/payload-keys`), as `id:base64-of-32-bytes` entries separated by commas or lines. The
//! first entry is the *current* key: new payloads are encrypted with it. The others only
//! decrypt. Rotation is therefore: put a new key first, keep the old one after it until no
//! history that needs it is retained (see docs/day-10.md).
//!
//! Key material never leaves this module in text: `Debug` shows only the ids.

use anyhow::{Context, bail};
use base64::{Engine, engine::general_purpose::STANDARD as BASE64};
use ring::{
    aead::{AES_256_GCM, LessSafeKey, UnboundKey},
    rand::{SecureRandom, SystemRandom},
};
use std::{fmt, path::Path, sync::Arc};

/// One named AES-256-GCM key.
pub struct PayloadKey {
    pub id: String,
    pub(super) key: LessSafeKey,
}

/// The current key first, then the older keys that still decrypt.
#[derive(Clone)]
pub struct KeyRing {
    keys: Arc<Vec<PayloadKey>>,
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.debug_struct("KeyRing").field("key_ids", &self.ids()).finish_non_exhaustive()
    }
}

impl KeyRing {
    /// Parses `id:base64,id:base64` (commas or new lines; `#` starts a comment line).
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let mut keys: Vec<PayloadKey> = Vec::new();
        let entries = text
            .lines()
            .map(str::trim)
            .filter(|line| !line.starts_with('#'))
            .flat_map(|line| line.split(','))
            .map(str::trim)
            .filter(|entry| !entry.is_empty());
        for (position, entry) in entries.enumerate() {
            let Some((id, material)) = entry.split_once(':') else {
                bail!("payload key #{} is not `id:base64`", position + 1);
            };
            let id = id.trim();
            if id.is_empty() || id.len() > 64 || !id.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
                bail!("payload key #{}: the id must be 1 to 64 letters, digits, '-', '_' or '.'", position + 1);
            }
            // The error names the key by id only: the material must not reach a log.
            let bytes = BASE64
                .decode(material.trim())
                .ok()
                .filter(|bytes| bytes.len() == 32)
                .with_context(|| format!("payload key {id:?} must be 32 bytes, base64-encoded"))?;
            if keys.iter().any(|known| known.id == id) {
                bail!("payload key id {id:?} appears twice");
            }
            let key =
                UnboundKey::new(&AES_256_GCM, &bytes).map_err(|_| anyhow::anyhow!("payload key {id:?} is unusable"))?;
            keys.push(PayloadKey { id: id.to_owned(), key: LessSafeKey::new(key) });
        }
        if keys.is_empty() {
            bail!("no payload keys given");
        }
        Ok(Self { keys: Arc::new(keys) })
    }

    /// `PAYLOAD_KEYS` when given, else the file; a missing file is created with a fresh key
    /// when `create_if_missing` (the local default: every process on the machine shares it).
    pub fn load(keys: Option<&str>, file: &Path, create_if_missing: bool) -> anyhow::Result<Self> {
        if let Some(keys) = keys.filter(|keys| !keys.trim().is_empty()) {
            return Self::parse(keys).context("PAYLOAD_KEYS");
        }
        let text = if create_if_missing {
            crate::secrets::read_or_create(
                file,
                "Payload encryption keys (docs/day-10.md): the first encrypts, the rest still decrypt",
                generate_entry,
            )?
        } else {
            std::fs::read_to_string(file).map_err(|error| {
                anyhow::anyhow!(
                    "cannot read the payload keys from {}: {error}\n\
                     Set PAYLOAD_KEYS, or write a key there with `capstone generate-payload-key > {}`.",
                    file.display(),
                    file.display()
                )
            })?
        };
        Self::parse(&text).with_context(|| format!("payload keys in {}", file.display()))
    }

    pub fn current(&self) -> &PayloadKey {
        &self.keys[0]
    }

    pub fn find(&self, id: &str) -> Option<&PayloadKey> {
        self.keys.iter().find(|key| key.id == id)
    }

    pub fn ids(&self) -> Vec<&str> {
        self.keys.iter().map(|key| key.id.as_str()).collect()
    }
}

/// A new `id:base64` entry: 32 random bytes, the id from today's date and a random suffix.
pub fn generate_entry() -> anyhow::Result<String> {
    let mut material = [0u8; 32];
    SystemRandom::new().fill(&mut material).map_err(|_| anyhow::anyhow!("the system random source failed"))?;
    let mut suffix = [0u8; 3];
    SystemRandom::new().fill(&mut suffix).map_err(|_| anyhow::anyhow!("the system random source failed"))?;
    let date = crate::rfc3339(crate::now_ms());
    Ok(format!("key-{}-{}:{}", &date[..10], hex::encode(suffix), BASE64.encode(material)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_A: &str = "a:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    const KEY_B: &str = "b:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";

    #[test]
    fn the_first_key_is_current_and_the_rest_still_decrypt() {
        let ring = KeyRing::parse(&format!("{KEY_B},\n# old\n{KEY_A}")).unwrap();
        assert_eq!(ring.current().id, "b");
        assert_eq!(ring.ids(), ["b", "a"]);
        assert!(ring.find("a").is_some() && ring.find("c").is_none());
    }

    #[test]
    fn bad_keys_are_refused_without_showing_the_material() {
        for (text, expected) in [
            ("", "no payload keys"),
            ("nocolon", "not `id:base64`"),
            ("a:c2hvcnQ=", "32 bytes"),
            ("bad id:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "the id"),
        ] {
            let error = format!("{:#}", KeyRing::parse(text).unwrap_err());
            assert!(error.contains(expected), "{text:?}: {error}");
            assert!(!error.contains("c2hvcnQ"), "the key material leaked: {error}");
        }
        assert!(format!("{:#}", KeyRing::parse(&format!("{KEY_A},{KEY_A}")).unwrap_err()).contains("twice"));
        let debug = format!("{:?}", KeyRing::parse(KEY_A).unwrap());
        assert!(debug.contains("\"a\"") && !debug.contains("AAAA"), "{debug}");
    }

    #[test]
    fn a_missing_file_gets_a_fresh_private_key_once() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("keys/payload-keys");
        assert!(KeyRing::load(None, &file, false).is_err(), "no file and no permission to create one");
        let first = KeyRing::load(None, &file, true).unwrap();
        let again = KeyRing::load(None, &file, true).unwrap();
        assert_eq!(first.ids(), again.ids());
        assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
        // The environment wins over the file.
        assert_eq!(KeyRing::load(Some(KEY_A), &file, true).unwrap().ids(), ["a"]);
    }
}
