//! Pathfinding (ARCHITECTURE.md §2, §5): a ractor factory of workers that find routes with the
//! node's one [`SluiceRouter`], the router the channel manager pays with.
//!
//! Each job routes over the channels usable *now* (`list_usable_channels` as first hops)
//! and the HTLCs in flight *now* (`compute_inflight_htlcs`), so nothing is cached between
//! jobs and no answer can go stale silently. Route finding is CPU-bound: a worker runs it
//! on the blocking pool, and the factory runs as many at once as it has workers.

mod router;

use std::time::Duration;

use lightning::ln::channel_state::ChannelDetails;
use lightning::routing::router::{Route, RouteParameters, Router as _};
use ractor::factory::{
    queues, routing, worker_builder, Factory, FactoryArguments, FactoryMessage, Job, Worker,
    WorkerId,
};
use ractor::{ActorProcessingErr, ActorRef, RpcReplyPort};

pub use router::{RoutingExclusions, SluiceRouter};

use crate::handles::Handle;
use crate::{Components, NodeError};

/// How long a caller waits for a route before giving up.
pub const ROUTE_TIMEOUT: Duration = Duration::from_secs(10);

/// A job for a pathfinding worker.
#[derive(Debug)]
pub enum RouteJob {
    /// Find a route for `params` and answer on `reply`.
    Find {
        /// The payee, amount, fee limit and restrictions.
        params: Box<RouteParameters>,
        /// Where the route (or why there is none) goes.
        reply: RpcReplyPort<Result<Route, NodeError>>,
    },
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
            reply,
        };
        FactoryMessage::Dispatch(Job::new((), job))
    };
    factory.call(ask, ROUTE_TIMEOUT).await?
}
