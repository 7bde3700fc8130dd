//! The Rebalancer actor (spec §6.1, §8.3; issue 23): keeps each channel's local balance
//! inside its target band by circular payments out one of the node's channels and back
//! in another, paid for from the pool's RRP partition within hard limits.
//!
//! Every [`RebalancerConfig::tick`] it looks at the channels, plans the moves that would
//! bring them back into their bands (`sluice_rebalance::plan`), gives each its amount,
//! fee ceiling and verdict (`sluice_rebalance::decide`: the kill switch, one rebalance
//! in flight at a time, the refilled channel's cooldown, the static fee ceiling, the
//! day's budget, the peer's cost-to-earn rule), and sends the first that may go
//! ([`circular`]). Its pending record is stored with the payment before LDK sees it; a
//! task follows the payment, and the actor ends the rebalance: its record, its signed
//! `rebalance_receipt` and the fee booked to RRP as a rebalance cost, in one commit
//! through the pool actor ([`finish`]). A restart follows every rebalance not ended.
//!
//! Dry-run plans and logs but pays nothing. The kill switch (`POST
//! /v1/rebalancer/halt`) is stored, so it holds across restarts, and takes effect at
//! once: the next tick starts nothing. A rebalance already in flight cannot be called
//! back (its HTLC is out); it ends on its own and is booked like any other.
//!
//! Layout:
//! - `config`: the `[rebalancer]` settings and their defaults;
//! - `channels`: the node's channels as the planner sees them (bands, eligibility);
//! - `history`: recent rebalances, the budget's spend and per-peer cost;
//! - `look`: one look at the node — the plan, its verdicts, the budget;
//! - `circular`: the route out and back, and sending it;
//! - `finish`: ending a rebalance (receipt, booking);
//! - `status`: what `GET /v1/rebalancer` reports.

pub mod channels;
pub mod circular;
pub mod config;
pub mod finish;
pub mod history;
pub mod look;
pub mod status;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use ractor::{Actor, ActorProcessingErr, ActorRef, ActorStatus, RpcReplyPort};
use sluice_rebalance::{Pace, Verdict};
use sluice_storage::{
    PaymentRecord, PaymentStatus, RebalanceChannelRecord, RebalanceRecord, RebalanceState,
    RebalancerControlRecord, WriteBatch, KEYS_END,
};
use tokio::task::JoinHandle;

pub use config::RebalancerConfig;
pub use status::{ChannelStatus, RebalancerStatus};

use crate::clock::unix_ms;
use crate::payments::wait_settled;
use crate::{Components, NodeError};

/// Rebalances started, by `outcome`: `sent`, `no_route` (no route within the ceiling;
/// nothing paid), `refused` (not stored or sent), `dry_run`.
pub const ATTEMPTS: &str = "sluice_rebalance_attempts_total";
/// Rebalances ended, by `outcome`: `succeeded` or `failed`.
pub const ENDED: &str = "sluice_rebalance_ended_total";
/// Fees paid by rebalances, msat.
pub const FEES: &str = "sluice_rebalance_fees_msat_total";
/// Balance moved by rebalances, msat.
pub const MOVED: &str = "sluice_rebalance_moved_msat_total";
/// Looks the rebalancer took (one per tick): how a reader knows it has looked since.
pub const LOOKS: &str = "sluice_rebalance_looks_total";
/// What the budget has left, msat, at the last look.
pub const BUDGET_LEFT: &str = "sluice_rebalance_budget_left_msat";

/// How far back a start looks for rebalances that have not ended: longer than any
/// HTLC stays in flight (LDK's route CLTV limit is 1,008 blocks, about a week), so
/// every one LDK may still resolve is followed, without reading every rebalance ever.
const PENDING_LOOKBACK_MS: u64 = 14 * 24 * 3_600 * 1_000;
/// How long a follower waits for a payment's outcome before looking again.
const FOLLOW_WAIT: Duration = Duration::from_secs(30);
/// How long a follower waits before trying again after an error (the payments or pool
/// actor restarting, a failed write).
const FOLLOW_RETRY: Duration = Duration::from_secs(5);

