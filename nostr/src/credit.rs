//! NIP-AC credit events (kinds 39240–39245): the mirror of the node's credit activity.
//!
//! Each builder takes the facts as the node recorded them and returns the signed event;
//! intents and spend authorizations are the node's mirror of what an agent sent it over
//! the API (signed by the node, the agent named in `p`), the rest are the node's own
//! acts as issuer. Every content object carries `"schema": 1`
//! ([`CONTENT_SCHEMA`]).

use nostr::{Event, Keys, Tag};
use serde_json::json;

use crate::check::{self, SCOPE_KINDS, SETTLEMENT_MODES};
use crate::error::NostrError;
use crate::kinds::{
    CONTENT_SCHEMA, CREDIT_DEFAULT, CREDIT_ENVELOPE, CREDIT_INTENT, CREDIT_OFFER,
    CREDIT_SETTLEMENT, CREDIT_SPEND_AUTHORIZATION,
};
use crate::sign::{custom, sign};

/// The digest schema an agent's spend authorization signature commits to.
pub const SPEND_AUTHORIZATION_DIGEST_SCHEMA: &str = "openagents.credit.spend_authorization.v1";

/// What a credit line may be spent on: NIP-AC's `["scope", kind, id]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// The scope kind: `"nip90"`, `"l402"` or `"skill"`.
    pub kind: String,
    /// The job, resource or skill the credit is bound to.
    pub id: String,
}

/// An intent the node received over its API (an agent asking for credit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntentFacts {
    /// The intent's id (the event's `d`).
    pub intent_id: String,
    /// The agent's x-only public key, 64 hex.
    pub agent_id: String,
    /// What the credit is for.
    pub scope: Scope,
    /// The most the agent expects to spend, in sats.
    pub max_sats: u64,
    /// When the intent lapses, Unix seconds.
    pub exp: u64,
    /// When the node received it, Unix seconds (the event's `created_at`).
    pub created_at: u64,
}

/// An offer the node made as issuer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferFacts {
    /// The offer's id (the event's `d`).
    pub offer_id: String,
    /// The agent's x-only public key, 64 hex.
    pub agent_id: String,
    /// The pool the credit would be drawn from.
    pub pool_id: String,
    /// The intent answered, if the offer answers one.
    pub intent_id: Option<String>,
    /// What the credit is for.
    pub scope: Scope,
    /// The credit limit, in sats.
    pub max_sats: u64,
    /// The credit fee, in basis points.
    pub fee_bps: u32,
    /// When the offer lapses, Unix seconds.
    pub exp: u64,
    /// Whether an outcome verifier must confirm before settlement.
    pub requires_verifier: bool,
    /// When the offer was made, Unix seconds.
    pub created_at: u64,
}

/// An envelope the node issued (an offer the agent accepted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvelopeFacts {
    /// The envelope's id (the event's `d`).
    pub envelope_id: String,
    /// The offer accepted.
    pub offer_id: String,
    /// The agent's x-only public key, 64 hex.
    pub agent_id: String,
    /// The pool the credit is drawn from.
    pub pool_id: String,
    /// The provider paid under the envelope, x-only public key, 64 hex.
    pub provider_id: String,
    /// What the credit is for.
    pub scope: Scope,
    /// The credit limit, in sats.
    pub max_sats: u64,
    /// The credit fee, in basis points.
    pub fee_bps: u32,
    /// When the envelope lapses for spending, Unix seconds.
    pub exp: u64,
    /// When repayment is due, Unix seconds.
    pub repay_by: u64,
    /// The receipt recording the issue.
    pub issue_receipt_id: String,
    /// When it was issued, Unix seconds.
    pub created_at: u64,
}

/// A spend authorization (mode 2) the node received: the agent's signed consent to one
/// spend under an envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpendAuthorizationFacts {
    /// The settlement the authorization is for (the event's `d`).
    pub settlement_id: String,
    /// The envelope spent under.
    pub envelope_id: String,
    /// The agent's x-only public key, 64 hex.
    pub agent_id: String,
    /// What the credit is for.
    pub scope: Scope,
    /// The amount authorized, in sats.
    pub spend_sats: u64,
    /// The payment hash of the invoice to pay, 64 hex.
    pub payment_hash: String,
    /// The agent's BIP-340 signature over the authorization digest, 128 hex.
    pub signature: String,
    /// When the node received it, Unix seconds.
    pub created_at: u64,
}

