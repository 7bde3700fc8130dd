//! Pathfinding (ARCHITECTURE.md §2, §5): a ractor factory of workers that find routes with the
//! node's one [`SluiceRouter`], the router the channel manager pays with.
//!
//! Each job routes over the channels usable *now* (`list_usable_channels` as first hops)
//! and the HTLCs in flight *now* (`compute_inflight_htlcs`), so nothing is cached between
//! jobs and no answer can go stale silently. Route finding is CPU-bound: a worker runs it
//! on the blocking pool, and the factory runs as many at once as it has workers.
//!
//! The queue in front of the workers is bounded ([`MAX_QUEUED_JOBS`]): a job past it is
//! answered at once with [`NodeError::Overloaded`] rather than queued for ever. A job
//! lives at most [`ROUTE_TIMEOUT`] (its caller's wait) in the queue, and a worker skips a
//! job whose caller stopped waiting: no route is computed for nobody.

mod router;

use std::sync::Arc;
use std::time::Duration;

use lightning::ln::channel_state::ChannelDetails;
use lightning::routing::router::{Route, RouteParameters, Router as _};
use ractor::factory::{
    queues, routing, worker_builder, DiscardHandler, DiscardMode, DiscardReason, DiscardSettings,
    Factory, FactoryArguments, FactoryMessage, Job, JobOptions, Worker, WorkerId,
};
use ractor::{ActorProcessingErr, ActorRef, RpcReplyPort};

pub use router::{RoutingExclusions, SluiceRouter};

use crate::handles::Handle;
use crate::{Components, NodeError};

/// How long a caller waits for a route before giving up.
pub const ROUTE_TIMEOUT: Duration = Duration::from_secs(10);
/// The most jobs waiting for a worker; more are refused at once.
pub const MAX_QUEUED_JOBS: usize = 1024;

/// A job for a pathfinding worker.
#[derive(Debug)]
pub enum RouteJob {
    /// Find a route for `params` and answer on `reply`.
    Find {
        /// The payee, amount, fee limit and restrictions.
        params: Box<RouteParameters>,
        /// Where the route (or why there is none) goes; taken when answered.
        reply: Option<RpcReplyPort<Result<Route, NodeError>>>,
    },
}

/// Answers the jobs the factory drops: a full queue, an expired job, a shutdown.
struct Discards;

impl DiscardHandler<(), RouteJob> for Discards {
    fn discard(&self, reason: DiscardReason, job: &mut Job<(), RouteJob>) {
        let RouteJob::Find { reply, .. } = &mut job.msg;
        let label = match reason {
            DiscardReason::Loadshed => "queue_full",
            DiscardReason::TtlExpired => "expired",
            DiscardReason::Shutdown => "shutdown",
            DiscardReason::RateLimited => "rate_limited",
        };
        metrics::counter!("sluice_pathfinding_discarded_total", "reason" => label).increment(1);
        if let Some(reply) = reply.take() {
            let _ = reply.send(Err(NodeError::Overloaded(format!(
                "pathfinding is busy ({label}); retry shortly"
            ))));
        }
    }
}

/// The factory as the supervisor spawns it.
pub type PathfindingFactory = Factory<
    (),
    RouteJob,
    Components,
    RouteWorker,
    routing::QueuerRouting<(), RouteJob>,
    queues::DefaultQueue<(), RouteJob>,
>;

/// The factory's arguments: `workers` workers, each routing over `components`.
pub fn factory_arguments(
    components: Components,
    workers: usize,
) -> FactoryArguments<
    (),
    RouteJob,
    Components,
    RouteWorker,
    routing::QueuerRouting<(), RouteJob>,
    queues::DefaultQueue<(), RouteJob>,
> {
    FactoryArguments::builder()
        .worker_builder(Box::new(worker_builder(move |_wid| {
            (RouteWorker, components.clone())
        })))
        .queue(Default::default())
        .router(Default::default())
        .num_initial_workers(workers.max(1))
        .discard_settings(DiscardSettings::Static {
            limit: MAX_QUEUED_JOBS,
            mode: DiscardMode::Newest,
        })
        .discard_handler(Arc::new(Discards))
        .build()
}

/// One pathfinding worker; its state is the node's components.
pub struct RouteWorker;

impl Worker for RouteWorker {
    type Key = ();
    type Message = RouteJob;
    type Arguments = Components;
    type State = Components;

    async fn pre_start(
        &self,
        _wid: WorkerId,
        _factory: &ActorRef<FactoryMessage<(), RouteJob>>,
        components: Components,
    ) -> Result<Components, ActorProcessingErr> {
        Ok(components)
    }

