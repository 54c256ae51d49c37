//! Running the shop's roles as processes, as in production, and the free loopback ports they
//! listen on. A crate of its own because three users share it and none of them owns it: the
//! integration tests (the fault suite's cluster, the worker-kill tests), `capstone bench`
//! (each role measured as its own process) and `capstone dev` (the dev server's ports). It
//! knows nothing of the shop but the roles' names and the `capstone <role>` command line.

mod ports;
mod system;

pub use ports::free_ports_where_zero;
pub use system::{ProcessSystem, SERVICES, WORKERS, spawn_role};