/// A settlement the node paid under an envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettlementFacts {
    /// The settlement's id (the event's `d`).
    pub settlement_id: String,
    /// The envelope spent under.
    pub envelope_id: String,
    /// The agent's x-only public key, 64 hex.
    pub agent_id: String,
    /// The provider paid, x-only public key, 64 hex.
    pub provider_id: String,
    /// What the credit is for.
    pub scope: Scope,
    /// The amount paid to the provider, in sats.
    pub spent_sats: u64,
    /// The routing fee paid, in sats.
    pub routing_fee_sats: u64,
    /// The credit fee charged, in sats.
    pub credit_fee_sats: u64,
    /// The payment hash of the invoice paid, 64 hex.
    pub payment_hash: String,
    /// How it was paid: `"issuer_pays"`, `"provider_pulls"` or `"jit_pay"`.
    pub mode: String,
    /// The receipt recording the settlement.
    pub receipt_id: String,
    /// When it settled, Unix seconds.
    pub created_at: u64,
}

/// An envelope the agent defaulted on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefaultFacts {
    /// The default notice's receipt id (the event's `d`).
    pub default_id: String,
    /// The envelope defaulted on.
    pub envelope_id: String,
    /// The agent's x-only public key, 64 hex.
    pub agent_id: String,
    /// What the credit was for.
    pub scope: Scope,
    /// Why the envelope was declared in default.
    pub reason: String,
    /// The loss to the pool, in sats.
    pub loss_sats: u64,
    /// The receipt recording the default.
    pub receipt_id: String,
    /// When the default was declared, Unix seconds.
    pub created_at: u64,
}

/// Builds the kind-39240 mirror of an intent the node received, signed by the node.
///
/// Tags: `d`, `p` (agent), `scope`, `max`, `exp`. Content: `schema`, `intent_id`,
/// `estimate_sats`, `deadline`, `source: "api"`.
pub fn intent(keys: &Keys, facts: &IntentFacts) -> Result<Event, NostrError> {
    let tags = vec![
        Tag::identifier(check::id("intent_id", &facts.intent_id)?),
        Tag::public_key(check::pubkey("agent_id", &facts.agent_id)?),
        scope_tag(&facts.scope)?,
        custom("max", [facts.max_sats.to_string().as_str()]),
        custom("exp", [facts.exp.to_string().as_str()]),
    ];
    let content = json!({
        "schema": CONTENT_SCHEMA,
        "intent_id": facts.intent_id,
        "estimate_sats": facts.max_sats,
        "deadline": facts.exp,
        "source": "api",
    });
    sign(keys, CREDIT_INTENT, &content, tags, facts.created_at)
}

/// Builds the kind-39241 offer the node made as issuer.
///
/// Tags: `d`, `p` (agent), `scope`, `max`, `fee` (`"<bps>bps"`), `exp`, `issuer` (the
/// signer), `status: offered`. Content: `schema`, `max_sats`, `fee_bps`,
/// `requires_verifier`, `pool_id`, `intent_id` (null if none).
pub fn offer(keys: &Keys, facts: &OfferFacts) -> Result<Event, NostrError> {
    if let Some(intent_id) = &facts.intent_id {
        check::id("intent_id", intent_id)?;
    }
    let tags = vec![
        Tag::identifier(check::id("offer_id", &facts.offer_id)?),
        Tag::public_key(check::pubkey("agent_id", &facts.agent_id)?),
        scope_tag(&facts.scope)?,
        custom("max", [facts.max_sats.to_string().as_str()]),
        fee_tag(facts.fee_bps),
        custom("exp", [facts.exp.to_string().as_str()]),
        issuer_tag(keys),
        custom("status", ["offered"]),
    ];
    let content = json!({
        "schema": CONTENT_SCHEMA,
        "max_sats": facts.max_sats,
        "fee_bps": facts.fee_bps,
        "requires_verifier": facts.requires_verifier,
        "pool_id": check::id("pool_id", &facts.pool_id)?,
        "intent_id": facts.intent_id,
    });
    sign(keys, CREDIT_OFFER, &content, tags, facts.created_at)
}

