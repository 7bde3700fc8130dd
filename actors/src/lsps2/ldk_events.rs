//! LDK's events that concern JIT channels: each is handed to lightning-liquidity, and
//! what changes an order is recorded by the [`Lsps2Service`](super::Lsps2Service) before the
//! event counts as handled (an error makes LDK replay it).

use bitcoin::hex::DisplayHex;
use bitcoin::secp256k1::PublicKey;
use bitcoin::Transaction;
use lightning::events::HTLCHandlingFailureType;
use lightning::ln::channelmanager::InterceptId;
use lightning::ln::types::ChannelId;
use lightning::types::payment::PaymentHash;

use sluice_storage::HeldHtlc;

use super::{Lsps2Msg, CALL_TIMEOUT};
use crate::{Components, NodeError};

/// An HTLC reached an intercept SCID. lightning-liquidity holds it (or forwards it over the
/// client's channel); one for an SCID the service never sold is failed back at once. While
/// the service actor is not running (it finishes what a restart left half done before it
/// takes messages) the error makes LDK replay the event.
pub async fn htlc_intercepted(
    c: &Components,
    intercept_scid: u64,
    intercept_id: InterceptId,
    expected_outbound_amount_msat: u64,
    payment_hash: PaymentHash,
) -> Result<(), NodeError> {
    let Some(handler) = c.liquidity.lsps2_service_handler() else {
        let _ = c.channel_manager.fail_intercepted_htlc(intercept_id);
        metrics::counter!("sluice_lsps2_unknown_scid_htlcs_total").increment(1);
        return Ok(());
    };
    // Recorded with its order first, so a restart before LDK writes its own state can
    // finish what lightning-liquidity started (see `recovery`).
    let htlc = HeldHtlc {
        intercept_id: intercept_id.0.to_lower_hex_string(),
        payment_hash: payment_hash.0.to_lower_hex_string(),
        expected_outbound_msat: expected_outbound_amount_msat,
    };
    let sold = c
        .actors
        .lsps2
        .call(
            |reply| Lsps2Msg::Intercepted {
                intercept_scid,
                htlc,
                reply,
            },
            CALL_TIMEOUT,
        )
        .await?;
    // The event replays after a restart even when the HTLC was since failed back (the
    // service, before it answered above, failed the HTLCs of an open lost in the restart):
    // one LDK no longer holds is done with.
    let Some(inbound_msat) = c
        .channel_manager
        .intercepted_htlc_inbound_amount_msat(intercept_id)
    else {
        tracing::debug!(intercept_scid, "LSPS2: an intercepted HTLC no longer held");
        return Ok(());
    };
    // A payer asking to forward more than it sent would have the LSP pay the difference.
    // lightning-liquidity refuses it too, but keeps the SCID; refused here, the only
    // errors it returns below are the ones that drop the SCID.
    if expected_outbound_amount_msat > inbound_msat {
        tracing::info!(
            intercept_scid,
            expected_outbound_amount_msat,
            inbound_msat,
            "LSPS2: an HTLC asks to forward more than it brought"
        );
        let _ = c.channel_manager.fail_intercepted_htlc(intercept_id);
        metrics::counter!("sluice_lsps2_refusals_total", "reason" => "overstated_amount")
            .increment(1);
        return Ok(());
    }
    let handed = handler
        .htlc_intercepted(
            intercept_scid,
            intercept_id,
            expected_outbound_amount_msat,
            payment_hash,
        )
        .await;
    if let Err(e) = handed {
        // lightning-liquidity failed the HTLC back and dropped the SCID (the payment broke
        // the offer's terms), or could not forward or store it.
        tracing::info!(intercept_scid, error = ?e, "LSPS2: intercepted HTLC refused");
        let reason = match e {
            lightning::util::errors::APIError::APIMisuseError { err } => err,
            other => format!("{other:?}"),
        };
        let _ = c.actors.lsps2.cast(Lsps2Msg::Rejected {
            intercept_scid,
            reason,
        });
    }
    if !sold {
        // Already failed (or forwarded) by lightning-liquidity if it knew the SCID.
        let _ = c.channel_manager.fail_intercepted_htlc(intercept_id);
        metrics::counter!("sluice_lsps2_unknown_scid_htlcs_total").increment(1);
    }
    Ok(())
}

