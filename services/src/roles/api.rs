//! `capstone api`: the public HTTP API, which accepts orders and starts their workflows.

use super::{TEMPORAL_PATIENCE, serve};
use crate::{
    api::{self, ApiSettings},
    codec::EncryptionCodec,
    config::{
        ApiAddr, ApiLimitArgs, ApprovalArgs, BatchArgs, CodecKeyArgs, DatabaseArgs, DeliveryArgs, FaultArgs,
        InventoryUrlArg, RegionRoutesArg, ServiceKeyArgs, ShippingUrlArg, SubscriptionArgs, TaskQueueArgs,
        TemporalArgs, UiArgs,
    },
    temporal,
};
use clap::Args;

#[derive(Args, Debug)]
pub struct ApiArgs {
    #[command(flatten)]
    pub addr: ApiAddr,
    #[command(flatten)]
    pub database: DatabaseArgs,
    #[command(flatten)]
    pub temporal: TemporalArgs,
    #[command(flatten)]
    pub task_queues: TaskQueueArgs,
    #[command(flatten)]
    pub region_routes: RegionRoutesArg,
    #[command(flatten)]
    pub approval: ApprovalArgs,
    #[command(flatten)]
    pub delivery: DeliveryArgs,
    #[command(flatten)]
    pub subscriptions: SubscriptionArgs,
    #[command(flatten)]
    pub batches: BatchArgs,
    #[command(flatten)]
    pub inventory: InventoryUrlArg,
    #[command(flatten)]
    pub shipping: ShippingUrlArg,
    #[command(flatten)]
    pub ui: UiArgs,
    #[command(flatten)]
    pub service_key: ServiceKeyArgs,
    #[command(flatten)]
    pub limits: ApiLimitArgs,
    #[command(flatten)]
    pub faults: FaultArgs,
    #[command(flatten)]
    pub codec_key: CodecKeyArgs,
}

pub async fn run(args: ApiArgs) -> anyhow::Result<()> {
    let keys = args.temporal.key_ring()?;
    let connection = args.temporal.connection()?;
    let client = temporal::connect(&connection, "capstone-api", TEMPORAL_PATIENCE, &keys).await?;
    // The api sets the attributes when it starts an order.
    temporal::search_attributes::require(&client, &connection.namespace).await?;
    let settings = ApiSettings {
        task_queues: args.task_queues.queues(),
        region_routes: args.region_routes.region_routes,
        approval: args.approval.policy(),
        delivery: args.delivery.settings(),
        batch_children_per_run: args.batches.batch_children_per_run,
        subscriptions: args.subscriptions.settings(),
        inventory_url: args.inventory.inventory_url,
        shipping_url: args.shipping.shipping_url,
        ui_origins: args.ui.origins(),
        temporal_ui_url: args.ui.temporal_ui_url,
        namespace: connection.namespace,
        codec: EncryptionCodec::new(keys),
        service_keys: args.service_key.keys()?,
        limits: args.limits.settings(),
        fault_injection: args.faults.fault_injection,
        codec_keys: args.codec_key.keys(),
    };
    let addr = args.addr.api_addr;
    serve(&args.database, move |db, shutdown| api::start(db, client, settings, addr, shutdown)).await
}