/// Builds the kind-39242 envelope the node issued.
///
/// Tags: `d`, `p` (agent), `issuer`, `scope`, `provider`, `max`, `fee`, `exp`,
/// `status: accepted`, `repay: bolt11 /v1/credit/envelopes/<id>/repayment` (where the
/// agent fetches its repayment invoice). Content: `schema`, `offer_id`, `pool_id`,
/// `repayment` (`fee_bps`, `repay_by`, `priority: issuer_first`),
/// `verification` (`mode: objective`), `issue_receipt_id`.
pub fn envelope(keys: &Keys, facts: &EnvelopeFacts) -> Result<Event, NostrError> {
    let envelope_id = check::id("envelope_id", &facts.envelope_id)?;
    let repayment_path = format!("/v1/credit/envelopes/{envelope_id}/repayment");
    let tags = vec![
        Tag::identifier(envelope_id),
        Tag::public_key(check::pubkey("agent_id", &facts.agent_id)?),
        issuer_tag(keys),
        scope_tag(&facts.scope)?,
        provider_tag(&facts.provider_id)?,
        custom("max", [facts.max_sats.to_string().as_str()]),
        fee_tag(facts.fee_bps),
        custom("exp", [facts.exp.to_string().as_str()]),
        custom("status", ["accepted"]),
        custom("repay", ["bolt11", repayment_path.as_str()]),
    ];
    let content = json!({
        "schema": CONTENT_SCHEMA,
        "offer_id": check::id("offer_id", &facts.offer_id)?,
        "pool_id": check::id("pool_id", &facts.pool_id)?,
        "repayment": {
            "fee_bps": facts.fee_bps,
            "repay_by": facts.repay_by,
            "priority": "issuer_first",
        },
        "verification": { "mode": "objective" },
        "issue_receipt_id": check::id("issue_receipt_id", &facts.issue_receipt_id)?,
    });
    sign(keys, CREDIT_ENVELOPE, &content, tags, facts.created_at)
}

/// Builds the kind-39243 mirror of a spend authorization the node received.
///
/// Tags: `d` (settlement id), `p` (agent), `credit` (envelope id), `scope`, `max`
/// (the spend). Content: `schema`, `spend_sats`, `payment_hash`, `authorization` (the
/// agent's signature), `digest_schema`.
pub fn spend_authorization(
    keys: &Keys,
    facts: &SpendAuthorizationFacts,
) -> Result<Event, NostrError> {
    let tags = vec![
        Tag::identifier(check::id("settlement_id", &facts.settlement_id)?),
        Tag::public_key(check::pubkey("agent_id", &facts.agent_id)?),
        custom("credit", [check::id("envelope_id", &facts.envelope_id)?]),
        scope_tag(&facts.scope)?,
        custom("max", [facts.spend_sats.to_string().as_str()]),
    ];
    let content = json!({
        "schema": CONTENT_SCHEMA,
        "spend_sats": facts.spend_sats,
        "payment_hash": check::hex("payment_hash", &facts.payment_hash, 64)?,
        "authorization": check::hex("signature", &facts.signature, 128)?,
        "digest_schema": SPEND_AUTHORIZATION_DIGEST_SCHEMA,
    });
    sign(
        keys,
        CREDIT_SPEND_AUTHORIZATION,
        &content,
        tags,
        facts.created_at,
    )
}

/// Builds the kind-39244 settlement the node paid.
///
/// Tags: `d`, `credit` (envelope id), `p` (agent), `issuer`, `provider`, `scope`,
/// `repay: bolt11 <payment_hash>`, `status: settled`. Content: `schema`, `spent_sats`,
/// `fee_sats` (the credit fee), `routing_fee_sats`, `outcome: success`, `mode`,
/// `receipt_id`.
pub fn settlement(keys: &Keys, facts: &SettlementFacts) -> Result<Event, NostrError> {
    let tags = vec![
        Tag::identifier(check::id("settlement_id", &facts.settlement_id)?),
        custom("credit", [check::id("envelope_id", &facts.envelope_id)?]),
        Tag::public_key(check::pubkey("agent_id", &facts.agent_id)?),
        issuer_tag(keys),
        provider_tag(&facts.provider_id)?,
        scope_tag(&facts.scope)?,
        custom(
            "repay",
            [
                "bolt11",
                check::hex("payment_hash", &facts.payment_hash, 64)?.as_str(),
            ],
        ),
        custom("status", ["settled"]),
    ];
    let content = json!({
        "schema": CONTENT_SCHEMA,
        "spent_sats": facts.spent_sats,
        "fee_sats": facts.credit_fee_sats,
        "routing_fee_sats": facts.routing_fee_sats,
        "outcome": "success",
        "mode": check::one_of("mode", &facts.mode, &SETTLEMENT_MODES)?,
        "receipt_id": check::id("receipt_id", &facts.receipt_id)?,
    });
    sign(keys, CREDIT_SETTLEMENT, &content, tags, facts.created_at)
}

