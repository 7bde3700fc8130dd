//! The credit routes' answers (`sluice_api_types::credit`), built from what the envelope
//! ledger reports: intent, offer and envelope records, settlements, repayment invoices,
//! an agent's exposure and the credit health become the OpenAgents wire shapes, with
//! times as RFC 3339 and amounts in sat where OpenAgents counts sat.

use sluice_actors::credit::{CreditHealth, EnvelopeView, Exposure, RepaymentView, SettleView};
use sluice_api::time::rfc3339_ms;
use sluice_api_types::{
    CreditAgentExposureResponse, CreditBreakers, CreditEnvelope, CreditEnvelopeResponse,
    CreditHealthResponse, CreditIntent, CreditIntentResponse, CreditOffer, CreditOfferResponse,
    CreditPolicy, CreditRepaymentResponse, CreditScopeFees, CreditSettleResponse,
    CreditUnderwriting, CREDIT_AGENT_EXPOSURE_RESPONSE_SCHEMA, CREDIT_ENVELOPE_RESPONSE_SCHEMA,
    CREDIT_HEALTH_RESPONSE_SCHEMA, CREDIT_INTENT_RESPONSE_SCHEMA, CREDIT_OFFER_RESPONSE_SCHEMA,
    CREDIT_REPAYMENT_RESPONSE_SCHEMA, CREDIT_SETTLE_RESPONSE_SCHEMA,
};
use sluice_credit::breaker;
use sluice_credit::envelope::{Draw, Status};
use sluice_storage::{CreditIntentRecord, CreditOfferRecord, OfferStatus};

/// The wire name of an offer's status.
fn offer_status_name(status: OfferStatus) -> &'static str {
    match status {
        OfferStatus::Offered => "offered",
        OfferStatus::Accepted => "accepted",
    }
}

/// A filed intent on the wire.
pub fn intent(record: CreditIntentRecord) -> CreditIntentResponse {
    CreditIntentResponse {
        schema: CREDIT_INTENT_RESPONSE_SCHEMA.to_owned(),
        intent: CreditIntent {
            intent_id: record.intent_id,
            idempotency_key: record.idempotency_key,
            agent_id: record.agent_id,
            scope_type: record.scope_type.as_str().to_owned(),
            scope_id: record.scope_id,
            max_sats: record.max_sats,
            exp: rfc3339_ms(record.exp_ms),
            created_at: rfc3339_ms(record.created_at_ms),
        },
    }
}

/// An offer on the wire, with underwriting's decision and the record it was made on.
pub fn offer(record: CreditOfferRecord) -> CreditOfferResponse {
    let terms = record.terms;
    CreditOfferResponse {
        schema: CREDIT_OFFER_RESPONSE_SCHEMA.to_owned(),
        offer: CreditOffer {
            offer_id: record.offer_id,
            agent_id: record.agent_id,
            pool_id: record.pool_id,
            intent_id: record.intent_id,
            scope_type: record.scope_type.as_str().to_owned(),
            scope_id: record.scope_id,
            max_sats: record.max_sats,
            fee_bps: record.fee_bps,
            // The envelope ledger makes no offer without a verifier.
            requires_verifier: true,
            exp: rfc3339_ms(record.exp_ms),
            status: offer_status_name(record.status).to_owned(),
            issued_at: rfc3339_ms(record.issued_at_ms),
            underwriting: CreditUnderwriting {
                limit_sats: terms.limit_sats,
                fee_bps: terms.fee_bps,
                default_rate_bps: terms.default_rate_bps,
                successes_30d: terms.record.successes_30d,
                success_volume_sats_30d: terms.record.success_volume_sats_30d,
                defaults_30d: terms.record.defaults_30d,
                default_weight_30d: terms.record.default_weight_30d,
                loss_sats_30d: terms.record.loss_sats_30d,
                open_exposure_sats: terms.record.open_exposure_sats,
            },
        },
    }
}

/// What was paid for an envelope's draw, once the provider was paid.
fn draw_of(status: &Status) -> Option<&Draw> {
    match status {
        Status::Owed { draw, .. } | Status::Repaid { draw, .. } => Some(draw),
        Status::Defaulted { draw, .. } => draw.as_ref(),
        Status::Open | Status::Paying { .. } => None,
    }
}

