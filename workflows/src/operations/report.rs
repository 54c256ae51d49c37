//! `DailyReportWorkflow`: totals the period before its scheduled time (orders, revenue,
//! refunds) and e-mails it to the operators. The e-mail's message key is the run's workflow id (the schedule
//! appends the scheduled time to it), so a retried send is one e-mail per run.

use crate::contracts::{
    notifications::{NotificationActivities, SendEmailRequest},
    operations::{DayTotals, OperationsActivities, TotalsRequest},
};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{WorkflowContext, WorkflowResult};

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct ReportInput {
    pub activity_task_queue: String,
    /// The period the report covers, ending when the run starts.
    pub period_secs: u64,
    pub recipients: Vec<String>,
}

#[workflow]
#[derive(Default)]
pub struct DailyReportWorkflow;

#[workflow_methods]
impl DailyReportWorkflow {
    #[run(name = "DailyReportWorkflow")]
    pub async fn run(ctx: &mut WorkflowContext<Self>, input: ReportInput) -> WorkflowResult<DayTotals> {
        // The period ends when the schedule meant this run to start, so a caught-up or
        // backfilled run reports its own day, not the day it happened to run.
        let to_ms = scheduled_time_ms(ctx.workflow_id()).unwrap_or_else(|| crate::time::now_ms(ctx.workflow_time()));
        let from_ms = to_ms - (input.period_secs * 1000) as i64;
        let options = super::options(&input.activity_task_queue, Duration::from_secs(30));
        let totals = ctx
            .execute_activity(OperationsActivities::day_totals, TotalsRequest { from_ms, to_ms }, options.clone())
            .await?;
        let run = ctx.workflow_id().to_owned();
        for recipient in &input.recipients {
            let email = SendEmailRequest {
                message_key: format!("{run}:report:{recipient}"),
                to: recipient.clone(),
                subject: format!("Shop report: {} orders", totals.orders_by_status.values().sum::<i64>()),
                body: body(&totals),
            };
            ctx.execute_activity(NotificationActivities::send_email, email, options.clone()).await?;
        }
        Ok(totals)
    }
}

/// The e-mail's text: one line per status, then the money.
pub fn body(totals: &DayTotals) -> String {
    let mut lines =
        vec![format!("Orders placed between {} and {} (epoch ms), by status now:", totals.from_ms, totals.to_ms)];
    lines.extend(totals.orders_by_status.iter().map(|(status, count)| format!("  {status}: {count}")));
    lines.push(format!("Charged: {} cents", totals.charged_cents));
    lines.push(format!("Refunded: {} cents", totals.refunded_cents));
    lines.join("\n")
}

/// When the schedule meant this run to start: the server appends it to the run's workflow id
/// in RFC 3339, UTC (`daily-report-2026-12-07T00:05:00Z`). `None` for a run started by hand.
pub fn scheduled_time_ms(workflow_id: &str) -> Option<i64> {
    let stamp = workflow_id.get(workflow_id.len().checked_sub(20)?..)?.as_bytes();
    let separators = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':'), (19, b'Z')];
    if separators.iter().any(|(at, byte)| stamp[*at] != *byte) {
        return None;
    }
    let number = |from: usize, to: usize| std::str::from_utf8(&stamp[from..to]).ok()?.parse::<i64>().ok();
    let (year, month, day) = (number(0, 4)?, number(5, 7)?, number(8, 10)?);
    let (hour, minute, second) = (number(11, 13)?, number(14, 16)?, number(17, 19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scheduled_time_is_read_from_the_run_s_workflow_id() {
        assert_eq!(scheduled_time_ms("daily-report-2026-12-07T00:05:00Z"), Some(1_796_601_900_000));
        assert_eq!(scheduled_time_ms("daily-report-2024-02-29T23:59:59Z"), Some(1_709_251_199_000));
        assert_eq!(scheduled_time_ms("daily-report-by-hand"), None);
        assert_eq!(scheduled_time_ms("x"), None);
    }
}
