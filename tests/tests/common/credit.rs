//! The credit tests' shared set-up: B runs pool [`POOL`] with LLP and CEP partitions,
//! a TreasuryRouter token asks for credit, and A is the provider agents buy from; the
//! requests, keys and checks the credit and Nostr mirror tests both use.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bitcoin::hashes::{sha256, Hash};
use bitcoin::hex::DisplayHex;
use bitcoin::secp256k1::{Keypair, Message, Secp256k1};
use sluice_actors::credit::authorization;
use sluice_api_types::{
    CreateInvoiceRequest, CreatePoolRequest, CreditEnvelopeRequest, CreditIntentRequest,
    CreditOfferRequest, CreditSettleRequest, InvoiceResponse, PartitionStatus, PaymentDirection,
    PaymentStatus,
};
use sluice_harness::setup::PairSpec;
use sluice_harness::{ApiClient, Error, NodeOptions, NodeProcess, Pair};

use super::{binary, CAPACITY_SAT};

pub const POOL: &str = "main";
pub const LP: &str = "lp-token";
pub const ROUTER: &str = "router-token";
/// What the LP puts in the CEP partition, sat.
pub const CEP_SATS: u64 = 150_000;

/// B's credit settings: every agent starts at a 50,000 sat limit (no history moves it:
/// `k = 0`), at most two live envelopes each, offers last at most ten minutes.
pub const POOL_CONFIG: &str = "\
[pool.credit]
base_sats = 50000
k = 0
max_envelope_sats = 60000
max_open_envelopes_per_agent = 2
max_offer_ttl_secs = 600
min_fee_bps = 80
nip90_surcharge_bps = 0
";

pub fn refusal<T: std::fmt::Debug>(result: Result<T, Error>) -> (u16, String) {
    match result {
        Err(Error::Api { status, code, .. }) => (status, code),
        other => panic!("expected an API error, got {other:?}"),
    }
}

/// An x-only public key, hex, for `seed`.
pub fn key(seed: u8) -> String {
    let secp = Secp256k1::new();
    let pair = Keypair::from_seckey_slice(&secp, &[seed; 32]).unwrap();
    pair.x_only_public_key().0.to_string()
}

/// An RFC 3339 time `secs` from now.
pub fn in_secs(secs: u64) -> String {
    let at = SystemTime::now() + Duration::from_secs(secs);
    let ms = at.duration_since(UNIX_EPOCH).unwrap().as_millis() as i64;
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap()
        .to_rfc3339()
}

pub fn intent(agent: &str, key: &str, max_sats: u64) -> CreditIntentRequest {
    CreditIntentRequest {
        schema: "openagents.credit.intent_request.v1".into(),
        idempotency_key: key.into(),
        agent_id: agent.into(),
        scope_type: "nip90".into(),
        scope_id: "job-1".into(),
        max_sats,
        exp: in_secs(300),
        policy_context: serde_json::json!({"budget": "b1"}),
    }
}

pub fn offer(
    agent: &str,
    scope_id: &str,
    max_sats: u64,
    intent_id: Option<&str>,
) -> CreditOfferRequest {
    CreditOfferRequest {
        schema: "openagents.credit.offer_request.v1".into(),
        agent_id: agent.into(),
        pool_id: POOL.into(),
        intent_id: intent_id.map(str::to_owned),
        scope_type: "nip90".into(),
        scope_id: scope_id.into(),
        max_sats,
        fee_bps: 1,
        requires_verifier: true,
        // Within the intents', which last 300 s.
        exp: in_secs(240),
    }
}

pub fn envelope(offer_id: &str, provider: &str) -> CreditEnvelopeRequest {
    CreditEnvelopeRequest {
        schema: "openagents.credit.envelope_request.v1".into(),
        offer_id: offer_id.into(),
        provider_id: provider.into(),
    }
}

/// A pair whose B runs pool [`POOL`] (LLP and CEP) with `credit` as its `[pool.credit]`
/// settings; the directory holds the config file.
pub fn pool_pair(credit: &str) -> (tempfile::TempDir, Pair) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("pool.toml");
    std::fs::write(&config, format!("[pool]\n{credit}")).unwrap();
    let pair = Pair::start(&binary(), PairSpec::new(CAPACITY_SAT), |chain, i| {
        let options = NodeOptions::regtest(chain);
        if i == 1 {
            options
                .token(LP, "lp")
                .token(ROUTER, "pay+read")
                .args(["--config", config.to_str().unwrap()])
        } else {
            options
        }
    })
    .unwrap();
    pair.b
        .client()
        .create_pool(&CreatePoolRequest {
            pool_id: POOL.into(),
            name: None,
            partitions: Some(vec!["llp".into(), "cep".into()]),
        })
        .unwrap();
    (dir, pair)
}

