//! The envelope ledger's tick: envelopes whose time ran out default (an open envelope
//! past its expiry, nothing paid; a draw past its repayment deadline, its outstanding
//! amount written off), each with its `default_notice`; a paying envelope without a task
//! paying it (after a restart, or a booking that failed) gets one again.

use ractor::ActorRef;
use sluice_credit::envelope::{step, Event, Status};
use sluice_storage::{CreditEnvelopeRecord, WriteBatch};

use super::{actions, pay, CreditConfig, CreditMsg, CreditState};
use crate::clock::unix_ms;

/// Defaults what is due and restarts the payments that lost their task.
pub async fn tick(state: &mut CreditState, config: &CreditConfig, myself: &ActorRef<CreditMsg>) {
    let now = unix_ms();
    let due: Vec<CreditEnvelopeRecord> = state
        .envelopes
        .all()
        .filter(|e| match &e.status {
            Status::Open => now > e.limits.exp_ms,
            Status::Owed { .. } => now > e.limits.repay_by_ms,
            Status::Paying { settlement } => !state.paying.contains(&settlement.settlement_id),
            Status::Repaid { .. } | Status::Defaulted { .. } => false,
        })
        .cloned()
        .collect();
    for record in due {
        if let Status::Paying { .. } = record.status {
            pay::start(state, myself, &record);
            continue;
        }
        let envelope_id = record.envelope_id.clone();
        let (next, steps) = match step(&record.limits, &record.status, Event::Tick, now) {
            Ok(stepped) => stepped,
            Err(e) => {
                tracing::error!(%envelope_id, error = %e, "an envelope's tick was refused");
                continue;
            }
        };
        if next == record.status {
            continue;
        }
        let updated = CreditEnvelopeRecord {
            status: next,
            updated_at_ms: now,
            ..record
        };
        match actions::commit(state, updated, &steps, None, WriteBatch::new()).await {
            Ok(record) => tracing::warn!(%envelope_id, state = record.status.name(),
                loss_msat = record.status.outstanding_msat(), "credit envelope defaulted on time"),
            Err(e) => tracing::warn!(%envelope_id, error = %e,
                "defaulting an envelope failed; the next tick tries again"),
        }
    }
    state.judge_losses(config);
    if let Err(e) = state.judge_lightning(config).await {
        tracing::warn!(error = %e, "judging the credit Lightning breaker failed");
    }
}
