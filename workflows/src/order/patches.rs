//! Every `patched` change of `OrderWorkflow`, in the order they were made. Orders that
//! started before a change replay without it (their histories have no marker); orders that
//! start after carry the marker and take the new path. A patch is deprecated only once no
//! order from before it can still be running or replayed.

/// Every order that ends without completing e-mails its customer a notice, after the undos.
/// Orders from before it: `tests/histories/order-card-declined.json` and its siblings.
pub const OUTCOME_NOTICE_PATCH: &str = "outcome-notice-email";

/// The carrier booking's undo (cancel the shipment) is registered before the shipment child
/// starts, so that a booking whose answer was lost is called off when the order gives up.
/// Orders from before it: every order history in `tests/histories` except
/// `order-shipping-answer-lost.json` (the path it was made for) and the ones recorded after it.
pub const SHIPMENT_UNDO_PATCH: &str = "shipment-undo";

/// The order follows its parcel to the door: its shipment child waits for the carrier's
/// events and reports each one, and the order ends when the parcel is delivered (status
/// `SHIPPED` in between). Only orders whose settings ask for it (`delivery`) reach the patch.
/// Orders from before it: every order history in `tests/histories` but the ones named in
/// `AFTER_THE_JOURNEY_PATCH` in `tests/replay.rs`; they end once the carrier is booked.
pub const SHIPMENT_JOURNEY_PATCH: &str = "shipment-journey";
