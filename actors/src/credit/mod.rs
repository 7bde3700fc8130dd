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
//! - `views`: an envelope, an agent's exposure, the credit health (breakers).
//!
//! Not built yet (issue 21 goes on): settling an envelope (paying the provider, mode 1
//! and 2), repayments, the expiry timer's defaults, and the TreasuryRouter pay that
//! draws on an envelope (spec §8.2). Until then no envelope moves money.

pub mod book;
pub mod config;
pub mod intents;
pub mod issue;
pub mod offers;
pub mod views;

use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use sluice_credit::breaker;
use sluice_storage::{CreditIntentRecord, CreditOfferRecord};

pub use config::CreditConfig;
pub use intents::IntentAsk;
pub use issue::EnvelopeAsk;
pub use offers::OfferAsk;
pub use views::{CreditHealth, EnvelopeView, Exposure};

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
    /// at every issue and health read; after a restart it is judged afresh.
    loss_breaker: breaker::State,
}

impl CreditState {
    /// The loss breaker judged on the envelopes now; a change is logged and the gauge
    /// set.
    fn judge_losses(&mut self, config: &CreditConfig) -> breaker::State {
        let window = self.envelopes.loss_window(config.loss_window);
        let next = breaker::judge(self.loss_breaker, &window, &config.loss_thresholds());
        if next != self.loss_breaker {
            tracing::warn!(
                ?next,
                samples = window.samples,
                bad = window.bad,
                "the credit loss breaker changed"
            );
        }
        self.loss_breaker = next;
        metrics::gauge!(BREAKER_GAUGE, "breaker" => "loss")
            .set(f64::from(u8::from(next == breaker::State::Tripped)));
        next
    }
}

/// The gauge of each credit breaker: 1 while tripped.
pub const BREAKER_GAUGE: &str = "sluice_credit_breaker_tripped";

impl Actor for EnvelopeLedger {
    type Msg = CreditMsg;
    type State = CreditState;
    type Arguments = Components;

    async fn pre_start(
        &self,
        _myself: ActorRef<CreditMsg>,
        components: Components,
    ) -> Result<CreditState, ActorProcessingErr> {
        let envelopes = book::Envelopes::load(&components.store).await?;
        let mut state = CreditState {
            components,
            envelopes,
            loss_breaker: breaker::State::Closed,
        };
        state.judge_losses(&self.config);
        Ok(state)
    }

    async fn handle(
        &self,
        _myself: ActorRef<CreditMsg>,
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
                let _ = reply.send(Ok(views::health(state, &self.config)));
            }
        }
        Ok(())
    }
}
