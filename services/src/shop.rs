//! Every service of the shop in one process: what `capstone dev` runs and what the
//! integration tests start (on free ports, against their own database and Temporal server).

use crate::{
    api::{self, ApiSettings},
    db::{self, Db},
    http::RunningService,
    inventory, notifications, payments, shipping,
};
use capstone_activities::ServiceUrls;
use std::net::SocketAddr;
use temporalio_client::Client;
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
    pub workflow_task_queue: String,
    pub activity_task_queue: String,
    pub temporal_ui_url: String,
    pub namespace: String,
}

pub struct Shop {
    pub db: Db,
    pub api: RunningService,
    pub inventory: RunningService,
    pub payments: RunningService,
    pub shipping: RunningService,
    pub notifications: RunningService,
    shutdown: CancellationToken,
}

impl Shop {
    /// Opens the database, migrates and starts every service. The api gets the inventory's
    /// real address, so `127.0.0.1:0` works for every service.
    pub async fn start(config: &ShopConfig, temporal: Client) -> anyhow::Result<Self> {
        let db = db::connect(&config.database_url).await?;
        let shutdown = CancellationToken::new();
        let inventory = inventory::start(db.clone(), config.addrs.inventory, shutdown.child_token()).await?;
        let payments = payments::start(db.clone(), config.addrs.payments, shutdown.child_token()).await?;
        let shipping = shipping::start(db.clone(), config.addrs.shipping, shutdown.child_token()).await?;
        let notifications =
            notifications::start(db.clone(), config.addrs.notifications, shutdown.child_token()).await?;
        let settings = ApiSettings {
            workflow_task_queue: config.workflow_task_queue.clone(),
            activity_task_queue: config.activity_task_queue.clone(),
            inventory_url: inventory.url(),
            temporal_ui_url: config.temporal_ui_url.clone(),
            namespace: config.namespace.clone(),
        };
        let api = api::start(db.clone(), temporal, settings, config.addrs.api, shutdown.child_token()).await?;
        Ok(Self { db, api, inventory, payments, shipping, notifications, shutdown })
    }

    /// Where the activity worker finds the services.
    pub fn urls(&self) -> ServiceUrls {
        ServiceUrls {
            api: self.api.url(),
            inventory: self.inventory.url(),
            payments: self.payments.url(),
            shipping: self.shipping.url(),
            notifications: self.notifications.url(),
        }
    }

    pub fn services(&self) -> [&RunningService; 5] {
        [&self.api, &self.inventory, &self.payments, &self.shipping, &self.notifications]
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
