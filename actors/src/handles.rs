//! Handles on the node's running actors, held instead of looked up by name.
//!
//! The supervisor replaces an actor's [`ActorRef`] in its [`Handle`] each time it starts
//! (or restarts) the actor, so a holder always reaches the current one. Nothing is
//! registered under a global name: two nodes can run in one process, each with its own
//! [`Actors`].

use std::sync::{Arc, RwLock};
use std::time::Duration;

use ractor::factory::FactoryMessage;
use ractor::rpc::CallResult;
use ractor::{ActorRef, Message, RpcReplyPort};

use crate::credit::CreditMsg;
use crate::lsps2::Lsps2Msg;
use crate::nostr::PublisherMsg;
use crate::pathfinding::RouteJob;
use crate::payments::PaymentsMsg;
use crate::pool::PoolMsg;
use crate::rebalance::RebalancerMsg;
use crate::receipts::actor::ReceiptSignerMsg;
use crate::wallet::actor::WalletMsg;
use crate::withdrawals::SchedulerMsg;
use crate::NodeError;

/// The current [`ActorRef`] of one supervised actor (none before it first starts).
pub struct Handle<M> {
    what: &'static str,
    current: Arc<RwLock<Option<ActorRef<M>>>>,
}

impl<M> Clone for Handle<M> {
    fn clone(&self) -> Self {
        Handle {
            what: self.what,
            current: Arc::clone(&self.current),
        }
    }
}

impl<M: Message> Handle<M> {
    /// An empty handle; `what` names the actor in errors ("the payments actor").
    pub fn new(what: &'static str) -> Self {
        Handle {
            what,
            current: Arc::new(RwLock::new(None)),
        }
    }

    /// What the handle reaches, for errors and logs.
    pub fn what(&self) -> &'static str {
        self.what
    }

    /// Points the handle at a newly started actor.
    pub(crate) fn set(&self, actor: ActorRef<M>) {
        // A poisoned lock only means a holder panicked while swapping a reference; the
        // reference itself is whole.
        let mut current = self.current.write().unwrap_or_else(|e| e.into_inner());
        *current = Some(actor);
    }

    /// The actor as last started; [`NodeError::NotRunning`] before it ever started.
    pub fn get(&self) -> Result<ActorRef<M>, NodeError> {
        let current = self.current.read().unwrap_or_else(|e| e.into_inner());
        current.clone().ok_or(NodeError::NotRunning)
    }

    /// Sends `message` without waiting for an answer.
    pub fn cast(&self, message: M) -> Result<(), NodeError> {
        self.get()?.cast(message).map_err(|_| NodeError::NotRunning)
    }

    /// Sends the message `ask` builds around a reply port and waits up to `timeout` for the
    /// answer.
    pub async fn call<T: Send + 'static>(
        &self,
        ask: impl FnOnce(RpcReplyPort<T>) -> M,
        timeout: Duration,
    ) -> Result<T, NodeError> {
        match self.get()?.call(ask, Some(timeout)).await {
            Ok(CallResult::Success(answer)) => Ok(answer),
            Ok(CallResult::Timeout) => Err(NodeError::Timeout(self.what)),
            Ok(CallResult::SenderError) | Err(_) => Err(NodeError::NotRunning),
        }
    }
}

/// Handles on every actor other parts of the node talk to.
#[derive(Clone)]
pub struct Actors {
    /// The on-chain wallet's syncing.
    pub wallet: Handle<WalletMsg>,
    /// The receipt signer.
    pub receipts: Handle<ReceiptSignerMsg>,
    /// The pathfinding factory.
    pub pathfinding: Handle<FactoryMessage<(), RouteJob>>,
    /// The payments actor.
    pub payments: Handle<PaymentsMsg>,
    /// The LSPS2 service (never started without an `[lsps2]` section).
    pub lsps2: Handle<Lsps2Msg>,
    /// The liquidity pool.
    pub pool: Handle<PoolMsg>,
    /// The withdrawal scheduler.
    pub withdrawals: Handle<SchedulerMsg>,
    /// The credit envelope ledger.
    pub credit: Handle<CreditMsg>,
    /// The Nostr publisher (never started without relays).
    pub publisher: Handle<PublisherMsg>,
    /// The rebalancer (never started without a `[rebalancer]` section).
    pub rebalancer: Handle<RebalancerMsg>,
}

impl Default for Actors {
    fn default() -> Self {
        Actors {
            wallet: Handle::new("the wallet"),
            receipts: Handle::new("the receipt signer"),
            pathfinding: Handle::new("pathfinding"),
            payments: Handle::new("the payments actor"),
            lsps2: Handle::new("the LSPS2 service"),
            pool: Handle::new("the pool ledger"),
            withdrawals: Handle::new("the withdrawal scheduler"),
            credit: Handle::new("the envelope ledger"),
            publisher: Handle::new("the Nostr publisher"),
            rebalancer: Handle::new("the rebalancer"),
        }
    }
}