/// An envelope on the wire, with its signed issue receipt: its terms, where it stands,
/// what it drew and owes, how it defaulted, and the ids of its receipts and payment.
pub fn envelope(view: EnvelopeView) -> CreditEnvelopeResponse {
    let record = view.record;
    let draw = draw_of(&record.status).copied();
    let (default_reason, loss_msats, recovered_msats) = match &record.status {
        Status::Defaulted {
            reason,
            loss_msat,
            recovered_msat,
            ..
        } => (
            Some(reason.as_str().to_owned()),
            Some(*loss_msat),
            Some(*recovered_msat),
        ),
        _ => (None, None, None),
    };
    CreditEnvelopeResponse {
        schema: CREDIT_ENVELOPE_RESPONSE_SCHEMA.to_owned(),
        envelope: CreditEnvelope {
            envelope_id: record.envelope_id,
            offer_id: record.offer_id,
            agent_id: record.agent_id,
            pool_id: record.pool_id,
            provider_id: record.provider_id,
            scope_type: record.scope_type.as_str().to_owned(),
            scope_id: record.scope_id,
            // Issued from an offer in whole sat, so the cap is a whole number of sat.
            max_sats: record.limits.cap_msat / 1000,
            fee_bps: record.limits.fee_bps,
            exp: rfc3339_ms(record.limits.exp_ms),
            repay_by: rfc3339_ms(record.limits.repay_by_ms),
            status: record.status.name().to_owned(),
            issued_at: rfc3339_ms(record.issued_at_ms),
            outstanding_msats: record.status.outstanding_msat(),
            settlement_id: record.status.settlement().map(|s| s.settlement_id.clone()),
            spent_msats: draw.map(|d| d.spent_msat),
            owed_msats: draw.map(|d| d.owed_msat()),
            default_reason,
            loss_msats,
            recovered_msats,
            settlement_receipt_id: record.settlement_receipt_id,
            default_notice_id: record.default_notice_id,
            payment_id: record.payment_id,
        },
        receipt: view.issue_receipt,
    }
}

/// Msat as whole sat, rounded up: what is charged or lost is never shown as less.
fn sats_up(msat: u64) -> u64 {
    msat.div_ceil(1000)
}

/// A settlement on the wire, with its signed receipt. What the provider was paid is shown
/// in sat rounded down (never more than was paid); the fees (routing and credit
/// together) and a loss rounded up (never less than is owed or lost); the msat figures
/// are exact.
pub fn settle(view: SettleView) -> CreditSettleResponse {
    CreditSettleResponse {
        schema: CREDIT_SETTLE_RESPONSE_SCHEMA.to_owned(),
        envelope_id: view.envelope_id,
        settlement_id: view.settlement_id,
        outcome: view.outcome.as_str().to_owned(),
        spent_sats: view.spent_msat / 1000,
        fee_sats: sats_up(view.routing_fee_msat.saturating_add(view.credit_fee_msat)),
        spent_msats: view.spent_msat,
        routing_fee_msats: view.routing_fee_msat,
        credit_fee_msats: view.credit_fee_msat,
        loss_sats: sats_up(view.loss_msat),
        verification_receipt_sha256: view.verification_receipt_sha256,
        // Mode 1 and 2 pay the provider directly; the settlement receipt carries the
        // payment. Only a settlement paid through a quote has an `invoice_pay_receipt`.
        liquidity_receipt_sha256: view.liquidity_receipt_sha256,
        payment_id: view.payment_id,
        receipt: view.receipt,
    }
}

/// A repayment invoice on the wire, with the state of the envelope it repays. What it asks
/// is shown in sat rounded up (never less than is owed); the msat figure is exact.
pub fn repayment(view: RepaymentView) -> CreditRepaymentResponse {
    let repayment = view.repayment;
    CreditRepaymentResponse {
        schema: CREDIT_REPAYMENT_RESPONSE_SCHEMA.to_owned(),
        envelope_id: repayment.envelope_id,
        status: view.envelope.status.name().to_owned(),
        owed_msats: repayment.msat,
        owed_sats: sats_up(repayment.msat),
        invoice_bolt11: repayment.invoice,
        payment_hash: repayment.payment_hash,
        expires_at: rfc3339_ms(repayment.expires_at_ms),
        created_at: rfc3339_ms(repayment.created_at_ms),
    }
}

