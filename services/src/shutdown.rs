//! Turning Ctrl-C and SIGTERM into an orderly stop.

use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;

/// A token that is cancelled on the first SIGINT (Ctrl-C) or SIGTERM. A second one exits at
/// once (the dev server child still stops: it gets SIGTERM when we die, see `dev_server`).
pub fn on_signals() -> CancellationToken {
    let token = CancellationToken::new();
    let cancel = token.clone();
    tokio::spawn(async move {
        let mut terminate = signal(SignalKind::terminate()).expect("installing a SIGTERM handler");
        let mut interrupt = signal(SignalKind::interrupt()).expect("installing a SIGINT handler");
        tokio::select! {
            _ = interrupt.recv() => tracing::info!("Ctrl-C: shutting down (press it again to exit at once)"),
            _ = terminate.recv() => tracing::info!("SIGTERM: shutting down"),
        }
        cancel.cancel();
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
        tracing::warn!("second signal: exiting without draining");
        std::process::exit(130);
    });
    token
}
