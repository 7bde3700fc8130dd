//! The PoolLedger actor: the node's liquidity pool (spec §4–5) — pools and their
//! partitions, LP shares, deposits, and the books checked against the node's real assets.
//!
//! The accounting itself (share math, the double-entry ledger) is the pure `sluice-pool`
//! crate; this module does the I/O around it. Every change is stored (the ledger entry,
//! the changed records, the receipt) in one fsynced commit before the in-memory ledger
//! applies it or anyone is told, and the in-memory state is rebuilt from the store when
//! the actor starts.
//!
//! Layout:
//! - `book.rs`: the pools and open deposits in memory, loaded from the store;
//! - `deposits.rs`: deposit quotes and crediting (shares minted when money is final);
//! - `decide.rs`: what to do with an open deposit given what was seen of its money
//!   (credit, pending, expire, wait), pure and unit-tested;
//! - `sweep.rs`: the periodic look at open deposits, doing what `decide` says;
//! - `income.rs`: forwarding and JIT fees booked as LLP income, a closed time bucket
//!   at a time, once, and the RRP's skim of them;
//! - `onchain_fees.rs`: the fees of the wallet's confirmed transactions booked as LLP
//!   costs, once;
//! - `withdrawals.rs`: withdrawal requests (shares locked), views, cancel, approval;
//! - `payouts.rs`: a payout tick's burns, and each payout's outcome booked;
//! - `envelopes.rs`: credit envelopes' draws, repayments and write-offs booked with the
//!   envelope's records;
//! - `rebalances.rs`: what the RRP partition holds for the rebalancer, and rebalance
//!   fees booked as RRP costs with the rebalancer's records;
//! - `snapshot.rs`: signed proof snapshots and LPs' inclusion proofs;
//! - `assets.rs`: the node's real assets, for the books' reconciliation and snapshots;
//! - this file: the actor, its messages, pool creation, status and positions.

pub mod assets;
pub mod book;
pub mod decide;
pub mod deposits;
pub mod envelopes;
pub mod income;
pub mod onchain_fees;
pub mod payouts;
pub mod rebalances;
pub mod snapshot;
pub mod sweep;
pub mod withdrawals;

use std::time::Duration;

use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use sluice_pool::queue::QueueLimits;
use sluice_pool::throttle::Throttle;
use sluice_pool::PartitionBalances;
use sluice_storage::{PoolRecord, WriteBatch};
use tokio::task::JoinHandle;

pub use assets::{AssetDetail, NodeAssets};
pub use book::Pools;
pub use deposits::{DepositAsk, DepositView};
pub use envelopes::EnvelopeBooking;
pub use payouts::{Payout, PayoutOutcome};
pub use rebalances::{RebalanceBooking, RrpFunds};
pub use sluice_pool::PartitionKind;
pub use sluice_storage::DepositRail;
pub use snapshot::{InclusionProof, Snapshot};
pub use withdrawals::{WithdrawalAsk, WithdrawalView};

use crate::clock::unix_ms;
use crate::credit::CreditConfig;
use crate::withdrawals::WithdrawalConfig;
use crate::{Components, NodeError};

/// How long a caller waits for the pool actor (a deposit quote makes an invoice and an
/// fsynced commit; crediting also seals a receipt).
pub const POOL_TIMEOUT: Duration = Duration::from_secs(15);

/// The pool's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolConfig {
    /// Confirmations an on-chain deposit needs before it mints.
    pub onchain_confirmations: u32,
    /// The largest Lightning deposit, sat.
    pub max_lightning_deposit_sats: u64,
    /// The largest on-chain deposit, sat.
    pub max_onchain_deposit_sats: u64,
    /// How often open deposits are looked at.
    pub sweep_every: Duration,
    /// How long after its expiry a Lightning deposit may still be credited (a payment
    /// that arrived in time and is still being claimed).
    pub lightning_expiry_grace: Duration,
    /// How long after its expiry an on-chain deposit's address is still watched: coins
    /// sent late are still the LP's.
    pub onchain_watch_after_expiry: Duration,
    /// How often a proof snapshot is taken (spec §4.3); one can also be asked for.
    pub snapshot_every: Duration,
    /// The share of every income entry moved to the RRP partition, basis points (spec
    /// §2C's skim); 0 for none.
    pub rrp_skim_bps: u32,
    /// How withdrawals are limited (the scheduler has the same).
    pub withdrawals: WithdrawalConfig,
    /// How credit envelopes are underwritten and limited (the envelope ledger's).
    pub credit: CreditConfig,
}

