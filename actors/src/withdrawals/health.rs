//! The node's state as the withdrawal throttle sees it ([`Health`]), read from the
//! channel manager, the wallet, the recent payments and the pool's books.

use sluice_pool::throttle::Health;

use super::WithdrawalConfig;
use crate::credit::book::Envelopes;
use crate::payments::recent::recent;
use crate::pool::{PoolMsg, PoolStatus, POOL_TIMEOUT};
use crate::{Components, NodeError};

/// The node now; `None` when it runs no pool (nothing to pay, nothing to judge).
/// `in_flight_msat` is what on-chain payouts broadcast and not yet confirmed took from
/// the wallet: the books still hold it until they confirm.
pub async fn gather(
    c: &Components,
    config: &WithdrawalConfig,
    in_flight_msat: u64,
) -> Result<Option<Health>, NodeError> {
    let Some(books) = books(c, in_flight_msat).await? else {
        return Ok(None);
    };
    let channels: Vec<_> = c
        .channel_manager
        .list_channels()
        .into_iter()
        .filter(|ch| ch.is_channel_ready)
        .collect();
    let usable: Vec<_> = channels.iter().filter(|ch| ch.is_usable).collect();
    let outbound_msat = usable
        .iter()
        .map(|ch| ch.outbound_capacity_msat)
        .fold(0u64, u64::saturating_add);
    // Batches spend confirmed coins only.
    let spendable = c.wallet.balance().confirmed.to_sat();
    let payments = recent(
        &c.store,
        usize::try_from(config.breaker_window).unwrap_or(200),
    )
    .await?;
    let tolerance = books.booked_msat / 10_000 * u64::from(config.solvency_tolerance_bps);
    Ok(Some(Health {
        channels: u32::try_from(channels.len()).unwrap_or(u32::MAX),
        usable_channels: u32::try_from(usable.len()).unwrap_or(u32::MAX),
        outbound_msat,
        onchain_spendable_msat: spendable.saturating_mul(1000),
        reserved_envelopes_msat: Envelopes::stored_reservations(&c.store, None).await?,
        ln_settled: payments.succeeded + payments.failed,
        ln_failed: payments.failed,
        solvent: books.assets_msat.saturating_add(tolerance) >= books.booked_msat,
        operator_halt: config.halted || books.halted,
    }))
}

/// The pools' books against the node.
struct Books {
    /// What the pools' books hold, msat.
    booked_msat: u64,
    /// What the node holds, with the payouts in flight, msat.
    assets_msat: u64,
    /// Whether the operator halted a pool's withdrawals.
    halted: bool,
}

/// The books of every pool, from the pool actor, and the node's assets (each status
/// carries them): the node is solvent when its assets (with the on-chain payouts in
/// flight) cover the books, within the tolerance for fees the books do not hold
/// (commitment, anchor and sweep fees). `None` without a pool.
async fn books(c: &Components, in_flight_msat: u64) -> Result<Option<Books>, NodeError> {
    let pool_ids: Vec<String> = c
        .store
        .scan::<sluice_storage::PoolRecord>("")
        .await?
        .into_iter()
        .map(|p| p.pool_id)
        .collect();
    let mut books: Option<Books> = None;
    for pool_id in pool_ids {
        let status: PoolStatus = c
            .actors
            .pool
            .call(|reply| PoolMsg::Status(pool_id, reply), POOL_TIMEOUT)
            .await??;
        let books = books.get_or_insert(Books {
            booked_msat: 0,
            assets_msat: status.node.total_msat().saturating_add(in_flight_msat),
            halted: false,
        });
        books.booked_msat = books.booked_msat.saturating_add(status.booked_msat);
        books.halted |= status.record.withdrawals_halted;
    }
    Ok(books)
}