/// An agent's exposure on the wire.
pub fn exposure(exposure: Exposure) -> CreditAgentExposureResponse {
    let fee_of = |name: &str| {
        exposure
            .fee_bps
            .iter()
            .find(|(scope, _)| scope.as_str() == name)
            .map_or(0, |(_, fee_bps)| *fee_bps)
    };
    let underwriting_fee_bps = CreditScopeFees {
        nip90: fee_of("nip90"),
        l402: fee_of("l402"),
        skill: fee_of("skill"),
    };
    let record = exposure.record;
    CreditAgentExposureResponse {
        schema: CREDIT_AGENT_EXPOSURE_RESPONSE_SCHEMA.to_owned(),
        agent_id: exposure.agent_id,
        open_envelope_count: exposure.live_envelopes,
        open_exposure_sats: record.open_exposure_sats,
        settled_count_30d: record.successes_30d,
        success_volume_sats_30d: record.success_volume_sats_30d,
        default_count_30d: record.defaults_30d,
        loss_sats_30d: record.loss_sats_30d,
        underwriting_limit_sats: exposure.limit_sats,
        underwriting_default_rate_bps: exposure.default_rate_bps,
        underwriting_fee_bps,
        requires_verifier: true,
        computed_at: rfc3339_ms(exposure.computed_at_ms),
    }
}

