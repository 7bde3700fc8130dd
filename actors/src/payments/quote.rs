//! Quoting an invoice: check it, price a route with the pathfinding workers, and store
//! the quote with the caller's idempotency key in one atomic batch.

use std::time::Duration;

use bitcoin::hashes::{sha256, Hash};
use bitcoin::hex::DisplayHex;
use lightning::routing::router::{PaymentParameters, RouteParameters};
use lightning::sign::EntropySource;
use serde_json::{json, Value};
use sluice_storage::{IdempotencyRecord, QuoteRecord, StoreError, Table, WriteBatch};

use super::attempts::check_payable;
use super::expiry::quote_expiry;
use super::invoice::check_invoice;
use crate::clock::unix_ms;
use crate::idempotency;
use crate::pathfinding::request_route;
use crate::{Components, NodeError};

/// The idempotency scope of quotes.
pub const QUOTE_SCOPE: &str = "quote_pay";

/// How urgently the caller wants an invoice paid: how long the node keeps retrying
/// other routes before it reports the payment failed, and how much of any one channel's
/// capacity a route prefers to use (less is likelier to succeed at the first try, more
/// finds cheaper routes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Urgency {
    /// Patient: retry for up to five minutes; paths may use up to half a channel.
    Low,
    /// Retry for up to a minute; paths prefer at most a quarter of a channel (LDK's
    /// default).
    #[default]
    Normal,
    /// Fail fast (fifteen seconds) so the caller can take another way; paths prefer at
    /// most an eighth of a channel.
    High,
}

impl Urgency {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Urgency::Low => "low",
            Urgency::Normal => "normal",
            Urgency::High => "high",
        }
    }

    /// The urgency named `name`.
    pub fn parse(name: &str) -> Option<Urgency> {
        match name {
            "low" => Some(Urgency::Low),
            "normal" => Some(Urgency::Normal),
            "high" => Some(Urgency::High),
            _ => None,
        }
    }

    /// The share of a channel's capacity a path prefers to stay under, as a power of ½
    /// (LDK's `max_channel_saturation_power_of_half`; a preference the router relaxes
    /// when no path meets it).
    pub fn saturation_power_of_half(self) -> u8 {
        match self {
            Urgency::Low => 1,
            Urgency::Normal => 2,
            Urgency::High => 3,
        }
    }

    /// How long LDK keeps retrying a payment of this urgency.
    pub fn retry_for(self) -> Duration {
        match self {
            Urgency::Low => Duration::from_secs(300),
            Urgency::Normal => Duration::from_secs(60),
            Urgency::High => Duration::from_secs(15),
        }
    }
}

/// A request for a quote (`POST /v1/liquidity/quote_pay`), validated for shape by the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuoteRequest {
    /// The caller's key: the same request with the same key gets the same quote.
    pub idempotency_key: String,
    /// The BOLT11 invoice.
    pub invoice: String,
    /// The host (marketplace) the payment is for.
    pub host: String,
    /// The most the caller will send in total, amount plus fees.
    pub max_amount_msats: u64,
    /// The most the caller will pay in routing fees.
    pub max_fee_msats: u64,
    /// How urgently to pay.
    pub urgency: Urgency,
    /// The caller's policy context (which budget or approval rule authorised this).
    pub policy_context: Value,
    /// The amount, for an invoice without one.
    pub amount_msats: Option<u64>,
    /// The API token asking (its SHA-256, hex): a quote its budget would refuse is
    /// refused at once.
    pub caller: String,
}

impl QuoteRequest {
    /// SHA-256 of the request's canonical JSON: what an idempotency key is bound to.
    fn fingerprint(&self) -> Result<String, NodeError> {
        let value = json!({
            "idempotency_key": self.idempotency_key,
            "invoice": self.invoice,
            "host": self.host,
            "max_amount_msats": self.max_amount_msats,
            "max_fee_msats": self.max_fee_msats,
            "urgency": self.urgency.as_str(),
            "policy_context": self.policy_context,
            "amount_msats": self.amount_msats,
        });
        idempotency::fingerprint(&value)
    }
}

