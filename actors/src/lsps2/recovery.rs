//! What a restart can leave half done in a JIT flow, and how the service finishes it.
//!
//! lightning-liquidity writes its state as it handles each LDK event, but its event queue
//! and LDK's channel manager are written later. A node killed in between comes back with
//! the two disagreeing:
//! - lightning-liquidity decided to open (its state says so) but its `OpenChannel` event
//!   was not written: LDK holds the HTLCs and nothing opens the channel;
//! - lightning-liquidity forwarded the payment over the new channel but LDK's manager was
//!   not written after it: LDK still holds the HTLCs and replays `ChannelReady`, which
//!   lightning-liquidity refuses as already done.
//!
//! The order book records each HTLC intercepted for an order ([`HeldHtlc`]), so the service
//! can take either step itself, computing what lightning-liquidity would have.

use lightning_liquidity::lsps2::utils::compute_opening_fee;
use sluice_storage::{HeldHtlc, JitOrderRecord};

/// An open the held HTLCs call for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DueOpen {
    /// What the client receives: the payment size less the fee.
    pub amt_to_forward_msat: u64,
    /// The opening fee the channel's first payment pays.
    pub opening_fee_msat: u64,
}

/// The open lightning-liquidity asks for once a payment to `order` is complete: the HTLCs
/// of one payment still held (`pending`) add up to the payment size the client announced
/// (or, without one, a single HTLC is the payment), and something is left after the fee.
pub fn due_open(order: &JitOrderRecord, pending: &[HeldHtlc]) -> Option<DueOpen> {
    payments(pending).into_iter().find_map(|htlcs| {
        let total: u64 = htlcs.iter().map(|h| h.expected_outbound_msat).sum();
        let size = match order.payment_size_msat {
            Some(size) => size,
            None if htlcs.len() == 1 => total,
            None => return None,
        };
        let fee = compute_opening_fee(size, order.min_fee_msat, order.proportional_ppm.into())?;
        let amt_to_forward_msat = size.saturating_sub(fee);
        (total >= size && amt_to_forward_msat > 0).then_some(DueOpen {
            amt_to_forward_msat,
            opening_fee_msat: fee,
        })
    })
}

/// The payment that pays the opening fee over a new channel, the first (by arrival) whose
/// HTLCs add up to the fee, as (intercept id, amount to forward) per HTLC: the fee is
/// shared in proportion to the HTLCs' amounts, the last one taking what rounding left.
pub fn fee_payment(held: &[HeldHtlc], opening_fee_msat: u64) -> Vec<(&str, u64)> {
    let Some(htlcs) = payments(held).into_iter().find(|htlcs| {
        htlcs.iter().map(|h| h.expected_outbound_msat).sum::<u64>() >= opening_fee_msat
    }) else {
        return Vec::new();
    };
    let total: u64 = htlcs.iter().map(|h| h.expected_outbound_msat).sum();
    let mut fee_left = opening_fee_msat;
    let last = htlcs.len() - 1;
    htlcs
        .iter()
        .enumerate()
        .map(|(i, htlc)| {
            let share = if i == last {
                fee_left
            } else {
                let proportional = u128::from(opening_fee_msat)
                    * u128::from(htlc.expected_outbound_msat)
                    / u128::from(total.max(1));
                u64::try_from(proportional)
                    .unwrap_or(u64::MAX)
                    .min(fee_left)
                    .min(htlc.expected_outbound_msat)
            };
            fee_left -= share;
            (
                htlc.intercept_id.as_str(),
                htlc.expected_outbound_msat.saturating_sub(share),
            )
        })
        .collect()
}

/// The HTLCs grouped by payment, in the order each payment's first HTLC arrived.
fn payments(held: &[HeldHtlc]) -> Vec<Vec<&HeldHtlc>> {
    let mut groups: Vec<Vec<&HeldHtlc>> = Vec::new();
    for htlc in held {
        match groups
            .iter_mut()
            .find(|g| g[0].payment_hash == htlc.payment_hash)
        {
            Some(group) => group.push(htlc),
            None => groups.push(vec![htlc]),
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    fn htlc(id: &str, hash: &str, msat: u64) -> HeldHtlc {
        HeldHtlc {
            intercept_id: id.to_owned(),
            payment_hash: hash.to_owned(),
            expected_outbound_msat: msat,
        }
    }

    fn order(payment_size_msat: Option<u64>) -> JitOrderRecord {
        JitOrderRecord {
            order_id: "00".into(),
            client_node_id: String::new(),
            intercept_scid: 1,
            min_fee_msat: 10_000,
            proportional_ppm: 1_000,
            valid_until: String::new(),
            payment_size_msat,
            state: sluice_storage::JitOrderState::Bought,
            opening_fee_msat: None,
            amt_to_forward_msat: None,
            channel_sat: None,
            channel_id: None,
            skimmed_fee_msat: 0,
            failure: None,
            created_at_ms: 0,
            open_started_at_ms: None,
            channel_ready_at_ms: None,
            forwarded_at_ms: None,
            ended_at_ms: None,
            held_htlcs: Vec::new(),
        }
    }

    #[test]
    fn a_single_htlc_is_the_payment_without_a_size() {
        let due = due_open(&order(None), &[htlc("a", "h", 50_000_000)]);
        // 0.1 % of 50,000 sat is 50,000 msat, above the 10,000 msat minimum.
        assert_eq!(
            due,
            Some(DueOpen {
                amt_to_forward_msat: 49_950_000,
                opening_fee_msat: 50_000,
            })
        );
        // Two HTLCs with no announced size are not a payment lightning-liquidity opens for.
        let two = [htlc("a", "h", 1_000_000), htlc("b", "h", 1_000_000)];
        assert_eq!(due_open(&order(None), &two), None);
    }

    #[test]
    fn a_sized_payment_opens_once_its_htlcs_add_up() {
        let sized = order(Some(3_000_000));
        let part = [htlc("a", "h", 1_000_000), htlc("b", "h", 1_500_000)];
        assert_eq!(due_open(&sized, &part), None);
        let whole = [
            htlc("x", "other", 2_900_000),
            htlc("a", "h", 1_000_000),
            htlc("b", "h", 2_000_000),
        ];
        assert_eq!(
            due_open(&sized, &whole),
            Some(DueOpen {
                amt_to_forward_msat: 2_990_000,
                opening_fee_msat: 10_000,
            })
        );
    }

    #[test]
    fn nothing_is_due_when_the_fee_takes_everything() {
        assert_eq!(due_open(&order(None), &[htlc("a", "h", 10_000)]), None);
    }

    #[test]
    fn the_fee_is_shared_by_the_htlcs_of_the_first_payment_that_covers_it() {
        let held = [
            htlc("small", "s", 5_000),
            htlc("a", "h", 1_000_000),
            htlc("b", "h", 2_000_000),
            htlc("later", "l", 9_000_000),
        ];
        let forwards = fee_payment(&held, 30_001);
        assert_eq!(forwards, vec![("a", 990_000), ("b", 1_979_999)]);
        let fee: u64 = 3_000_000 - forwards.iter().map(|(_, msat)| msat).sum::<u64>();
        assert_eq!(fee, 30_001);
    }

    #[test]
    fn no_payment_covering_the_fee_forwards_nothing() {
        assert!(fee_payment(&[htlc("a", "h", 100)], 1_000).is_empty());
        assert!(fee_payment(&[], 1_000).is_empty());
    }
}