/// Messages to the rebalancer.
#[derive(Debug)]
pub enum RebalancerMsg {
    /// Look at the channels and start what may go.
    Tick,
    /// The payment of a rebalance ended (from its follower).
    Ended(Box<RebalanceRecord>, Box<PaymentRecord>),
    /// The state, plan and recent rebalances.
    Status(RpcReplyPort<Result<RebalancerStatus, NodeError>>),
    /// Pull the kill switch, with a reason.
    Halt(String, RpcReplyPort<Result<RebalancerStatus, NodeError>>),
    /// Release the kill switch.
    Resume(RpcReplyPort<Result<RebalancerStatus, NodeError>>),
    /// Store one channel's own settings.
    SetChannel(
        RebalanceChannelRecord,
        RpcReplyPort<Result<RebalanceChannelRecord, NodeError>>,
    ),
}

/// The rebalance in flight.
#[derive(Debug, Clone)]
struct InFlight {
    id: String,
    since: Instant,
}

/// The rebalancer's state, rebuilt from the store at start.
pub struct RebalancerState {
    components: Components,
    history: history::History,
    settings: BTreeMap<String, RebalanceChannelRecord>,
    control: Option<RebalancerControlRecord>,
    paces: BTreeMap<String, Pace>,
    in_flight: Option<InFlight>,
    ticker: JoinHandle<()>,
}

impl RebalancerState {
    fn halted(&self) -> Option<&RebalancerControlRecord> {
        self.control.as_ref().filter(|c| c.halted)
    }
}

/// The rebalancer; `config` is its `[rebalancer]` section.
pub struct Rebalancer {
    /// Its settings.
    pub config: RebalancerConfig,
}

impl Actor for Rebalancer {
    type Msg = RebalancerMsg;
    type State = RebalancerState;
    type Arguments = Components;

    async fn pre_start(
        &self,
        myself: ActorRef<RebalancerMsg>,
        components: Components,
    ) -> Result<RebalancerState, ActorProcessingErr> {
        let store = &components.store;
        let since = unix_ms().saturating_sub(self.window_ms());
        let records = store
            .range::<RebalanceRecord>(
                RebalanceRecord::table_key(since, ""),
                KEYS_END,
                usize::MAX,
                false,
            )
            .await?;
        let mut history = history::History::of(records.into_iter().map(|(_, r)| r).collect());
        // Rebalances older than the window that have not ended are followed too; none
        // can be older than an HTLC can stay in flight.
        let lookback = unix_ms().saturating_sub(PENDING_LOOKBACK_MS).min(since);
        let older = store
            .range::<RebalanceRecord>(
                RebalanceRecord::table_key(lookback, ""),
                RebalanceRecord::table_key(since, ""),
                usize::MAX,
                false,
            )
            .await?;
        for (_, record) in older {
            if record.state == RebalanceState::Pending {
                history.put(record);
            }
        }
        for record in history.pending() {
            follow(&components, &myself, record.clone(), Duration::ZERO);
        }
        let settings = store
            .scan::<RebalanceChannelRecord>("")
            .await?
            .into_iter()
            .map(|s| (s.channel_id.clone(), s))
            .collect();
        let control = store
            .get::<RebalancerControlRecord>(RebalancerControlRecord::KEY)
            .await?;
        if control.as_ref().is_some_and(|c| c.halted) {
            tracing::warn!("the rebalancer starts halted (its kill switch is pulled)");
        }
        if self.config.dry_run {
            tracing::info!("the rebalancer runs dry: it plans and pays nothing");
        }
        let ticker = myself.send_interval(self.config.tick, || RebalancerMsg::Tick);
        Ok(RebalancerState {
            components,
            history,
            settings,
            control,
            paces: BTreeMap::new(),
            in_flight: None,
            ticker,
        })
    }

    async fn handle(
        &self,
        myself: ActorRef<RebalancerMsg>,
        message: RebalancerMsg,
        state: &mut RebalancerState,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            RebalancerMsg::Tick => {
                if let Err(e) = self.tick(&myself, state).await {
                    tracing::warn!(error = %e, "the rebalancer's look failed");
                }
            }
            RebalancerMsg::Ended(record, payment) => {
                self.ended(&myself, state, *record, *payment).await
            }
            RebalancerMsg::Status(reply) => {
                let _ = reply.send(self.status(state).await);
            }
            RebalancerMsg::Halt(reason, reply) => {
                let halted = self.switch(state, true, reason).await;
                let _ = reply.send(match halted {
                    Ok(()) => self.status(state).await,
                    Err(e) => Err(e),
                });
            }
            RebalancerMsg::Resume(reply) => {
                let resumed = self.switch(state, false, "resumed".into()).await;
                let _ = reply.send(match resumed {
                    Ok(()) => self.status(state).await,
                    Err(e) => Err(e),
                });
            }
            RebalancerMsg::SetChannel(settings, reply) => {
                let _ = reply.send(set_channel(state, settings).await);
            }
        }
        Ok(())
    }

    async fn post_stop(
        &self,
        _myself: ActorRef<RebalancerMsg>,
        state: &mut RebalancerState,
    ) -> Result<(), ActorProcessingErr> {
        state.ticker.abort();
        Ok(())
    }
}