/// Confirmations an on-chain deposit needs by default.
pub const DEFAULT_ONCHAIN_CONFIRMATIONS: u32 = 3;
/// The largest Lightning deposit by default: 0.1 BTC (spec §5.1: invoices are for small
/// deposits).
pub const DEFAULT_MAX_LIGHTNING_DEPOSIT_SATS: u64 = 10_000_000;
/// The largest on-chain deposit by default: 100 BTC.
pub const DEFAULT_MAX_ONCHAIN_DEPOSIT_SATS: u64 = 10_000_000_000;
/// How often a proof snapshot is taken by default: hourly.
pub const DEFAULT_SNAPSHOT_EVERY: Duration = Duration::from_secs(3600);

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            onchain_confirmations: DEFAULT_ONCHAIN_CONFIRMATIONS,
            max_lightning_deposit_sats: DEFAULT_MAX_LIGHTNING_DEPOSIT_SATS,
            max_onchain_deposit_sats: DEFAULT_MAX_ONCHAIN_DEPOSIT_SATS,
            sweep_every: Duration::from_secs(5),
            lightning_expiry_grace: Duration::from_secs(600),
            onchain_watch_after_expiry: Duration::from_secs(7 * 24 * 3600),
            snapshot_every: DEFAULT_SNAPSHOT_EVERY,
            rrp_skim_bps: 0,
            withdrawals: WithdrawalConfig::default(),
            credit: CreditConfig::default(),
        }
    }
}

/// A pool to create, checked by the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatePool {
    /// Its id.
    pub pool_id: String,
    /// Its name.
    pub name: String,
    /// The partitions LPs may deposit into.
    pub partitions: Vec<PartitionKind>,
}

/// A pool's status: its balances and the books against the node.
#[derive(Debug, Clone)]
pub struct PoolStatus {
    /// The pool.
    pub record: PoolRecord,
    /// Every partition's balances, in [`PartitionKind::ALL`] order.
    pub partitions: Vec<(PartitionKind, PartitionBalances)>,
    /// The node's real assets now.
    pub node: NodeAssets,
    /// The assets booked to this pool's partitions, msat.
    pub booked_msat: u64,
    /// When this was computed, Unix ms.
    pub at_ms: u64,
}

/// An LP's holdings in each partition where they hold units, with their value now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    /// (partition, units held, value now in msat).
    pub holdings: Vec<(PartitionKind, u128, u64)>,
}

