//! Configuration shared by the roles: each group is a set of flags that also read an
//! environment variable, with defaults that work on a laptop (`capstone <role> --help`).

use capstone_workflows::task_queues;
use clap::Args;
use std::net::SocketAddr;

#[derive(Args, Debug, Clone)]
pub struct TemporalArgs {
    /// Temporal frontend, host:port.
    #[arg(long, env = "TEMPORAL_ADDRESS", default_value = "127.0.0.1:7233")]
    pub temporal_address: String,
    /// Temporal namespace.
    #[arg(long, env = "TEMPORAL_NAMESPACE", default_value = "default")]
    pub temporal_namespace: String,
}

#[derive(Args, Debug, Clone)]
pub struct DatabaseArgs {
    /// sqlite://FILE or postgres://USER@HOST/DB. Each service creates its own tables in it.
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://.data/capstone.db?mode=rwc")]
    pub database_url: String,
}

#[derive(Args, Debug, Clone)]
pub struct WorkflowTaskQueueArg {
    /// Task queue of the workflow worker (workflow tasks only).
    #[arg(long, env = "WORKFLOW_TASK_QUEUE", default_value = task_queues::WORKFLOWS)]
    pub workflow_task_queue: String,
}

#[derive(Args, Debug, Clone)]
pub struct ActivityTaskQueueArg {
    /// Task queue of the activity worker (activity tasks only).
    #[arg(long, env = "ACTIVITY_TASK_QUEUE", default_value = task_queues::ACTIVITIES)]
    pub activity_task_queue: String,
}

/// Both queues: for the roles that start workflows (they say where workflows and their
/// activities run).
#[derive(Args, Debug, Clone)]
pub struct TaskQueueArgs {
    #[command(flatten)]
    pub workflows: WorkflowTaskQueueArg,
    #[command(flatten)]
    pub activities: ActivityTaskQueueArg,
}

#[derive(Args, Debug, Clone)]
pub struct ServiceUrlArgs {
    /// Base URL of the api service (the activity worker reports order state there).
    #[arg(long, env = "API_URL", default_value = "http://127.0.0.1:8080")]
    pub api_url: String,
    #[arg(long, env = "INVENTORY_URL", default_value = "http://127.0.0.1:8081")]
    pub inventory_url: String,
    #[arg(long, env = "PAYMENTS_URL", default_value = "http://127.0.0.1:8082")]
    pub payments_url: String,
    #[arg(long, env = "SHIPPING_URL", default_value = "http://127.0.0.1:8083")]
    pub shipping_url: String,
    #[arg(long, env = "NOTIFICATIONS_URL", default_value = "http://127.0.0.1:8084")]
    pub notifications_url: String,
}

impl ServiceUrlArgs {
    pub fn to_urls(&self) -> capstone_activities::ServiceUrls {
        capstone_activities::ServiceUrls {
            api: self.api_url.clone(),
            inventory: self.inventory_url.clone(),
            payments: self.payments_url.clone(),
            shipping: self.shipping_url.clone(),
            notifications: self.notifications_url.clone(),
        }
    }
}

#[derive(Args, Debug, Clone)]
pub struct UiArgs {
    /// Base URL of the Temporal Web UI, for links in responses and output.
    #[arg(long, env = "TEMPORAL_UI_URL", default_value = "http://127.0.0.1:8233")]
    pub temporal_ui_url: String,
}

/// Listen addresses, one flag per service so that `dev` can take all five.
#[derive(Args, Debug, Clone)]
pub struct ApiAddr {
    /// Where the api listens.
    #[arg(long, env = "API_ADDR", default_value = "127.0.0.1:8080")]
    pub api_addr: SocketAddr,
}

#[derive(Args, Debug, Clone)]
pub struct InventoryAddr {
    /// Where the inventory service listens.
    #[arg(long, env = "INVENTORY_ADDR", default_value = "127.0.0.1:8081")]
    pub inventory_addr: SocketAddr,
}

#[derive(Args, Debug, Clone)]
pub struct PaymentsAddr {
    /// Where the payments service listens.
    #[arg(long, env = "PAYMENTS_ADDR", default_value = "127.0.0.1:8082")]
    pub payments_addr: SocketAddr,
}

#[derive(Args, Debug, Clone)]
pub struct ShippingAddr {
    /// Where the shipping service listens.
    #[arg(long, env = "SHIPPING_ADDR", default_value = "127.0.0.1:8083")]
    pub shipping_addr: SocketAddr,
}

#[derive(Args, Debug, Clone)]
pub struct NotificationsAddr {
    /// Where the notifications service listens.
    #[arg(long, env = "NOTIFICATIONS_ADDR", default_value = "127.0.0.1:8084")]
    pub notifications_addr: SocketAddr,
}
