//! The shop's Temporal Schedules, created or brought up to date by
//! `setup-temporal` and `capstone dev`:
//!
//! | schedule                 | when                    | overlap    | catch-up window | why so |
//! |--------------------------|-------------------------|------------|-----------------|--------|
//! | `capstone-reconcile`     | every `RECONCILE_EVERY` | Skip       | one interval    | a run still going covers the next; after an outage one catch-up run is enough, each run looks back a day |
//! | `capstone-retention`     | daily, 03:00 UTC        | Skip       | one day         | a purge that runs long must not run twice at once; a missed night is done the next day |
//! | `capstone-daily-report`  | daily, 00:05 UTC        | BufferAll  | three days      | every day gets its report, even after a weekend's outage, one after the other |
//!
//! A schedule is not cron: its runs are workflows with histories, a missed run is caught up
//! within its window, overlap is a policy, and the Web UI's Schedules page can pause, trigger
//! and backfill it.

use capstone_workflows::operations::{
    reconcile::{ReconcileInput, ReconcileWorkflow},
    report::{DailyReportWorkflow, ReportInput},
    retention::{RetentionInput, RetentionWorkflow},
};
use std::time::Duration;
use temporalio_client::{
    Client,
    schedules::{
        CreateScheduleOptions, ScheduleAction, ScheduleCalendarSpec, ScheduleError, ScheduleOverlapPolicy, ScheduleSpec,
    },
};

pub const RECONCILE: &str = "capstone-reconcile";
pub const RETENTION: &str = "capstone-retention";
pub const DAILY_REPORT: &str = "capstone-daily-report";
pub const ALL: [&str; 3] = [RECONCILE, RETENTION, DAILY_REPORT];

#[derive(Debug, Clone)]
pub struct ScheduleSettings {
    /// Where the scheduled workflows run (the workflow worker's queue).
    pub task_queue: String,
    /// Where their activities run.
    pub activity_task_queue: String,
    pub reconcile_every: Duration,
    /// Orders younger than this are left to finish their own writes.
    pub reconcile_settle: Duration,
    /// How far back each reconcile run looks.
    pub reconcile_lookback: Duration,
    /// App rows older than this are purged (the ledger never is).
    pub retention_keep: Duration,
    /// Who gets the daily report.
    pub report_recipients: Vec<String>,
}

/// One schedule as we want it.
struct Wanted {
    id: &'static str,
    action: ScheduleAction,
    spec: ScheduleSpec,
    overlap: ScheduleOverlapPolicy,
    catchup_window: Duration,
    note: &'static str,
}

fn wanted(settings: &ScheduleSettings) -> Vec<Wanted> {
    let daily_at = |hour: &str, minute: &str| {
        ScheduleSpec::from_calendar(
            ScheduleCalendarSpec::builder().hour(hour.to_owned()).minute(minute.to_owned()).build(),
        )
    };
    vec![
        Wanted {
            id: RECONCILE,
            action: ScheduleAction::start_workflow(
                ReconcileWorkflow::run,
                ReconcileInput {
                    activity_task_queue: settings.activity_task_queue.clone(),
                    settle_secs: settings.reconcile_settle.as_secs(),
                    lookback_secs: settings.reconcile_lookback.as_secs(),
                    limit: 500,
                },
                settings.task_queue.clone(),
                "reconcile",
            ),
            spec: ScheduleSpec::from_interval(settings.reconcile_every),
            overlap: ScheduleOverlapPolicy::Skip,
            catchup_window: settings.reconcile_every,
            note: "finds orders whose row, workflow and ledger disagree; repairs rows",
        },
        Wanted {
            id: RETENTION,
            action: ScheduleAction::start_workflow(
                RetentionWorkflow::run,
                RetentionInput {
                    activity_task_queue: settings.activity_task_queue.clone(),
                    keep_secs: settings.retention_keep.as_secs(),
                    batch: 500,
                },
                settings.task_queue.clone(),
                "retention",
            ),
            spec: daily_at("3", "0"),
            overlap: ScheduleOverlapPolicy::Skip,
            catchup_window: Duration::from_secs(24 * 3600),
            note: "purges finished orders' rows, sent e-mails and carrier events past their age",
        },
        Wanted {
            id: DAILY_REPORT,
            action: ScheduleAction::start_workflow(
                DailyReportWorkflow::run,
                ReportInput {
                    activity_task_queue: settings.activity_task_queue.clone(),
                    period_secs: 24 * 3600,
                    recipients: settings.report_recipients.clone(),
                },
                settings.task_queue.clone(),
                "daily-report",
            ),
            spec: daily_at("0", "5"),
            overlap: ScheduleOverlapPolicy::BufferAll,
            catchup_window: Duration::from_secs(3 * 24 * 3600),
            note: "e-mails the last day's orders, revenue and refunds to the operators",
        },
    ]
}

/// Creates each schedule, or brings an existing one up to date (spec, action, policies), so
/// running it twice changes nothing. Answers the ids it created.
pub async fn ensure(client: &Client, settings: &ScheduleSettings) -> anyhow::Result<Vec<&'static str>> {
    let mut created = Vec::new();
    for wanted in wanted(settings) {
        let options = CreateScheduleOptions::builder()
            .action(wanted.action.clone())
            .spec(wanted.spec.clone())
            .overlap_policy(wanted.overlap)
            .note(wanted.note)
            .build();
        match client.create_schedule(wanted.id, options).await {
            Ok(_) => created.push(wanted.id),
            Err(ScheduleError::Rpc(status)) if status.code() == temporalio_client::tonic::Code::AlreadyExists => {}
            Err(error) => return Err(anyhow::anyhow!("creating the schedule {}: {error}", wanted.id)),
        }
        update(client, &wanted).await?;
    }
    Ok(created)
}

/// The catch-up window is not a create option, so every schedule is updated after the create
/// (an existing one gets everything again; an operator's pause stays). Two processes may run
/// this at once (the api's and the workflow worker's `setup-temporal` init containers): an
/// update that lost the race ("mismatched conflict token") reads the schedule again.
async fn update(client: &Client, wanted: &Wanted) -> anyhow::Result<()> {
    let mut attempt = 1;
    loop {
        let (action, spec, overlap, catchup_window) =
            (wanted.action.clone(), wanted.spec.clone(), wanted.overlap, wanted.catchup_window);
        let outcome = client
            .get_schedule_handle(wanted.id)
            .update(
                move |update| {
                    update
                        .set_action(action)
                        .set_spec(spec)
                        .set_overlap_policy(overlap)
                        .set_catchup_window(catchup_window);
                },
                Default::default(),
            )
            .await;
        match outcome {
            Ok(()) => return Ok(()),
            Err(error) if attempt < 5 && error.to_string().contains("conflict token") => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(200 * attempt)).await;
            }
            Err(error) => anyhow::bail!("updating the schedule {}: {error}", wanted.id),
        }
    }
}