/// Messages to the pool actor.
#[derive(Debug)]
pub enum PoolMsg {
    /// Create a pool (or answer the same one again).
    Create(CreatePool, RpcReplyPort<Result<PoolRecord, NodeError>>),
    /// A pool's status.
    Status(String, RpcReplyPort<Result<PoolStatus, NodeError>>),
    /// An LP's position: (pool, LP, caller, caller is admin).
    Position(
        String,
        String,
        String,
        bool,
        RpcReplyPort<Result<Position, NodeError>>,
    ),
    /// Quote a deposit.
    QuoteDeposit(
        Box<DepositAsk>,
        RpcReplyPort<Result<DepositView, NodeError>>,
    ),
    /// A deposit as it stands: (pool, deposit, caller, caller is admin).
    Deposit(
        String,
        String,
        String,
        bool,
        RpcReplyPort<Result<DepositView, NodeError>>,
    ),
    /// A Lightning payment was claimed and its record is durable: credit the deposit it
    /// pays, if any (payment hash, hex).
    Claimed(String),
    /// Take a proof snapshot of a pool now.
    TakeSnapshot(String, RpcReplyPort<Result<Snapshot, NodeError>>),
    /// Look at the open deposits, book the income of closed time buckets, and take the
    /// proof snapshots that are due.
    Sweep,
    /// Ask for a withdrawal.
    RequestWithdrawal(
        Box<WithdrawalAsk>,
        RpcReplyPort<Result<WithdrawalView, NodeError>>,
    ),
    /// A withdrawal as it stands: (pool, withdrawal, caller, caller is admin).
    Withdrawal(
        String,
        String,
        String,
        bool,
        RpcReplyPort<Result<WithdrawalView, NodeError>>,
    ),
    /// Cancel a withdrawal nothing was paid from: (pool, withdrawal, caller, is admin).
    CancelWithdrawal(
        String,
        String,
        String,
        bool,
        RpcReplyPort<Result<WithdrawalView, NodeError>>,
    ),
    /// An operator approves a withdrawal: (pool, withdrawal, approver).
    ApproveWithdrawal(
        String,
        String,
        String,
        RpcReplyPort<Result<WithdrawalView, NodeError>>,
    ),
    /// A payout tick: burn what is due under the throttle and answer every payout not
    /// settled yet (every pool's).
    BurnDue(
        Box<(Throttle, QueueLimits)>,
        RpcReplyPort<Result<Vec<Payout>, NodeError>>,
    ),
    /// The operator halts (`true`) or resumes withdrawal payouts of a pool.
    HaltWithdrawals(String, bool, RpcReplyPort<Result<PoolRecord, NodeError>>),
    /// How a payout ended: (withdrawal, fill, outcome).
    PayoutSettled(
        String,
        u32,
        PayoutOutcome,
        RpcReplyPort<Result<(), NodeError>>,
    ),
    /// Book a credit envelope's movements with its records, in one commit; the entries'
    /// seqs.
    BookEnvelope(
        Box<EnvelopeBooking>,
        RpcReplyPort<Result<Vec<u64>, NodeError>>,
    ),
    /// The node's pool and what its RRP partition holds now, for the rebalancer; `None`
    /// without a pool or without an RRP partition.
    RebalanceFunds(RpcReplyPort<Option<RrpFunds>>),
    /// Book a rebalance's fee as an RRP cost with the rebalancer's records, in one
    /// commit; the entry's seq (`None` when the fee was 0 and the records were committed
    /// alone).
    BookRebalance(
        Box<RebalanceBooking>,
        RpcReplyPort<Result<Option<u64>, NodeError>>,
    ),
}

/// The pool actor's state.
pub struct PoolState {
    components: Components,
    pools: Pools,
    ticker: JoinHandle<()>,
}

/// The PoolLedger actor.
pub struct PoolLedger {
    /// Its settings.
    pub config: PoolConfig,
}

impl Actor for PoolLedger {
    type Msg = PoolMsg;
    type State = PoolState;
    type Arguments = Components;

    async fn pre_start(
        &self,
        myself: ActorRef<PoolMsg>,
        components: Components,
    ) -> Result<PoolState, ActorProcessingErr> {
        let pools = Pools::load(&components.store).await?;
        // The first sweep credits whatever arrived while the node was down.
        myself.send_message(PoolMsg::Sweep)?;
        let ticker = myself.send_interval(self.config.sweep_every, || PoolMsg::Sweep);
        Ok(PoolState {
            components,
            pools,
            ticker,
        })
    }

    async fn post_stop(
        &self,
        _myself: ActorRef<PoolMsg>,
        state: &mut PoolState,
    ) -> Result<(), ActorProcessingErr> {
        state.ticker.abort();
        Ok(())
    }

