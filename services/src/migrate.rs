//! `capstone migrate`: applies every service's SQL migrations to DATABASE_URL and exits.
//!
//! Each service also migrates its own tables when it starts, so this is never required; it is
//! what a deployment runs once before a rollout (a Kubernetes Job, a compose one-shot), so
//! that a migration that fails stops the rollout instead of a crash-looping service.

use crate::{
    config::DatabaseArgs,
    db::{self, Owner},
};
use clap::Args;

#[derive(Args, Debug)]
pub struct MigrateArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
}

pub async fn run(args: MigrateArgs) -> anyhow::Result<()> {
    let db = db::connect(&args.database.database_url).await?;
    for owner in Owner::ALL {
        db::migrate(&db, owner).await?;
        println!("migrated the {} tables", owner.name());
    }
    db.close().await;
    Ok(())
}
