//! Day 11: the order workflow against a real server, with every activity replaced by a fake
//! (see `support/fakes.rs`). No services, no database: just the workflow's decisions, made
//! visible by the calls the fakes record. The real-service tests (failures.rs, approval.rs)
//! prove the same paths end to end; these isolate the workflow logic and run in a second.

use crate::support;

use capstone_workflows::order::{Decision, OrderStatus, OrderWorkflow, order_workflow_id};
use support::{
    call_lists,
    fakes::{FakeShop, Script, wait_for_status},
};
use temporalio_client::{
    WorkflowCancelOptions, WorkflowExecuteUpdateOptions, WorkflowExecutionStatus, WorkflowGetResultOptions,
    WorkflowStartOptions, errors::WorkflowGetResultError,
};

async fn start(
    shop: &FakeShop,
    order_id: &str,
    total_cents: i64,
    approval_secs: u64,
) -> temporalio_client::WorkflowHandle<temporalio_client::Client, OrderWorkflow> {
    let input = shop.order(order_id, total_cents, approval_secs);
    let workflow_id = order_workflow_id(order_id);
    let options = WorkflowStartOptions::new(shop.queues.workflows.clone(), workflow_id.clone()).build();
    shop.client.start_workflow(OrderWorkflow::run, input, options).await.expect("the workflow starts");
    shop.client.get_workflow_handle::<OrderWorkflow>(workflow_id)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_happy_order_calls_each_step_once_and_never_compensates() {
    let shop = FakeShop::start(Script::default()).await;
    let snapshot = shop
        .with_workers(|| async {
            start(&shop, "happy", 5_000, 60).await.get_result(WorkflowGetResultOptions::default()).await.unwrap()
        })
        .await;
    assert_eq!(snapshot.status, OrderStatus::Completed);
    assert_eq!(shop.calls.list(), call_lists::HAPPY.calls);
    assert_eq!(shop.calls.recorded().map(|s| s.status), Some(OrderStatus::Completed));
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_blocked_shipment_refunds_then_releases_once_each() {
    let shop = FakeShop::start(Script { block_shipping: true, ..Script::default() }).await;
    let snapshot = shop
        .with_workers(|| async {
            start(&shop, "blocked", 5_000, 60).await.get_result(WorkflowGetResultOptions::default()).await.unwrap()
        })
        .await;
    assert_eq!(snapshot.status, OrderStatus::Compensated);
    assert_eq!(shop.calls.list(), call_lists::BLOCKED_SHIPMENT.calls);
    assert!(snapshot.reason.unwrap().contains("shipping failed"));
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_booking_whose_answer_was_lost_is_called_off_before_the_refund() {
    // The carrier took the parcel, but the order never heard so and gave up on shipping: the
    // shipment's undo was registered before the child started, so it runs first.
    let shop = FakeShop::start(Script { shipping_answer_lost: true, ..Script::default() }).await;
    let snapshot = shop
        .with_workers(|| async {
            start(&shop, "lost-booking", 5_000, 60).await.get_result(WorkflowGetResultOptions::default()).await.unwrap()
        })
        .await;
    assert_eq!(snapshot.status, OrderStatus::Compensated);
    assert_eq!(shop.calls.list(), call_lists::LOST_BOOKING.calls);
    assert!(snapshot.timeline.iter().any(|entry| entry.note.contains("cancelled the carrier booking")), "{snapshot:?}");
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_record_the_read_model_refuses_does_not_fail_a_completed_order() {
    // The money, the stock and the parcel are settled by then: a projection must not undo them.
    let shop = FakeShop::start(Script { record_refused: true, ..Script::default() }).await;
    let snapshot = shop
        .with_workers(|| async {
            start(&shop, "record-refused", 5_000, 60).await.get_result(WorkflowGetResultOptions::default()).await
        })
        .await
        .expect("the order completes although its record was refused");
    assert_eq!(snapshot.status, OrderStatus::Completed);
    assert_eq!(shop.calls.list(), call_lists::RECORD_REFUSED.calls);
    let last = snapshot.timeline.last().unwrap();
    assert!(last.note.starts_with("the read model refused this record"), "{last:?}");
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_declined_card_releases_without_a_refund() {
    let shop = FakeShop::start(Script { decline_card: true, ..Script::default() }).await;
    let snapshot = shop
        .with_workers(|| async {
            start(&shop, "declined", 5_000, 60).await.get_result(WorkflowGetResultOptions::default()).await.unwrap()
        })
        .await;
    assert_eq!(snapshot.status, OrderStatus::Compensated);
    assert_eq!(shop.calls.list(), call_lists::DECLINED.calls);
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_operator_rejection_releases_and_never_charges() {
    let shop = FakeShop::start(Script::default()).await;
    let snapshot = shop
        .with_workers(|| async {
            let handle = start(&shop, "rejected", 200_000, 60).await;
            wait_for_status(&handle, OrderStatus::AwaitingApproval).await;
            let decision = Decision { approve: false, operator: "alice".into(), reason: "no".into() };
            handle
                .execute_update(OrderWorkflow::decide, decision, WorkflowExecuteUpdateOptions::default())
                .await
                .unwrap();
            handle.get_result(WorkflowGetResultOptions::default()).await.unwrap()
        })
        .await;
    assert_eq!(snapshot.status, OrderStatus::Rejected);
    // The first `record` is the wait at the gate: operators list waiting orders from there.
    // The `email` is the notice that tells the customer (after the release, before the record).
    assert_eq!(shop.calls.list(), call_lists::REJECTED.calls);
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cancel_during_the_approval_wait_ends_canceled_after_releasing() {
    let shop = FakeShop::start(Script::default()).await;
    let outcome = shop
        .with_workers(|| async {
            let handle = start(&shop, "cancelled", 200_000, 3600).await;
            wait_for_status(&handle, OrderStatus::AwaitingApproval).await;
            handle.cancel(WorkflowCancelOptions::builder().reason("test").build()).await.unwrap();
            handle.get_result(WorkflowGetResultOptions::default()).await
        })
        .await;
    assert!(matches!(outcome, Err(WorkflowGetResultError::Cancelled { .. })), "{outcome:?}");
    assert_eq!(shop.calls.list(), call_lists::CANCELLED_AT_THE_GATE.calls);
    assert_eq!(shop.calls.recorded().map(|s| s.status), Some(OrderStatus::Cancelled));
    let handle = shop.client.get_workflow_handle::<temporalio_common::UntypedWorkflow>("order-cancelled");
    let status = handle.describe(Default::default()).await.unwrap().status();
    assert_eq!(status, WorkflowExecutionStatus::Canceled);
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_charge_that_fails_for_any_other_reason_is_still_refunded_before_the_release() {
    // The refund is registered before the charge runs: whatever the charge did, it is undone.
    // (A decline is the one refusal known to move no money; see the test above.)
    let shop = FakeShop::start(Script { charge_fails: true, ..Script::default() }).await;
    let snapshot = shop
        .with_workers(|| async {
            start(&shop, "charge-failed", 5_000, 60)
                .await
                .get_result(WorkflowGetResultOptions::default())
                .await
                .unwrap()
        })
        .await;
    assert_eq!(snapshot.status, OrderStatus::Compensated);
    assert!(snapshot.reason.as_deref().unwrap().starts_with("payment failed"), "{snapshot:?}");
    assert_eq!(shop.calls.list(), call_lists::CHARGE_FAILED.calls);
    shop.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cancel_while_charging_undoes_the_charge_and_the_reservation() {
    let shop = FakeShop::start(Script { slow_charge_ms: 3_000, ..Script::default() }).await;
    let outcome = shop
        .with_workers(|| async {
            let handle = start(&shop, "cancel-charging", 5_000, 60).await;
            while !shop.calls.list().contains(&"charge".to_owned()) {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            handle.cancel(WorkflowCancelOptions::builder().reason("customer").build()).await.unwrap();
            handle.get_result(WorkflowGetResultOptions::default()).await
        })
        .await;
    assert!(matches!(outcome, Err(WorkflowGetResultError::Cancelled { .. })), "{outcome:?}");
    assert_eq!(shop.calls.list(), call_lists::CANCELLED_WHILE_CHARGING.calls);
    assert_eq!(shop.calls.recorded().map(|s| s.status), Some(OrderStatus::Cancelled));
    shop.stop().await;
}
