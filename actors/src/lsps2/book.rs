//! The order book: the live JIT orders by `user_channel_id`, and those that ended within
//! the retention period, and the questions the service asks of them. Pure: what LDK knows
//! (open channels) and the time come in as arguments.
//!
//! An order that ended longer ago than the retention leaves the book ([`OrderBook::prune`];
//! the store keeps it). What the book still needs of it stays, in a few bytes: the intercept
//! SCID of a forwarded or unclaimed order, which lightning-liquidity keeps for good and so
//! must never be sold again; the `user_channel_id` of its channel while that is open, which
//! counts against `max_committed_sat`; and the totals the summary reports.

use std::cmp::Reverse;
use std::collections::{HashMap, HashSet};

use sluice_storage::{JitOrderRecord, JitOrderState};

use super::limits::Commitments;
use super::order::{ended_at_ms, expired_unpaid, live, parse_order_id, unexpired};
use super::Lsps2Summary;

/// What the summary counts of orders that left the book.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Pruned {
    expired: usize,
    forwarded: usize,
    failed: usize,
    unclaimed: usize,
    revenue_msat: u64,
}

/// How long orders stay and count, in milliseconds, for [`OrderBook::prune`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retention {
    /// How long an ended order stays in the book.
    pub retention_ms: u64,
    /// How long a channel closed unclaimed counts against the unclaimed budget after its
    /// open started.
    pub unclaimed_window_ms: u64,
}

/// The orders, by `user_channel_id`.
#[derive(Clone, Debug, Default)]
pub struct OrderBook {
    orders: HashMap<u128, JitOrderRecord>,
    /// Intercept SCIDs of pruned orders that lightning-liquidity still holds.
    retired_scids: HashSet<u64>,
    /// Pruned orders (forwarded or unclaimed) whose channel may still be open.
    retired_channels: HashSet<u128>,
    pruned: Pruned,
}

impl OrderBook {
    /// A book of `records` (as stored); a record whose id does not parse is left out.
    pub fn new(records: impl IntoIterator<Item = JitOrderRecord>) -> Self {
        let orders = records
            .into_iter()
            .filter_map(|r| Some((parse_order_id(&r.order_id)?, r)))
            .collect();
        OrderBook {
            orders,
            ..OrderBook::default()
        }
    }

    /// The order `user_channel_id`.
    pub fn get(&self, user_channel_id: u128) -> Option<&JitOrderRecord> {
        self.orders.get(&user_channel_id)
    }

    /// Puts `order` in the book under `user_channel_id`.
    pub fn put(&mut self, user_channel_id: u128, order: JitOrderRecord) {
        self.orders.insert(user_channel_id, order);
    }

    /// How many orders the book holds (live, and ended within the retention).
    pub fn len(&self) -> usize {
        self.orders.len()
    }

    /// Whether the book holds no order.
    pub fn is_empty(&self) -> bool {
        self.orders.is_empty()
    }

