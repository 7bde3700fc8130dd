//! One rebalance on the wire: a payment from the node to itself, out through the channel
//! with balance to spare and back in through the channel that needs it.
//!
//! LDK's router will not route to the payer itself, so the route is found in two parts:
//! LDK's router finds the way from the node, restricted to the `from` channel as first
//! hop, to the peer of the `to` channel, asking that peer to receive the amount plus
//! the fee it charges to forward over `to` (its forwarding fee and CLTV delta are those
//! it announced for `to`, which LDK keeps in the channel's details); then the last hop,
//! that peer back to the node over `to`, is appended. The payment is an ordinary
//! inbound payment of the node's own (`create_inbound_payment`), so the event handler
//! claims it like any other, and the outbound attempt is stored pending, with the
//! rebalance's record, before LDK sees it — the same contract as every payment
//! (ARCHITECTURE.md §5). It is sent once, without retries: a failed rebalance is paced
//! (`sluice_rebalance::pacing`), not retried on another route at a cost nobody checked.

use bitcoin::hex::{DisplayHex, FromHex};
use lightning::ln::channel_state::{ChannelDetails, CounterpartyForwardingInfo};
use lightning::ln::channelmanager::{PaymentId, RecipientOnionFields};
use lightning::routing::router::{
    Path, PaymentParameters, Route, RouteHop, RouteParameters, Router as _,
};
use lightning::types::payment::{PaymentHash, PaymentSecret};
use sluice_storage::{RebalanceRecord, RebalanceState};

use crate::clock::unix_ms;
use crate::payments::attempts::{start, Started};
use crate::payments::codes::send_failure_code;
use crate::payments::pay::pending;
use crate::payments::settle::{settle, Outcome};
use crate::{Components, NodeError};

/// The CLTV delta the node asks of the last hop back to itself, and of its own inbound
/// payment: LDK's default for invoices.
pub const FINAL_CLTV_EXPIRY_DELTA: u16 = 40;
/// How long the node's own inbound payment of a rebalance stays claimable, seconds.
const INBOUND_EXPIRY_SECS: u32 = 3_600;

/// A rebalance to send.
#[derive(Debug, Clone)]
pub struct Circular<'a> {
    /// The channel paid out through.
    pub from: &'a ChannelDetails,
    /// The channel paid back in through.
    pub to: &'a ChannelDetails,
    /// The amount to move, msat.
    pub amount_msat: u64,
    /// The most to pay in fees, msat (both parts of the route together).
    pub max_fee_msat: u64,
}

/// Why no rebalance left: nothing was stored and nothing paid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotSent(pub String);

/// The route of `circular`, or why there is none within its fee ceiling.
pub fn route(c: &Components, circular: &Circular<'_>) -> Result<Route, NotSent> {
    let Circular {
        from,
        to,
        amount_msat,
        max_fee_msat,
    } = *circular;
    let refuse = |why: &str| Err(NotSent(why.to_owned()));
    let Some(info) = to.counterparty.forwarding_info.as_ref() else {
        return refuse("the refilled channel's peer has not told its forwarding fee yet");
    };
    let Some(last_scid) = to.get_inbound_payment_scid() else {
        return refuse("the refilled channel has no short channel id yet");
    };
    if amount_msat > to.inbound_capacity_msat
        || amount_msat < to.inbound_htlc_minimum_msat.unwrap_or(0)
    {
        return refuse("the refilled channel cannot take the amount in");
    }
    if to
        .inbound_htlc_maximum_msat
        .is_some_and(|max| amount_msat > max)
    {
        return refuse("the amount is over the refilled channel's HTLC maximum");
    }
    let last_fee_msat = forwarding_fee(info, amount_msat);
    let Some(first_fee_room) = max_fee_msat.checked_sub(last_fee_msat) else {
        return refuse("the last hop's fee alone is over the fee ceiling");
    };
    let peer = to.counterparty.node_id;
    let mut params = RouteParameters::from_payment_params_and_value(
        PaymentParameters::from_node_id(peer, u32::from(info.cltv_expiry_delta))
            .with_max_path_count(1),
        amount_msat.saturating_add(last_fee_msat),
    );
    params.max_total_routing_fee_msat = Some(first_fee_room);
    let cm = &c.channel_manager;
    let us = cm.get_our_node_id();
    let mut route = c
        .router
        .find_route(&us, &params, Some(&[from]), cm.compute_inflight_htlcs())
        .map_err(|e| NotSent(format!("no route back: {e}")))?;
    let Some(path) = route.paths.first_mut() else {
        return refuse("the router found an empty route");
    };
    let Some(last) = path.hops.last_mut() else {
        return refuse("the router found an empty path");
    };
    // The hop to the peer now pays the peer's fee for `to`, and the peer holds its
    // HTLC for its own CLTV delta before forwarding to the node.
    last.fee_msat = last_fee_msat;
    last.cltv_expiry_delta = u32::from(info.cltv_expiry_delta);
    path.hops.push(RouteHop {
        pubkey: us,
        node_features: cm.node_features(),
        short_channel_id: last_scid,
        channel_features: cm.channel_features(),
        fee_msat: amount_msat,
        cltv_expiry_delta: u32::from(FINAL_CLTV_EXPIRY_DELTA),
        maybe_announced_channel: to.is_announced,
    });
    let paths = std::mem::take(&mut route.paths);
    let fees: u64 = paths.iter().map(Path::fee_msat).sum();
    if fees > max_fee_msat {
        return refuse("the route's fees are over the ceiling");
    }
    let mut route_params = RouteParameters::from_payment_params_and_value(
        PaymentParameters::from_node_id(us, u32::from(FINAL_CLTV_EXPIRY_DELTA)),
        amount_msat,
    );
    route_params.max_total_routing_fee_msat = Some(max_fee_msat);
    Ok(Route {
        paths,
        route_params: Some(route_params),
    })
}

