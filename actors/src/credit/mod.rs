//! The EnvelopeLedger actor (spec §6.2, §7): outcome-scoped credit for agents, from the
//! intent an agent files, through the offer underwriting makes, to the envelope issued
//! for one provider. The decisions are `sluice-credit`'s; this actor does their I/O, one
//! message at a time, so two requests never both pass a limit only one of them fits.
//!
//! Layout:
//! - `config`: the `[pool.credit]` settings;
//! - `book`: every envelope in memory (loaded at start), for records and commitments;
//! - `intents`: filing an intent, idempotent by the agent's key;
//! - `offers`: an offer from underwriting, idempotent by the request;
//! - `issue`: an envelope from an offer, reserved against the CEP partition, with its
//!   signed `envelope_issue_receipt`;
//! - `settle`: a settle request checked and stepped (a default, or the provider's
//!   payment begun); `authorization`: mode 2's spend authorizations;
//! - `pay`: the provider's payment in a task, and its outcome stepped;
//! - `actions`: a step's receipt and bookings, committed with the envelope;
//! - `expiry`: the tick that defaults what ran out of time;
//! - `repay`: repayment invoices for what an envelope owes, booked when claimed;
//! - `views`: an envelope, an agent's exposure, the credit health (breakers).
//!
//! A settle pays the provider in three ways: mode 1 (the verifier passed), mode 2 (also
//! the agent's signed spend authorization), and a TreasuryRouter pay of a quote that
//! names the envelope (spec §8.2, paid from the pool's liquidity, booked as the draw).

pub mod actions;
pub mod authorization;
pub mod book;
pub mod config;
pub mod expiry;
pub mod intents;
pub mod issue;
pub mod offers;
pub mod pay;
pub mod repay;
pub mod settle;
pub mod views;

use std::collections::{HashMap, HashSet};

use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use sluice_credit::breaker;
use sluice_storage::{CreditIntentRecord, CreditOfferRecord};

pub use config::CreditConfig;
pub use intents::IntentAsk;
pub use issue::EnvelopeAsk;
pub use offers::OfferAsk;
pub use repay::RepaymentView;
pub use settle::{QuoteDraw, SettleAsk, SettleOutcome, SettleView};
pub use views::{CreditHealth, EnvelopeView, Exposure};

use crate::payments::own::Outcome;
use crate::{Components, NodeError};

/// Messages to the envelope ledger.
#[derive(Debug)]
pub enum CreditMsg {
    /// File an agent's intent.
    Intent(
        IntentAsk,
        RpcReplyPort<Result<CreditIntentRecord, NodeError>>,
    ),
    /// Make an offer.
    Offer(OfferAsk, RpcReplyPort<Result<CreditOfferRecord, NodeError>>),
    /// Issue an envelope from an offer.
    Issue(EnvelopeAsk, RpcReplyPort<Result<EnvelopeView, NodeError>>),
    /// An envelope.
    Envelope(String, RpcReplyPort<Result<EnvelopeView, NodeError>>),
    /// An agent's exposure and terms now.
    Exposure(String, RpcReplyPort<Result<Exposure, NodeError>>),
    /// The credit health: commitments and breakers.
    Health(RpcReplyPort<Result<CreditHealth, NodeError>>),
    /// Settle an envelope: pay its provider, or record its default.
    Settle(Box<SettleAsk>, RpcReplyPort<Result<SettleView, NodeError>>),
    /// The provider's payment of (envelope, settlement) ended.
    PayOutcome(String, String, Box<Outcome>),
    /// The provider's payment of a settlement has no outcome yet.
    StillPaying(String),
    /// An invoice for what an envelope owes.
    Repay(String, RpcReplyPort<Result<RepaymentView, NodeError>>),
    /// A payment to the node was claimed and its record is durable (payment hash, hex):
    /// book it if it repays an envelope.
    Claimed(String),
    /// Default what ran out of time, book repayments nobody was told of, restart
    /// payments without a task.
    Tick,
}

/// The envelope ledger; `self` holds its settings.
pub struct EnvelopeLedger {
    /// How credit is underwritten and limited.
    pub config: CreditConfig,
}

/// The envelope ledger's state.
pub struct CreditState {
    components: Components,
    envelopes: book::Envelopes,
    /// The loss-rate breaker (spec §6.3): tripped, it halts new envelopes. Judged again
    /// at every issue, tick and health read; after a restart it is judged afresh.
    loss_breaker: breaker::State,
    /// The Lightning breaker (spec §6.3): tripped by a spike of failed outgoing payments,
    /// it holds back settlements above `large_settlement_sats`. Judged at every large
    /// settle, tick and health read.
    ln_breaker: breaker::State,
    /// The outgoing payments it judged last.
    ln_window: breaker::Window,
    /// The settlements whose payment a task is making.
    paying: HashSet<String>,
    /// Settle requests waiting for their settlement's payment, by settlement id.
    waiters: HashMap<String, Vec<RpcReplyPort<Result<SettleView, NodeError>>>>,
    /// Repayment invoices not paid yet.
    repayments: repay::OpenRepayments,
}

impl CreditState {
    /// The loss breaker judged on the envelopes now.
    fn judge_losses(&mut self, config: &CreditConfig) -> breaker::State {
        let window = self.envelopes.loss_window(config.loss_window);
        self.loss_breaker = judged(
            "loss",
            self.loss_breaker,
            &window,
            &config.loss_thresholds(),
        );
        self.loss_breaker
    }

