//! Every service of the shop in one process: what `capstone dev` runs and what the
//! integration tests start (on free ports, against their own database and Temporal server).

use crate::{
    api::{self, ApiSettings, SubscriptionSettings},
    codec::{EncryptionCodec, KeyRing},
    db::{self, Db},
    http::{BackendEdge, Faults, RunningService, ServiceKeys},
    inventory, notifications, payments, shipping,
    workers::{self, RunnableWorker, WorkerTuning},
};
use capstone_activities::ServiceUrls;
use capstone_workflows::{order::ApprovalPolicy, task_queues::TaskQueues};
use std::{
    collections::{BTreeMap, BTreeSet},
    net::SocketAddr,
};
use temporalio_client::Client;
use temporalio_sdk::Runtime;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone)]
pub struct ServiceAddrs {
    pub api: SocketAddr,
    pub inventory: SocketAddr,
    pub payments: SocketAddr,
    pub shipping: SocketAddr,
    pub notifications: SocketAddr,
}

impl ServiceAddrs {
    /// Every service on a free loopback port.
    pub fn ephemeral() -> Self {
        let any: SocketAddr = "127.0.0.1:0".parse().expect("a valid address");
        Self { api: any, inventory: any, payments: any, shipping: any, notifications: any }
    }
}

#[derive(Debug, Clone)]
pub struct ShopConfig {
    pub database_url: String,
    pub addrs: ServiceAddrs,
    pub task_queues: TaskQueues,
    pub region_routes: BTreeMap<String, String>,
    pub approval: ApprovalPolicy,
    /// How orders follow their parcels (`None`: they end once the carrier is booked).
    pub delivery: Option<capstone_workflows::order::DeliverySettings>,
    /// The simulated carrier next to the shipping service (`None`: no carrier events but the
    /// ones someone posts to the webhook). Its `service_key` is filled in from `service_key`.
    pub carrier: Option<crate::shipping::carrier::CarrierSettings>,
    /// Where the notifications service sends its outbox (`None`: e-mails stay queued).
    pub smtp: Option<crate::notifications::smtp::SmtpSettings>,
    pub subscriptions: SubscriptionSettings,
    pub batch_children_per_run: u32,
    pub blocked_countries: Vec<String>,
    /// Mount `/admin/faults` on the four backend services.
    pub fault_injection: bool,
    pub temporal_ui_url: String,
    pub namespace: String,
    /// The payload keys: the api's codec endpoint decrypts with them. (The Temporal client
    /// handed to `Shop::start` must encrypt with the same ones.)
    pub payload_keys: KeyRing,
    /// Browser origins allowed to call the codec endpoint (the Web UI's).
    pub ui_origins: Vec<String>,
    /// The api's limits (requests in flight, per key, long polls).
    pub limits: api::limits::LimitSettings,
    /// Keys that open the codec endpoint and nothing else (`CODEC_KEY`).
    pub codec_keys: Vec<String>,
    /// The service key our processes present to each other (the api's `/internal/...`
    /// routes, every backend service).
    pub service_key: String,
}

pub struct Shop {
    pub db: Db,
    pub api: RunningService,
    pub inventory: RunningService,
    pub payments: RunningService,
    pub shipping: RunningService,
    pub notifications: RunningService,
    pub task_queues: TaskQueues,
    pub region_routes: BTreeMap<String, String>,
    service_key: String,
    shutdown: CancellationToken,
}