/// The credit health on the wire.
pub fn health(health: CreditHealth) -> CreditHealthResponse {
    let halt_new_envelopes = health.loss_breaker == breaker::State::Tripped;
    let config = health.config;
    CreditHealthResponse {
        schema: CREDIT_HEALTH_RESPONSE_SCHEMA.to_owned(),
        generated_at: rfc3339_ms(health.computed_at_ms),
        open_envelope_count: health.live_envelopes,
        reserved_commitments_msats: health.reserved_msat,
        loss_sample: health.loss_window.samples,
        loss_count: health.loss_window.bad,
        loss_rate_bps: health.loss_window.bad_bps(),
        ln_sample: health.ln_window.samples,
        ln_failed_count: health.ln_window.bad,
        ln_failure_rate_bps: health.ln_window.bad_bps(),
        breakers: CreditBreakers {
            halt_new_envelopes,
            hold_large_settlements: health.ln_breaker == breaker::State::Tripped,
        },
        policy: CreditPolicy {
            base_sats: config.base_sats,
            k: config.k,
            default_penalty_sats: config.default_penalty_sats,
            loss_penalty: config.loss_penalty,
            max_envelope_sats: config.max_envelope_sats,
            min_fee_bps: config.min_fee_bps,
            max_fee_bps: config.max_fee_bps,
            fee_scaler: config.fee_scaler,
            nip90_surcharge_bps: config.nip90_surcharge_bps,
            l402_surcharge_bps: config.l402_surcharge_bps,
            skill_surcharge_bps: config.skill_surcharge_bps,
            max_open_envelopes_per_agent: config.max_open_envelopes_per_agent,
            max_offer_ttl_secs: config.max_offer_ttl.as_secs(),
            repay_within_secs: config.repay_within.as_secs(),
            loss_window: config.loss_window,
            loss_min_samples: config.loss_min_samples,
            loss_trip_bps: config.loss_trip_bps,
            loss_clear_bps: config.loss_clear_bps,
            large_settlement_sats: config.large_settlement_sats,
            ln_window: config.ln_window,
            ln_min_samples: config.ln_min_samples,
            ln_trip_bps: config.ln_trip_bps,
            ln_clear_bps: config.ln_clear_bps,
        },
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use sluice_actors::credit::{CreditConfig, SettleOutcome};
    use sluice_credit::envelope::{DefaultReason, Settlement};
    use sluice_storage::{CreditEnvelopeRecord, CreditRepaymentRecord};

    use super::*;

    fn health_with(loss_breaker: breaker::State) -> CreditHealth {
        CreditHealth {
            live_envelopes: 2,
            reserved_msat: 5_000_000,
            loss_window: breaker::Window {
                samples: 10,
                bad: 6,
            },
            loss_breaker,
            ln_window: breaker::Window::default(),
            ln_breaker: breaker::State::Closed,
            config: CreditConfig::default(),
            computed_at_ms: 1_700_000_000_000,
        }
    }

    #[test]
    fn health_shows_the_breaker_and_the_policy() {
        let tripped = health(health_with(breaker::State::Tripped));
        assert!(tripped.breakers.halt_new_envelopes);
        assert_eq!(
            (
                tripped.loss_sample,
                tripped.loss_count,
                tripped.loss_rate_bps
            ),
            (10, 6, 6_000)
        );
        assert_eq!(tripped.reserved_commitments_msats, 5_000_000);
        assert_eq!(tripped.policy.max_offer_ttl_secs, 3_600);
        assert_eq!(tripped.policy.repay_within_secs, 86_400);
        assert_eq!(tripped.generated_at, "2023-11-14T22:13:20.000Z");
        assert!(
            !health(health_with(breaker::State::Closed))
                .breakers
                .halt_new_envelopes
        );
    }

    /// An open envelope record: a 21-sat cap at 75 bps, in the stored shape.
    fn envelope_record() -> CreditEnvelopeRecord {
        serde_json::from_value(json!({
            "envelope_id": "cepe_1",
            "offer_id": "cepo_1",
            "agent_id": "aa",
            "pool_id": "main",
            "provider_id": "bb",
            "scope_type": "l402",
            "scope_id": "call-1",
            "limits": {
                "cap_msat": 21_000,
                "fee_bps": 75,
                "exp_ms": 1_700_000_060_000u64,
                "repay_by_ms": 1_700_086_460_000u64
            },
            "status": { "state": "open" },
            "issue_receipt_id": "rcpt_1",
            "settlement_receipt_id": null,
            "default_notice_id": null,
            "payment_id": null,
            "issued_at_ms": 1_700_000_000_000u64,
            "updated_at_ms": 1_700_000_000_000u64
        }))
        .unwrap()
    }

    fn settlement() -> Settlement {
        Settlement {
            settlement_id: "ceps_1".into(),
            fingerprint: "f".repeat(64),
            verification_passed: true,
            amount_msat: Some(20_000),
            max_fee_msat: 1_000,
        }
    }

    /// A draw owing 20,000 + 500 + 150 = 20,650 msat.
    const DRAW: Draw = Draw {
        spent_msat: 20_000,
        routing_fee_msat: 500,
        credit_fee_msat: 150,
    };

    fn view_of(record: CreditEnvelopeRecord) -> CreditEnvelope {
        envelope(EnvelopeView {
            record,
            issue_receipt: json!({ "receipt_id": "rcpt_1" }),
        })
        .envelope
    }

    #[test]
    fn an_envelope_shows_its_cap_in_sat_and_its_status_name() {
        let answer = envelope(EnvelopeView {
            record: envelope_record(),
            issue_receipt: json!({ "receipt_id": "rcpt_1" }),
        });
        assert_eq!(answer.schema, CREDIT_ENVELOPE_RESPONSE_SCHEMA);
        let e = &answer.envelope;
        assert_eq!((e.max_sats, e.fee_bps), (21, 75));
        assert_eq!((e.status.as_str(), e.scope_type.as_str()), ("open", "l402"));
        assert_eq!(e.exp, "2023-11-14T22:14:20.000Z");
        assert_eq!(e.repay_by, "2023-11-15T22:14:20.000Z");
        assert_eq!(answer.receipt["receipt_id"], "rcpt_1");
        // Open: nothing drawn, owed, defaulted or paid yet.
        assert_eq!(e.outstanding_msats, 0);
        assert_eq!(e.settlement_id, None);
        assert_eq!((e.spent_msats, e.owed_msats), (None, None));
        assert_eq!(e.default_reason, None);
        assert_eq!((e.loss_msats, e.recovered_msats), (None, None));
        assert_eq!(
            (&e.settlement_receipt_id, &e.default_notice_id),
            (&None, &None)
        );
        assert_eq!(e.payment_id, None);
    }

    #[test]
    fn an_envelope_record_from_before_the_receipt_ids_split_still_reads() {
        let mut stored = serde_json::to_value(envelope_record()).unwrap();
        let fields = stored.as_object_mut().unwrap();
        fields.remove("settlement_receipt_id");
        fields.remove("default_notice_id");
        let record: CreditEnvelopeRecord = serde_json::from_value(stored).unwrap();
        let e = view_of(record);
        assert_eq!(
            (&e.settlement_receipt_id, &e.default_notice_id),
            (&None, &None)
        );
    }

    #[test]
    fn a_paying_envelope_names_its_settlement_and_payment() {
        let mut record = envelope_record();
        record.status = Status::Paying {
            settlement: settlement(),
        };
        record.payment_id = Some("cd".repeat(32));
        let e = view_of(record);
        assert_eq!(e.status, "paying");
        assert_eq!(e.settlement_id.as_deref(), Some("ceps_1"));
        assert_eq!(e.outstanding_msats, 0);
        assert_eq!((e.spent_msats, e.owed_msats), (None, None));
        assert_eq!(e.payment_id, Some("cd".repeat(32)));
    }

    #[test]
    fn an_owed_envelope_shows_its_draw_and_what_is_left() {
        let mut record = envelope_record();
        record.status = Status::Owed {
            settlement: settlement(),
            draw: DRAW,
            repaid_msat: 650,
        };
        record.settlement_receipt_id = Some("rcpt_s".into());
        record.payment_id = Some("cd".repeat(32));
        let e = view_of(record.clone());
        assert_eq!(e.status, "owed");
        assert_eq!(e.settlement_id.as_deref(), Some("ceps_1"));
        assert_eq!((e.spent_msats, e.owed_msats), (Some(20_000), Some(20_650)));
        assert_eq!(e.outstanding_msats, 20_000);
        assert_eq!(e.settlement_receipt_id.as_deref(), Some("rcpt_s"));
        assert_eq!(e.default_notice_id, None);
        assert_eq!(e.default_reason, None);
        assert_eq!((e.loss_msats, e.recovered_msats), (None, None));

        record.status = Status::Repaid {
            settlement: settlement(),
            draw: DRAW,
        };
        let e = view_of(record);
        assert_eq!(e.status, "repaid");
        assert_eq!((e.spent_msats, e.owed_msats), (Some(20_000), Some(20_650)));
        assert_eq!(e.outstanding_msats, 0);
    }

    #[test]
    fn a_defaulted_envelope_shows_why_and_its_loss() {
        let mut record = envelope_record();
        record.status = Status::Defaulted {
            reason: DefaultReason::Unrepaid,
            settlement: Some(settlement()),
            draw: Some(DRAW),
            loss_msat: 20_650,
            recovered_msat: 650,
        };
        record.settlement_receipt_id = Some("rcpt_s".into());
        record.default_notice_id = Some("rcpt_d".into());
        let e = view_of(record.clone());
        assert_eq!(e.status, "defaulted");
        assert_eq!(e.default_reason.as_deref(), Some("unrepaid"));
        assert_eq!((e.loss_msats, e.recovered_msats), (Some(20_650), Some(650)));
        assert_eq!(e.outstanding_msats, 20_000);
        assert_eq!((e.spent_msats, e.owed_msats), (Some(20_000), Some(20_650)));
        assert_eq!(e.settlement_receipt_id.as_deref(), Some("rcpt_s"));
        assert_eq!(e.default_notice_id.as_deref(), Some("rcpt_d"));

        // A failed verification paid nothing and lost nothing.
        record.status = Status::Defaulted {
            reason: DefaultReason::VerificationFailed,
            settlement: Some(settlement()),
            draw: None,
            loss_msat: 0,
            recovered_msat: 0,
        };
        record.settlement_receipt_id = None;
        let e = view_of(record.clone());
        assert_eq!(e.default_reason.as_deref(), Some("verification_failed"));
        assert_eq!(e.settlement_id.as_deref(), Some("ceps_1"));
        assert_eq!((e.spent_msats, e.owed_msats), (None, None));
        assert_eq!((e.loss_msats, e.recovered_msats), (Some(0), Some(0)));
        assert_eq!(e.outstanding_msats, 0);

        // An envelope that ran out of time had no settlement.
        record.status = Status::Defaulted {
            reason: DefaultReason::Expired,
            settlement: None,
            draw: None,
            loss_msat: 0,
            recovered_msat: 0,
        };
        let e = view_of(record);
        assert_eq!(e.default_reason.as_deref(), Some("expired"));
        assert_eq!(e.settlement_id, None);
    }

    #[test]
    fn a_repayment_shows_the_invoice_and_rounds_sat_up() {
        let mut record = envelope_record();
        record.status = Status::Owed {
            settlement: settlement(),
            draw: DRAW,
            repaid_msat: 0,
        };
        let answer = repayment(RepaymentView {
            envelope: record,
            repayment: CreditRepaymentRecord {
                payment_hash: "ef".repeat(32),
                envelope_id: "cepe_1".into(),
                invoice: "lnbcrt206500n1repay".into(),
                msat: 20_650,
                created_at_ms: 1_700_000_000_000,
                expires_at_ms: 1_700_003_600_000,
                credited_msat: None,
                credited_at_ms: None,
            },
        });
        assert_eq!(answer.schema, CREDIT_REPAYMENT_RESPONSE_SCHEMA);
        assert_eq!(answer.envelope_id, "cepe_1");
        assert_eq!(answer.status, "owed");
        // 20.65 sat owed shows as 21.
        assert_eq!((answer.owed_msats, answer.owed_sats), (20_650, 21));
        assert_eq!(answer.invoice_bolt11, "lnbcrt206500n1repay");
        assert_eq!(answer.payment_hash, "ef".repeat(32));
        assert_eq!(answer.created_at, "2023-11-14T22:13:20.000Z");
        assert_eq!(answer.expires_at, "2023-11-14T23:13:20.000Z");
    }

    fn settle_view(
        outcome: SettleOutcome,
        spent_msat: u64,
        routing_fee_msat: u64,
        credit_fee_msat: u64,
        loss_msat: u64,
    ) -> SettleView {
        SettleView {
            liquidity_receipt_sha256: None,
            envelope_id: "cepe_1".into(),
            settlement_id: "ceps_1".into(),
            outcome,
            spent_msat,
            routing_fee_msat,
            credit_fee_msat,
            loss_msat,
            verification_receipt_sha256: "ab".repeat(32),
            payment_id: (spent_msat > 0).then(|| "cd".repeat(32)),
            receipt: json!({ "receipt_id": "rcpt_s" }),
        }
    }

    #[test]
    fn a_settlement_rounds_spent_down_and_fees_and_losses_up() {
        let answer = settle(settle_view(SettleOutcome::Success, 21_999, 1_001, 219, 0));
        assert_eq!(answer.schema, CREDIT_SETTLE_RESPONSE_SCHEMA);
        assert_eq!(
            (answer.envelope_id.as_str(), answer.settlement_id.as_str()),
            ("cepe_1", "ceps_1")
        );
        assert_eq!(answer.outcome, "success");
        // 21.999 sat paid shows as 21; 1.22 sat of fees as 2.
        assert_eq!((answer.spent_sats, answer.fee_sats), (21, 2));
        assert_eq!(
            (
                answer.spent_msats,
                answer.routing_fee_msats,
                answer.credit_fee_msats
            ),
            (21_999, 1_001, 219)
        );
        assert_eq!(answer.loss_sats, 0);
        assert_eq!(answer.verification_receipt_sha256, "ab".repeat(32));
        assert_eq!(answer.liquidity_receipt_sha256, None);
        assert_eq!(answer.payment_id, Some("cd".repeat(32)));
        assert_eq!(answer.receipt["receipt_id"], "rcpt_s");

        // Whole sat stay as they are.
        let exact = settle(settle_view(SettleOutcome::Success, 21_000, 1_000, 1_000, 0));
        assert_eq!((exact.spent_sats, exact.fee_sats), (21, 2));
        // Under a sat of fees is a sat; no fees are none.
        let tiny = settle(settle_view(SettleOutcome::Success, 999, 0, 1, 0));
        assert_eq!((tiny.spent_sats, tiny.fee_sats), (0, 1));
        let free = settle(settle_view(SettleOutcome::Success, 5_000, 0, 0, 0));
        assert_eq!(free.fee_sats, 0);
    }

    #[test]
    fn a_default_shows_its_outcome_and_loss_rounded_up() {
        let failed = settle(settle_view(SettleOutcome::Failed, 0, 0, 0, 0));
        assert_eq!(failed.outcome, "failed");
        assert_eq!(
            (failed.spent_sats, failed.fee_sats, failed.loss_sats),
            (0, 0, 0)
        );
        assert_eq!(failed.payment_id, None);
        assert_eq!(
            settle(settle_view(SettleOutcome::Expired, 0, 0, 0, 0)).outcome,
            "expired"
        );
        let defaulted = settle(settle_view(SettleOutcome::Defaulted, 0, 0, 0, 20_001));
        assert_eq!(defaulted.outcome, "defaulted");
        assert_eq!(defaulted.loss_sats, 21);
        assert_eq!(
            settle(settle_view(SettleOutcome::Defaulted, 0, 0, 0, 20_000)).loss_sats,
            20
        );
        // The sum of the fees cannot overflow.
        let huge = settle(settle_view(SettleOutcome::Success, 0, u64::MAX, 1, 0));
        assert_eq!(huge.fee_sats, u64::MAX.div_ceil(1000));
    }
}