    /// Every order in the book, newest first.
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
                JitOrderState::Failed | JitOrderState::Unclaimed => false,
            })
    }

    /// Whether `intercept_scid` may not be sold: some order in the book has it, or a pruned
    /// one whose SCID lightning-liquidity keeps.
    pub fn scid_taken(&self, intercept_scid: u64) -> bool {
        self.retired_scids.contains(&intercept_scid)
            || self
                .orders
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

    /// Live orders at `now_secs`, over all clients: bought and payable, or opening.
    pub fn live_orders(&self, now_secs: u64) -> usize {
        self.orders.values().filter(|o| live(o, now_secs)).count()
    }

    /// Opens in progress, the capacity in JIT channels opening or still open (`open_sat`:
    /// each open channel's capacity by `user_channel_id`), and the capacity opened for
    /// clients that have not claimed at `now_ms` (see [`Self::unclaimed_sat`]), leaving out
    /// the order `except`.
    pub fn commitments(
        &self,
        open_sat: &HashMap<u128, u64>,
        now_ms: u64,
        unclaimed_window_ms: u64,
        except: Option<u128>,
    ) -> Commitments {
        let mut now = Commitments {
            unclaimed_sat: self.unclaimed_sat(now_ms, unclaimed_window_ms, except),
            ..Commitments::default()
        };
        for (id, order) in self.orders.iter().filter(|(id, _)| Some(**id) != except) {
            match order.state {
                JitOrderState::Opening => {
                    now.opening += 1;
                    now.committed_sat += order.channel_sat.unwrap_or(0);
                }
                // An unclaimed order's channel counts until it is closed.
                JitOrderState::Forwarded | JitOrderState::Unclaimed => {
                    now.committed_sat += open_sat.get(id).copied().unwrap_or(0);
                }
                JitOrderState::Bought | JitOrderState::Failed => {}
            }
        }
        for id in self
            .retired_channels
            .iter()
            .filter(|id| Some(**id) != except)
        {
            now.committed_sat += open_sat.get(id).copied().unwrap_or(0);
        }
        now
    }

    /// The capacity opened for clients that have not claimed at `now_ms`: every order
    /// opening (its channel being opened, or open with the payment not yet claimed), and
    /// every order closed unclaimed whose open started within `window_ms` of now, leaving
    /// out the order `except`.
    pub fn unclaimed_sat(&self, now_ms: u64, window_ms: u64, except: Option<u128>) -> u64 {
        let since = now_ms.saturating_sub(window_ms);
        self.orders
            .iter()
            .filter(|(id, _)| Some(**id) != except)
            .filter(|(_, o)| match o.state {
                JitOrderState::Opening => true,
                JitOrderState::Unclaimed => o.open_started_at_ms.is_some_and(|t| t >= since),
                _ => false,
            })
            .map(|(_, o)| o.channel_sat.unwrap_or(0))
            .sum()
    }

    /// Takes out of the book the orders that ended more than the retention before `now_ms`,
    /// keeping what the book needs of them (see the module doc). An order closed unclaimed
    /// stays while it counts against the budget or its channel (in `open`, by
    /// `user_channel_id`) is not closed yet. Returns the orders taken out.
    pub fn prune(
        &mut self,
        now_ms: u64,
        retention: Retention,
        open: &HashSet<u128>,
    ) -> Vec<(u128, JitOrderRecord)> {
        let now_secs = now_ms / 1000;
        let window_start = now_ms.saturating_sub(retention.unclaimed_window_ms);
        let done: Vec<u128> = self
            .orders
            .iter()
            .filter(|(_, o)| {
                ended_at_ms(o, now_secs)
                    .is_some_and(|end| end.saturating_add(retention.retention_ms) <= now_ms)
            })
            .filter(|(id, o)| {
                o.state != JitOrderState::Unclaimed
                    || (!open.contains(id) && o.open_started_at_ms.is_none_or(|t| t < window_start))
            })
            .map(|(id, _)| *id)
            .collect();
        let mut pruned = Vec::with_capacity(done.len());
        for id in done {
            let Some(order) = self.orders.remove(&id) else {
                continue;
            };
            self.pruned.revenue_msat += order.skimmed_fee_msat;
            match order.state {
                JitOrderState::Forwarded | JitOrderState::Unclaimed => {
                    if order.state == JitOrderState::Forwarded {
                        self.pruned.forwarded += 1;
                    } else {
                        self.pruned.unclaimed += 1;
                    }
                    self.retired_scids.insert(order.intercept_scid);
                    if open.contains(&id) {
                        self.retired_channels.insert(id);
                    }
                }
                JitOrderState::Failed => self.pruned.failed += 1,
                JitOrderState::Bought => self.pruned.expired += 1,
                JitOrderState::Opening => {}
            }
            pruned.push((id, order));
        }
        pruned
    }

    /// A channel closed: a pruned order's channel no longer counts as committed.
    pub fn channel_closed(&mut self, user_channel_id: u128) {
        self.retired_channels.remove(&user_channel_id);
    }

    /// Totals over the book, pruned orders included; `unclaimed_window_ms` as for
    /// [`Self::unclaimed_sat`].
    pub fn summary(
        &self,
        open_sat: &HashMap<u128, u64>,
        now_ms: u64,
        unclaimed_window_ms: u64,
    ) -> Lsps2Summary {
        let now_secs = now_ms / 1000;
        let count = |s: JitOrderState| self.orders.values().filter(|o| o.state == s).count();
        let expired = self
            .orders
            .values()
            .filter(|o| expired_unpaid(o, now_secs))
            .count();
        let pruned = self.pruned;
        let now = self.commitments(open_sat, now_ms, unclaimed_window_ms, None);
        Lsps2Summary {
            orders_bought: count(JitOrderState::Bought) - expired,
            orders_expired: expired + pruned.expired,
            orders_opening: count(JitOrderState::Opening),
            orders_forwarded: count(JitOrderState::Forwarded) + pruned.forwarded,
            orders_failed: count(JitOrderState::Failed) + pruned.failed,
            orders_unclaimed: count(JitOrderState::Unclaimed) + pruned.unclaimed,
            revenue_msat: self
                .orders
                .values()
                .map(|o| o.skimmed_fee_msat)
                .sum::<u64>()
                + pruned.revenue_msat,
            committed_sat: now.committed_sat,
            unclaimed_sat: now.unclaimed_sat,
            orders_in_memory: self.orders.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lsps2::order::{
        bought, failed_for_good, opening, order_id, skimmed, unclaimed, Purchase,
    };

    const NOW: u64 = 1_800_000_000;
    const NOW_MS: u64 = NOW * 1000;

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
            failed_for_good(sale(4, "b", 40, LATER), "no".into(), 0),
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
        let now = book.commitments(&open, NOW_MS, 0, None);
        assert_eq!((now.opening, now.committed_sat), (1, 1_500));
        assert_eq!(now.unclaimed_sat, 500, "the opening order has not claimed");
        let without = book.commitments(&open, NOW_MS, 0, Some(2));
        assert_eq!((without.opening, without.committed_sat), (0, 1_000));
        assert_eq!(without.unclaimed_sat, 0);
        let closed = book.commitments(&HashMap::new(), NOW_MS, 0, None);
        assert_eq!(
            closed.committed_sat, 500,
            "a closed JIT channel commits nothing"
        );
    }

    #[test]
    fn the_summary_shows_expired_offers_apart_and_the_revenue() {
        let summary = book().summary(&[(3, 1_000)].into(), NOW_MS, 0);
        assert_eq!(summary.orders_bought, 1);
        assert_eq!(summary.orders_expired, 1);
        assert_eq!(summary.orders_opening, 1);
        assert_eq!(summary.orders_forwarded, 1);
        assert_eq!(summary.orders_failed, 1);
        assert_eq!(summary.revenue_msat, 7);
        assert_eq!(summary.committed_sat, 1_500);
        assert_eq!(summary.unclaimed_sat, 500);
    }

    /// An order opened at `open_ms` for a `channel_sat` channel and given up unclaimed at
    /// `ended_ms`.
    fn given_up(
        id: u128,
        scid: u64,
        open_ms: u64,
        ended_ms: u64,
        channel_sat: u64,
    ) -> JitOrderRecord {
        let mut order = opening(sale(id, "c", scid, LATER), open_ms);
        order.channel_sat = Some(channel_sat);
        unclaimed(order, "never claimed".into(), ended_ms)
    }

    #[test]
    fn channels_closed_unclaimed_count_against_the_budget_within_the_window() {
        let hour = 3_600_000;
        let book = OrderBook::new([
            given_up(1, 10, NOW_MS - 2 * hour, NOW_MS - hour, 100),
            given_up(2, 20, NOW_MS - hour / 2, NOW_MS - hour / 4, 200),
            {
                let mut o = opening(sale(3, "c", 30, LATER), NOW_MS - 5 * hour);
                o.channel_sat = Some(400);
                o
            },
            skimmed(sale(4, "c", 40, LATER), 1, NOW_MS),
        ]);
        // The opening order counts whatever its age; the closed ones only in the window.
        assert_eq!(book.unclaimed_sat(NOW_MS, hour, None), 600);
        assert_eq!(book.unclaimed_sat(NOW_MS, 3 * hour, None), 700);
        assert_eq!(book.unclaimed_sat(NOW_MS, hour, Some(3)), 200);
    }

    #[test]
    fn ended_orders_leave_the_book_after_the_retention_and_their_scids_stay_taken() {
        let day = 86_400_000;
        let retention = Retention {
            retention_ms: day,
            unclaimed_window_ms: 3_600_000,
        };
        let mut forwarded = skimmed(sale(1, "a", 10, EARLIER), 7, NOW_MS - 2 * day);
        forwarded.channel_sat = Some(1_000);
        let recent = skimmed(sale(2, "a", 20, LATER), 3, NOW_MS - 1);
        let failed = failed_for_good(sale(3, "b", 30, LATER), "no".into(), NOW_MS - 2 * day);
        let live = sale(4, "b", 40, LATER);
        let expired = sale(5, "b", 50, EARLIER); // expired in 2020
        let closing = given_up(6, 60, NOW_MS - 3 * day, NOW_MS - 2 * day, 300);
        let closed = given_up(7, 70, NOW_MS - 3 * day, NOW_MS - 2 * day, 300);
        let mut book = OrderBook::new([forwarded, recent, failed, live, expired, closing, closed]);
        let before = book.summary(&HashMap::new(), NOW_MS, retention.unclaimed_window_ms);

        // 1's and 6's channels are open.
        let open: HashSet<u128> = [1, 6].into();
        let mut gone: Vec<u128> = book
            .prune(NOW_MS, retention, &open)
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        gone.sort();
        assert_eq!(gone, [1, 3, 5, 7]);
        assert_eq!(
            book.len(),
            3,
            "the recent, the live and the closing order stay"
        );
        assert!(book.get(6).is_some(), "its channel is not closed yet");

        // What the book needs of them stays: SCIDs lightning-liquidity keeps, open channels.
        assert!(
            book.scid_taken(10) && book.scid_taken(70),
            "forwarded and unclaimed"
        );
        assert!(
            !book.scid_taken(30) && !book.scid_taken(50),
            "dropped by lightning-liquidity"
        );
        let open_sat: HashMap<u128, u64> = [(1, 1_000), (6, 300)].into();
        let now = book.commitments(&open_sat, NOW_MS, retention.unclaimed_window_ms, None);
        assert_eq!(
            now.committed_sat, 1_300,
            "the pruned order's channel still counts"
        );
        book.channel_closed(1);
        let now = book.commitments(&open_sat, NOW_MS, retention.unclaimed_window_ms, None);
        assert_eq!(now.committed_sat, 300);

        // The totals do not change when orders leave the book.
        let after = book.summary(&HashMap::new(), NOW_MS, retention.unclaimed_window_ms);
        assert_eq!(
            Lsps2Summary {
                orders_in_memory: before.orders_in_memory,
                ..after
            },
            before
        );
        assert_eq!(after.orders_in_memory, 3);
        assert!(book.prune(NOW_MS, retention, &open).is_empty(), "once");
    }
}