/// The stored quote a repeated request gets, or the conflict it is.
async fn replay(
    components: &Components,
    request: &QuoteRequest,
    fingerprint: &str,
) -> Result<Option<QuoteRecord>, NodeError> {
    let key = IdempotencyRecord::table_key(QUOTE_SCOPE, &request.idempotency_key);
    let Some(stored) = components.store.get::<IdempotencyRecord>(key).await? else {
        return Ok(None);
    };
    if stored.request_sha256 != fingerprint {
        return Err(NodeError::IdempotencyConflict(format!(
            "idempotency_key {} was used for another quote request",
            request.idempotency_key
        )));
    }
    let quote_id = stored
        .response
        .as_ref()
        .and_then(|r| r.get("quote_id"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    components
        .store
        .get::<QuoteRecord>(quote_id.clone())
        .await?
        .map(Some)
        .ok_or_else(|| NodeError::NotFound(format!("quote {quote_id}")))
}

/// Quotes `request`, valid for `ttl` (and never past the invoice's expiry).
pub async fn quote(
    components: &Components,
    request: QuoteRequest,
    ttl: Duration,
) -> Result<QuoteRecord, NodeError> {
    let fingerprint = request.fingerprint()?;
    if let Some(quote) = replay(components, &request, &fingerprint).await? {
        return Ok(quote);
    }
    let checked = check_invoice(&request.invoice, components.network, request.amount_msats)?;
    let amount = checked.amount_msat;
    if amount > request.max_amount_msats {
        return Err(NodeError::AmountAboveMaximum {
            amount_msat: amount,
            max_msat: request.max_amount_msats,
        });
    }
    let payment_hash = checked.invoice.payment_hash().to_byte_array();
    check_payable(&components.store, &payment_hash).await?;

    // The fee may use what the amount ceiling leaves, and no more than the fee ceiling.
    let fee_limit = request.max_fee_msats.min(request.max_amount_msats - amount);
    let payee = checked.invoice.get_payee_pub_key();
    let cost_msat = amount.saturating_add(fee_limit);
    let budgets = &components.budgets;
    budgets
        .check(&components.store, &request.caller, &payee, cost_msat)
        .await?;
    let mut params = RouteParameters::from_payment_params_and_value(
        PaymentParameters::from_bolt11_invoice(&checked.invoice),
        amount,
    );
    params.max_total_routing_fee_msat = Some(fee_limit);
    params.payment_params.max_channel_saturation_power_of_half =
        request.urgency.saturation_power_of_half();
    let route = request_route(&components.actors.pathfinding, params).await?;

    let now = unix_ms();
    let invoice_expiry_ms = checked.invoice.expires_at().map_or(u64::MAX, |at| {
        u64::try_from(at.as_millis()).unwrap_or(u64::MAX)
    });
    let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
    let random = components.keys.get_secure_random_bytes();
    let quote = QuoteRecord {
        quote_id: format!("quote_{}", random[..16].to_lower_hex_string()),
        idempotency_key: request.idempotency_key.clone(),
        invoice: request.invoice.trim().to_owned(),
        invoice_hash: sha256::Hash::hash(request.invoice.trim().as_bytes())
            .to_byte_array()
            .to_lower_hex_string(),
        payment_hash: payment_hash.to_lower_hex_string(),
        host: request.host.clone(),
        quoted_amount_msats: amount,
        quoted_fee_msats: route.get_total_fees(),
        max_amount_msats: request.max_amount_msats,
        max_fee_msats: request.max_fee_msats,
        urgency: request.urgency.as_str().to_owned(),
        policy_context_sha256: idempotency::fingerprint(&request.policy_context)?,
        valid_until_ms: now.saturating_add(ttl_ms).min(invoice_expiry_ms),
        created_at_ms: now,
    };
    let key = IdempotencyRecord {
        scope: QUOTE_SCOPE.to_owned(),
        key: request.idempotency_key.clone(),
        request_sha256: fingerprint.clone(),
        response: Some(json!({ "quote_id": quote.quote_id })),
        created_at_ms: now,
    };
    let mut batch = WriteBatch::new();
    batch.create(&quote)?;
    batch.create(&key)?;
    batch.put(&quote_expiry(&quote))?;
    match components.store.commit(batch).await {
        Ok(()) => {
            metrics::counter!("sluice_quotes_total").increment(1);
            Ok(quote)
        }
        // The same key was quoted meanwhile: answer as a repeat would be answered.
        Err(StoreError::Conflict { table, .. }) if table == Table::Idempotency.name() => {
            replay(components, &request, &fingerprint)
                .await?
                .ok_or_else(|| NodeError::NotFound("the concurrent quote".into()))
        }
        Err(e) => Err(e.into()),
    }
}
