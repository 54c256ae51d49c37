//! Saturation: clients in a closed loop, each placing an order and following it to its end,
//! measured in the run's steady state only.
//!
//! A run of N orders by C clients starts with C orders at once and ends with a drain: once the
//! last order is placed, fewer than C are in flight and the cores fall idle. Neither end is
//! saturation, and counting them understates it (by about a tenth at 32 clients and 300
//! orders). So the throughput and every process's CPU per order are taken between the C-th
//! finished order and the (N-C)-th, while C orders are always in flight.

use super::procfs;
use crate::loadgen::{self, LoadPlan, LoadReport, Stop};
use indicatif::ProgressBar;
use serde::Serialize;
use std::time::{Duration, Instant};

/// The processes whose CPU a run measures.
pub struct Measured<'a> {
    pub server_pid: u32,
    /// Each of our roles and its pid.
    pub roles: &'a [(&'static str, u32)],
}

/// The steady state of one saturation run.
#[derive(Debug, Clone, Serialize)]
pub struct Window {
    pub secs: f64,
    /// Orders that finished inside the window.
    pub orders: u64,
    pub orders_per_sec: f64,
    /// CPU seconds of the Temporal server inside the window.
    pub server_cpu: f64,
    /// CPU seconds of each of our roles inside the window.
    pub ours_cpu_by_role: Vec<(String, f64)>,
    /// CPU seconds of this process (the load generator's clients) inside the window.
    pub load_cpu: f64,
    /// Share of the machine's cores busy inside the window, whoever used them.
    pub machine_busy: f64,
}

/// One saturation run: its steady state, and the whole run's report (latencies, outcomes).
pub struct SaturationRun {
    pub clients: usize,
    pub report: LoadReport,
    pub window: Window,
}

/// Orders a run with `clients` needs so that its steady state is at least half of it.
pub fn orders_for(orders: u64, clients: usize) -> u64 {
    orders.max(4 * clients as u64)
}

/// Runs `plan` (a closed loop of `clients`) and measures its steady state.
pub async fn saturate(clients: usize, plan: &LoadPlan, measured: &Measured<'_>) -> anyhow::Result<SaturationRun> {
    let Stop::Count(orders) = plan.stop else { anyhow::bail!("a saturation run counts its orders") };
    anyhow::ensure!(
        orders >= 3 * clients as u64,
        "{orders} orders leave no steady state for {clients} clients: use at least {}",
        3 * clients
    );
    let progress = loadgen::progress_bar(plan.stop);
    let (report, (first, last)) = tokio::try_join!(
        super::run_load(plan, &progress),
        steady_state(&progress, clients as u64, orders - clients as u64, measured)
    )?;
    Ok(SaturationRun { clients, report, window: Window::between(&first, &last, measured) })
}

/// What every measured process had spent when `finished` orders had finished.
struct Sample {
    at: Instant,
    finished: u64,
    server: f64,
    roles: Vec<f64>,
    load: f64,
    machine: (f64, f64),
}

impl Sample {
    fn take(progress: &ProgressBar, measured: &Measured<'_>) -> anyhow::Result<Self> {
        Ok(Self {
            at: Instant::now(),
            finished: progress.position(),
            server: procfs::cpu_seconds(measured.server_pid)?,
            roles: measured.roles.iter().map(|(_, pid)| procfs::cpu_seconds(*pid)).collect::<anyhow::Result<_>>()?,
            load: procfs::cpu_seconds(std::process::id())?,
            machine: procfs::machine_cpu_seconds()?,
        })
    }
}

/// Samples when `from` orders have finished and again when `to` have.
async fn steady_state(
    progress: &ProgressBar,
    from: u64,
    to: u64,
    measured: &Measured<'_>,
) -> anyhow::Result<(Sample, Sample)> {
    let reached = |count: u64| async move {
        while progress.position() < count {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    reached(from).await;
    let first = Sample::take(progress, measured)?;
    reached(to).await;
    Ok((first, Sample::take(progress, measured)?))
}

impl Window {
    fn between(first: &Sample, last: &Sample, measured: &Measured<'_>) -> Self {
        let secs = last.at.duration_since(first.at).as_secs_f64().max(f64::EPSILON);
        let orders = last.finished - first.finished;
        let (busy, all) = (last.machine.0 - first.machine.0, last.machine.1 - first.machine.1);
        Self {
            secs,
            orders,
            orders_per_sec: orders as f64 / secs,
            server_cpu: last.server - first.server,
            ours_cpu_by_role: measured
                .roles
                .iter()
                .zip(last.roles.iter().zip(&first.roles))
                .map(|((role, _), (after, before))| (role.to_string(), after - before))
                .collect(),
            load_cpu: last.load - first.load,
            machine_busy: if all > 0.0 { busy / all } else { 0.0 },
        }
    }

    /// Milliseconds of CPU per order finished in the window.
    pub fn ms_per_order(&self, cpu_seconds: f64) -> f64 {
        cpu_seconds / self.orders.max(1) as f64 * 1000.0
    }

    pub fn ours_cpu(&self) -> f64 {
        self.ours_cpu_by_role.iter().map(|(_, seconds)| seconds).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(at: Instant, finished: u64, cpu: f64, machine: (f64, f64)) -> Sample {
        Sample { at, finished, server: cpu * 4.0, roles: vec![cpu, cpu / 2.0], load: cpu / 10.0, machine }
    }

    #[test]
    fn a_window_is_the_difference_between_its_two_samples() {
        let roles = [("workflow-worker", 1), ("api", 2)];
        let measured = Measured { server_pid: 0, roles: &roles };
        let start = Instant::now();
        let first = sample(start, 32, 1.0, (10.0, 20.0));
        let last = sample(start + Duration::from_secs(10), 232, 3.0, (28.0, 40.0));
        let window = Window::between(&first, &last, &measured);
        assert_eq!(window.orders, 200);
        assert!((window.orders_per_sec - 20.0).abs() < 1e-9);
        assert!((window.server_cpu - 8.0).abs() < 1e-9);
        assert!((window.ms_per_order(window.server_cpu) - 40.0).abs() < 1e-9);
        assert_eq!(window.ours_cpu_by_role, [("workflow-worker".to_owned(), 2.0), ("api".to_owned(), 1.0)]);
        assert!((window.ours_cpu() - 3.0).abs() < 1e-9);
        assert!((window.machine_busy - 0.9).abs() < 1e-9);
    }

    #[test]
    fn every_run_keeps_a_steady_state_of_half_its_orders_at_least() {
        assert_eq!(orders_for(300, 32), 300);
        assert_eq!(orders_for(300, 128), 512);
    }
}
