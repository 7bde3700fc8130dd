//! The order book: every JIT order by `user_channel_id`, and the questions the service
//! asks of it. Pure: what LDK knows (open channels) comes in as arguments.

use std::cmp::Reverse;
use std::collections::HashMap;

use sluice_storage::{JitOrderRecord, JitOrderState};

use super::limits::Commitments;
use super::order::{expired_unpaid, parse_order_id, unexpired};
use super::Lsps2Summary;

/// Every order, by `user_channel_id`.
#[derive(Clone, Debug, Default)]
pub struct OrderBook {
    orders: HashMap<u128, JitOrderRecord>,
}

impl OrderBook {
    /// A book of `records` (as stored); a record whose id does not parse is left out.
    pub fn new(records: impl IntoIterator<Item = JitOrderRecord>) -> Self {
        let orders = records
            .into_iter()
            .filter_map(|r| Some((parse_order_id(&r.order_id)?, r)))
            .collect();
        OrderBook { orders }
    }

    /// The order `user_channel_id`.
    pub fn get(&self, user_channel_id: u128) -> Option<&JitOrderRecord> {
        self.orders.get(&user_channel_id)
    }

    /// Puts `order` in the book under `user_channel_id`.
    pub fn put(&mut self, user_channel_id: u128, order: JitOrderRecord) {
        self.orders.insert(user_channel_id, order);
    }

    /// Every order, newest first.
    pub fn newest_first(&self) -> Vec<JitOrderRecord> {
        let mut orders: Vec<_> = self.orders.values().cloned().collect();
        orders.sort_by_key(|o| Reverse(o.created_at_ms));
        orders
    }

    /// The orders in `state`.
    pub fn in_state(&self, state: JitOrderState) -> impl Iterator<Item = (u128, &JitOrderRecord)> {
        self.orders
            .iter()
            .filter(move |(_, o)| o.state == state)
            .map(|(id, o)| (*id, o))
    }

    /// The order a payment to `intercept_scid` pays: bought, or with its channel opening.
    pub fn paid_by(&self, intercept_scid: u64) -> Option<(u128, &JitOrderRecord)> {
        self.orders
            .iter()
            .find(|(_, o)| {
                o.intercept_scid == intercept_scid
                    && matches!(o.state, JitOrderState::Bought | JitOrderState::Opening)
            })
            .map(|(id, o)| (*id, o))
    }

    /// Whether an HTLC at `intercept_scid` belongs to an order: one bought whose offer has
    /// not expired at `now_secs`, or one whose channel is opening or open.
    pub fn payable(&self, intercept_scid: u64, now_secs: u64) -> bool {
        self.orders
            .values()
            .filter(|o| o.intercept_scid == intercept_scid)
            .any(|o| match o.state {
                JitOrderState::Bought => unexpired(o, now_secs),
                JitOrderState::Opening | JitOrderState::Forwarded => true,
                JitOrderState::Failed => false,
            })
    }

    /// Whether some order has `intercept_scid`.
    pub fn scid_taken(&self, intercept_scid: u64) -> bool {
        self.orders
            .values()
            .any(|o| o.intercept_scid == intercept_scid)
    }

    /// Bought SCIDs of `client` that can still be paid at `now_secs`.
    pub fn pending_buys(&self, client: &str, now_secs: u64) -> usize {
        self.orders
            .values()
            .filter(|o| o.state == JitOrderState::Bought && o.client_node_id == client)
            .filter(|o| unexpired(o, now_secs))
            .count()
    }

    /// Opens in progress, and the capacity in JIT channels opening or still open
    /// (`open_sat`: each open channel's capacity by `user_channel_id`), leaving out the
    /// order `except`.
    pub fn commitments(&self, open_sat: &HashMap<u128, u64>, except: Option<u128>) -> Commitments {
        let mut now = Commitments::default();
        for (id, order) in self.orders.iter().filter(|(id, _)| Some(**id) != except) {
            match order.state {
                JitOrderState::Opening => {
                    now.opening += 1;
                    now.committed_sat += order.channel_sat.unwrap_or(0);
                }
                JitOrderState::Forwarded => {
                    now.committed_sat += open_sat.get(id).copied().unwrap_or(0);
                }
                JitOrderState::Bought | JitOrderState::Failed => {}
            }
        }
        now
    }