impl Rebalancer {
    /// How far back the history reaches: the budget's day or the earnings window.
    fn window_ms(&self) -> u64 {
        let window = u64::try_from(self.config.earnings_window.as_millis()).unwrap_or(u64::MAX);
        window.max(history::DAY_MS)
    }

    /// Whether the rebalance in flight still holds the next back.
    fn in_flight(&self, state: &RebalancerState) -> bool {
        state.in_flight.as_ref().is_some_and(|f| {
            f.since.elapsed() < self.config.attempt_timeout
                && state
                    .history
                    .get(&f.id)
                    .is_some_and(|r| r.state == RebalanceState::Pending)
        })
    }

    async fn tick(
        &self,
        myself: &ActorRef<RebalancerMsg>,
        state: &mut RebalancerState,
    ) -> Result<(), NodeError> {
        let now = unix_ms();
        state
            .history
            .forget_before(now.saturating_sub(self.window_ms()));
        let seen = look::look(&self.config, state, self.in_flight(state), now).await?;
        metrics::gauge!(BUDGET_LEFT).set(seen.budget.left_msat() as f64);
        metrics::counter!(LOOKS).increment(1);
        let Some(step) = seen
            .steps
            .iter()
            .find(|s| matches!(s.verdict, Verdict::Ready | Verdict::DryRun))
        else {
            return Ok(());
        };
        let to = step.planned.to.clone();
        let pace = state
            .paces
            .get(&to)
            .copied()
            .unwrap_or_else(|| self.config.pacing.fresh());
        if step.verdict == Verdict::DryRun {
            tracing::info!(from = %step.planned.from, %to, amount_msat = step.amount_msat, max_fee_msat = step.max_fee_msat, "dry run: would rebalance");
            metrics::counter!(ATTEMPTS, "outcome" => "dry_run").increment(1);
            let waited = Pace {
                next_at_ms: now.saturating_add(self.config.pacing.cooldown_ms),
                ..pace
            };
            state.paces.insert(to, waited);
            return Ok(());
        }
        let (Some(from_details), Some(to_details)) = (
            seen.channels.details.get(&step.planned.from),
            seen.channels.details.get(&to),
        ) else {
            return Ok(());
        };
        let circular = circular::Circular {
            from: from_details,
            to: to_details,
            amount_msat: step.amount_msat,
            max_fee_msat: step.max_fee_msat,
        };
        let c = &state.components;
        let sent = match circular::route(c, &circular) {
            Err(circular::NotSent(why)) => {
                tracing::info!(from = %step.planned.from, %to, amount_msat = step.amount_msat, reason = %why, "no rebalance route");
                metrics::counter!(ATTEMPTS, "outcome" => "no_route").increment(1);
                state.paces.insert(to, self.config.pacing.failed(pace, now));
                return Ok(());
            }
            Ok(route) => circular::send(c, &circular, route).await,
        };
        match sent {
            Ok(record) => {
                tracing::info!(id = %record.id, from = %record.from_channel, to = %record.to_channel, amount_msat = record.amount_msat, max_fee_msat = record.max_fee_msat, "rebalance sent");
                metrics::counter!(ATTEMPTS, "outcome" => "sent").increment(1);
                state.in_flight = Some(InFlight {
                    id: record.id.clone(),
                    since: Instant::now(),
                });
                follow(c, myself, record.clone(), Duration::ZERO);
                state.history.put(record);
                // The cooldown runs from the start; the outcome sets the pace.
                let waiting = Pace {
                    next_at_ms: now.saturating_add(self.config.pacing.cooldown_ms),
                    ..pace
                };
                state.paces.insert(to, waiting);
            }
            Err(e) => {
                tracing::warn!(error = %e, "a rebalance could not start");
                metrics::counter!(ATTEMPTS, "outcome" => "refused").increment(1);
                state.paces.insert(to, self.config.pacing.failed(pace, now));
            }
        }
        Ok(())
    }

