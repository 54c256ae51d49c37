//! The activity calls each path of the order saga makes, in order, as the workflow tests with
//! fake activities (workflow_mocked.rs) assert them. This is the one place they are written:
//! the docs' tables of calls (between `<!-- call-lists -->` and `<!-- /call-lists -->`) are
//! generated from it and checked by docs.rs, so a page cannot drift from the tests.

pub struct CallList {
    pub test: &'static str,
    /// What the fakes do, as the docs say it.
    pub script: &'static str,
    pub calls: &'static [&'static str],
}

pub const HAPPY: CallList = CallList {
    test: "a_happy_order_calls_each_step_once_and_never_compensates",
    script: "default",
    calls: &["reserve", "charge", "ship", "email", "record"],
};
pub const BLOCKED_SHIPMENT: CallList = CallList {
    test: "a_blocked_shipment_refunds_then_releases_once_each",
    script: "`block_shipping`",
    calls: &["reserve", "charge", "ship", "refund", "release", "email", "record"],
};
pub const LOST_BOOKING: CallList = CallList {
    test: "a_booking_whose_answer_was_lost_is_called_off_before_the_refund",
    script: "`shipping_answer_lost`",
    calls: &["reserve", "charge", "ship", "cancel_shipment", "refund", "release", "email", "record"],
};
pub const RECORD_REFUSED: CallList = CallList {
    test: "a_record_the_read_model_refuses_does_not_fail_a_completed_order",
    script: "`record_refused`",
    calls: &["reserve", "charge", "ship", "email", "record"],
};
pub const DECLINED: CallList = CallList {
    test: "a_declined_card_releases_without_a_refund",
    script: "`decline_card`",
    calls: &["reserve", "charge", "release", "email", "record"],
};
pub const REJECTED: CallList = CallList {
    test: "an_operator_rejection_releases_and_never_charges",
    script: "200000 cents, `decide` update with `approve: false`",
    calls: &["reserve", "record", "release", "email", "record"],
};
pub const CANCELLED_AT_THE_GATE: CallList = CallList {
    test: "a_cancel_during_the_approval_wait_ends_canceled_after_releasing",
    script: "200000 cents, cancel at the gate",
    calls: &["reserve", "record", "release", "email", "record"],
};
pub const CHARGE_FAILED: CallList = CallList {
    test: "a_charge_that_fails_for_any_other_reason_is_still_refunded_before_the_release",
    script: "`charge_fails`",
    calls: &["reserve", "charge", "refund", "release", "email", "record"],
};
pub const CANCELLED_WHILE_CHARGING: CallList = CallList {
    test: "a_cancel_while_charging_undoes_the_charge_and_the_reservation",
    script: "`slow_charge_ms: 3000`, cancel mid-charge",
    calls: &["reserve", "charge", "refund", "release", "email", "record"],
};

pub const ALL: [&CallList; 9] = [
    &HAPPY,
    &BLOCKED_SHIPMENT,
    &LOST_BOOKING,
    &RECORD_REFUSED,
    &DECLINED,
    &REJECTED,
    &CANCELLED_AT_THE_GATE,
    &CHARGE_FAILED,
    &CANCELLED_WHILE_CHARGING,
];

/// The table the docs show, exactly.
pub fn markdown_table() -> String {
    let mut table = String::from("| test | script | calls, in order |\n|---|---|---|\n");
    for list in ALL {
        table.push_str(&format!("| `{}` | {} | `{}` |\n", list.test, list.script, list.calls.join(", ")));
    }
    table
}