    /// Totals over the book.
    pub fn summary(&self, open_sat: &HashMap<u128, u64>, now_secs: u64) -> Lsps2Summary {
        let count = |s: JitOrderState| self.orders.values().filter(|o| o.state == s).count();
        let expired = self
            .orders
            .values()
            .filter(|o| expired_unpaid(o, now_secs))
            .count();
        Lsps2Summary {
            orders_bought: count(JitOrderState::Bought) - expired,
            orders_expired: expired,
            orders_opening: count(JitOrderState::Opening),
            orders_forwarded: count(JitOrderState::Forwarded),
            orders_failed: count(JitOrderState::Failed),
            revenue_msat: self.orders.values().map(|o| o.skimmed_fee_msat).sum(),
            committed_sat: self.commitments(open_sat, None).committed_sat,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lsps2::order::{bought, failed_for_good, opening, order_id, skimmed, Purchase};

    const NOW: u64 = 1_800_000_000;

    fn sale(id: u128, client: &str, scid: u64, valid_until: &str) -> JitOrderRecord {
        let purchase = Purchase {
            intercept_scid: scid,
            min_fee_msat: 1,
            proportional_ppm: 1,
            valid_until: valid_until.into(),
            payment_size_msat: None,
        };
        bought(id, client, purchase, id as u64)
    }

    const LATER: &str = "2030-01-01T00:00:00Z";
    const EARLIER: &str = "2020-01-01T00:00:00Z";

    fn book() -> OrderBook {
        let mut opening_order = opening(sale(2, "b", 20, LATER), 0);
        opening_order.channel_sat = Some(500);
        OrderBook::new([
            sale(1, "a", 10, LATER),
            opening_order,
            skimmed(sale(3, "a", 30, LATER), 7, 0),
            failed_for_good(sale(4, "b", 40, LATER), "no".into()),
            sale(5, "a", 50, EARLIER),
        ])
    }

    #[test]
    fn records_are_keyed_by_their_order_id_and_bad_ids_left_out() {
        let mut odd = sale(6, "a", 60, LATER);
        odd.order_id = "zz".into();
        let book = OrderBook::new([sale(1, "a", 10, LATER), odd]);
        assert_eq!(book.get(1).map(|o| o.order_id.clone()), Some(order_id(1)));
        assert_eq!(book.newest_first().len(), 1);
    }

    #[test]
    fn payments_reach_bought_and_opening_orders_only() {
        let book = book();
        assert_eq!(book.paid_by(10).map(|(id, _)| id), Some(1));
        assert_eq!(book.paid_by(20).map(|(id, _)| id), Some(2));
        assert_eq!(book.paid_by(30), None, "forwarded");
        assert_eq!(book.paid_by(40), None, "failed");
        assert!(book.payable(10, NOW) && book.payable(20, NOW) && book.payable(30, NOW));
        assert!(!book.payable(40, NOW), "failed for good");
        assert!(!book.payable(50, NOW), "its offer expired");
        assert!(!book.payable(99, NOW), "never sold");
        assert!(book.scid_taken(50) && !book.scid_taken(99));
    }

    #[test]
    fn pending_buys_count_unexpired_bought_orders_of_the_client() {
        let book = book();
        assert_eq!(book.pending_buys("a", NOW), 1);
        assert_eq!(book.pending_buys("b", NOW), 0);
    }

    #[test]
    fn commitments_count_opening_orders_and_open_forwarded_channels() {
        let book = book();
        let open: HashMap<u128, u64> = [(3, 1_000), (9, 50)].into();
        let now = book.commitments(&open, None);
        assert_eq!((now.opening, now.committed_sat), (1, 1_500));
        let without = book.commitments(&open, Some(2));
        assert_eq!((without.opening, without.committed_sat), (0, 1_000));
        let closed = book.commitments(&HashMap::new(), None);
        assert_eq!(
            closed.committed_sat, 500,
            "a closed JIT channel commits nothing"
        );
    }

    #[test]
    fn the_summary_shows_expired_offers_apart_and_the_revenue() {
        let summary = book().summary(&[(3, 1_000)].into(), NOW);
        assert_eq!(summary.orders_bought, 1);
        assert_eq!(summary.orders_expired, 1);
        assert_eq!(summary.orders_opening, 1);
        assert_eq!(summary.orders_forwarded, 1);
        assert_eq!(summary.orders_failed, 1);
        assert_eq!(summary.revenue_msat, 7);
        assert_eq!(summary.committed_sat, 1_500);
    }
}
