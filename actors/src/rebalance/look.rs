//! One look at the node: its channels against their bands, the moves that would bring
//! them back, each move's verdict, and the budget — what a tick acts on and what the
//! status shows, computed the same way for both.

use std::collections::BTreeMap;
use std::time::Duration;

use sluice_rebalance::{decide, plan, Budget, Situation, Step};

use super::channels::{look as look_at_channels, Channels};
use super::history::DAY_MS;
use super::{RebalancerConfig, RebalancerState};
use crate::pool::{PoolMsg, RrpFunds};
use crate::NodeError;

/// How long the pool actor has to say what RRP holds.
const FUNDS_TIMEOUT: Duration = Duration::from_secs(10);

/// What one look saw.
pub struct Seen {
    /// The channels.
    pub channels: Channels,
    /// The planned moves with their verdicts, in the order they would be tried.
    pub steps: Vec<Step>,
    /// The budget.
    pub budget: Budget,
    /// The pool's RRP partition, if there is one.
    pub funds: Option<RrpFunds>,
    /// Forwarding fees earned per peer over the window, msat.
    pub earned: BTreeMap<String, u64>,
    /// Rebalance fees spent per peer over the window, msat.
    pub spent: BTreeMap<String, u64>,
}

/// Looks at the node at `now_ms`.
pub async fn look(
    config: &RebalancerConfig,
    state: &RebalancerState,
    in_flight: bool,
    now_ms: u64,
) -> Result<Seen, NodeError> {
    let c = &state.components;
    let channels = look_at_channels(c, config.default_band, &state.settings).await?;
    let funds = match c
        .actors
        .pool
        .call(PoolMsg::RebalanceFunds, FUNDS_TIMEOUT)
        .await
    {
        Ok(funds) => funds,
        Err(NodeError::NotRunning) => None,
        Err(e) => return Err(e),
    };
    let window_ms = u64::try_from(config.earnings_window.as_millis()).unwrap_or(u64::MAX);
    let window_start = now_ms.saturating_sub(window_ms);
    let earned = crate::forwards::earned_by_peer(&c.store, window_start).await?;
    let spent = state.history.spent_by_peer_since(window_start);
    let in_flight_msat = state.history.pending().map(|r| r.max_fee_msat).sum();
    let budget = Budget {
        daily_msat: config.daily_budget_msat,
        rrp_available_msat: funds.as_ref().map_or(0, |f| f.rrp_assets_msat),
        spent_24h_msat: state.history.spent_since(now_ms.saturating_sub(DAY_MS)),
        in_flight_msat,
    };
    let situation = Situation {
        pacing: config.pacing,
        paces: &state.paces,
        ceiling: config.ceiling,
        rule: config.cost_to_earn,
        budget_left_msat: budget.left_msat(),
        earned: &earned,
        spent: &spent,
        now_ms,
        in_flight,
        halted: state.halted().is_some(),
        dry_run: config.dry_run,
    };
    let steps = decide(plan(&channels.views), &situation);
    Ok(Seen {
        channels,
        steps,
        budget,
        funds,
        earned,
        spent,
    })
}
