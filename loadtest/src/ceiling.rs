//! The machine's signature-bound ceiling: how many payments per second it could make if
//! secp256k1 signing and verifying were the only work, measured in the same run as the
//! load so the figure and the throughput share their conditions.
//!
//! What one payment costs in signatures is *counted*: every node's signer counts the
//! signatures it makes and the counterparty signatures it is handed on its own
//! commitments (`sluice_actors::keys`), and the run divides their growth by the payments
//! that succeeded. The count is what LDK really did: each `commitment_signed` signs the
//! commitment and every HTLC output pending in it, so under load a payment's HTLC is
//! re-signed in every commitment made while it is pending, and several payments share
//! one commitment signature. The unbatched protocol cost is reported beside it: on every
//! channel a payment crosses, the HTLC is added in one round of `commitment_signed` both
//! ways and removed in another, four commitment signatures plus one HTLC signature in
//! each of the two commitments that hold it, six made and six verified; the payee signs
//! the invoice and the payer checks it (one more of each). A quoted payment's receipt is
//! one BIP-340 signature.

use std::time::{Duration, Instant};

use bitcoin::hashes::{sha256, Hash};
use bitcoin::secp256k1::{Keypair, Message, PublicKey, Secp256k1, SecretKey};
use serde::Serialize;
use sluice_harness::Manifest;

use crate::Error;

/// ECDSA signatures made (and verified) per channel a payment crosses.
pub const SIGNATURES_PER_HOP: u64 = 6;
/// Operations per timed batch, and batches timed; the fastest batch counts.
const BATCH: u32 = 400;
const BATCHES: u32 = 5;

/// What one signature operation costs on this machine, on one core.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SignatureCosts {
    /// One ECDSA signature (low-R, as LDK makes them), µs.
    pub ecdsa_sign_us: f64,
    /// One ECDSA verification, µs.
    pub ecdsa_verify_us: f64,
    /// One BIP-340 Schnorr signature, µs.
    pub schnorr_sign_us: f64,
}

/// Times each operation over fixed keys and messages.
pub fn measure() -> Result<SignatureCosts, Error> {
    let secp = Secp256k1::new();
    let digest = |i: u32, tag: &str| sha256::Hash::hash(format!("{tag}{i}").as_bytes());
    let key = SecretKey::from_slice(digest(0, "sluice/ceiling/key").as_byte_array())
        .map_err(|e| Error::Unexpected(format!("the calibration key: {e}")))?;
    let public = PublicKey::from_secret_key(&secp, &key);
    let keypair = Keypair::from_secret_key(&secp, &key);
    let messages: Vec<Message> = (0..BATCH)
        .map(|i| Message::from_digest(digest(i, "sluice/ceiling/message").to_byte_array()))
        .collect();
    let signatures: Vec<_> = messages
        .iter()
        .map(|m| secp.sign_ecdsa_low_r(m, &key))
        .collect();

    let fastest = |op: &mut dyn FnMut(usize) -> bool| -> Result<f64, Error> {
        let mut best = Duration::MAX;
        for _ in 0..BATCHES {
            let started = Instant::now();
            for i in 0..messages.len() {
                if !op(i) {
                    return Err(Error::Unexpected("a calibration signature failed".into()));
                }
            }
            best = best.min(started.elapsed());
        }
        Ok(best.as_secs_f64() * 1e6 / f64::from(BATCH))
    };
    Ok(SignatureCosts {
        ecdsa_sign_us: fastest(&mut |i| {
            std::hint::black_box(secp.sign_ecdsa_low_r(&messages[i], &key));
            true
        })?,
        ecdsa_verify_us: fastest(&mut |i| {
            secp.verify_ecdsa(&messages[i], &signatures[i], &public)
                .is_ok()
        })?,
        schnorr_sign_us: fastest(&mut |i| {
            std::hint::black_box(secp.sign_schnorr_no_aux_rand(&messages[i], &keypair));
            true
        })?,
    })
}

/// Signatures counted by the nodes' signers over a run (summed over the nodes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counted {
    /// ECDSA (and BIP-340, for BOLT12 invoices) signatures made with channel or node keys.
    pub made: u64,
    /// Counterparty signatures on the nodes' own commitments, each verified by LDK.
    pub checked: u64,
    /// The payments that succeeded meanwhile.
    pub payments: u64,
}

impl Counted {
    /// The signatures counted between `before` and `self`, over `payments`.
    pub fn since(self, before: Counted, payments: u64) -> Counted {
        Counted {
            made: self.made.saturating_sub(before.made),
            checked: self.checked.saturating_sub(before.checked),
            payments,
        }
    }
}

/// The signers' counters in each node's `/metrics` (`sluice_actors::keys`).
const MADE_METRIC: &str = "sluice_signatures_made_total";
const CHECKED_METRIC: &str = "sluice_signatures_checked_total";

/// The signatures the nodes of `cluster` have counted since they started, summed
/// (`payments` 0).
pub fn counted_so_far(cluster: &Manifest) -> Result<Counted, Error> {
    let mut sum = Counted::default();
    for node in &cluster.nodes {
        let counts = node.client().metrics(&[MADE_METRIC, CHECKED_METRIC])?;
        let count = |i: usize| counts.get(i).copied().flatten().map_or(0, |v| v as u64);
        sum.made += count(0);
        sum.checked += count(1);
    }
    Ok(sum)
}

