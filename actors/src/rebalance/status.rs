//! What `GET /v1/rebalancer` reports, as the actor knows it: its settings, the kill
//! switch, the budget, every channel against its band with its pace, the plan with
//! each move's verdict, and the recent rebalances. The node maps it to the wire.

use sluice_rebalance::{Budget, ChannelView, Pace, Place, Step};
use sluice_storage::{RebalanceRecord, RebalancerControlRecord};

use super::config::RECENT_IN_STATUS;
use super::history::Totals;
use super::look::Seen;
use super::{RebalancerConfig, RebalancerState};

/// The rebalancer's state.
#[derive(Debug, Clone)]
pub struct RebalancerStatus {
    /// Its settings.
    pub config: RebalancerConfig,
    /// The kill switch, when pulled.
    pub halted: Option<RebalancerControlRecord>,
    /// The budget now.
    pub budget: Budget,
    /// What it did over the earnings window.
    pub totals: Totals,
    /// Every channel against its band.
    pub channels: Vec<ChannelStatus>,
    /// The moves it would try now, in order.
    pub plan: Vec<Step>,
    /// The latest rebalances, newest first.
    pub recent: Vec<RebalanceRecord>,
    /// Why it does nothing, when that is not plain from the rest.
    pub note: Option<String>,
}

/// One channel against its band.
#[derive(Debug, Clone)]
pub struct ChannelStatus {
    /// The channel as the planner sees it.
    pub view: ChannelView,
    /// Where it stands against its band.
    pub place: Place,
    /// Its pace, if it was refilled or tried.
    pub pace: Option<Pace>,
    /// What its peer's channels earned forwarding over the window, msat.
    pub peer_earned_msat: u64,
    /// What refilling its peer's channels cost over the window, msat.
    pub peer_spent_msat: u64,
}

/// The status from one look.
pub(super) fn status(
    config: &RebalancerConfig,
    state: &RebalancerState,
    seen: Seen,
    now_ms: u64,
) -> RebalancerStatus {
    let window_ms = u64::try_from(config.earnings_window.as_millis()).unwrap_or(u64::MAX);
    let channels = seen
        .channels
        .views
        .into_iter()
        .map(|view| ChannelStatus {
            place: view.band.place(view.local_msat, view.capacity_msat),
            pace: state.paces.get(&view.channel_id).copied(),
            peer_earned_msat: seen.earned.get(&view.peer).copied().unwrap_or(0),
            peer_spent_msat: seen.spent.get(&view.peer).copied().unwrap_or(0),
            view,
        })
        .collect();
    let note = if seen.funds.is_none() {
        Some("no pool with an RRP partition: the budget is 0 and nothing is rebalanced".to_owned())
    } else if seen.budget.left_msat() == 0 {
        Some("the budget is spent: nothing is rebalanced until it recovers".to_owned())
    } else {
        None
    };
    RebalancerStatus {
        config: *config,
        halted: state.halted().cloned(),
        budget: seen.budget,
        totals: state.history.totals_since(now_ms.saturating_sub(window_ms)),
        channels,
        plan: seen.steps,
        recent: state.history.latest(RECENT_IN_STATUS),
        note,
    }
}
