//! How one JIT order changes: each transition takes an order and returns the new one, so
//! the rules can be read and tested apart from the actor that stores them.
//!
//! ```text
//! bought ──payment──▶ opening ──ready + forwarded──▶ forwarded
//!   ▲                   │
//!   └──failed for now───┤ (a limit, the client away, the open failed or closed)
//!                       ├──failed for good──▶ failed  (not admitted, offer expired, too large)
//!                       └──never claimed────▶ unclaimed (the LSP closes the channel)
//! bought ──refused by lightning-liquidity──▶ failed
//! ```
//!
//! Forwarded, failed and unclaimed orders have ended, and so has a bought one whose offer
//! expired unpaid; [`ended_at_ms`] says since when.

use std::str::FromStr;

use lightning_liquidity::lsps0::ser::LSPSDateTime;
use sluice_storage::{HeldHtlc, JitOrderRecord, JitOrderState};

/// The order id of `user_channel_id`: 32 hex digits.
pub fn order_id(user_channel_id: u128) -> String {
    format!("{user_channel_id:032x}")
}

/// The `user_channel_id` an order id names.
pub fn parse_order_id(id: &str) -> Option<u128> {
    u128::from_str_radix(id, 16).ok()
}

/// What a client bought: the fee menu entry and the payment size it announced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Purchase {
    /// The intercept SCID issued for it.
    pub intercept_scid: u64,
    /// The menu entry's minimum fee.
    pub min_fee_msat: u64,
    /// The menu entry's proportional fee, parts per million.
    pub proportional_ppm: u32,
    /// The menu entry's expiry (RFC 3339).
    pub valid_until: String,
    /// The payment size the client announced, if any.
    pub payment_size_msat: Option<u64>,
}

/// A bought order that knows only its id and client: what an open lightning-liquidity
/// asks for but the book does not know (sold before the book existed, or its record lost)
/// is recorded as.
pub fn unknown(user_channel_id: u128, client: &str, now_ms: u64) -> JitOrderRecord {
    JitOrderRecord {
        order_id: order_id(user_channel_id),
        client_node_id: client.to_owned(),
        intercept_scid: 0,
        min_fee_msat: 0,
        proportional_ppm: 0,
        valid_until: String::new(),
        payment_size_msat: None,
        state: JitOrderState::Bought,
        opening_fee_msat: None,
        amt_to_forward_msat: None,
        channel_sat: None,
        channel_id: None,
        skimmed_fee_msat: 0,
        failure: None,
        created_at_ms: now_ms,
        open_started_at_ms: None,
        channel_ready_at_ms: None,
        forwarded_at_ms: None,
        ended_at_ms: None,
        held_htlcs: Vec::new(),
    }
}

/// A new sale.
pub fn bought(
    user_channel_id: u128,
    client: &str,
    purchase: Purchase,
    now_ms: u64,
) -> JitOrderRecord {
    JitOrderRecord {
        intercept_scid: purchase.intercept_scid,
        min_fee_msat: purchase.min_fee_msat,
        proportional_ppm: purchase.proportional_ppm,
        valid_until: purchase.valid_until,
        payment_size_msat: purchase.payment_size_msat,
        ..unknown(user_channel_id, client, now_ms)
    }
}

/// Whether the order's fee offer is still valid at `now_secs` (seconds since the epoch).
pub fn unexpired(order: &JitOrderRecord, now_secs: u64) -> bool {
    LSPSDateTime::from_str(&order.valid_until)
        .is_ok_and(|until| u64::try_from(until.0.timestamp()).is_ok_and(|t| t >= now_secs))
}

/// Whether the order is bought but can no longer be paid: its fee offer expired unused.
/// Such an order stays in the book (its SCID was sold) and is shown as expired.
pub fn expired_unpaid(order: &JitOrderRecord, now_secs: u64) -> bool {
    order.state == JitOrderState::Bought && !unexpired(order, now_secs)
}

/// Whether a payment arriving at `now_secs` comes too late for the bought offer (bLIP-52:
/// it must come while the offer is valid). An order whose offer the book does not know
/// (recorded from lightning-liquidity's event alone) is not refused for it.
pub fn offer_expired(order: &JitOrderRecord, now_secs: u64) -> bool {
    order.state == JitOrderState::Bought
        && LSPSDateTime::from_str(&order.valid_until)
            .is_ok_and(|until| u64::try_from(until.0.timestamp()).is_ok_and(|t| t < now_secs))
}

/// The amounts of the payment that arrived, and the channel sized for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Payment {
    /// What the client receives.
    pub amt_to_forward_msat: u64,
    /// The opening fee.
    pub opening_fee_msat: u64,
    /// The capacity to open.
    pub channel_sat: u64,
}

/// `order` with the payment that arrived, not yet decided on.
pub fn paid(mut order: JitOrderRecord, payment: Payment) -> JitOrderRecord {
    order.opening_fee_msat = Some(payment.opening_fee_msat);
    order.amt_to_forward_msat = Some(payment.amt_to_forward_msat);
    order.channel_sat = Some(payment.channel_sat);
    order
}