/// What a peer whose forwarding terms are `info` charges to forward `amount_msat`: its
/// base fee plus its proportional fee, rounded down as BOLT 7 says.
pub fn forwarding_fee(info: &CounterpartyForwardingInfo, amount_msat: u64) -> u64 {
    let proportional =
        u128::from(amount_msat) * u128::from(info.fee_proportional_millionths) / 1_000_000;
    u64::from(info.fee_base_msat).saturating_add(u64::try_from(proportional).unwrap_or(u64::MAX))
}

/// Stores and sends `circular` over `route`: the pending payment and the pending
/// rebalance record in one commit, then the payment to LDK. Answers the record; a
/// payment LDK refused is settled failed at once (its waiter sees it).
pub async fn send(
    c: &Components,
    circular: &Circular<'_>,
    route: Route,
) -> Result<RebalanceRecord, NodeError> {
    let (hash, secret) = c
        .channel_manager
        .create_inbound_payment(
            Some(circular.amount_msat),
            INBOUND_EXPIRY_SECS,
            Some(FINAL_CLTV_EXPIRY_DELTA),
        )
        .map_err(|()| NodeError::InvalidRequest("LDK refused the inbound payment".into()))?;
    let id = hash.0.to_lower_hex_string();
    let now = unix_ms();
    let record = |payment_id: &str| RebalanceRecord {
        id: id.clone(),
        payment_id: payment_id.to_owned(),
        from_channel: circular.from.channel_id.to_string(),
        to_channel: circular.to.channel_id.to_string(),
        to_peer: circular.to.counterparty.node_id.to_string(),
        amount_msat: circular.amount_msat,
        max_fee_msat: circular.max_fee_msat,
        fee_paid_msat: None,
        booked_msat: None,
        pool_id: None,
        state: RebalanceState::Pending,
        failure: None,
        receipt_id: None,
        started_at_ms: now,
        ended_at_ms: None,
    };
    let started = start(
        &c.store,
        &hash.0,
        |payment_id| {
            pending(
                payment_id,
                &hash.0,
                None,
                circular.amount_msat,
                circular.max_fee_msat,
            )
        },
        |payment_id, batch| batch.create(&record(payment_id)).map(drop),
    )
    .await?;
    let attempt = match started {
        Started::New(attempt) => attempt,
        Started::Conflict(table) => {
            return Err(NodeError::InvalidRequest(format!(
                "a new rebalance's hash is already in {table}"
            )))
        }
    };
    let stored = record(&attempt.payment_id);
    let payment_id = <[u8; 32]>::from_hex(&attempt.payment_id)
        .map(PaymentId)
        .map_err(|e| NodeError::InvalidRequest(format!("payment id: {e}")))?;
    c.send_window.enter(&attempt.payment_id).await;
    let sent = c.channel_manager.send_payment_with_route(
        route,
        PaymentHash(hash.0),
        RecipientOnionFields::secret_only(PaymentSecret(secret.0)),
        payment_id,
    );
    if let Err(e) = sent {
        let code = send_failure_code(&e).to_owned();
        settle(c, &attempt.payment_id, Outcome::Failed { code }).await?;
    }
    Ok(stored)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_hops_fee_is_the_peers_base_plus_its_rate_rounded_down() {
        let info = CounterpartyForwardingInfo {
            fee_base_msat: 1_000,
            fee_proportional_millionths: 250,
            cltv_expiry_delta: 72,
        };
        assert_eq!(forwarding_fee(&info, 0), 1_000);
        assert_eq!(forwarding_fee(&info, 3_999), 1_000);
        assert_eq!(forwarding_fee(&info, 4_000), 1_001);
        assert_eq!(forwarding_fee(&info, 100_000_000), 26_000);
        let greedy = CounterpartyForwardingInfo {
            fee_base_msat: u32::MAX,
            fee_proportional_millionths: u32::MAX,
            cltv_expiry_delta: 0,
        };
        assert_eq!(forwarding_fee(&greedy, u64::MAX), u64::MAX);
    }
}
