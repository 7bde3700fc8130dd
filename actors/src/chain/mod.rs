//! Everything that talks to the chain backend: the RPC client, fee estimates and
//! broadcasting, and following the chain's tip.

mod broadcaster;
mod client;
mod fees;
mod follow;

pub use broadcaster::{run_broadcasts, Broadcaster};
pub use client::{BroadcastRefusal, ChainClient, RpcEndpoint};
pub use fees::{btc_per_kvb_to_sat_per_kw, EstimateMode, FeeRates, TARGETS};
pub use follow::{follow_chain, refresh_fees};