/// The channel is being opened. An open started before a restart keeps its start time.
pub fn opening(mut order: JitOrderRecord, now_ms: u64) -> JitOrderRecord {
    order.state = JitOrderState::Opening;
    order.open_started_at_ms.get_or_insert(now_ms);
    order.failure = None;
    order
}

/// The open failed for now: back to bought with `reason`; the held HTLCs go back to the
/// payer, who may pay the SCID again.
pub fn failed_for_now(mut order: JitOrderRecord, reason: String) -> JitOrderRecord {
    order.state = JitOrderState::Bought;
    order.failure = Some(reason);
    order.open_started_at_ms = None;
    order.held_htlcs.clear();
    order
}

/// The order can never succeed; its SCID is dropped and its HTLCs go back. It ends at
/// `now_ms`.
pub fn failed_for_good(mut order: JitOrderRecord, reason: String, now_ms: u64) -> JitOrderRecord {
    order.state = JitOrderState::Failed;
    order.failure = Some(reason);
    order.held_htlcs.clear();
    order.ended_at_ms.get_or_insert(now_ms);
    order
}

/// The order's channel was opened but its client never claimed the payment: the LSP gives
/// up on it at `now_ms` and closes the channel. Its HTLCs go back.
pub fn unclaimed(mut order: JitOrderRecord, reason: String, now_ms: u64) -> JitOrderRecord {
    order.state = JitOrderState::Unclaimed;
    order.failure = Some(reason);
    order.held_htlcs.clear();
    order.ended_at_ms = Some(now_ms);
    order
}

/// Whether the order is live at `now_secs`: bought and still payable, or opening. Every
/// other order has ended.
pub fn live(order: &JitOrderRecord, now_secs: u64) -> bool {
    match order.state {
        JitOrderState::Bought => unexpired(order, now_secs),
        JitOrderState::Opening => true,
        JitOrderState::Forwarded | JitOrderState::Failed | JitOrderState::Unclaimed => false,
    }
}

/// When the order ended (Unix ms), if it has at `now_secs`: when it was forwarded, failed
/// for good or given up unclaimed, or when its offer expired unpaid. Records written before
/// `ended_at_ms` existed fall back to the nearest time they have.
pub fn ended_at_ms(order: &JitOrderRecord, now_secs: u64) -> Option<u64> {
    match order.state {
        JitOrderState::Opening => None,
        JitOrderState::Bought if unexpired(order, now_secs) => None,
        JitOrderState::Bought => Some(
            LSPSDateTime::from_str(&order.valid_until)
                .ok()
                .and_then(|until| u64::try_from(until.0.timestamp_millis()).ok())
                .unwrap_or(order.created_at_ms),
        ),
        JitOrderState::Forwarded => order.ended_at_ms.or(order.forwarded_at_ms),
        JitOrderState::Failed | JitOrderState::Unclaimed => order.ended_at_ms,
    }
    .or(Some(order.created_at_ms))
    .filter(|_| !live(order, now_secs))
}

/// The order's channel is ready; `None` if it was recorded already.
pub fn ready(mut order: JitOrderRecord, channel_id: String, now_ms: u64) -> Option<JitOrderRecord> {
    if order.channel_id.is_some() {
        return None;
    }
    order.channel_id = Some(channel_id);
    order.channel_ready_at_ms = Some(now_ms);
    Some(order)
}

/// The client claimed a payment over the order's channel and `fee_msat` was skimmed. The
/// first such payment is the one the open was for: the order is forwarded.
pub fn skimmed(mut order: JitOrderRecord, fee_msat: u64, now_ms: u64) -> JitOrderRecord {
    order.skimmed_fee_msat = order.skimmed_fee_msat.saturating_add(fee_msat);
    if order.state != JitOrderState::Forwarded {
        order.state = JitOrderState::Forwarded;
        order.forwarded_at_ms = Some(now_ms);
        order.ended_at_ms = Some(now_ms);
        order.failure = None;
        order.held_htlcs.clear();
    }
    order
}

