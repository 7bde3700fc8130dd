//! An agent's record and exposure, and the CEP partition's commitments, from envelopes as
//! stored: what underwriting and the over-commit check read.
//!
//! Each envelope counts by where it stands:
//! - drawn (owed or repaid): a success of the spent amount, in the record while its last
//!   change is within 30 days;
//! - defaulted: a default weighed by its age ([`default_weight`]) and its unrecovered
//!   loss, likewise;
//! - live (open, paying, owed): its exposure (what it may still draw, or still owes),
//!   whatever its age.

use crate::envelope::{Limits, Status};
use crate::underwriting::{default_weight, Record, WINDOW_MS};

/// One envelope as the record reads it.
#[derive(Debug, Clone, Copy)]
pub struct Seen<'a> {
    /// Its limits.
    pub limits: &'a Limits,
    /// Where it stands.
    pub status: &'a Status,
    /// When its status last changed, ms since the Unix epoch.
    pub at_ms: u64,
}

/// The record of an agent whose envelopes are `envelopes`, at `now_ms`.
pub fn record<'a>(envelopes: impl IntoIterator<Item = Seen<'a>>, now_ms: u64) -> Record {
    let mut record = Record::default();
    let mut exposure_msat = 0u64;
    for seen in envelopes {
        if seen.status.is_live() {
            exposure_msat = exposure_msat.saturating_add(seen.status.exposure_msat(seen.limits));
        }
        let age = now_ms.saturating_sub(seen.at_ms);
        if age > WINDOW_MS {
            continue;
        }
        match seen.status {
            Status::Owed { draw, .. } | Status::Repaid { draw, .. } => {
                record.successes_30d = record.successes_30d.saturating_add(1);
                record.success_volume_sats_30d = record
                    .success_volume_sats_30d
                    .saturating_add(draw.spent_msat / 1000);
            }
            Status::Defaulted { .. } => {
                record.defaults_30d = record.defaults_30d.saturating_add(1);
                record.default_weight_30d = record
                    .default_weight_30d
                    .saturating_add(default_weight(age));
                record.loss_sats_30d = record
                    .loss_sats_30d
                    .saturating_add(seen.status.outstanding_msat().div_ceil(1000));
            }
            Status::Open | Status::Paying { .. } => {}
        }
    }
    record.open_exposure_sats = exposure_msat.div_ceil(1000);
    record
}

/// What `envelopes` hold back from the CEP partition's assets, msat.
pub fn reserved_msat<'a>(envelopes: impl IntoIterator<Item = Seen<'a>>) -> u64 {
    envelopes
        .into_iter()
        .map(|seen| seen.status.reserved_msat(seen.limits))
        .fold(0, u64::saturating_add)
}

/// Whether an envelope capped at `cap_msat` fits in `assets_msat` beside what is already
/// reserved: envelopes never commit more than the partition holds.
pub fn fits(assets_msat: u64, reserved_msat: u64, cap_msat: u64) -> bool {
    reserved_msat
        .checked_add(cap_msat)
        .is_some_and(|total| total <= assets_msat)
}
