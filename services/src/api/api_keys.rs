//! Storing and checking API keys (table `api_keys`): only a SHA-256 of each key is kept.

use crate::{db::Db, now_ms};
use ring::rand::{SecureRandom, SystemRandom};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::Row;

/// What a key may do. See `access.rs` for which route needs which.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Create orders for, and read the orders of, one customer.
    Customer,
    /// Everything: list all orders, approve, reject, cancel, read payloads through the codec.
    Operator,
    /// The workers' calls to `/internal/...` (the read model).
    Service,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Customer => "customer",
            Self::Operator => "operator",
            Self::Service => "service",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        [Self::Customer, Self::Operator, Self::Service].into_iter().find(|role| role.as_str() == text)
    }
}

/// Who is calling, once their key checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub role: Role,
    /// The customer a customer key belongs to.
    pub customer_id: Option<String>,
    pub label: String,
}

/// `cap_` and 64 hex digits (256 random bits).
pub fn generate_key() -> anyhow::Result<String> {
    let mut bytes = [0u8; 32];
    SystemRandom::new().fill(&mut bytes).map_err(|_| anyhow::anyhow!("the system random source failed"))?;
    Ok(format!("cap_{}", hex::encode(bytes)))
}

/// An HTTP client of the api that presents `key` (`Authorization: Bearer`) on every request:
/// the demo order, the benchmark and the tests use it.
pub fn client_with_key(key: &str) -> anyhow::Result<reqwest::Client> {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::AUTHORIZATION, format!("Bearer {}", key.trim()).parse()?);
    Ok(reqwest::Client::builder().default_headers(headers).build()?)
}

pub fn hash(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// The first characters, enough to tell keys apart in a listing without revealing them.
fn prefix(key: &str) -> String {
    key.chars().take(10).collect()
}

/// Stores `key` (its hash) with `role`. Storing the same key again changes nothing.
pub async fn store(db: &Db, key: &str, role: Role, customer_id: Option<&str>, label: &str) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO api_keys (key_hash, key_prefix, role, customer_id, label, created_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (key_hash) DO NOTHING",
    )
    .bind(hash(key))
    .bind(prefix(key))
    .bind(role.as_str())
    .bind(customer_id)
    .bind(label)
    .bind(now_ms())
    .execute(db)
    .await?;
    Ok(())
}

/// Replaces every key labelled `label` with `key`: the demo keys, new at each dev start.
pub async fn replace_labelled(
    db: &Db,
    label: &str,
    key: &str,
    role: Role,
    customer_id: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM api_keys WHERE label = $1").bind(label).execute(db).await?;
    store(db, key, role, customer_id, label).await
}

pub async fn find(db: &Db, key: &str) -> sqlx::Result<Option<Caller>> {
    let row = sqlx::query("SELECT role, customer_id, label FROM api_keys WHERE key_hash = $1")
        .bind(hash(key))
        .fetch_optional(db)
        .await?;
    Ok(row.and_then(|row| {
        let role = Role::parse(row.try_get::<String, _>("role").ok()?.as_str())?;
        Some(Caller {
            role,
            customer_id: row.try_get::<Option<String>, _>("customer_id").ok().flatten(),
            label: row.try_get("label").ok()?,
        })
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_long_random_and_hashed_one_way() {
        let key = generate_key().unwrap();
        assert_eq!(key.len(), 4 + 64);
        assert_ne!(key, generate_key().unwrap());
        assert_eq!(hash(&key).len(), 64);
        assert!(!hash(&key).contains(&key[4..]));
        assert_eq!(prefix(&key).len(), 10);
    }
}
