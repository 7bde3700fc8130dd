//! The periodic look at deposits not yet final: gather what was seen of each one's money
//! (the node's record of a claimed payment, the wallet's outputs to an address), let
//! [`decide`](super::decide::decide) say what to do, and do it.
//!
//! It is also what makes crediting crash-safe: whatever a crash cut short between money
//! arriving and shares being minted, the next sweep finds from the durable records and
//! credits once (a deposit leaves the open set in the commit that confirms it).

use std::str::FromStr;

use bitcoin::Address;
use sluice_storage::{DepositRail, DepositRecord, DepositStatus};

use super::book::Pools;
use super::decide::{decide, Action, Seen};
use super::deposits::{claimed_msat, credit, update};
use super::PoolConfig;
use crate::clock::unix_ms;
use crate::{Components, NodeError};

/// Looks at every open deposit once. One deposit's failure is logged and does not stop
/// the others.
pub async fn sweep(c: &Components, pools: &mut Pools, config: &PoolConfig) {
    let open: Vec<DepositRecord> = pools.open_deposits.values().cloned().collect();
    for deposit in open {
        let deposit_id = deposit.deposit_id.clone();
        if let Err(e) = settle(c, pools, config, deposit).await {
            tracing::warn!(deposit_id, error = %e, "a deposit could not be settled; trying again");
        }
    }
}

/// Looks at one open deposit and acts on what was seen of it.
pub async fn settle(
    c: &Components,
    pools: &mut Pools,
    config: &PoolConfig,
    deposit: DepositRecord,
) -> Result<(), NodeError> {
    let seen = match deposit.rail {
        DepositRail::LightningInvoice => match &deposit.payment_hash {
            Some(hash) => Seen::Claimed(claimed_msat(c, hash).await?),
            None => Seen::Claimed(None),
        },
        DepositRail::OnchainAddress => {
            let Some(address) = &deposit.deposit_address else {
                return Ok(());
            };
            let script = Address::from_str(address)
                .map_err(|e| NodeError::Wallet(format!("a stored deposit address {address}: {e}")))?
                .assume_checked()
                .script_pubkey();
            Seen::Outputs(c.wallet.outputs_to(&script), c.wallet.synced_height())
        }
    };
    match decide(&deposit, &seen, unix_ms(), config) {
        Action::Wait => Ok(()),
        Action::Credit { msat, outpoint } => {
            credit(c, pools, &deposit.deposit_id, msat, outpoint).await
        }
        Action::Pending { msat, outpoint } => {
            let pending = DepositRecord {
                status: DepositStatus::Pending,
                received_msat: Some(msat),
                outpoint: Some(outpoint),
                ..deposit
            };
            update(c, pools, pending).await
        }
        Action::Expire => {
            let expired = DepositRecord {
                status: DepositStatus::Expired,
                ..deposit
            };
            update(c, pools, expired).await
        }
    }
}
