//! `capstone create-api-key` and `capstone generate-payload-key`.

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
    /// The operator an operator key belongs to (required with --role operator): approvals and
    /// rejections made with the key are taken in this name, never in one a request names.
    #[arg(long)]
    pub operator: Option<String>,
    /// A name for the key, shown in logs instead of the key (e.g. "ops-alice").
    #[arg(long, default_value = "cli")]
    pub label: String,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

/// Creates a key, stores its hash in the api's table and prints the key: the only time it
/// is ever shown.
pub async fn create_api_key(args: CreateApiKeyArgs) -> anyhow::Result<()> {
    let principal = match (args.role, args.customer_id.as_deref(), args.operator.as_deref()) {
        (Role::Customer, None, _) => anyhow::bail!("a customer key needs --customer-id (the customer it acts for)"),
        (Role::Operator, _, None) => {
            anyhow::bail!("an operator key needs --operator NAME (the operator whose name its decisions carry)")
        }
        (Role::Operator | Role::Service, Some(_), _) => {
            anyhow::bail!("--customer-id is for customer keys only; drop it, or use --role customer")
        }
        (Role::Customer | Role::Service, _, Some(_)) => {
            anyhow::bail!("--operator is for operator keys only; drop it, or use --role operator")
        }
        (Role::Customer, Some(customer_id), None) => {
            crate::api::validate_customer_id(customer_id)
                .map_err(|error| anyhow::anyhow!("--customer-id: {}", error.detail))?;
            Some(customer_id)
        }
        (Role::Operator, None, Some(operator)) => {
            crate::api::validate_key("--operator", operator, 64)
                .map_err(|error| anyhow::anyhow!("{}", error.detail))?;
            Some(operator)
        }
        (Role::Service, None, None) => None,
    };
    let db = db::connect(&args.database.database_url).await?;
    db::migrate(&db, Owner::Api).await?;
    let key = api_keys::generate_key()?;
    api_keys::store(&db, &key, args.role, principal, &args.label).await?;
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
