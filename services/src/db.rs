//! Database access for every service: one URL picks SQLite (the default) or PostgreSQL.
//!
//! The services use sqlx's `Any` driver and SQL that both databases accept (`$1` parameters,
//! `BIGINT`, `TEXT`, `INSERT ... ON CONFLICT`), so the same queries run on either. Each
//! service owns its tables (prefixed with its name) and its migrations, tracked in its own
//! `_sqlx_migrations_<service>` table, so services can share a database or each have one.

use anyhow::Context;
use sqlx::{AnyPool, Executor, any::AnyPoolOptions};
use std::{path::Path, time::Duration};

pub type Db = AnyPool;

/// The services that own tables, in the order their migrations run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    Api,
    Inventory,
    Payments,
    Shipping,
    Notifications,
}

impl Owner {
    pub const ALL: [Owner; 5] = [Owner::Api, Owner::Inventory, Owner::Payments, Owner::Shipping, Owner::Notifications];

    pub fn name(self) -> &'static str {
        match self {
            Owner::Api => "api",
            Owner::Inventory => "inventory",
            Owner::Payments => "payments",
            Owner::Shipping => "shipping",
            Owner::Notifications => "notifications",
        }
    }

    fn migrator(self) -> sqlx::migrate::Migrator {
        let mut migrator = match self {
            Owner::Api => sqlx::migrate!("./migrations/api"),
            Owner::Inventory => sqlx::migrate!("./migrations/inventory"),
            Owner::Payments => sqlx::migrate!("./migrations/payments"),
            Owner::Shipping => sqlx::migrate!("./migrations/shipping"),
            Owner::Notifications => sqlx::migrate!("./migrations/notifications"),
        };
        migrator.dangerous_set_table_name(format!("_sqlx_migrations_{}", self.name()));
        migrator
    }
}

/// Opens a pool. For SQLite, creates the file's folder and switches to WAL, so that readers
/// never block the writer and several services can share one file.
pub async fn connect(database_url: &str) -> anyhow::Result<Db> {
    sqlx::any::install_default_drivers();
    let is_sqlite = database_url.starts_with("sqlite:");
    if is_sqlite {
        create_sqlite_folder(database_url)?;
    }
    let pool = AnyPoolOptions::new()
        .max_connections(if is_sqlite { 4 } else { 10 })
        .acquire_timeout(Duration::from_secs(10))
        .after_connect(move |conn, _| {
            Box::pin(async move {
                if is_sqlite {
                    // Wait for the write lock instead of failing with SQLITE_BUSY, and trade
                    // a little durability on power loss for much faster commits (WAL keeps
                    // the database consistent either way).
                    conn.execute(
                        "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 10000; PRAGMA synchronous = NORMAL;",
                    )
                    .await?;
                }
                Ok(())
            })
        })
        .connect(database_url)
        .await
        .with_context(|| format!("cannot open the database at {}", redact(database_url)))?;
    Ok(pool)
}

/// Applies `owner`'s migrations (idempotent: applied ones are skipped).
pub async fn migrate(db: &Db, owner: Owner) -> anyhow::Result<()> {
    owner.migrator().run(db).await.with_context(|| format!("migrating the {} tables", owner.name()))?;
    tracing::debug!(service = owner.name(), "migrations applied");
    Ok(())
}

/// `sqlite://.data/capstone.db?mode=rwc` -> creates `.data/`.
fn create_sqlite_folder(database_url: &str) -> anyhow::Result<()> {
    let path = database_url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:")
        .split('?')
        .next()
        .unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return Ok(());
    }
    if let Some(folder) = Path::new(path).parent().filter(|folder| !folder.as_os_str().is_empty()) {
        std::fs::create_dir_all(folder).with_context(|| format!("creating {}", folder.display()))?;
    }
    Ok(())
}

/// The URL without its password, for messages and logs.
pub fn redact(database_url: &str) -> String {
    match url::Url::parse(database_url) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(Some("***"));
            url.to_string()
        }
        _ => database_url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_the_logs() {
        assert_eq!(redact("postgres://shop:s3cret@db:5432/shop"), "postgres://shop:***@db:5432/shop");
        assert_eq!(redact("sqlite://.data/capstone.db?mode=rwc"), "sqlite://.data/capstone.db?mode=rwc");
    }

    #[tokio::test]
    async fn every_service_migrates_into_one_shared_sqlite_file_twice_without_error() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/nested/shop.db?mode=rwc", dir.path().display());
        let db = connect(&url).await.unwrap();
        for _ in 0..2 {
            for owner in Owner::ALL {
                migrate(&db, owner).await.unwrap();
            }
        }
        let (skus,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM inventory_stock").fetch_one(&db).await.unwrap();
        assert!(skus >= 5, "the catalog is seeded, found {skus} SKUs");
        let (mode,): (String,) = sqlx::query_as("PRAGMA journal_mode").fetch_one(&db).await.unwrap();
        assert_eq!(mode, "wal");
    }
}
