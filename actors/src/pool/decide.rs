//! What to do with a deposit not yet final, decided from what was seen of its money: a
//! pure function, so every case is unit-tested without a node (the sweep does the I/O).

use sluice_storage::{DepositRail, DepositRecord, DepositStatus};

use super::PoolConfig;
use crate::wallet::WalletOutput;

/// Confirmations before a coinbase output can be spent (consensus).
pub const COINBASE_MATURITY: u32 = 100;

/// What was seen of a deposit's money.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    /// A Lightning deposit: the amount of the first claimed payment of its hash, if any
    /// is on record.
    Claimed(Option<u64>),
    /// An on-chain deposit: every output the wallet received to its address, and the
    /// wallet's tip height.
    Outputs(Vec<WalletOutput>, u32),
}

/// What the sweep does with a deposit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Nothing yet.
    Wait,
    /// The money is final: mint for `msat` (and name the output that paid it).
    Credit {
        /// The amount to credit.
        msat: u64,
        /// The output that paid it (on-chain).
        outpoint: Option<String>,
    },
    /// Money was seen but is not final: record it as pending.
    Pending {
        /// The amount seen so far.
        msat: u64,
        /// The output that paid it.
        outpoint: String,
    },
    /// Nothing arrived in time: the deposit expires.
    Expire,
}

/// What to do with `deposit` given `seen`, at `now_ms`.
pub fn decide(deposit: &DepositRecord, seen: &Seen, now_ms: u64, config: &PoolConfig) -> Action {
    if !matches!(
        deposit.status,
        DepositStatus::Quoted | DepositStatus::Pending
    ) {
        return Action::Wait;
    }
    match (deposit.rail, seen) {
        (DepositRail::LightningInvoice, Seen::Claimed(Some(msat))) => Action::Credit {
            msat: *msat,
            outpoint: None,
        },
        (DepositRail::LightningInvoice, Seen::Claimed(None)) => {
            // LDK refuses payments to an expired invoice; the grace covers one that arrived
            // in time and is still being claimed.
            let grace_ms = millis(config.lightning_expiry_grace);
            expire_after(deposit.expires_at_ms.saturating_add(grace_ms), now_ms)
        }
        (DepositRail::OnchainAddress, Seen::Outputs(outputs, tip)) => {
            onchain(deposit, outputs, *tip, now_ms, config)
        }
        // A sighting of the other rail's kind says nothing about this deposit.
        _ => Action::Wait,
    }
}

fn onchain(
    deposit: &DepositRecord,
    outputs: &[WalletOutput],
    tip: u32,
    now_ms: u64,
    config: &PoolConfig,
) -> Action {
    let confirmations = |o: &WalletOutput| {
        o.confirmed_at
            .map_or(0, |height| tip.saturating_sub(height).saturating_add(1))
    };
    // Final: the pool's confirmations, and a coinbase output only once it can be spent.
    let is_final = |o: &WalletOutput| {
        let needed = if o.coinbase {
            config.onchain_confirmations.max(COINBASE_MATURITY)
        } else {
            config.onchain_confirmations
        };
        confirmations(o) >= needed
    };
    let Some(first) = outputs.iter().max_by_key(|o| confirmations(o)) else {
        let watch_ms = millis(config.onchain_watch_after_expiry);
        return expire_after(deposit.expires_at_ms.saturating_add(watch_ms), now_ms);
    };
    let msat = outputs
        .iter()
        .map(|o| o.value.to_sat())
        .fold(0u64, u64::saturating_add)
        .saturating_mul(1000);
    let outpoint = first.outpoint.to_string();
    // Everything paid to the address is credited at once, so only when all of it is final.
    if outputs.iter().all(is_final) {
        return Action::Credit {
            msat,
            outpoint: Some(outpoint),
        };
    }
    if deposit.status == DepositStatus::Pending && deposit.received_msat == Some(msat) {
        return Action::Wait;
    }
    Action::Pending { msat, outpoint }
}

fn expire_after(deadline_ms: u64, now_ms: u64) -> Action {
    if now_ms > deadline_ms {
        Action::Expire
    } else {
        Action::Wait
    }
}

