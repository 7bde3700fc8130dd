//! Repaying a draw (spec §7.2: "settled by future agent earnings or by immediate fee
//! charge"): the agent asks for an invoice for what its envelope owes — the draw with its
//! routing and credit fees, or after an unrepaid default the loss — and pays it; the
//! claim steps the envelope (owed → repaid, or the loss recovered) and books the
//! repayment to the CEP partition, with the invoice marked credited in the same commit so
//! a claim is booked once.
//!
//! An invoice asks what was owed when it was made; while it is open and still owes that
//! much, asking again answers the same invoice. A payment beyond what is owed is kept as
//! credit income (the state machine's surplus).

use std::collections::HashMap;
use std::time::Duration;

use lightning::ln::channelmanager::Bolt11InvoiceParameters;
use lightning_invoice::{Bolt11InvoiceDescription, Description};
use sluice_credit::envelope::{step, Event};
use sluice_storage::{CreditEnvelopeRecord, CreditRepaymentRecord, Store, WriteBatch, KEYS_END};

use super::{actions, CreditState};
use crate::clock::unix_ms;
use crate::pool::deposits::claimed_msat;
use crate::NodeError;

/// How long a repayment invoice lasts.
pub const REPAYMENT_EXPIRY: Duration = Duration::from_secs(3_600);

/// How long after its expiry a repayment invoice is still watched: a payment that
/// arrived in time may be claimed a little later.
const WATCH_AFTER_EXPIRY_MS: u64 = 3_600_000;

/// Repayment invoices not credited yet, by payment hash (loaded at start).
#[derive(Debug, Default)]
pub struct OpenRepayments {
    by_hash: HashMap<String, CreditRepaymentRecord>,
}

impl OpenRepayments {
    /// Every repayment invoice in the store not credited yet.
    pub async fn load(store: &Store) -> Result<OpenRepayments, NodeError> {
        let all = store
            .range::<CreditRepaymentRecord>("", KEYS_END, usize::MAX, false)
            .await?;
        Ok(OpenRepayments {
            by_hash: all
                .into_iter()
                .filter(|(_, r)| r.credited_msat.is_none())
                .collect(),
        })
    }

    /// The payment hashes of every open repayment.
    pub fn hashes(&self) -> Vec<String> {
        self.by_hash.keys().cloned().collect()
    }
}

/// A repayment invoice with the envelope it repays, as the API shows them.
#[derive(Debug, Clone)]
pub struct RepaymentView {
    /// The envelope, as it stands.
    pub envelope: CreditEnvelopeRecord,
    /// The invoice.
    pub repayment: CreditRepaymentRecord,
}

/// The invoice for what `envelope_id` owes now, made or (the same one) found.
pub async fn invoice(
    state: &mut CreditState,
    envelope_id: &str,
) -> Result<RepaymentView, NodeError> {
    let record = state
        .envelopes
        .get(envelope_id)
        .cloned()
        .ok_or_else(|| NodeError::NotFound(format!("envelope {envelope_id}")))?;
    let owed = record.status.outstanding_msat();
    if owed == 0 {
        return Err(NodeError::NothingOwed(format!(
            "{envelope_id} is {} and owes nothing",
            record.status.name()
        )));
    }
    let now = unix_ms();
    // An invoice still open for what is owed now answers again; keep a minute of its
    // life for the payer.
    if let Some(open) =
        state.repayments.by_hash.values().find(|r| {
            r.envelope_id == envelope_id && r.msat == owed && r.expires_at_ms > now + 60_000
        })
    {
        return Ok(RepaymentView {
            envelope: record,
            repayment: open.clone(),
        });
    }
    let c = state.components.clone();
    let description = Description::new(format!("repay credit envelope {envelope_id}"))
        .map_err(|e| NodeError::Invoice(format!("description: {e}")))?;
    let expiry_secs = REPAYMENT_EXPIRY.as_secs();
    let params = Bolt11InvoiceParameters {
        amount_msats: Some(owed),
        description: Bolt11InvoiceDescription::Direct(description),
        invoice_expiry_delta_secs: u32::try_from(expiry_secs).ok(),
        ..Default::default()
    };
    let made = c
        .channel_manager
        .create_bolt11_invoice(params)
        .map_err(|e| NodeError::Invoice(format!("{e:?}")))?;
    let repayment = CreditRepaymentRecord {
        payment_hash: made.payment_hash().to_string(),
        envelope_id: envelope_id.to_owned(),
        invoice: made.to_string(),
        msat: owed,
        created_at_ms: now,
        expires_at_ms: now.saturating_add(expiry_secs.saturating_mul(1000)),
        credited_msat: None,
        credited_at_ms: None,
    };
    let mut batch = WriteBatch::new();
    batch.create(&repayment)?;
    c.store.commit(batch).await?;
    tracing::info!(
        envelope_id,
        owed_msat = owed,
        "credit repayment invoice made"
    );
    state
        .repayments
        .by_hash
        .insert(repayment.payment_hash.clone(), repayment.clone());
    Ok(RepaymentView {
        envelope: record,
        repayment,
    })
}

/// A payment to the node was claimed: if it pays a repayment invoice, books it.
pub async fn claimed(state: &mut CreditState, payment_hash: &str) -> Result<(), NodeError> {
    let Some(repayment) = state.repayments.by_hash.get(payment_hash).cloned() else {
        return Ok(());
    };
    let c = state.components.clone();
    let Some(received) = claimed_msat(&c, payment_hash).await? else {
        return Ok(());
    };
    let record = state
        .envelopes
        .get(&repayment.envelope_id)
        .cloned()
        .ok_or_else(|| NodeError::NotFound(format!("envelope {}", repayment.envelope_id)))?;
    let now = unix_ms();
    let (next, steps) = step(
        &record.limits,
        &record.status,
        Event::Repaid { msat: received },
        now,
    )
    .map_err(|e| NodeError::Ledger(format!("envelope {}: {e}", record.envelope_id)))?;
    let mut batch = WriteBatch::new();
    batch.put(&CreditRepaymentRecord {
        credited_msat: Some(received),
        credited_at_ms: Some(now),
        ..repayment
    })?;
    let updated = CreditEnvelopeRecord {
        updated_at_ms: if next == record.status {
            record.updated_at_ms
        } else {
            now
        },
        status: next,
        ..record
    };
    let updated = actions::commit(state, updated, &steps, None, batch).await?;
    state.repayments.by_hash.remove(payment_hash);
    metrics::counter!("sluice_credit_repaid_msat_total").increment(received);
    tracing::info!(envelope_id = %updated.envelope_id, received_msat = received,
        state = updated.status.name(), "credit repayment booked");
    Ok(())
}

/// Books the repayments claimed while nobody was told (the node was down, or the message
/// was lost) and forgets the invoices that expired unpaid a while ago.
pub async fn sweep(state: &mut CreditState) {
    let now = unix_ms();
    for payment_hash in state.repayments.hashes() {
        if let Err(e) = claimed(state, &payment_hash).await {
            tracing::warn!(%payment_hash, error = %e, "booking a repayment failed; trying again");
            continue;
        }
        let expired = state
            .repayments
            .by_hash
            .get(&payment_hash)
            .is_some_and(|r| r.expires_at_ms.saturating_add(WATCH_AFTER_EXPIRY_MS) < now);
        if expired {
            state.repayments.by_hash.remove(&payment_hash);
        }
    }
}
