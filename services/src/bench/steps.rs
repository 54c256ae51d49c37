//! Where the time of `POST /orders` goes: the api's own histogram of each step
//! (`capstone_api_order_step_seconds`), and the Temporal server's of its `StartWorkflowExecution`
//! handler (`service_latency` of the frontend). Each is read before and after a run, so that only
//! the run's requests count.

use std::collections::BTreeMap;

/// Cumulative bucket counts: `(series, upper bound in µs) -> count`, summed over other labels.
pub type Buckets = BTreeMap<(String, u64), f64>;

/// A series' label values by label name.
pub type Labels<'a> = &'a dyn Fn(&str) -> Option<String>;

/// One histogram of a Prometheus endpoint: which series to keep, and what to call each one.
pub struct Histogram {
    pub name: &'static str,
    /// The series' name from its labels, or `None` to skip the series.
    pub series: fn(Labels<'_>) -> Option<String>,
}

/// The api's `POST /orders` steps: catalog, read_model, checkout (update-with-start) or
/// start_workflow (`Prefer: respond-async`).
pub const API_STEPS: Histogram = Histogram { name: "capstone_api_order_step_seconds", series: |label| label("step") };

/// The server's own time for the start, from its frontend's point of view:
/// `ExecuteMultiOperation` (update-with-start) or `StartWorkflowExecution`.
pub const SERVER_START: Histogram = Histogram {
    name: "service_latency",
    series: |label| {
        let frontend = label("service_name").as_deref() == Some("frontend");
        let operation = label("operation")?;
        let start = operation == "StartWorkflowExecution" || operation == "ExecuteMultiOperation";
        (frontend && start).then(|| format!("server {operation}"))
    },
};

/// `histogram`'s buckets at `metrics_url` right now (bounds in microseconds, so they sort).
pub async fn read(metrics_url: &str, histogram: &Histogram) -> anyhow::Result<Buckets> {
    parse(&reqwest::get(metrics_url).await?.text().await?, histogram)
}

/// `histogram`'s buckets in a Prometheus text exposition.
fn parse(text: &str, histogram: &Histogram) -> anyhow::Result<Buckets> {
    let prefix = format!("{}_bucket{{", histogram.name);
    let mut buckets = Buckets::new();
    for line in text.lines().filter(|line| line.starts_with(&prefix)) {
        let Some((labels, value)) = line.rsplit_once(' ') else { continue };
        let label = |name: &str| labels.split(&format!("{name}=\"")).nth(1)?.split('"').next().map(str::to_owned);
        let (Some(series), Some(le)) = ((histogram.series)(&label), label("le")) else { continue };
        let bound = if le == "+Inf" { u64::MAX } else { (le.parse::<f64>()? * 1e6).round() as u64 };
        *buckets.entry((series, bound)).or_default() += value.parse::<f64>()?;
    }
    Ok(buckets)
}

/// The upper bound (ms) of the bucket holding quantile `q` of each series, between two reads:
/// an upper estimate, as good as the buckets are fine.
pub fn quantile_ms(before: &Buckets, after: &Buckets, q: f64) -> Vec<(String, f64)> {
    let mut names: Vec<&String> = after.keys().map(|(name, _)| name).collect();
    names.dedup();
    names
        .into_iter()
        .map(|series| {
            let counts: Vec<(u64, f64)> = after
                .iter()
                .filter(|((name, _), _)| name == series)
                .map(|((name, bound), count)| (*bound, count - before.get(&(name.clone(), *bound)).unwrap_or(&0.0)))
                .collect();
            let total = counts.last().map(|(_, count)| *count).unwrap_or(0.0);
            let bound = counts.iter().find(|(_, count)| total > 0.0 && *count >= q * total).map(|(bound, _)| *bound);
            let ms = match bound {
                Some(u64::MAX) => f64::INFINITY,
                Some(micros) => micros as f64 / 1000.0,
                None => 0.0,
            };
            (series.clone(), ms)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_quantile_is_the_bound_of_the_bucket_that_holds_it() {
        let bucket = |step: &str, bound_ms: u64, count: f64| ((step.to_owned(), bound_ms * 1000), count);
        let before: Buckets =
            [bucket("catalog", 1, 10.0), bucket("catalog", 5, 10.0), bucket("catalog", 25, 10.0)].into();
        // 100 new requests: 90 under 1 ms, 9 more under 5 ms, 1 more under 25 ms.
        let after: Buckets =
            [bucket("catalog", 1, 100.0), bucket("catalog", 5, 109.0), bucket("catalog", 25, 110.0)].into();
        let p99 = quantile_ms(&before, &after, 0.99);
        assert_eq!(p99[0], ("catalog".to_owned(), 5.0));
        assert_eq!(quantile_ms(&before, &after, 0.5)[0], ("catalog".to_owned(), 1.0));
        assert_eq!(quantile_ms(&before, &after, 1.0)[0], ("catalog".to_owned(), 25.0));
    }

    #[test]
    fn the_server_histogram_sums_its_frontend_series_and_skips_the_rest() {
        let text = [
            r#"service_latency_bucket{namespace="a",operation="StartWorkflowExecution",service_name="frontend",le="0.005"} 3"#,
            r#"service_latency_bucket{namespace="b",operation="StartWorkflowExecution",service_name="frontend",le="0.005"} 4"#,
            r#"service_latency_bucket{namespace="a",operation="StartWorkflowExecution",service_name="history",le="0.005"} 9"#,
            r#"service_latency_bucket{namespace="a",operation="PollWorkflowTaskQueue",service_name="frontend",le="0.005"} 9"#,
            r#"service_latency_bucket{namespace="a",operation="StartWorkflowExecution",service_name="frontend",le="+Inf"} 5"#,
        ]
        .join("\n");
        let buckets = parse(&text, &SERVER_START).unwrap();
        let name = "server StartWorkflowExecution".to_owned();
        assert_eq!(buckets, [((name.clone(), 5_000), 7.0), ((name, u64::MAX), 5.0)].into());
    }
}