    /// The Lightning breaker judged on the node's recent outgoing payments (settled
    /// ones: in flight says nothing yet).
    async fn judge_lightning(
        &mut self,
        config: &CreditConfig,
    ) -> Result<breaker::State, NodeError> {
        let count = usize::try_from(config.ln_window).unwrap_or(usize::MAX);
        let recent = crate::payments::recent::recent(&self.components.store, count).await?;
        self.ln_window = breaker::Window {
            samples: recent.succeeded + recent.failed,
            bad: recent.failed,
        };
        self.ln_breaker = judged(
            "lightning",
            self.ln_breaker,
            &self.ln_window,
            &config.ln_thresholds(),
        );
        Ok(self.ln_breaker)
    }
}

/// Breaker `name` judged from `current` on `window`; a change is logged, and the gauge
/// set.
fn judged(
    name: &'static str,
    current: breaker::State,
    window: &breaker::Window,
    thresholds: &breaker::Thresholds,
) -> breaker::State {
    let next = breaker::judge(current, window, thresholds);
    if next != current {
        tracing::warn!(
            breaker = name,
            ?next,
            samples = window.samples,
            bad = window.bad,
            "a credit breaker changed"
        );
    }
    metrics::gauge!(BREAKER_GAUGE, "breaker" => name)
        .set(f64::from(u8::from(next == breaker::State::Tripped)));
    next
}

/// An id derived from what makes a request the same one: `prefix` and the first 24 hex
/// digits of SHA-256(`seed`), so a repeat derives the same id.
fn derived_id(prefix: &str, seed: &str) -> String {
    use bitcoin::hashes::{sha256, Hash};
    use bitcoin::hex::DisplayHex;
    let hash = sha256::Hash::hash(seed.as_bytes()).to_byte_array();
    format!("{prefix}_{}", &hash.to_lower_hex_string()[..24])
}

/// The gauge of each credit breaker: 1 while tripped.
pub const BREAKER_GAUGE: &str = "sluice_credit_breaker_tripped";

impl Actor for EnvelopeLedger {
    type Msg = CreditMsg;
    type State = CreditState;
    type Arguments = Components;

    async fn pre_start(
        &self,
        myself: ActorRef<CreditMsg>,
        components: Components,
    ) -> Result<CreditState, ActorProcessingErr> {
        let envelopes = book::Envelopes::load(&components.store).await?;
        let repayments = repay::OpenRepayments::load(&components.store).await?;
        let mut state = CreditState {
            components,
            envelopes,
            loss_breaker: breaker::State::Closed,
            ln_breaker: breaker::State::Closed,
            ln_window: breaker::Window::default(),
            paying: HashSet::new(),
            waiters: HashMap::new(),
            repayments,
        };
        state.judge_losses(&self.config);
        // The first tick defaults what ran out while the node was down and resumes the
        // payments a crash interrupted.
        myself.send_message(CreditMsg::Tick)?;
        myself.send_interval(self.config.tick_every, || CreditMsg::Tick);
        Ok(state)
    }

    async fn handle(
        &self,
        myself: ActorRef<CreditMsg>,
        message: CreditMsg,
        state: &mut CreditState,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            CreditMsg::Intent(ask, reply) => {
                let _ = reply.send(intents::file(&state.components, &self.config, ask).await);
            }
            CreditMsg::Offer(ask, reply) => {
                let _ = reply.send(offers::offer(state, &self.config, ask).await);
            }
            CreditMsg::Issue(ask, reply) => {
                let _ = reply.send(issue::issue(state, &self.config, ask).await);
            }
            CreditMsg::Envelope(envelope_id, reply) => {
                let _ = reply.send(views::envelope(state, &envelope_id).await);
            }
            CreditMsg::Exposure(agent_id, reply) => {
                let _ = reply.send(Ok(views::exposure(state, &self.config, &agent_id)));
            }
            CreditMsg::Health(reply) => {
                let _ = reply.send(views::health(state, &self.config).await);
            }
            CreditMsg::Settle(ask, reply) => {
                match settle::settle(state, &self.config, *ask).await {
                    Ok(settle::Begun::Answer(view)) => {
                        let _ = reply.send(Ok(*view));
                    }
                    Ok(settle::Begun::Paying {
                        envelope_id,
                        settlement_id,
                    }) => {
                        if let Some(record) = state.envelopes.get(&envelope_id).cloned() {
                            pay::start(state, &myself, &record);
                        }
                        state.waiters.entry(settlement_id).or_default().push(reply);
                    }
                    Err(e) => {
                        let _ = reply.send(Err(e));
                    }
                }
            }
            CreditMsg::PayOutcome(envelope_id, settlement_id, outcome) => {
                pay::settled(state, &envelope_id, &settlement_id, *outcome).await;
            }
            CreditMsg::StillPaying(settlement_id) => pay::still_paying(state, &settlement_id),
            CreditMsg::Repay(envelope_id, reply) => {
                let _ = reply.send(repay::invoice(state, &envelope_id).await);
            }
            CreditMsg::Claimed(payment_hash) => {
                if let Err(e) = repay::claimed(state, &payment_hash).await {
                    tracing::warn!(%payment_hash, error = %e, "booking a repayment failed; the tick tries again");
                }
            }
            CreditMsg::Tick => {
                repay::sweep(state).await;
                expiry::tick(state, &self.config, &myself).await;
            }
        }
        Ok(())
    }
}
