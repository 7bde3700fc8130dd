//! The WithdrawalScheduler actor (spec §5.2, §6.3): on every tick it judges the node's
//! state (the throttle), has the pool actor burn what the queue pays now, and makes the
//! payouts — Lightning ones through the payments engine, on-chain ones in one batched
//! transaction per tick — then reports each payout's outcome back to the pool actor.
//!
//! The pool actor owns the withdrawals and the ledger; this actor only does the payout
//! I/O and holds no state that a restart would lose: every tick starts again from the
//! payouts the pool says are unsettled, and each payout is idempotent (a Lightning
//! payment per fill key, a stored transaction per batch).
//!
//! Layout:
//! - `config.rs`: the settings and their defaults;
//! - `health.rs`: the node's state for the throttle;
//! - `lightning.rs`: paying a fill to the LP's invoice;
//! - `batches.rs`: on-chain batches: made and stored before broadcast, RBF, confirmation;
//! - this file: the actor and its tick.

pub mod batches;
pub mod config;
pub mod health;
pub mod lightning;

use std::collections::{BTreeMap, HashSet};

use bitcoin::Txid;
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use sluice_pool::queue::Rail;
use sluice_pool::throttle::{assess, Mode, Throttle};
use tokio::task::JoinHandle;

pub use config::{WithdrawalConfig, DEFAULT_MAX_DELAY, DEFAULT_TICK_CAP_SATS, DEFAULT_TICK_EVERY};

use crate::pool::{Payout, PayoutOutcome, PoolMsg, POOL_TIMEOUT};
use crate::{Components, NodeError};

/// Messages to the scheduler.
#[derive(Debug)]
pub enum SchedulerMsg {
    /// Run a payout tick.
    Tick,
    /// The throttle as the last tick judged it (`None` before the first).
    Throttle(RpcReplyPort<Option<Throttle>>),
    /// A Lightning payout's task ended: its outcome, or `None` to look again next tick.
    LightningDone(Box<Payout>, Option<PayoutOutcome>),
}

/// The scheduler's state.
pub struct SchedulerState {
    components: Components,
    ticker: JoinHandle<()>,
    /// The throttle of the last tick.
    last: Option<Throttle>,
    /// Lightning payouts being paid by a task (their payment keys).
    lightning: HashSet<String>,
    /// Batch transactions broadcast since the start.
    broadcast: HashSet<Txid>,
    /// What unconfirmed batch transactions took from the wallet, msat (last tick's).
    in_flight_msat: u64,
}

/// The WithdrawalScheduler actor.
pub struct WithdrawalScheduler {
    /// Its settings.
    pub config: WithdrawalConfig,
}

impl Actor for WithdrawalScheduler {
    type Msg = SchedulerMsg;
    type State = SchedulerState;
    type Arguments = Components;

    async fn pre_start(
        &self,
        myself: ActorRef<SchedulerMsg>,
        components: Components,
    ) -> Result<SchedulerState, ActorProcessingErr> {
        // The first tick picks up whatever a crash left unsettled.
        myself.send_message(SchedulerMsg::Tick)?;
        let ticker = myself.send_interval(self.config.tick_every, || SchedulerMsg::Tick);
        Ok(SchedulerState {
            components,
            ticker,
            last: None,
            lightning: HashSet::new(),
            broadcast: HashSet::new(),
            in_flight_msat: 0,
        })
    }

    async fn post_stop(
        &self,
        _myself: ActorRef<SchedulerMsg>,
        state: &mut SchedulerState,
    ) -> Result<(), ActorProcessingErr> {
        state.ticker.abort();
        Ok(())
    }

