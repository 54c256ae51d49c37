//! The four backend services as roles: `capstone inventory`, `payments`, `shipping`,
//! `notifications`. Each owns its tables and answers only callers with the service key.

use super::{TEMPORAL_PATIENCE, serve};
use crate::{
    config::{
        BackendEdgeArgs, CarrierArgs, DEFAULT_SMTP_URL, DatabaseArgs, InventoryAddr, NotificationsAddr, PaymentsAddr,
        ShippingAddr, ShippingRulesArgs, SmtpArgs, TemporalArgs,
    },
    inventory, notifications, payments, shipping, temporal,
};
use clap::Args;

#[derive(Args, Debug)]
pub struct InventoryArgs {
    #[command(flatten)]
    pub addr: InventoryAddr,
    #[command(flatten)]
    pub database: DatabaseArgs,
    #[command(flatten)]
    pub edge: BackendEdgeArgs,
}

#[derive(Args, Debug)]
pub struct PaymentsArgs {
    #[command(flatten)]
    pub addr: PaymentsAddr,
    #[command(flatten)]
    pub database: DatabaseArgs,
    #[command(flatten)]
    pub edge: BackendEdgeArgs,
}

#[derive(Args, Debug)]
pub struct ShippingArgs {
    #[command(flatten)]
    pub addr: ShippingAddr,
    #[command(flatten)]
    pub database: DatabaseArgs,
    #[command(flatten)]
    pub edge: BackendEdgeArgs,
    #[command(flatten)]
    pub rules: ShippingRulesArgs,
    /// Carrier events are passed on to the shipment workflows (signals).
    #[command(flatten)]
    pub temporal: TemporalArgs,
    #[command(flatten)]
    pub carrier: CarrierArgs,
}

#[derive(Args, Debug)]
pub struct NotificationsArgs {
    #[command(flatten)]
    pub addr: NotificationsAddr,
    #[command(flatten)]
    pub database: DatabaseArgs,
    #[command(flatten)]
    pub edge: BackendEdgeArgs,
    #[command(flatten)]
    pub smtp: SmtpArgs,
}

pub async fn inventory(args: InventoryArgs) -> anyhow::Result<()> {
    let edge = args.edge.edge()?;
    serve(&args.database, |db, shutdown| inventory::start(db, args.addr.inventory_addr, shutdown, &edge)).await
}

pub async fn payments(args: PaymentsArgs) -> anyhow::Result<()> {
    let edge = args.edge.edge()?;
    serve(&args.database, |db, shutdown| payments::start(db, args.addr.payments_addr, shutdown, &edge)).await
}

pub async fn shipping(args: ShippingArgs) -> anyhow::Result<()> {
    let edge = args.edge.edge()?;
    let keys = args.temporal.key_ring()?;
    let connection = args.temporal.connection()?;
    let client = temporal::connect(&connection, "capstone-shipping", TEMPORAL_PATIENCE, &keys).await?;
    let service_key = args.edge.service_key.keys()?.remove(0);
    let settings = shipping::ShippingSettings {
        blocked_countries: args.rules.countries(),
        temporal: Some(client),
        carrier: args.carrier.settings(false, &service_key),
    };
    serve(&args.database, |db, shutdown| shipping::start(db, args.addr.shipping_addr, shutdown, &edge, settings)).await
}

pub async fn notifications(args: NotificationsArgs) -> anyhow::Result<()> {
    let edge = args.edge.edge()?;
    let settings = notifications::NotificationsSettings { smtp: args.smtp.settings(DEFAULT_SMTP_URL) };
    serve(&args.database, |db, shutdown| {
        notifications::start(db, args.addr.notifications_addr, shutdown, &edge, settings)
    })
    .await
}