impl Shop {
    /// Opens the database, migrates and starts every service. The api gets the inventory's
    /// real address, so `127.0.0.1:0` works for every service.
    pub async fn start(config: &ShopConfig, temporal: Client) -> anyhow::Result<Self> {
        let db = db::connect(&config.database_url).await?;
        let shutdown = CancellationToken::new();
        let service_keys = ServiceKeys::new(std::slice::from_ref(&config.service_key));
        // Each service its own faults: a fault set on payments leaves shipping alone.
        let edge =
            || BackendEdge { service_keys: service_keys.clone(), faults: config.fault_injection.then(Faults::default) };
        let inventory = inventory::start(db.clone(), config.addrs.inventory, shutdown.child_token(), &edge()).await?;
        let payments = payments::start(db.clone(), config.addrs.payments, shutdown.child_token(), &edge()).await?;
        let shipping_settings = shipping::ShippingSettings {
            blocked_countries: config.blocked_countries.clone(),
            temporal: Some(temporal.clone()),
            carrier: config.carrier.clone().map(|carrier| shipping::carrier::CarrierSettings {
                service_key: config.service_key.clone(),
                ..carrier
            }),
        };
        let shipping =
            shipping::start(db.clone(), config.addrs.shipping, shutdown.child_token(), &edge(), shipping_settings)
                .await?;
        let notifications = notifications::start(
            db.clone(),
            config.addrs.notifications,
            shutdown.child_token(),
            &edge(),
            notifications::NotificationsSettings { smtp: config.smtp.clone() },
        )
        .await?;
        let settings = ApiSettings {
            task_queues: config.task_queues.clone(),
            region_routes: config.region_routes.clone(),
            approval: config.approval.clone(),
            delivery: config.delivery.clone(),
            batch_children_per_run: config.batch_children_per_run,
            subscriptions: config.subscriptions.clone(),
            inventory_url: inventory.url(),
            shipping_url: shipping.url(),
            temporal_ui_url: config.temporal_ui_url.clone(),
            namespace: config.namespace.clone(),
            codec: EncryptionCodec::new(config.payload_keys.clone()),
            ui_origins: config.ui_origins.clone(),
            service_keys: vec![config.service_key.clone()],
            limits: config.limits,
            fault_injection: config.fault_injection,
            codec_keys: config.codec_keys.clone(),
        };
        let api = api::start(db.clone(), temporal, settings, config.addrs.api, shutdown.child_token()).await?;
        Ok(Self {
            db,
            api,
            inventory,
            payments,
            shipping,
            notifications,
            task_queues: config.task_queues.clone(),
            region_routes: config.region_routes.clone(),
            service_key: config.service_key.clone(),
            shutdown,
        })
    }

    /// Where the activity worker finds the services.
    pub fn urls(&self) -> ServiceUrls {
        ServiceUrls {
            api: self.api.url(),
            service_key: self.service_key.clone(),
            inventory: self.inventory.url(),
            payments: self.payments.url(),
            shipping: self.shipping.url(),
            notifications: self.notifications.url(),
        }
    }

    pub fn services(&self) -> [&RunningService; 5] {
        [&self.api, &self.inventory, &self.payments, &self.shipping, &self.notifications]
    }

    /// The workflow worker and the activity worker (with its payments queue) on this shop's
    /// queues, calling this shop's services; and the same again for every region that
    /// `region_routes` sends orders to, so that one process serves them all.
    pub fn workers(
        &self,
        runtime: &Runtime,
        client: Client,
        tuning: &WorkerTuning,
    ) -> anyhow::Result<Vec<RunnableWorker>> {
        let regions: BTreeSet<&str> = self.region_routes.values().map(String::as_str).collect();
        let queue_sets = std::iter::once(None).chain(regions.into_iter().map(Some));
        let mut all = Vec::new();
        for region in queue_sets {
            let queues = self.task_queues.for_region(region);
            // Subscriptions have one queue for every region: the shared workers serve it.
            let subscriptions = region.is_none().then_some(queues.subscriptions.as_str());
            all.extend(workers::workflow_workers(runtime, client.clone(), &queues.workflows, subscriptions, tuning)?);
            all.extend(workers::activity_workers(
                runtime,
                client.clone(),
                &queues.activities,
                &queues.payments,
                &self.urls(),
                tuning,
            )?);
        }
        Ok(all)
    }

    /// Stops accepting requests, lets requests in flight finish, closes the database.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        for service in [self.api, self.inventory, self.payments, self.shipping, self.notifications] {
            service.stopped().await?;
        }
        self.db.close().await;
        Ok(())
    }
}