    async fn handle(
        &self,
        myself: ActorRef<SchedulerMsg>,
        message: SchedulerMsg,
        state: &mut SchedulerState,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            SchedulerMsg::Tick => {
                if let Err(e) = tick(&self.config, &myself, state).await {
                    tracing::warn!(error = %e, "a payout tick failed; the next one tries again");
                }
            }
            SchedulerMsg::Throttle(reply) => {
                let _ = reply.send(state.last.clone());
            }
            SchedulerMsg::LightningDone(payout, outcome) => {
                state.lightning.remove(&payout.payment_key());
                if let Some(outcome) = outcome {
                    if let Err(e) =
                        settle(&state.components, &payout.withdrawal_id, payout.n, outcome).await
                    {
                        tracing::warn!(withdrawal_id = %payout.withdrawal_id, error = %e,
                            "booking a Lightning payout failed; the next tick looks again");
                    }
                }
            }
        }
        Ok(())
    }
}

/// One tick: judge, burn, pay, settle.
async fn tick(
    config: &WithdrawalConfig,
    myself: &ActorRef<SchedulerMsg>,
    state: &mut SchedulerState,
) -> Result<(), NodeError> {
    let c = state.components.clone();
    let Some(health) = health::gather(&c, config, state.in_flight_msat).await? else {
        // No pool: nothing can be owed.
        return Ok(());
    };
    let throttle = assess(&health, &config.rules());
    record_throttle(&throttle, state.last.as_ref());
    metrics::counter!("sluice_withdrawal_ticks_total").increment(1);
    state.last = Some(throttle.clone());
    let tick = Box::new((throttle, config.limits()));
    let payouts: Vec<Payout> = c
        .actors
        .pool
        .call(|reply| PoolMsg::BurnDue(tick, reply), POOL_TIMEOUT)
        .await??;

    let mut batches: BTreeMap<String, Vec<Payout>> = BTreeMap::new();
    for payout in payouts {
        match payout.rail {
            Rail::Lightning => {
                if !state.lightning.insert(payout.payment_key()) {
                    continue;
                }
                let (c, config, myself) = (c.clone(), config.clone(), myself.clone());
                tokio::spawn(async move {
                    let outcome = lightning::pay(&c, &config, &payout).await;
                    let _ = myself.cast(SchedulerMsg::LightningDone(Box::new(payout), outcome));
                });
            }
            Rail::Onchain => {
                let batch_id = payout.batch_id.clone().unwrap_or_default();
                batches.entry(batch_id).or_default().push(payout);
            }
        }
    }
    let mut in_flight = 0u64;
    for (batch_id, payouts) in batches {
        let advanced = match batches::advance(&c, config, &batch_id, &payouts, &mut state.broadcast)
            .await
        {
            Ok(advanced) => advanced,
            Err(e) => {
                tracing::warn!(batch_id, error = %e, "a payout batch could not advance; trying again next tick");
                continue;
            }
        };
        in_flight = in_flight.saturating_add(advanced.in_flight_msat);
        for (withdrawal_id, n, outcome) in advanced.settled {
            settle(&c, &withdrawal_id, n, outcome).await?;
        }
    }
    state.in_flight_msat = in_flight;
    Ok(())
}

/// Tells the pool actor how a payout ended.
async fn settle(
    c: &Components,
    withdrawal_id: &str,
    n: u32,
    outcome: PayoutOutcome,
) -> Result<(), NodeError> {
    let id = withdrawal_id.to_owned();
    c.actors
        .pool
        .call(
            |reply| PoolMsg::PayoutSettled(id, n, outcome, reply),
            POOL_TIMEOUT,
        )
        .await?
}

/// The throttle's gauge, and a log line when the mode or its reasons change.
fn record_throttle(throttle: &Throttle, last: Option<&Throttle>) {
    let level = match throttle.mode {
        Mode::Normal => 0.0,
        Mode::Stressed => 1.0,
        Mode::Halted => 2.0,
    };
    metrics::gauge!("sluice_withdrawal_throttle_mode").set(level);
    if last.is_none_or(|l| l.mode != throttle.mode || l.reasons != throttle.reasons) {
        let reasons: Vec<&str> = throttle.reasons.iter().map(|r| r.as_str()).collect();
        tracing::info!(
            mode = throttle.mode.as_str(),
            ?reasons,
            "withdrawal throttle"
        );
    }
}
