//! Long polling: `GET /orders/{id}?source=read_model&changed_from=STATUS&wait_secs=N` answers
//! as soon as the recorded status is not `STATUS`, or after N seconds with the order as it is.
//!
//! A client that follows an order (`capstone loadgen`, a shop's front end) then asks about once
//! per change instead of every quarter second: the read model changes at most three times per
//! order (accepted, waiting for approval, final), and each poll costs the api a key lookup and
//! a read. The workflow's `orders.record_order` activity writes those changes through this
//! api (`PUT /internal/orders/{id}`), which wakes the order's waiters at once. With several
//! api replicas the write may land on another one, so a waiter also looks again every second.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, Weak},
    time::Duration,
};
use tokio::{sync::Notify, time::Instant};
use tokio_util::sync::CancellationToken;

/// How often a waiter reads the row again without a wake-up (a write on another replica).
const RECHECK_EVERY: Duration = Duration::from_secs(1);

/// The longest wait a client may ask for: under the servers' 30 s request timeout
/// (`http/server.rs`) and common proxy idle timeouts.
pub const MAX_WAIT_SECS: u64 = 20;

/// The orders someone is waiting on, each with the `Notify` that wakes its waiters.
#[derive(Default)]
pub struct OrderChanges {
    waiting: Mutex<HashMap<String, Weak<Notify>>>,
    /// Cancelled when the api shuts down: waiters answer at once rather than hold it up.
    shutdown: CancellationToken,
}

impl OrderChanges {
    pub fn new(shutdown: CancellationToken) -> Self {
        Self { waiting: Mutex::default(), shutdown }
    }

    /// Wakes whoever waits on `order_id` (called after its row was written).
    pub fn changed(&self, order_id: &str) {
        let notify = self.waiting.lock().expect("not poisoned").get(order_id).and_then(Weak::upgrade);
        if let Some(notify) = notify {
            notify.notify_waiters();
        }
    }

    /// Calls `look` until it answers `Some`, after every change of `order_id` and at least
    /// every second, for up to `wait`; then answers `look`'s last answer (`None`: unchanged).
    pub async fn wait_for<T, E, F, Fut>(&self, order_id: &str, wait: Duration, mut look: F) -> Result<Option<T>, E>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Option<T>, E>>,
    {
        let notify = self.subscribe(order_id);
        let deadline = Instant::now() + wait;
        loop {
            // Registered before the read: a write between the read and the wait still wakes us.
            let woken = notify.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            if let Some(answer) = look().await? {
                return Ok(Some(answer));
            }
            let now = Instant::now();
            if now >= deadline || self.shutdown.is_cancelled() {
                return Ok(None);
            }
            tokio::select! {
                _ = woken => {}
                _ = tokio::time::sleep((deadline - now).min(RECHECK_EVERY)) => {}
                _ = self.shutdown.cancelled() => {}
            }
        }
    }

    fn subscribe(&self, order_id: &str) -> Arc<Notify> {
        let mut waiting = self.waiting.lock().expect("not poisoned");
        if let Some(notify) = waiting.get(order_id).and_then(Weak::upgrade) {
            return notify;
        }
        // Orders nobody waits on any more leave the map here, so it holds the waited-on ones.
        waiting.retain(|_, notify| notify.strong_count() > 0);
        let notify = Arc::new(Notify::new());
        waiting.insert(order_id.to_owned(), Arc::downgrade(&notify));
        notify
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn a_change_wakes_the_waiter_at_once() {
        let changes = Arc::new(OrderChanges::default());
        let status = Arc::new(AtomicU32::new(0));
        let waiter = {
            let (changes, status) = (changes.clone(), status.clone());
            tokio::spawn(async move {
                let started = Instant::now();
                let answer = changes
                    .wait_for("ord-1", Duration::from_secs(20), || {
                        let now = status.load(Ordering::SeqCst);
                        async move { Ok::<_, ()>((now != 0).then_some(now)) }
                    })
                    .await;
                (answer, started.elapsed())
            })
        };
        tokio::time::sleep(Duration::from_millis(200)).await;
        status.store(7, Ordering::SeqCst);
        changes.changed("ord-2"); // another order: no effect but a look within a second
        changes.changed("ord-1");
        let (answer, took) = waiter.await.unwrap();
        assert_eq!(answer, Ok(Some(7)));
        assert!(took < Duration::from_millis(900), "woken by the change, not the recheck: {took:?}");
    }

    #[tokio::test]
    async fn without_a_change_it_answers_none_after_the_wait() {
        let changes = OrderChanges::default();
        let looks = AtomicU32::new(0);
        let started = Instant::now();
        let answer = changes
            .wait_for("ord-1", Duration::from_millis(2_500), || {
                looks.fetch_add(1, Ordering::SeqCst);
                async { Ok::<Option<u32>, ()>(None) }
            })
            .await;
        assert_eq!(answer, Ok(None));
        assert!(started.elapsed() >= Duration::from_millis(2_500));
        // At the start, then every second (another replica's write), then at the deadline.
        assert_eq!(looks.load(Ordering::SeqCst), 4);
        assert!(changes.waiting.lock().unwrap().get("ord-1").is_some_and(|weak| weak.strong_count() == 0));
    }

    #[tokio::test]
    async fn a_shutdown_ends_the_wait() {
        let shutdown = CancellationToken::new();
        let changes = OrderChanges::new(shutdown.clone());
        let started = Instant::now();
        let stop = async {
            tokio::time::sleep(Duration::from_millis(200)).await;
            shutdown.cancel();
        };
        let (answer, ()) = tokio::join!(
            changes.wait_for("ord-1", Duration::from_secs(20), || async { Ok::<Option<u32>, ()>(None) }),
            stop
        );
        assert_eq!(answer, Ok(None));
        assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
    }
}