/// B's credit settings for settling: every agent starts at 50,000 sat, a fresh default
/// (weight 4) costs 40,000 of it, and the tick that defaults expired envelopes runs every
/// second.
pub const SETTLE_CONFIG: &str = "\
[pool.credit]
base_sats = 50000
k = 0
default_penalty_sats = 10000
max_envelope_sats = 60000
max_open_envelopes_per_agent = 2
max_offer_ttl_secs = 600
min_fee_bps = 80
nip90_surcharge_bps = 0
tick_secs = 1
";

/// A BOLT11 test vector for mainnet (BOLT 11's "please consider supporting this
/// project").
pub const MAINNET_INVOICE: &str = "lnbc1pvjluezsp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygspp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdpl2pkx2ctnv5sxxmmwwd5kgetjypeh2ursdae8g6twvus8g6rfwvs8qun0dfjkxaq9qrsgq357wnc5r2ueh7ck6q93dj32dlqnls087fxdwk8qakdyafkq3yap9us6v52vjjsrvywa6rt52cm9r9zqt8r2t7mlcwspyetp5h2tztugp9lfyql";

/// The provider id of `node`: its node key, x-only.
pub fn provider_of(node: &NodeProcess) -> String {
    node.client().node_info().unwrap().node_id[2..].to_owned()
}

/// An invoice of `sats` from `node`.
pub fn invoice_of(node: &NodeProcess, sats: u64, label: &str) -> InvoiceResponse {
    node.client()
        .create_invoice(&CreateInvoiceRequest {
            amount_msat: Some(sats * 1000),
            description: label.into(),
            expiry_secs: Some(3600),
        })
        .unwrap()
}

/// The verifier's receipt hash of an envelope's outcome (any 32 bytes will do).
pub fn verdict(envelope_id: &str) -> String {
    sha256::Hash::hash(envelope_id.as_bytes())
        .to_byte_array()
        .to_lower_hex_string()
}

pub fn settle(envelope_id: &str, passed: bool, invoice: &str) -> CreditSettleRequest {
    CreditSettleRequest {
        schema: "openagents.credit.settle_request.v1".into(),
        envelope_id: envelope_id.into(),
        verification_passed: passed,
        verification_receipt_sha256: verdict(envelope_id),
        provider_invoice: invoice.into(),
        provider_host: "provider.example".into(),
        max_fee_msats: 5_000,
        policy_context: serde_json::json!({"budget": "b1"}),
        spend_authorization: None,
    }
}

/// An envelope of `sats` for `agent` to buy `scope_id` from `provider`; its id.
pub fn issue(router: &ApiClient, agent: &str, scope_id: &str, sats: u64, provider: &str) -> String {
    let o = router
        .credit_offer(&offer(agent, scope_id, sats, None))
        .unwrap()
        .offer;
    router
        .credit_envelope(&envelope(&o.offer_id, provider))
        .unwrap()
        .envelope
        .envelope_id
}

/// The CEP partition of B's pool now.
pub fn cep(node: &NodeProcess) -> PartitionStatus {
    node.client()
        .pool_status(POOL)
        .unwrap()
        .partitions
        .into_iter()
        .find(|p| p.partition_kind == "cep")
        .unwrap()
}

/// B's succeeded payments of `payment_hash`.
pub fn paid_by(node: &NodeProcess, payment_hash: &str) -> usize {
    node.client()
        .payments_of_hash(payment_hash)
        .unwrap()
        .iter()
        .filter(|p| {
            p.direction == PaymentDirection::Outbound && p.status == PaymentStatus::Succeeded
        })
        .count()
}

/// The agent `seed`'s BIP-340 signature of the spend.
pub fn authorize(seed: u8, envelope_id: &str, invoice: &InvoiceResponse) -> String {
    let secp = Secp256k1::new();
    let keys = Keypair::from_seckey_slice(&secp, &[seed; 32]).unwrap();
    let spend = authorization::digest(
        envelope_id,
        &invoice.payment_hash,
        invoice.amount_msat.unwrap(),
        &verdict(envelope_id),
    );
    secp.sign_schnorr_no_aux_rand(&Message::from_digest(spend), &keys)
        .serialize()
        .to_lower_hex_string()
}