fn millis(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use bitcoin::{Amount, OutPoint};
    use sluice_pool::PartitionKind;

    use super::*;

    const NOW: u64 = 1_000_000_000;

    fn deposit(rail: DepositRail, status: DepositStatus) -> DepositRecord {
        DepositRecord {
            deposit_id: "dep_1".into(),
            pool_id: "main".into(),
            partition: PartitionKind::Llp,
            lp_id: "alice".into(),
            idempotency_key: "k".into(),
            rail,
            amount_sats: 10_000,
            description: None,
            invoice_bolt11: None,
            payment_hash: None,
            deposit_address: None,
            status,
            received_msat: None,
            outpoint: None,
            units_minted: None,
            entry_seq: None,
            receipt_id: None,
            created_at_ms: NOW - 1_000,
            expires_at_ms: NOW + 3_600_000,
            confirmed_at_ms: None,
        }
    }

    fn output(sat: u64, confirmed_at: Option<u32>, coinbase: bool) -> WalletOutput {
        WalletOutput {
            outpoint: OutPoint::null(),
            value: Amount::from_sat(sat),
            confirmed_at,
            coinbase,
        }
    }

    #[test]
    fn a_claimed_lightning_deposit_is_credited_with_what_arrived() {
        let config = PoolConfig::default();
        let d = deposit(DepositRail::LightningInvoice, DepositStatus::Quoted);
        assert_eq!(
            decide(&d, &Seen::Claimed(Some(10_500_000)), NOW, &config),
            Action::Credit {
                msat: 10_500_000,
                outpoint: None
            }
        );
        assert_eq!(decide(&d, &Seen::Claimed(None), NOW, &config), Action::Wait);
    }

    #[test]
    fn a_confirmed_or_expired_deposit_is_never_credited_again() {
        let config = PoolConfig::default();
        for status in [DepositStatus::Confirmed, DepositStatus::Expired] {
            let d = deposit(DepositRail::LightningInvoice, status);
            assert_eq!(
                decide(&d, &Seen::Claimed(Some(1_000)), NOW, &config),
                Action::Wait
            );
        }
    }

    #[test]
    fn an_unpaid_lightning_deposit_expires_only_after_its_grace() {
        let config = PoolConfig::default();
        let d = deposit(DepositRail::LightningInvoice, DepositStatus::Quoted);
        let grace = millis(config.lightning_expiry_grace);
        let at = |ms| decide(&d, &Seen::Claimed(None), ms, &config);
        assert_eq!(at(d.expires_at_ms + grace), Action::Wait);
        assert_eq!(at(d.expires_at_ms + grace + 1), Action::Expire);
    }

    #[test]
    fn an_onchain_deposit_is_pending_until_every_output_has_its_confirmations() {
        let config = PoolConfig::default(); // 3 confirmations
        let d = deposit(DepositRail::OnchainAddress, DepositStatus::Quoted);
        let seen = |outputs, tip| Seen::Outputs(outputs, tip);
        // In the mempool, then one confirmation: pending with what was seen.
        let mempool = seen(vec![output(50_000, None, false)], 100);
        assert!(matches!(
            decide(&d, &mempool, NOW, &config),
            Action::Pending {
                msat: 50_000_000,
                ..
            }
        ));
        // Already pending with that amount: nothing new to store.
        let pending = DepositRecord {
            status: DepositStatus::Pending,
            received_msat: Some(50_000_000),
            ..d.clone()
        };
        assert_eq!(decide(&pending, &mempool, NOW, &config), Action::Wait);
        // Three confirmations: credited.
        let deep = seen(vec![output(50_000, Some(98), false)], 100);
        assert!(matches!(
            decide(&pending, &deep, NOW, &config),
            Action::Credit {
                msat: 50_000_000,
                ..
            }
        ));
        // A second, shallower output to the address holds the credit back, then both
        // are credited together.
        let two = seen(
            vec![
                output(50_000, Some(98), false),
                output(7_000, Some(100), false),
            ],
            100,
        );
        assert!(matches!(
            decide(&pending, &two, NOW, &config),
            Action::Pending {
                msat: 57_000_000,
                ..
            }
        ));
        let two_deep = seen(
            vec![
                output(50_000, Some(98), false),
                output(7_000, Some(98), false),
            ],
            100,
        );
        assert!(matches!(
            decide(&pending, &two_deep, NOW, &config),
            Action::Credit {
                msat: 57_000_000,
                ..
            }
        ));
    }

    #[test]
    fn a_coinbase_deposit_waits_for_maturity() {
        let config = PoolConfig::default();
        let d = deposit(DepositRail::OnchainAddress, DepositStatus::Pending);
        let at_depth = |depth: u32| {
            decide(
                &d,
                &Seen::Outputs(vec![output(1_000, Some(1_000), true)], 1_000 + depth - 1),
                NOW,
                &config,
            )
        };
        assert!(matches!(at_depth(99), Action::Pending { .. }));
        assert!(matches!(at_depth(100), Action::Credit { .. }));
    }

    #[test]
    fn an_onchain_address_is_watched_long_after_its_quote_expired() {
        let config = PoolConfig::default();
        let d = deposit(DepositRail::OnchainAddress, DepositStatus::Quoted);
        let watch = millis(config.onchain_watch_after_expiry);
        let nothing = Seen::Outputs(Vec::new(), 100);
        assert_eq!(
            decide(&d, &nothing, d.expires_at_ms + 1, &config),
            Action::Wait
        );
        assert_eq!(
            decide(&d, &nothing, d.expires_at_ms + watch + 1, &config),
            Action::Expire
        );
        // Coins that arrive late are still credited.
        let late = Seen::Outputs(vec![output(5_000, Some(90), false)], 100);
        assert!(matches!(
            decide(&d, &late, d.expires_at_ms + watch + 1, &config),
            Action::Credit { .. }
        ));
    }
}