/// The ceiling and the run's place under it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ceiling {
    /// The measured costs.
    pub costs: SignatureCosts,
    /// Channels crossed per payment, averaged over the payer→payee pairs (fewest hops).
    pub hops_per_payment: f64,
    /// ECDSA signatures made (and as many verified) per payment by the unbatched protocol.
    pub unbatched_ecdsa_per_payment: f64,
    /// What the signers counted, when the nodes reported it and a payment succeeded.
    pub counted: Option<Counted>,
    /// ECDSA signatures made per payment: counted, or else the unbatched figure.
    pub ecdsa_made_per_payment: f64,
    /// ECDSA signatures verified per payment: the counterparty signatures counted plus
    /// the payer's check of the invoice, or else the unbatched figure.
    pub ecdsa_verified_per_payment: f64,
    /// Schnorr signatures per payment (the receipt of a quoted payment).
    pub schnorr_signatures_per_payment: f64,
    /// CPU time of one payment's signature work, µs.
    pub cpu_us_per_payment: f64,
    /// Cores of the machine, all of which the nodes share.
    pub cores: usize,
    /// Payments per second if signature work were all there is, on every core.
    pub ceiling_pps: f64,
    /// The run's throughput as a fraction of the ceiling.
    pub fraction: f64,
}

/// The ceiling for payments crossing `hops_per_payment` channels on average, with a
/// receipt each if `receipts`, against `throughput_pps`; from the signatures `counted`
/// where there are any.
pub fn ceiling(
    costs: SignatureCosts,
    hops_per_payment: f64,
    counted: Option<Counted>,
    receipts: bool,
    cores: usize,
    throughput_pps: f64,
) -> Ceiling {
    // The invoice: signed by the payee, checked by the payer.
    let unbatched = SIGNATURES_PER_HOP as f64 * hops_per_payment + 1.0;
    let counted = counted.filter(|c| c.payments > 0);
    let (made, verified) = match counted {
        Some(c) => (
            c.made as f64 / c.payments as f64,
            // The signers do not see the payer's check of the invoice.
            c.checked as f64 / c.payments as f64 + 1.0,
        ),
        None => (unbatched, unbatched),
    };
    let schnorr = if receipts { 1.0 } else { 0.0 };
    let cpu_us = made * costs.ecdsa_sign_us
        + verified * costs.ecdsa_verify_us
        + schnorr * costs.schnorr_sign_us;
    let ceiling_pps = cores as f64 * 1e6 / cpu_us.max(f64::MIN_POSITIVE);
    Ceiling {
        costs,
        hops_per_payment,
        unbatched_ecdsa_per_payment: unbatched,
        counted,
        ecdsa_made_per_payment: made,
        ecdsa_verified_per_payment: verified,
        schnorr_signatures_per_payment: schnorr,
        cpu_us_per_payment: cpu_us,
        cores,
        ceiling_pps,
        fraction: throughput_pps / ceiling_pps,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_unbatched_ceiling_counts_six_signatures_a_hop_the_invoice_and_the_receipt() {
        let costs = SignatureCosts {
            ecdsa_sign_us: 30.0,
            ecdsa_verify_us: 20.0,
            schnorr_sign_us: 10.0,
        };
        // Two hops: 12 + 1 ECDSA pairs at 50 µs, one receipt at 10 µs = 660 µs.
        let c = ceiling(costs, 2.0, None, true, 2, 303.0);
        assert_eq!(c.ecdsa_made_per_payment, 13.0);
        assert_eq!(c.ecdsa_verified_per_payment, 13.0);
        assert!((c.cpu_us_per_payment - 660.0).abs() < 1e-9);
        assert!((c.ceiling_pps - 2e6 / 660.0).abs() < 1e-6);
        assert!((c.fraction - 303.0 / c.ceiling_pps).abs() < 1e-12);
        let direct = ceiling(costs, 2.0, None, false, 2, 0.0);
        assert!((direct.cpu_us_per_payment - 650.0).abs() < 1e-9);
    }

    #[test]
    fn counted_signatures_replace_the_unbatched_figure() {
        let costs = SignatureCosts {
            ecdsa_sign_us: 30.0,
            ecdsa_verify_us: 20.0,
            schnorr_sign_us: 10.0,
        };
        let counted = Counted {
            made: 4_000,
            checked: 3_000,
            payments: 100,
        };
        let c = ceiling(costs, 2.0, Some(counted), true, 2, 100.0);
        assert_eq!(c.unbatched_ecdsa_per_payment, 13.0);
        assert_eq!(c.ecdsa_made_per_payment, 40.0);
        // 30 counterparty signatures and the invoice.
        assert_eq!(c.ecdsa_verified_per_payment, 31.0);
        // 40 × 30 + 31 × 20 + 10 = 1,830 µs.
        assert!((c.cpu_us_per_payment - 1830.0).abs() < 1e-9);
        // No payment succeeded: nothing to divide by, so the unbatched figure stands.
        let none = Counted {
            payments: 0,
            ..counted
        };
        let c = ceiling(costs, 2.0, Some(none), true, 2, 0.0);
        assert_eq!((c.counted, c.ecdsa_made_per_payment), (None, 13.0));
    }

    #[test]
    fn measured_costs_are_positive() {
        let costs = measure().unwrap();
        assert!(costs.ecdsa_sign_us > 0.0);
        assert!(costs.ecdsa_verify_us > 0.0);
        assert!(costs.schnorr_sign_us > 0.0);
    }
}
