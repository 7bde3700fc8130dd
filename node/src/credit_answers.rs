//! The credit routes' answers (`sluice_api_types::credit`), built from what the envelope
//! ledger reports: intent, offer and envelope records, an agent's exposure and the
//! credit health become the OpenAgents wire shapes, with times as RFC 3339 and amounts
//! in sat where OpenAgents counts sat.

use sluice_actors::credit::{CreditHealth, EnvelopeView, Exposure};
use sluice_api::time::rfc3339_ms;
use sluice_api_types::{
    CreditAgentExposureResponse, CreditBreakers, CreditEnvelope, CreditEnvelopeResponse,
    CreditHealthResponse, CreditIntent, CreditIntentResponse, CreditOffer, CreditOfferResponse,
    CreditPolicy, CreditScopeFees, CreditUnderwriting, CREDIT_AGENT_EXPOSURE_RESPONSE_SCHEMA,
    CREDIT_ENVELOPE_RESPONSE_SCHEMA, CREDIT_HEALTH_RESPONSE_SCHEMA, CREDIT_INTENT_RESPONSE_SCHEMA,
    CREDIT_OFFER_RESPONSE_SCHEMA,
};
use sluice_credit::breaker;
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

/// An envelope on the wire, with its signed issue receipt.
pub fn envelope(view: EnvelopeView) -> CreditEnvelopeResponse {
    let record = view.record;
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
        },
        receipt: view.issue_receipt,
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
        breakers: CreditBreakers { halt_new_envelopes },
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
        },
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use sluice_actors::credit::CreditConfig;

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

    #[test]
    fn an_envelope_shows_its_cap_in_sat_and_its_status_name() {
        let record = serde_json::from_value(json!({
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
            "outcome_receipt_id": null,
            "payment_id": null,
            "issued_at_ms": 1_700_000_000_000u64,
            "updated_at_ms": 1_700_000_000_000u64
        }))
        .unwrap();
        let answer = envelope(EnvelopeView {
            record,
            issue_receipt: json!({ "receipt_id": "rcpt_1" }),
        });
        assert_eq!(answer.schema, CREDIT_ENVELOPE_RESPONSE_SCHEMA);
        let e = &answer.envelope;
        assert_eq!((e.max_sats, e.fee_bps), (21, 75));
        assert_eq!((e.status.as_str(), e.scope_type.as_str()), ("open", "l402"));
        assert_eq!(e.exp, "2023-11-14T22:14:20.000Z");
        assert_eq!(e.repay_by, "2023-11-15T22:14:20.000Z");
        assert_eq!(answer.receipt["receipt_id"], "rcpt_1");
    }
}