    async fn ended(
        &self,
        myself: &ActorRef<RebalancerMsg>,
        state: &mut RebalancerState,
        record: RebalanceRecord,
        payment: PaymentRecord,
    ) {
        let current = state.history.get(&record.id).cloned().unwrap_or(record);
        if current.state != RebalanceState::Pending {
            return;
        }
        let done = match finish::finish(&state.components, &current, &payment).await {
            Ok(done) => done,
            Err(e) => {
                tracing::warn!(id = %current.id, error = %e, "ending a rebalance failed; trying again");
                follow(&state.components, myself, current, FOLLOW_RETRY);
                return;
            }
        };
        let now = unix_ms();
        let pace = state
            .paces
            .get(&done.to_channel)
            .copied()
            .unwrap_or_else(|| self.config.pacing.fresh());
        let pacing = &self.config.pacing;
        let paced = match done.state {
            RebalanceState::Succeeded => {
                metrics::counter!(ENDED, "outcome" => "succeeded").increment(1);
                metrics::counter!(FEES).increment(done.fee_paid_msat.unwrap_or(0));
                metrics::counter!(MOVED).increment(done.amount_msat);
                tracing::info!(id = %done.id, fee_paid_msat = ?done.fee_paid_msat, booked_msat = ?done.booked_msat, "rebalance succeeded");
                pacing.succeeded(pace, now)
            }
            _ => {
                metrics::counter!(ENDED, "outcome" => "failed").increment(1);
                tracing::info!(id = %done.id, failure = ?done.failure, "rebalance failed");
                pacing.failed(pace, now)
            }
        };
        state.paces.insert(done.to_channel.clone(), paced);
        if state.in_flight.as_ref().is_some_and(|f| f.id == done.id) {
            state.in_flight = None;
        }
        state.history.put(done);
    }

    async fn switch(
        &self,
        state: &mut RebalancerState,
        halted: bool,
        reason: String,
    ) -> Result<(), NodeError> {
        let record = RebalancerControlRecord {
            halted,
            reason,
            at_ms: unix_ms(),
        };
        let mut batch = WriteBatch::new();
        batch.put(&record)?;
        state.components.store.commit(batch).await?;
        if halted {
            tracing::warn!(reason = %record.reason, "the rebalancer was halted");
        } else {
            tracing::info!("the rebalancer was resumed");
        }
        state.control = Some(record);
        Ok(())
    }

    async fn status(&self, state: &RebalancerState) -> Result<RebalancerStatus, NodeError> {
        let now = unix_ms();
        let seen = look::look(&self.config, state, self.in_flight(state), now).await?;
        Ok(status::status(&self.config, state, seen, now))
    }
}

/// Stores `settings` for a channel of the node (a band checked first).
async fn set_channel(
    state: &mut RebalancerState,
    settings: RebalanceChannelRecord,
) -> Result<RebalanceChannelRecord, NodeError> {
    if let Some(band) = settings.band {
        channels::band_of(band)
            .check()
            .map_err(|e| NodeError::InvalidRequest(format!("band: {e}")))?;
    }
    let known = state
        .components
        .channel_manager
        .list_channels()
        .iter()
        .any(|c| c.channel_id.to_string() == settings.channel_id);
    if !known {
        return Err(NodeError::NotFound(format!(
            "channel {}",
            settings.channel_id
        )));
    }
    let mut batch = WriteBatch::new();
    batch.put(&settings)?;
    state.components.store.commit(batch).await?;
    state
        .settings
        .insert(settings.channel_id.clone(), settings.clone());
    Ok(settings)
}

/// Follows the payment of `record` until it ends, after waiting `delay`, and tells the
/// actor. Stops when the actor that started it stopped (a restarted one follows anew).
fn follow(
    c: &Components,
    myself: &ActorRef<RebalancerMsg>,
    record: RebalanceRecord,
    delay: Duration,
) {
    let (c, myself) = (c.clone(), myself.clone());
    tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        loop {
            if matches!(
                myself.get_status(),
                ActorStatus::Stopping | ActorStatus::Stopped
            ) {
                return;
            }
            match wait_settled(&c, &record.payment_id, FOLLOW_WAIT).await {
                Ok(payment) if payment.status != PaymentStatus::Pending => {
                    let _ = myself.cast(RebalancerMsg::Ended(Box::new(record), Box::new(payment)));
                    return;
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::debug!(id = %record.id, error = %e, "following a rebalance");
                    tokio::time::sleep(FOLLOW_RETRY).await;
                }
            }
        }
    });
}
