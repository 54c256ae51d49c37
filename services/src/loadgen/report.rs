//! A run's figures: throughput, latency percentiles (HdrHistogram), outcomes.

use super::driver::{OrderRecord, Outcome};
use hdrhistogram::Histogram;
use serde::Serialize;
use std::{collections::BTreeMap, time::Duration};

/// Percentiles of one latency, in milliseconds.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Latency {
    pub count: u64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Latency {
    fn of(samples: impl Iterator<Item = Duration>) -> Self {
        // Microseconds, 1 µs to 1 hour, 3 significant digits.
        let mut histogram = Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).expect("valid bounds");
        for sample in samples {
            histogram.saturating_record((sample.as_micros() as u64).max(1));
        }
        let ms = |micros: u64| micros as f64 / 1000.0;
        Self {
            count: histogram.len(),
            p50_ms: ms(histogram.value_at_quantile(0.50)),
            p95_ms: ms(histogram.value_at_quantile(0.95)),
            p99_ms: ms(histogram.value_at_quantile(0.99)),
            max_ms: ms(histogram.max()),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct LoadReport {
    pub orders: u64,
    pub elapsed_secs: f64,
    /// Orders that reached a final status, per second of the run.
    pub finished_per_sec: f64,
    /// `POST /orders`: first attempt to 202.
    pub acceptance: Latency,
    /// First attempt to the final status in the read model (a long poll answers at the change).
    pub completion: Latency,
    /// Final statuses (and `NOT_ACCEPTED`, `TIMED_OUT`), by count.
    pub outcomes: BTreeMap<String, u64>,
    /// Outcomes by the kind of order that was meant.
    pub by_kind: BTreeMap<String, BTreeMap<String, u64>>,
    /// POSTs that needed more than one attempt (the api was down or busy).
    pub retried_posts: u64,
    /// A few of the errors seen, for the reader.
    pub sample_errors: Vec<String>,
}

impl LoadReport {
    pub fn new(records: &[OrderRecord], elapsed: Duration) -> Self {
        let mut outcomes = BTreeMap::new();
        let mut by_kind: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
        for record in records {
            *outcomes.entry(record.outcome.as_str().to_owned()).or_default() += 1;
            let kind = serde_json::to_value(record.kind).ok().and_then(|v| v.as_str().map(str::to_owned));
            *by_kind
                .entry(kind.unwrap_or_default())
                .or_default()
                .entry(record.outcome.as_str().to_owned())
                .or_default() += 1;
        }
        let finished = records.iter().filter(|record| record.finished_after.is_some()).count();
        let lost = |record: &&OrderRecord| record.finished_after.is_none();
        Self {
            orders: records.len() as u64,
            elapsed_secs: elapsed.as_secs_f64(),
            finished_per_sec: finished as f64 / elapsed.as_secs_f64().max(f64::EPSILON),
            acceptance: Latency::of(records.iter().filter_map(|record| record.accepted_after)),
            completion: Latency::of(records.iter().filter_map(|record| record.finished_after)),
            outcomes,
            by_kind,
            retried_posts: records.iter().filter(|record| record.attempts > 1).count() as u64,
            sample_errors: records.iter().filter(lost).filter_map(|record| record.error.clone()).take(5).collect(),
        }
    }

    /// Every order reached a final status.
    pub fn nothing_lost(&self) -> bool {
        [Outcome::NotAccepted, Outcome::TimedOut].iter().all(|lost| !self.outcomes.contains_key(lost.as_str()))
    }

    pub fn print(&self) {
        println!(
            "{} orders in {:.1} s: {:.2} finished orders/s; {} POSTs needed a retry",
            self.orders, self.elapsed_secs, self.finished_per_sec, self.retried_posts
        );
        println!("{:<22} {:>8} {:>10} {:>10} {:>10} {:>10}", "latency (ms)", "count", "p50", "p95", "p99", "max");
        for (name, latency) in [("accepted (POST)", &self.acceptance), ("finished (saga)", &self.completion)] {
            println!(
                "{name:<22} {:>8} {:>10.1} {:>10.1} {:>10.1} {:>10.1}",
                latency.count, latency.p50_ms, latency.p95_ms, latency.p99_ms, latency.max_ms
            );
        }
        println!("outcomes:");
        for (kind, outcomes) in &self.by_kind {
            let line: Vec<String> = outcomes.iter().map(|(outcome, count)| format!("{outcome} {count}")).collect();
            println!("  {kind:<16} {}", line.join(", "));
        }
        for error in &self.sample_errors {
            println!("  error: {error}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loadgen::plan::OrderKind;
    use capstone_workflows::order::OrderStatus;

    fn record(index: u64, outcome: Outcome, finished_ms: Option<u64>) -> OrderRecord {
        OrderRecord {
            index,
            kind: OrderKind::Standard,
            order_id: Some(format!("ord-{index}")),
            outcome,
            error: None,
            accepted_after: Some(Duration::from_millis(10 + index)),
            finished_after: finished_ms.map(Duration::from_millis),
            attempts: 1,
            total_cents: 500,
        }
    }

    #[test]
    fn percentiles_and_outcomes_come_from_the_records() {
        let mut records: Vec<OrderRecord> =
            (0..100).map(|i| record(i, Outcome::Ended(OrderStatus::Completed), Some(100 + i * 10))).collect();
        records.push(record(100, Outcome::TimedOut, None));
        let report = LoadReport::new(&records, Duration::from_secs(10));
        assert_eq!(report.orders, 101);
        assert_eq!(report.outcomes["COMPLETED"], 100);
        assert!(!report.nothing_lost());
        assert_eq!(report.completion.count, 100);
        // 100 samples 100..=1090 ms: the median is the 50th, the max the last.
        assert!((report.completion.p50_ms - 590.0).abs() < 1.0, "{:?}", report.completion);
        assert!((report.completion.max_ms - 1090.0).abs() < 1.0, "{:?}", report.completion);
        assert!((report.finished_per_sec - 10.0).abs() < 1e-9);
    }
}
