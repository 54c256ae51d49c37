//! The benchmark's targets, in one table: `capstone bench` judges its figures by it, and
//! docs/performance.md shows the same targets (tests/docs.rs compares the two).

/// Which side of its limit a figure must be on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Bound {
    AtLeast(f64),
    AtMost(f64),
    Below(f64),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Target {
    /// What is measured, as the report names it.
    pub figure: &'static str,
    /// What of it the bound is on ("p99 ", "idle "), or nothing when it is the figure itself.
    pub of: &'static str,
    pub bound: Bound,
    pub unit: &'static str,
}

impl Target {
    pub fn met(&self, value: f64) -> bool {
        match self.bound {
            Bound::AtLeast(limit) => value >= limit,
            Bound::AtMost(limit) => value <= limit,
            Bound::Below(limit) => value < limit,
        }
    }

    /// As the report and docs/performance.md write it: `>= 0.70`, `p99 < 25 ms`.
    pub fn label(&self) -> String {
        let (operator, limit) = match self.bound {
            Bound::AtLeast(limit) => (">=", limit),
            Bound::AtMost(limit) => ("<=", limit),
            Bound::Below(limit) => ("<", limit),
        };
        let limit = if limit.fract() == 0.0 { format!("{limit:.0}") } else { format!("{limit:.2}") };
        format!("{}{operator} {limit}{}", self.of, self.unit)
    }

    /// `(target >= 0.70: ok)` or `(... MISSED)`, for the report's line of the figure.
    pub fn verdict(&self, value: f64) -> String {
        format!("(target {}: {})", self.label(), if self.met(value) { "ok" } else { "MISSED" })
    }
}

pub const SATURATION: Target = Target { figure: "saturation / ceiling", of: "", bound: Bound::AtLeast(0.70), unit: "" };
pub const OUR_CPU: Target = Target { figure: "our CPU / server's", of: "", bound: Bound::AtMost(0.25), unit: "" };
pub const ACCEPTANCE_P99: Target =
    Target { figure: "POST /orders (202) at half the peak", of: "p99 ", bound: Bound::Below(25.0), unit: " ms" };
pub const BATCH: Target = Target { figure: "batch / independent", of: "", bound: Bound::AtMost(1.30), unit: "" };
pub const WORKER_IDLE_RSS: Target =
    Target { figure: "worker RSS", of: "idle ", bound: Bound::Below(40.0), unit: " MiB" };

pub const ALL: [Target; 5] = [SATURATION, OUR_CPU, ACCEPTANCE_P99, BATCH, WORKER_IDLE_RSS];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_read_as_the_report_writes_them() {
        let labels: Vec<String> = ALL.iter().map(Target::label).collect();
        assert_eq!(labels, [">= 0.70", "<= 0.25", "p99 < 25 ms", "<= 1.30", "idle < 40 MiB"]);
        assert!(SATURATION.met(0.70) && !SATURATION.met(0.69));
        assert!(ACCEPTANCE_P99.met(24.9) && !ACCEPTANCE_P99.met(25.0));
        assert_eq!(BATCH.verdict(1.31), "(target <= 1.30: MISSED)");
    }
}