/// Builds the kind-39245 default notice for an envelope the agent defaulted on.
///
/// Tags: `d` (the notice's receipt id), `credit` (envelope id), `p` (agent), `scope`,
/// `status: defaulted`. Content: `schema`, `reason`, `loss_sats`, `receipt_id`.
pub fn default_notice(keys: &Keys, facts: &DefaultFacts) -> Result<Event, NostrError> {
    let tags = vec![
        Tag::identifier(check::id("default_id", &facts.default_id)?),
        custom("credit", [check::id("envelope_id", &facts.envelope_id)?]),
        Tag::public_key(check::pubkey("agent_id", &facts.agent_id)?),
        scope_tag(&facts.scope)?,
        custom("status", ["defaulted"]),
    ];
    let content = json!({
        "schema": CONTENT_SCHEMA,
        "reason": facts.reason,
        "loss_sats": facts.loss_sats,
        "receipt_id": check::id("receipt_id", &facts.receipt_id)?,
    });
    sign(keys, CREDIT_DEFAULT, &content, tags, facts.created_at)
}

/// `["scope", kind, id]`, the kind checked against NIP-AC's scope kinds.
fn scope_tag(scope: &Scope) -> Result<Tag, NostrError> {
    Ok(custom(
        "scope",
        [
            check::one_of("scope.kind", &scope.kind, &SCOPE_KINDS)?,
            check::id("scope.id", &scope.id)?,
        ],
    ))
}

/// `["fee", "<bps>bps"]`.
fn fee_tag(fee_bps: u32) -> Tag {
    custom("fee", [format!("{fee_bps}bps").as_str()])
}

/// `["issuer", <the signer's x-only hex pubkey>]`.
fn issuer_tag(keys: &Keys) -> Tag {
    custom("issuer", [keys.public_key().to_hex().as_str()])
}