/// A channel is ready: the service forwards a JIT order's held payment over it (through
/// lightning-liquidity), once the client is connected.
pub async fn channel_ready(
    c: &Components,
    user_channel_id: u128,
    channel_id: ChannelId,
    counterparty: PublicKey,
) -> Result<(), NodeError> {
    if c.liquidity.lsps2_service_handler().is_none() {
        return Ok(());
    }
    let ready = |reply| Lsps2Msg::ChannelReady {
        user_channel_id,
        channel_id,
        counterparty,
        reply,
    };
    c.actors.lsps2.call(ready, CALL_TIMEOUT).await?
}

/// A payment was forwarded; over a JIT channel with a fee skimmed, the order earned it.
pub async fn payment_forwarded(
    c: &Components,
    next_channel_id: Option<ChannelId>,
    next_user_channel_id: Option<u128>,
    skimmed_fee_msat: Option<u64>,
) -> Result<(), NodeError> {
    let (Some(handler), Some(channel_id)) = (c.liquidity.lsps2_service_handler(), next_channel_id)
    else {
        return Ok(());
    };
    let skimmed = skimmed_fee_msat.unwrap_or(0);
    if let Err(e) = handler.payment_forwarded(channel_id, skimmed).await {
        tracing::warn!(%channel_id, error = ?e, "LSPS2: a forward over a JIT channel not applied");
    }
    match next_user_channel_id {
        Some(user_channel_id) if skimmed > 0 => {
            let recorded = |reply| Lsps2Msg::Skimmed {
                user_channel_id,
                skimmed_fee_msat: skimmed,
                reply,
            };
            c.actors.lsps2.call(recorded, CALL_TIMEOUT).await?
        }
        _ => Ok(()),
    }
}

/// An HTLC could not be handled: lightning-liquidity may try the next one it holds.
pub async fn htlc_handling_failed(c: &Components, failure_type: HTLCHandlingFailureType) {
    if let Some(handler) = c.liquidity.lsps2_service_handler() {
        if let Err(e) = handler.htlc_handling_failed(failure_type).await {
            tracing::debug!(error = ?e, "LSPS2: HTLC handling failure not applied");
        }
    }
}

/// A channel closed; a JIT channel closed before use fails its open.
pub async fn channel_closed(
    c: &Components,
    user_channel_id: u128,
    counterparty: Option<PublicKey>,
    reason: String,
) -> Result<(), NodeError> {
    let (Some(_), Some(counterparty)) = (c.liquidity.lsps2_service_handler(), counterparty) else {
        return Ok(());
    };
    let closed = |reply| Lsps2Msg::ChannelClosed {
        user_channel_id,
        counterparty,
        reason,
        reply,
    };
    c.actors.lsps2.call(closed, CALL_TIMEOUT).await?
}

/// Whether the funding transaction of this channel must wait for the client to claim the
/// fee (client-trusts-LSP); if so, it is handed to lightning-liquidity to hold.
pub fn hold_funding(
    c: &Components,
    user_channel_id: u128,
    counterparty: &PublicKey,
    funding: &Transaction,
) -> bool {
    let Some(handler) = c.liquidity.lsps2_service_handler() else {
        return false;
    };
    if !handler
        .channel_needs_manual_broadcast(user_channel_id, counterparty)
        .unwrap_or(false)
    {
        return false;
    }
    match handler.store_funding_transaction(user_channel_id, counterparty, funding.clone()) {
        Ok(()) => true,
        Err(e) => {
            tracing::error!(error = ?e, "LSPS2: holding a funding transaction failed");
            false
        }
    }
}

/// LDK says the held funding transaction may be broadcast once lightning-liquidity agrees
/// (the client claimed the fee).
pub fn funding_broadcast_safe(c: &Components, user_channel_id: u128, counterparty: &PublicKey) {
    if let Some(handler) = c.liquidity.lsps2_service_handler() {
        if let Err(e) = handler.set_funding_tx_broadcast_safe(user_channel_id, counterparty) {
            tracing::debug!(error = ?e, "LSPS2: funding broadcast-safe not applied");
        }
    }
}