    async fn handle(
        &self,
        _myself: ActorRef<PoolMsg>,
        message: PoolMsg,
        state: &mut PoolState,
    ) -> Result<(), ActorProcessingErr> {
        let c = &state.components;
        let pools = &mut state.pools;
        match message {
            PoolMsg::Create(create, reply) => {
                let _ = reply.send(create_pool(c, pools, create).await);
            }
            PoolMsg::Status(pool_id, reply) => {
                let _ = reply.send(status(c, pools, &pool_id));
            }
            PoolMsg::Position(pool_id, lp_id, caller, admin, reply) => {
                let _ = reply.send(position(c, pools, &pool_id, &lp_id, &caller, admin).await);
            }
            PoolMsg::QuoteDeposit(ask, reply) => {
                let _ = reply.send(deposits::quote(c, pools, &self.config, *ask).await);
            }
            PoolMsg::Deposit(pool_id, deposit_id, caller, admin, reply) => {
                let view = deposit(
                    c,
                    pools,
                    &self.config,
                    &pool_id,
                    &deposit_id,
                    &caller,
                    admin,
                );
                let _ = reply.send(view.await);
            }
            PoolMsg::Claimed(payment_hash) => {
                if let Err(e) = claimed(c, pools, &self.config, &payment_hash).await {
                    tracing::warn!(%payment_hash, error = %e, "crediting a deposit failed; the sweep tries again");
                }
            }
            PoolMsg::TakeSnapshot(pool_id, reply) => {
                let _ = reply.send(snapshot::take(c, pools, &pool_id).await);
            }
            PoolMsg::Sweep => {
                sweep::sweep(c, pools, &self.config).await;
                if let Err(e) = income::book_forwards(c, pools, &self.config).await {
                    tracing::warn!(error = %e, "booking forwarding income failed; trying again");
                }
                if let Err(e) = onchain_fees::book_onchain_fees(c, pools).await {
                    tracing::warn!(error = %e, "booking on-chain fees failed; trying again");
                }
                // After the income: a snapshot shows every closed bucket booked.
                let every_ms =
                    u64::try_from(self.config.snapshot_every.as_millis()).unwrap_or(u64::MAX);
                snapshot::take_due(c, pools, every_ms).await;
            }
            PoolMsg::RequestWithdrawal(ask, reply) => {
                let config = &self.config.withdrawals;
                let _ = reply.send(withdrawals::request(c, pools, config, *ask).await);
            }
            PoolMsg::Withdrawal(pool_id, id, caller, admin, reply) => {
                let view = withdrawals::owned_view(c, pools, &pool_id, &id, &caller, admin);
                let _ = reply.send(view.await);
            }
            PoolMsg::CancelWithdrawal(pool_id, id, caller, admin, reply) => {
                let canceled = withdrawals::cancel(c, pools, &pool_id, &id, &caller, admin);
                let _ = reply.send(canceled.await);
            }
            PoolMsg::ApproveWithdrawal(pool_id, id, approver, reply) => {
                let approved = withdrawals::approve(c, pools, &pool_id, &id, &approver);
                let _ = reply.send(approved.await);
            }
            PoolMsg::BurnDue(tick, reply) => {
                let (throttle, limits) = *tick;
                let _ = reply.send(burn_due(c, pools, &throttle, &limits).await);
            }
            PoolMsg::HaltWithdrawals(pool_id, halted, reply) => {
                let _ = reply.send(halt_withdrawals(c, pools, &pool_id, halted).await);
            }
            PoolMsg::PayoutSettled(id, n, outcome, reply) => {
                let _ = reply.send(payouts::settle_fill(c, pools, &id, n, outcome).await);
            }
            PoolMsg::BookEnvelope(booking, reply) => {
                let _ = reply.send(envelopes::book(c, pools, *booking).await);
            }
            PoolMsg::RebalanceFunds(reply) => {
                let _ = reply.send(rebalances::funds(pools));
            }
            PoolMsg::BookRebalance(booking, reply) => {
                let _ = reply.send(rebalances::book(&c.store, pools, *booking).await);
            }
        }
        Ok(())
    }
}

/// Halts or resumes a pool's withdrawal payouts; stored, so it holds across restarts.
async fn halt_withdrawals(
    c: &Components,
    pools: &mut Pools,
    pool_id: &str,
    halted: bool,
) -> Result<PoolRecord, NodeError> {
    let record = pools.get(pool_id)?.record.clone();
    if record.withdrawals_halted == halted {
        return Ok(record);
    }
    let record = PoolRecord {
        withdrawals_halted: halted,
        ..record
    };
    let mut batch = WriteBatch::new();
    batch.put(&record)?;
    c.store.commit(batch).await?;
    tracing::warn!(
        pool_id,
        halted,
        "withdrawal payouts halted or resumed by the operator"
    );
    if let Some(pool) = pools.pools.get_mut(pool_id) {
        pool.record = record.clone();
    }
    Ok(record)
}

/// A payout tick over every pool of the node.
async fn burn_due(
    c: &Components,
    pools: &mut Pools,
    throttle: &Throttle,
    limits: &QueueLimits,
) -> Result<Vec<Payout>, NodeError> {
    let ids: Vec<String> = pools.pools.keys().cloned().collect();
    let mut all = Vec::new();
    for pool_id in ids {
        all.extend(payouts::burn_due(c, pools, &pool_id, throttle, limits, unix_ms()).await?);
    }
    Ok(all)
}