/// `["provider", <provider pubkey>]`, the key checked.
fn provider_tag(provider_id: &str) -> Result<Tag, NostrError> {
    let provider = check::pubkey("provider_id", provider_id)?;
    Ok(custom("provider", [provider.to_hex().as_str()]))
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::keys::keys_from_seed;
    use serde_json::Value;

    /// The node's keys in tests.
    pub(crate) fn node() -> Keys {
        keys_from_seed(&[1u8; 32]).unwrap()
    }

    /// An agent's pubkey hex in tests.
    pub(crate) fn agent() -> String {
        keys_from_seed(&[2u8; 32]).unwrap().public_key().to_hex()
    }

    fn provider() -> String {
        keys_from_seed(&[3u8; 32]).unwrap().public_key().to_hex()
    }

    fn scope() -> Scope {
        Scope {
            kind: "nip90".into(),
            id: "job-42".into(),
        }
    }

    /// Every tag of `event`, as strings, in order.
    pub(crate) fn tags(event: &Event) -> Vec<Vec<String>> {
        event.tags.iter().map(|t| t.as_slice().to_vec()).collect()
    }

    /// `expected` as owned strings, for comparing with [`tags`].
    pub(crate) fn owned(expected: &[&[&str]]) -> Vec<Vec<String>> {
        expected
            .iter()
            .map(|t| t.iter().map(|s| s.to_string()).collect())
            .collect()
    }

    pub(crate) fn content(event: &Event) -> Value {
        serde_json::from_str(&event.content).unwrap()
    }

    /// Checks what every builder promises: kind, author, date, signature.
    pub(crate) fn check_common(event: &Event, keys: &Keys, kind: u16, created_at: u64) {
        assert_eq!(event.kind.as_u16(), kind);
        assert_eq!(event.pubkey, keys.public_key());
        assert_eq!(event.created_at.as_secs(), created_at);
        assert!(event.verify().is_ok());
    }

    fn intent_facts() -> IntentFacts {
        IntentFacts {
            intent_id: "int-1".into(),
            agent_id: agent(),
            scope: scope(),
            max_sats: 5_000,
            exp: 1_700_003_600,
            created_at: 1_700_000_000,
        }
    }

    fn offer_facts() -> OfferFacts {
        OfferFacts {
            offer_id: "off-1".into(),
            agent_id: agent(),
            pool_id: "pool-a".into(),
            intent_id: Some("int-1".into()),
            scope: scope(),
            max_sats: 5_000,
            fee_bps: 150,
            exp: 1_700_003_600,
            requires_verifier: true,
            created_at: 1_700_000_010,
        }
    }

    fn envelope_facts() -> EnvelopeFacts {
        EnvelopeFacts {
            envelope_id: "env-1".into(),
            offer_id: "off-1".into(),
            agent_id: agent(),
            pool_id: "pool-a".into(),
            provider_id: provider(),
            scope: scope(),
            max_sats: 5_000,
            fee_bps: 150,
            exp: 1_700_003_600,
            repay_by: 1_700_086_400,
            issue_receipt_id: "rcpt-issue-1".into(),
            created_at: 1_700_000_020,
        }
    }

    fn spend_facts() -> SpendAuthorizationFacts {
        SpendAuthorizationFacts {
            settlement_id: "set-1".into(),
            envelope_id: "env-1".into(),
            agent_id: agent(),
            scope: scope(),
            spend_sats: 1_200,
            payment_hash: "ab".repeat(32),
            signature: "cd".repeat(64),
            created_at: 1_700_000_030,
        }
    }

    fn settlement_facts() -> SettlementFacts {
        SettlementFacts {
            settlement_id: "set-1".into(),
            envelope_id: "env-1".into(),
            agent_id: agent(),
            provider_id: provider(),
            scope: scope(),
            spent_sats: 1_200,
            routing_fee_sats: 3,
            credit_fee_sats: 18,
            payment_hash: "ab".repeat(32),
            mode: "issuer_pays".into(),
            receipt_id: "rcpt-set-1".into(),
            created_at: 1_700_000_040,
        }
    }

    fn default_facts() -> DefaultFacts {
        DefaultFacts {
            default_id: "rcpt-default-1".into(),
            envelope_id: "env-1".into(),
            agent_id: agent(),
            scope: scope(),
            reason: "repay_by passed".into(),
            loss_sats: 1_221,
            receipt_id: "rcpt-default-1".into(),
            created_at: 1_700_090_000,
        }
    }

    #[test]
    fn intent_event() {
        let keys = node();
        let facts = intent_facts();
        let event = intent(&keys, &facts).unwrap();
        check_common(&event, &keys, 39240, facts.created_at);
        assert_eq!(crate::read::d_tag(&event), Some("int-1"));
        let a = agent();
        assert_eq!(
            tags(&event),
            owned(&[
                &["d", "int-1"],
                &["p", &a],
                &["scope", "nip90", "job-42"],
                &["max", "5000"],
                &["exp", "1700003600"],
            ])
        );
        assert_eq!(
            content(&event),
            json!({"schema": 1, "intent_id": "int-1", "estimate_sats": 5000,
                   "deadline": 1_700_003_600u64, "source": "api"})
        );
        assert_eq!(intent(&keys, &facts).unwrap().id, event.id);
    }

    #[test]
    fn offer_event() {
        let keys = node();
        let facts = offer_facts();
        let event = offer(&keys, &facts).unwrap();
        check_common(&event, &keys, 39241, facts.created_at);
        assert_eq!(crate::read::d_tag(&event), Some("off-1"));
        let (a, issuer) = (agent(), keys.public_key().to_hex());
        assert_eq!(
            tags(&event),
            owned(&[
                &["d", "off-1"],
                &["p", &a],
                &["scope", "nip90", "job-42"],
                &["max", "5000"],
                &["fee", "150bps"],
                &["exp", "1700003600"],
                &["issuer", &issuer],
                &["status", "offered"],
            ])
        );
        assert_eq!(
            content(&event),
            json!({"schema": 1, "max_sats": 5000, "fee_bps": 150,
                   "requires_verifier": true, "pool_id": "pool-a", "intent_id": "int-1"})
        );
        assert_eq!(offer(&keys, &facts).unwrap().id, event.id);

        let without = OfferFacts {
            intent_id: None,
            ..facts
        };
        let event = offer(&keys, &without).unwrap();
        assert_eq!(content(&event)["intent_id"], Value::Null);
    }

    #[test]
    fn envelope_event() {
        let keys = node();
        let facts = envelope_facts();
        let event = envelope(&keys, &facts).unwrap();
        check_common(&event, &keys, 39242, facts.created_at);
        assert_eq!(crate::read::d_tag(&event), Some("env-1"));
        let (a, p, issuer) = (agent(), provider(), keys.public_key().to_hex());
        assert_eq!(
            tags(&event),
            owned(&[
                &["d", "env-1"],
                &["p", &a],
                &["issuer", &issuer],
                &["scope", "nip90", "job-42"],
                &["provider", &p],
                &["max", "5000"],
                &["fee", "150bps"],
                &["exp", "1700003600"],
                &["status", "accepted"],
                &["repay", "bolt11", "/v1/credit/envelopes/env-1/repayment"],
            ])
        );
        assert_eq!(
            content(&event),
            json!({"schema": 1, "offer_id": "off-1", "pool_id": "pool-a",
                   "repayment": {"fee_bps": 150, "repay_by": 1_700_086_400u64,
                                 "priority": "issuer_first"},
                   "verification": {"mode": "objective"},
                   "issue_receipt_id": "rcpt-issue-1"})
        );
        assert_eq!(envelope(&keys, &facts).unwrap().id, event.id);
    }

    #[test]
    fn spend_authorization_event() {
        let keys = node();
        let facts = spend_facts();
        let event = spend_authorization(&keys, &facts).unwrap();
        check_common(&event, &keys, 39243, facts.created_at);
        assert_eq!(crate::read::d_tag(&event), Some("set-1"));
        let a = agent();
        assert_eq!(
            tags(&event),
            owned(&[
                &["d", "set-1"],
                &["p", &a],
                &["credit", "env-1"],
                &["scope", "nip90", "job-42"],
                &["max", "1200"],
            ])
        );
        assert_eq!(
            content(&event),
            json!({"schema": 1, "spend_sats": 1200, "payment_hash": "ab".repeat(32),
                   "authorization": "cd".repeat(64),
                   "digest_schema": "openagents.credit.spend_authorization.v1"})
        );
        assert_eq!(spend_authorization(&keys, &facts).unwrap().id, event.id);
    }

    #[test]
    fn settlement_event() {
        let keys = node();
        let facts = settlement_facts();
        let event = settlement(&keys, &facts).unwrap();
        check_common(&event, &keys, 39244, facts.created_at);
        assert_eq!(crate::read::d_tag(&event), Some("set-1"));
        let (a, p, issuer, hash) = (
            agent(),
            provider(),
            keys.public_key().to_hex(),
            "ab".repeat(32),
        );
        assert_eq!(
            tags(&event),
            owned(&[
                &["d", "set-1"],
                &["credit", "env-1"],
                &["p", &a],
                &["issuer", &issuer],
                &["provider", &p],
                &["scope", "nip90", "job-42"],
                &["repay", "bolt11", &hash],
                &["status", "settled"],
            ])
        );
        assert_eq!(
            content(&event),
            json!({"schema": 1, "spent_sats": 1200, "fee_sats": 18, "routing_fee_sats": 3,
                   "outcome": "success", "mode": "issuer_pays", "receipt_id": "rcpt-set-1"})
        );
        assert_eq!(settlement(&keys, &facts).unwrap().id, event.id);
    }

    #[test]
    fn default_event() {
        let keys = node();
        let facts = default_facts();
        let event = default_notice(&keys, &facts).unwrap();
        check_common(&event, &keys, 39245, facts.created_at);
        assert_eq!(crate::read::d_tag(&event), Some("rcpt-default-1"));
        let a = agent();
        assert_eq!(
            tags(&event),
            owned(&[
                &["d", "rcpt-default-1"],
                &["credit", "env-1"],
                &["p", &a],
                &["scope", "nip90", "job-42"],
                &["status", "defaulted"],
            ])
        );
        assert_eq!(
            content(&event),
            json!({"schema": 1, "reason": "repay_by passed", "loss_sats": 1221,
                   "receipt_id": "rcpt-default-1"})
        );
        assert_eq!(default_notice(&keys, &facts).unwrap().id, event.id);
    }

    #[test]
    fn a_different_date_gives_a_different_id() {
        let keys = node();
        let a = intent(&keys, &intent_facts()).unwrap();
        let b = intent(
            &keys,
            &IntentFacts {
                created_at: 1_700_000_001,
                ..intent_facts()
            },
        )
        .unwrap();
        assert_ne!(a.id, b.id);
    }

    #[test]
    fn agent_equal_to_the_node_keeps_its_p_tag() {
        let keys = node();
        let facts = IntentFacts {
            agent_id: keys.public_key().to_hex(),
            ..intent_facts()
        };
        let event = intent(&keys, &facts).unwrap();
        assert!(tags(&event).contains(&vec!["p".to_string(), keys.public_key().to_hex()]));
    }

    #[test]
    fn bad_facts_are_errors_not_panics() {
        let keys = node();
        let bad_agent = |agent_id: &str| {
            let err = intent(
                &keys,
                &IntentFacts {
                    agent_id: agent_id.into(),
                    ..intent_facts()
                },
            )
            .unwrap_err();
            assert!(
                matches!(&err, NostrError::Build(m) if m.starts_with("agent_id")),
                "{err}"
            );
        };
        bad_agent("");
        bad_agent("npub-ish");
        bad_agent(&"f".repeat(64));
        bad_agent(&"ab".repeat(33));

        for event in [
            offer(
                &keys,
                &OfferFacts {
                    agent_id: "x".into(),
                    ..offer_facts()
                },
            ),
            envelope(
                &keys,
                &EnvelopeFacts {
                    agent_id: "x".into(),
                    ..envelope_facts()
                },
            ),
            spend_authorization(
                &keys,
                &SpendAuthorizationFacts {
                    agent_id: "x".into(),
                    ..spend_facts()
                },
            ),
            settlement(
                &keys,
                &SettlementFacts {
                    agent_id: "x".into(),
                    ..settlement_facts()
                },
            ),
            default_notice(
                &keys,
                &DefaultFacts {
                    agent_id: "x".into(),
                    ..default_facts()
                },
            ),
        ] {
            assert!(matches!(event, Err(NostrError::Build(m)) if m.starts_with("agent_id")));
        }

        let err = envelope(
            &keys,
            &EnvelopeFacts {
                provider_id: "nope".into(),
                ..envelope_facts()
            },
        )
        .unwrap_err();
        assert!(err.to_string().contains("provider_id"), "{err}");
        let err = settlement(
            &keys,
            &SettlementFacts {
                provider_id: "nope".into(),
                ..settlement_facts()
            },
        )
        .unwrap_err();
        assert!(err.to_string().contains("provider_id"), "{err}");
        let err = settlement(
            &keys,
            &SettlementFacts {
                mode: "cash".into(),
                ..settlement_facts()
            },
        )
        .unwrap_err();
        assert!(err.to_string().contains("mode"), "{err}");
        let err = spend_authorization(
            &keys,
            &SpendAuthorizationFacts {
                payment_hash: "zz".into(),
                ..spend_facts()
            },
        )
        .unwrap_err();
        assert!(err.to_string().contains("payment_hash"), "{err}");
        let err = intent(
            &keys,
            &IntentFacts {
                scope: Scope {
                    kind: "barter".into(),
                    id: "x".into(),
                },
                ..intent_facts()
            },
        )
        .unwrap_err();
        assert!(err.to_string().contains("scope.kind"), "{err}");
        let err = intent(
            &keys,
            &IntentFacts {
                intent_id: String::new(),
                ..intent_facts()
            },
        )
        .unwrap_err();
        assert!(err.to_string().contains("intent_id"), "{err}");
    }
}
