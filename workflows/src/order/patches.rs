//! Every `patched` change of `OrderWorkflow`, in the order they were made (day 9). Orders that
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
