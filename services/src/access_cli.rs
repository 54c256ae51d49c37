//! `capstone create-api-key` and `capstone generate-payload-key` (day 10).

use crate::{
    api::api_keys::{self, Role},
    codec::keys,
    config::DatabaseArgs,
    db::{self, Owner},
};
use clap::Args;

#[derive(Args, Debug)]
pub struct CreateApiKeyArgs {
    /// What the key may do: customer (own orders), operator (everything), service (workers).
    #[arg(long, value_enum)]
    pub role: Role,
    /// The customer a customer key acts for (required with --role customer).
    #[arg(long)]
    pub customer_id: Option<String>,
    /// A name for the key, shown in logs instead of the key (e.g. "ops-alice").
    #[arg(long, default_value = "cli")]
    pub label: String,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

/// Creates a key, stores its hash in the api's table and prints the key: the only time it
/// is ever shown.
pub async fn create_api_key(args: CreateApiKeyArgs) -> anyhow::Result<()> {
    match (args.role, args.customer_id.as_deref()) {
        (Role::Customer, None) => anyhow::bail!("a customer key needs --customer-id (the customer it acts for)"),
        (Role::Operator | Role::Service, Some(_)) => {
            anyhow::bail!("--customer-id is for customer keys only; drop it, or use --role customer")
        }
        _ => {}
    }
    if let Some(customer_id) = &args.customer_id {
        crate::api::validate_customer_id(customer_id)
            .map_err(|error| anyhow::anyhow!("--customer-id: {}", error.detail))?;
    }
    let db = db::connect(&args.database.database_url).await?;
    db::migrate(&db, Owner::Api).await?;
    let key = api_keys::generate_key()?;
    api_keys::store(&db, &key, args.role, args.customer_id.as_deref(), &args.label).await?;
    db.close().await;
    eprintln!(
        "Created a {} key labelled {:?}. It is shown once; only its hash is stored.",
        args.role.as_str(),
        args.label
    );
    println!("{key}");
    Ok(())
}

#[derive(Args, Debug)]
pub struct GeneratePayloadKeyArgs {}

/// Prints a fresh `id:base64` entry for PAYLOAD_KEYS (put it first to rotate).
pub fn generate_payload_key(_args: GeneratePayloadKeyArgs) -> anyhow::Result<()> {
    println!("{}", keys::generate_entry()?);
    Ok(())
}