/// Creates a pool; the same request again answers the same pool, another one for an
/// existing id is refused.
async fn create_pool(
    c: &Components,
    pools: &mut Pools,
    create: CreatePool,
) -> Result<PoolRecord, NodeError> {
    if let Some(existing) = pools.pools.get(&create.pool_id) {
        let record = &existing.record;
        if record.name == create.name && record.partitions == create.partitions {
            return Ok(record.clone());
        }
        return Err(NodeError::PoolExists(format!(
            "pool {} exists with other settings",
            create.pool_id
        )));
    }
    // One pool per node: the node's routing income and channel balances are one book.
    if let Some(other) = pools.pools.keys().next() {
        return Err(NodeError::PoolExists(format!(
            "this node already runs pool {other}"
        )));
    }
    let record = PoolRecord {
        pool_id: create.pool_id,
        name: create.name,
        partitions: create.partitions,
        created_at_ms: unix_ms(),
        fees_from_height: None,
        withdrawals_halted: false,
    };
    let mut batch = WriteBatch::new();
    batch.create(&record)?;
    c.store.commit(batch).await?;
    tracing::info!(pool_id = %record.pool_id, "pool created");
    let pool = book::Pool::new(record.clone());
    let pool = book::Pool {
        forwards_from_ms: income::next_bucket(&pool, &[]),
        ..pool
    };
    pools.pools.insert(record.pool_id.clone(), pool);
    Ok(record)
}

/// A pool's balances and the books against the node.
fn status(c: &Components, pools: &Pools, pool_id: &str) -> Result<PoolStatus, NodeError> {
    let pool = pools.get(pool_id)?;
    let partitions: Vec<_> = PartitionKind::ALL
        .into_iter()
        .map(|kind| (kind, pool.ledger.partition(kind)))
        .collect();
    let booked_msat = partitions
        .iter()
        .map(|(_, p)| p.assets_msat)
        .fold(0u64, u64::saturating_add);
    Ok(PoolStatus {
        record: pool.record.clone(),
        partitions,
        node: NodeAssets::now(c),
        booked_msat,
        at_ms: unix_ms(),
    })
}

/// An LP's holdings; only the LP's owner or an admin may read them.
async fn position(
    c: &Components,
    pools: &Pools,
    pool_id: &str,
    lp_id: &str,
    caller: &str,
    admin: bool,
) -> Result<Position, NodeError> {
    let pool = pools.get(pool_id)?;
    if deposits::check_owner(c, pool_id, lp_id, caller, admin)
        .await?
        .is_none()
    {
        return Err(NodeError::NotFound(format!("LP {lp_id} in pool {pool_id}")));
    }
    let mut holdings = Vec::new();
    for kind in PartitionKind::ALL {
        let balances = pool.ledger.partition(kind);
        if let Some(&units) = balances.holdings.get(lp_id) {
            let value = balances
                .book()
                .value_of(units)
                .map_err(|e| NodeError::Ledger(e.to_string()))?;
            holdings.push((kind, units, value));
        }
    }
    Ok(Position { holdings })
}

/// A deposit, for its LP's owner or an admin.
async fn deposit(
    c: &Components,
    pools: &Pools,
    config: &PoolConfig,
    pool_id: &str,
    deposit_id: &str,
    caller: &str,
    admin: bool,
) -> Result<DepositView, NodeError> {
    pools.get(pool_id)?;
    let view = deposits::view(c, pools, config, deposit_id).await?;
    if view.record.pool_id != pool_id {
        return Err(NodeError::NotFound(format!(
            "deposit {deposit_id} in pool {pool_id}"
        )));
    }
    deposits::check_owner(c, pool_id, &view.record.lp_id, caller, admin).await?;
    Ok(view)
}

/// Credits the deposit a claimed payment paid, if it paid one.
async fn claimed(
    c: &Components,
    pools: &mut Pools,
    config: &PoolConfig,
    payment_hash: &str,
) -> Result<(), NodeError> {
    // Every payment the node receives lands here; most are not deposits, and those that
    // are were open deposits when they were quoted.
    let open = pools
        .open_deposits
        .values()
        .find(|d| d.payment_hash.as_deref() == Some(payment_hash))
        .cloned();
    match open {
        Some(open) => sweep::settle(c, pools, config, open).await,
        None => Ok(()),
    }
}
