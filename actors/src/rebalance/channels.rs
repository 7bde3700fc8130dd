//! The node's channels as the rebalancer sees them: each one's capacity, local balance,
//! band (its operator's or the default) and whether it may be rebalanced. JIT channels
//! sold over LSPS2 (their `user_channel_id` names a stored order) and channels their
//! operator opted out or marked as under a liquidity commitment are never touched;
//! channels not usable now (peer offline, not ready) wait.

use std::collections::{BTreeMap, HashMap};

use lightning::ln::channel_state::ChannelDetails;
use sluice_rebalance::{Band, ChannelView, Eligibility};
use sluice_storage::{JitOrderRecord, RebalanceChannelRecord, StoredBand};

use crate::{Components, NodeError};

/// The channels now: what the planner sees, and LDK's details by channel id.
pub struct Channels {
    /// What the planner sees.
    pub views: Vec<ChannelView>,
    /// LDK's details, by channel id (hex).
    pub details: HashMap<String, ChannelDetails>,
}

/// A stored band as the planner's.
pub fn band_of(stored: StoredBand) -> Band {
    Band {
        min_ppm: stored.min_ppm,
        max_ppm: stored.max_ppm,
        deadband_ppm: stored.deadband_ppm,
    }
}

/// Looks at every channel of the node.
pub async fn look(
    c: &Components,
    default_band: Band,
    settings: &BTreeMap<String, RebalanceChannelRecord>,
) -> Result<Channels, NodeError> {
    let mut views = Vec::new();
    let mut details = HashMap::new();
    for channel in c.channel_manager.list_channels() {
        let channel_id = channel.channel_id.to_string();
        let own = settings.get(&channel_id);
        let jit_key = crate::lsps2::order::order_id(channel.user_channel_id);
        let eligibility = if own.is_some_and(|s| s.opted_out) {
            Eligibility::OptedOut
        } else if own.is_some_and(|s| s.committed) {
            Eligibility::Committed
        } else if c.store.get::<JitOrderRecord>(jit_key).await?.is_some() {
            Eligibility::Jit
        } else if !channel.is_usable {
            Eligibility::Unusable
        } else {
            Eligibility::Eligible
        };
        views.push(ChannelView {
            channel_id: channel_id.clone(),
            peer: channel.counterparty.node_id.to_string(),
            capacity_msat: channel.channel_value_satoshis.saturating_mul(1_000),
            local_msat: channel.outbound_capacity_msat,
            band: own.and_then(|s| s.band).map_or(default_band, band_of),
            eligibility,
        });
        details.insert(channel_id, channel);
    }
    Ok(Channels { views, details })
}
