//! Where the time of `POST /orders` goes, from the api's own histogram
//! (`capstone_api_order_step_seconds`): read before and after a run, so that only the run's
//! requests count.

use crate::metrics::order_steps::STEPS;
use std::collections::BTreeMap;

/// Cumulative bucket counts per step: `(step, upper bound in seconds) -> count`.
pub type Buckets = BTreeMap<(String, u64), f64>;

/// The api's step buckets right now (bounds kept in microseconds, so they sort as numbers).
pub async fn read(api_url: &str) -> anyhow::Result<Buckets> {
    let text = reqwest::get(format!("{}/metrics", api_url.trim_end_matches('/'))).await?.text().await?;
    let mut buckets = Buckets::new();
    for line in text.lines().filter(|line| line.starts_with("capstone_api_order_step_seconds_bucket{")) {
        let Some((labels, value)) = line.rsplit_once(' ') else { continue };
        let label = |name: &str| labels.split(&format!("{name}=\"")).nth(1)?.split('"').next().map(str::to_owned);
        let (Some(step), Some(le)) = (label("step"), label("le")) else { continue };
        let bound = if le == "+Inf" { u64::MAX } else { (le.parse::<f64>()? * 1e6).round() as u64 };
        buckets.insert((step, bound), value.parse()?);
    }
    Ok(buckets)
}

/// The upper bound (ms) of the bucket holding quantile `q` of each step, between two reads:
/// an upper estimate, as good as the buckets are fine.
pub fn quantile_ms(before: &Buckets, after: &Buckets, q: f64) -> Vec<(String, f64)> {
    STEPS
        .iter()
        .map(|step| {
            let counts: Vec<(u64, f64)> = after
                .iter()
                .filter(|((name, _), _)| name == step)
                .map(|((name, bound), count)| (*bound, count - before.get(&(name.clone(), *bound)).unwrap_or(&0.0)))
                .collect();
            let total = counts.last().map(|(_, count)| *count).unwrap_or(0.0);
            let bound = counts.iter().find(|(_, count)| total > 0.0 && *count >= q * total).map(|(bound, _)| *bound);
            let ms = match bound {
                Some(u64::MAX) => f64::INFINITY,
                Some(micros) => micros as f64 / 1000.0,
                None => 0.0,
            };
            (step.to_string(), ms)
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
}
