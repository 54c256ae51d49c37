//! Reading a workflow's event history in tests: what ran, where, how often, by whom.

use temporalio_common::protos::temporal::api::history::v1::{HistoryEvent, history_event::Attributes};

/// One activity as the history records it. The history keeps only the *last* attempt's
/// ActivityTaskStarted, so `attempt` is how many attempts it took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityRun {
    pub name: String,
    pub task_queue: String,
    pub attempt: i32,
    pub identity: String,
    /// `completed`, `failed`, `timed_out`, `canceled`, or `pending`.
    pub outcome: &'static str,
}

/// Every activity of the history, in the order they were scheduled.
pub fn activity_runs(events: &[HistoryEvent]) -> Vec<ActivityRun> {
    let mut runs: Vec<(i64, ActivityRun)> = Vec::new();
    fn set(runs: &mut [(i64, ActivityRun)], id: i64, update: impl FnOnce(&mut ActivityRun)) {
        if let Some((_, run)) = runs.iter_mut().find(|(scheduled, _)| *scheduled == id) {
            update(run);
        }
    }
    for event in events {
        match &event.attributes {
            Some(Attributes::ActivityTaskScheduledEventAttributes(scheduled)) => runs.push((
                event.event_id,
                ActivityRun {
                    name: scheduled.activity_type.as_ref().map(|t| t.name.clone()).unwrap_or_default(),
                    task_queue: scheduled.task_queue.as_ref().map(|q| q.name.clone()).unwrap_or_default(),
                    attempt: 0,
                    identity: String::new(),
                    outcome: "pending",
                },
            )),
            Some(Attributes::ActivityTaskStartedEventAttributes(started)) => {
                set(&mut runs, started.scheduled_event_id, |run| {
                    run.attempt = started.attempt;
                    run.identity = started.identity.clone();
                })
            }
            Some(Attributes::ActivityTaskCompletedEventAttributes(done)) => {
                set(&mut runs, done.scheduled_event_id, |run| run.outcome = "completed")
            }
            Some(Attributes::ActivityTaskFailedEventAttributes(done)) => {
                set(&mut runs, done.scheduled_event_id, |run| run.outcome = "failed")
            }
            Some(Attributes::ActivityTaskTimedOutEventAttributes(done)) => {
                set(&mut runs, done.scheduled_event_id, |run| run.outcome = "timed_out")
            }
            Some(Attributes::ActivityTaskCanceledEventAttributes(done)) => {
                set(&mut runs, done.scheduled_event_id, |run| run.outcome = "canceled")
            }
            _ => {}
        }
    }
    runs.into_iter().map(|(_, run)| run).collect()
}

/// The identities of the workers that ran the workflow's tasks, in order, without repeats.
pub fn workflow_task_identities(events: &[HistoryEvent]) -> Vec<String> {
    let mut identities: Vec<String> = Vec::new();
    for event in events {
        if let Some(Attributes::WorkflowTaskStartedEventAttributes(started)) = &event.attributes
            && identities.last() != Some(&started.identity)
        {
            identities.push(started.identity.clone());
        }
    }
    identities
}

/// Names of the activities, in the order they were scheduled.
pub fn activity_names(events: &[HistoryEvent]) -> Vec<String> {
    activity_runs(events).into_iter().map(|run| run.name).collect()
}