    async fn handle(
        &self,
        _wid: WorkerId,
        _factory: &ActorRef<FactoryMessage<(), RouteJob>>,
        Job { msg, key, .. }: Job<(), RouteJob>,
        components: &mut Components,
    ) -> Result<(), ActorProcessingErr> {
        let RouteJob::Find { params, reply } = msg;
        let Some(reply) = reply.filter(|r| !r.is_closed()) else {
            // The caller stopped waiting: nobody needs the route.
            metrics::counter!("sluice_pathfinding_discarded_total", "reason" => "abandoned")
                .increment(1);
            return Ok(key);
        };
        let c = components.clone();
        let found = tokio::task::spawn_blocking(move || find_route(&c, &params))
            .await
            .unwrap_or_else(|e| Err(NodeError::RouteNotFound(format!("pathfinding failed: {e}"))));
        // The caller may have timed out and gone; nothing to do then.
        let _ = reply.send(found);
        Ok(key)
    }
}

/// A route for `params` from this node, over its usable channels, accounting for the
/// HTLCs in flight. When no route fits the fee limit, says whether one exists above it
/// ([`NodeError::FeeLimitExceeded`], with its fee) or none at all.
pub fn find_route(components: &Components, params: &RouteParameters) -> Result<Route, NodeError> {
    let started = std::time::Instant::now();
    let found = route_once(components, params);
    let answer = match (found, params.max_total_routing_fee_msat) {
        (Ok(route), _) => Ok(route),
        (Err(reason), Some(limit)) => {
            let mut unlimited = params.clone();
            unlimited.max_total_routing_fee_msat = None;
            match route_once(components, &unlimited) {
                Ok(route) => Err(NodeError::FeeLimitExceeded(format!(
                    "the cheapest route found costs {} msat, the limit is {limit} msat",
                    route.get_total_fees()
                ))),
                Err(_) => Err(NodeError::RouteNotFound(reason.to_owned())),
            }
        }
        (Err(reason), None) => Err(NodeError::RouteNotFound(reason.to_owned())),
    };
    metrics::histogram!("sluice_pathfinding_seconds").record(started.elapsed().as_secs_f64());
    answer
}

fn route_once(components: &Components, params: &RouteParameters) -> Result<Route, &'static str> {
    let manager = &components.channel_manager;
    let first_hops = manager.list_usable_channels();
    let hops: Vec<&ChannelDetails> = first_hops.iter().collect();
    components.router.find_route(
        &manager.get_our_node_id(),
        params,
        Some(&hops),
        manager.compute_inflight_htlcs(),
    )
}

/// Asks the running pathfinding factory for a route.
pub async fn request_route(
    factory: &Handle<FactoryMessage<(), RouteJob>>,
    params: RouteParameters,
) -> Result<Route, NodeError> {
    let ask = |reply| {
        let job = RouteJob::Find {
            params: Box::new(params),
            reply: Some(reply),
        };
        let options = JobOptions::new(Some(ROUTE_TIMEOUT));
        FactoryMessage::Dispatch(Job::with_options((), job, options))
    };
    factory.call(ask, ROUTE_TIMEOUT).await?
}

#[cfg(test)]
mod tests {
    use lightning::routing::router::{PaymentParameters, RouteParameters};
    use tokio::sync::oneshot;

    use super::*;

    fn job() -> (
        Job<(), RouteJob>,
        oneshot::Receiver<Result<Route, NodeError>>,
    ) {
        let (tx, rx) = oneshot::channel();
        let payee = bitcoin::secp256k1::PublicKey::from_secret_key(
            &bitcoin::secp256k1::Secp256k1::new(),
            &bitcoin::secp256k1::SecretKey::from_slice(&[1u8; 32]).expect("a key"),
        );
        let params = RouteParameters::from_payment_params_and_value(
            PaymentParameters::from_node_id(payee, 40),
            1_000,
        );
        let job = RouteJob::Find {
            params: Box::new(params),
            reply: Some(tx.into()),
        };
        (Job::new((), job), rx)
    }

    /// A job the factory drops (a full queue, or it waited past its caller) is answered
    /// at once with `overloaded`, not left to the caller's timeout.
    #[tokio::test]
    async fn dropped_jobs_are_answered_overloaded() {
        for reason in [DiscardReason::Loadshed, DiscardReason::TtlExpired] {
            let (mut job, answer) = job();
            Discards.discard(reason, &mut job);
            let answered = answer.await.expect("an answer");
            assert!(
                matches!(answered, Err(NodeError::Overloaded(_))),
                "{answered:?}"
            );
        }
    }
}
