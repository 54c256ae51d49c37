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
    /// The operator an operator key belongs to: decisions are taken in this name.
    pub operator: Option<String>,
    pub label: String,
    /// The key's hash: what rate limits count by (never the key itself).
    pub key_hash: String,
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

/// Stores `key` (its hash) with `role`. `principal` is who the key is: the customer a
/// customer key acts for, the operator an operator key belongs to (none for service keys).
/// Storing the same key again changes nothing.
pub async fn store(
    db: impl sqlx::AnyExecutor<'_>,
    key: &str,
    role: Role,
    principal: Option<&str>,
    label: &str,
) -> sqlx::Result<()> {
    let customer_id = principal.filter(|_| role == Role::Customer);
    let operator = principal.filter(|_| role == Role::Operator);
    sqlx::query(
        "INSERT INTO api_keys (key_hash, key_prefix, role, customer_id, operator_name, label, created_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (key_hash) DO NOTHING",
    )
    .bind(hash(key))
    .bind(prefix(key))
    .bind(role.as_str())
    .bind(customer_id)
    .bind(operator)
    .bind(label)
    .bind(now_ms())
    .execute(db)
    .await?;
    Ok(())
}

/// Makes `keys` the only keys labelled `label`, in one transaction: there is no moment in
/// which a caller presenting one of them is refused (the api does this at every start with
/// the service keys; several api replicas starting at once agree on the result).
pub async fn replace_labelled(
    db: &Db,
    label: &str,
    keys: &[&str],
    role: Role,
    principal: Option<&str>,
) -> sqlx::Result<()> {
    let mut tx = db.begin().await?;
    for key in keys {
        store(&mut *tx, key, role, principal, label).await?;
    }
    let keep: Vec<String> = keys.iter().map(|key| hash(key)).collect();
    let stale: Vec<String> = sqlx::query_scalar("SELECT key_hash FROM api_keys WHERE label = $1")
        .bind(label)
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .filter(|hash: &String| !keep.contains(hash))
        .collect();
    for key_hash in stale {
        sqlx::query("DELETE FROM api_keys WHERE key_hash = $1").bind(key_hash).execute(&mut *tx).await?;
    }
    tx.commit().await
}

pub async fn find(db: &Db, key: &str) -> sqlx::Result<Option<Caller>> {
    let key_hash = hash(key);
    let row = sqlx::query("SELECT role, customer_id, operator_name, label FROM api_keys WHERE key_hash = $1")
        .bind(&key_hash)
        .fetch_optional(db)
        .await?;
    Ok(row.and_then(|row| {
        let role = Role::parse(row.try_get::<String, _>("role").ok()?.as_str())?;
        Some(Caller {
            role,
            customer_id: row.try_get::<Option<String>, _>("customer_id").ok().flatten(),
            operator: row.try_get::<Option<String>, _>("operator_name").ok().flatten(),
            label: row.try_get("label").ok()?,
            key_hash,
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