/// `order` holding `htlc` as well; `None` if it holds it already.
pub fn holding(mut order: JitOrderRecord, htlc: HeldHtlc) -> Option<JitOrderRecord> {
    if order
        .held_htlcs
        .iter()
        .any(|h| h.intercept_id == htlc.intercept_id)
    {
        return None;
    }
    order.held_htlcs.push(htlc);
    Some(order)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLIENT: &str = "02aa";

    fn purchase() -> Purchase {
        Purchase {
            intercept_scid: 42,
            min_fee_msat: 2_000,
            proportional_ppm: 10_000,
            valid_until: "2030-01-01T00:00:00Z".into(),
            payment_size_msat: Some(1_000_000),
        }
    }

    fn htlc(id: &str) -> HeldHtlc {
        HeldHtlc {
            intercept_id: id.into(),
            payment_hash: "ab".into(),
            expected_outbound_msat: 1_000,
        }
    }

    #[test]
    fn order_ids_are_32_hex_digits_both_ways() {
        assert_eq!(order_id(255), "000000000000000000000000000000ff");
        assert_eq!(parse_order_id(&order_id(u128::MAX)), Some(u128::MAX));
        assert_eq!(parse_order_id("not hex"), None);
    }

    #[test]
    fn a_sale_records_the_menu_entry_and_expires_with_it() {
        let order = bought(7, CLIENT, purchase(), 5);
        assert_eq!(order.order_id, order_id(7));
        assert_eq!(order.state, JitOrderState::Bought);
        assert_eq!((order.intercept_scid, order.created_at_ms), (42, 5));
        let before = 1_893_456_000; // 2030-01-01T00:00:00Z
        assert!(unexpired(&order, before));
        assert!(!expired_unpaid(&order, before));
        assert!(expired_unpaid(&order, before + 1));
        assert!(!offer_expired(&order, before) && offer_expired(&order, before + 1));
        let unreadable = unknown(7, CLIENT, 5);
        assert!(
            !unexpired(&unreadable, 0),
            "no valid_until never counts as valid"
        );
        assert!(
            !offer_expired(&unreadable, before),
            "nor as expired for a payment"
        );
    }

    #[test]
    fn an_open_keeps_its_first_start_and_a_failure_for_now_resets_it() {
        let payment = Payment {
            amt_to_forward_msat: 990_000,
            opening_fee_msat: 10_000,
            channel_sat: 7_000,
        };
        let order = opening(paid(bought(1, CLIENT, purchase(), 0), payment), 100);
        assert_eq!(order.state, JitOrderState::Opening);
        assert_eq!(order.open_started_at_ms, Some(100));
        assert_eq!(opening(order.clone(), 200).open_started_at_ms, Some(100));
        let order = holding(order, htlc("h1")).unwrap();
        let failed = failed_for_now(order, "the client did not connect".into());
        assert_eq!(failed.state, JitOrderState::Bought);
        assert_eq!(failed.open_started_at_ms, None);
        assert!(failed.held_htlcs.is_empty());
        assert_eq!(
            failed.opening_fee_msat,
            Some(10_000),
            "the payment stays known"
        );
    }

    #[test]
    fn a_failure_for_good_drops_the_htlcs() {
        let order = holding(bought(1, CLIENT, purchase(), 0), htlc("h1"));
        let failed = failed_for_good(order.unwrap(), "expired".into(), 70);
        assert_eq!(failed.state, JitOrderState::Failed);
        assert_eq!(failed.failure.as_deref(), Some("expired"));
        assert!(failed.held_htlcs.is_empty());
        assert_eq!(failed.ended_at_ms, Some(70));
    }

    #[test]
    fn an_order_ends_when_forwarded_failed_unclaimed_or_expired_and_not_before() {
        let before = 1_893_456_000; // 2030-01-01T00:00:00Z, the offer's expiry
        let order = bought(1, CLIENT, purchase(), 5);
        assert!(live(&order, before));
        assert_eq!(ended_at_ms(&order, before), None);
        assert!(!live(&order, before + 1));
        assert_eq!(ended_at_ms(&order, before + 1), Some(before * 1000));

        let opening = opening(order.clone(), 10);
        assert_eq!(ended_at_ms(&opening, before + 1), None, "opening is live");
        let gone = unclaimed(opening, "never claimed".into(), 90);
        assert_eq!(gone.state, JitOrderState::Unclaimed);
        assert_eq!(gone.failure.as_deref(), Some("never claimed"));
        assert_eq!(ended_at_ms(&gone, 0), Some(90));
        assert_eq!(ended_at_ms(&skimmed(order.clone(), 1, 60), 0), Some(60));

        // A record from before `ended_at_ms`: its last known time.
        let mut old = skimmed(order.clone(), 1, 60);
        old.ended_at_ms = None;
        assert_eq!(ended_at_ms(&old, 0), Some(60));
        let mut old = failed_for_good(order, "no".into(), 70);
        old.ended_at_ms = None;
        assert_eq!(ended_at_ms(&old, 0), Some(5));
    }

    #[test]
    fn readiness_is_recorded_once() {
        let order = ready(bought(1, CLIENT, purchase(), 0), "cc".into(), 9);
        let order = order.unwrap();
        assert_eq!(order.channel_ready_at_ms, Some(9));
        assert_eq!(ready(order, "dd".into(), 10), None);
    }

    #[test]
    fn the_first_skim_forwards_the_order_and_later_ones_add_up() {
        let order = holding(bought(1, CLIENT, purchase(), 0), htlc("h1"));
        let order = skimmed(order.unwrap(), 10_000, 50);
        assert_eq!(order.state, JitOrderState::Forwarded);
        assert_eq!(order.forwarded_at_ms, Some(50));
        assert!(order.held_htlcs.is_empty());
        let order = skimmed(order, 5, 60);
        assert_eq!(order.skimmed_fee_msat, 10_005);
        assert_eq!(order.forwarded_at_ms, Some(50));
    }

    #[test]
    fn an_htlc_is_held_once() {
        let order = holding(bought(1, CLIENT, purchase(), 0), htlc("h1"));
        let order = order.unwrap();
        assert_eq!(holding(order.clone(), htlc("h1")), None);
        let order = holding(order, htlc("h2")).unwrap();
        assert_eq!(order.held_htlcs.len(), 2);
    }
}
