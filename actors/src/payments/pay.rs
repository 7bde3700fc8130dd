//! Paying: a quote exactly once, an invoice from the admin API, or a keysend. Every
//! path records the attempt durably *before* LDK may send an HTLC, so a crash can always
//! be reconciled (see `reconcile`).

use bitcoin::hashes::{sha256, Hash};
use bitcoin::hex::{DisplayHex, FromHex};
use bitcoin::secp256k1::PublicKey;
use lightning::ln::channelmanager::{PaymentId, RecipientOnionFields, Retry};
use lightning::routing::router::{PaymentParameters, RouteParameters, RouteParametersConfig};
use lightning::sign::EntropySource;
use lightning::types::payment::PaymentPreimage;
use serde_json::{json, Value};
use sluice_storage::{
    IdempotencyRecord, PaymentRecord, PaymentStatus, QuoteRecord, StoreError, Table, WriteBatch,
};

use super::attempts::{latest, start, Started};
use super::codes::{bolt11_failure_code, send_failure_code};
use super::expiry::key_expiry;
use super::invoice::{check_invoice, CheckedInvoice};
use super::quote::Urgency;
use super::settle::{settle, Outcome};
use crate::budgets::Hold;
use crate::clock::unix_ms;
use crate::idempotency::{self, IdempotencyKey, Seen};
use crate::{Components, NodeError};

/// The idempotency scope of quote payments: one payment per quote id.
pub const PAY_SCOPE: &str = "pay";
/// The CLTV delta a keysend payment's final hop gets (LDK's recommended minimum plus
/// a margin).
const KEYSEND_FINAL_CLTV_DELTA: u32 = 40;

/// The routing-fee ceiling of a payment whose request names none: 1 % of the amount plus
/// 50 sat, LDK's own default for invoice payments. Keysend takes it too: LDK reads an
/// absent ceiling on a spontaneous payment as no ceiling at all, so a hostile last hop
/// could charge any fee.
pub fn default_max_fee_msat(amount_msat: u64) -> u64 {
    amount_msat / 100 + 50_000
}

/// The route parameters of a keysend of `amount_msat` to `payee`, always with a fee
/// ceiling: `max_fee_msat` or [`default_max_fee_msat`].
fn keysend_route(payee: PublicKey, amount_msat: u64, max_fee_msat: u64) -> RouteParameters {
    let mut params = RouteParameters::from_payment_params_and_value(
        PaymentParameters::for_keysend(payee, KEYSEND_FINAL_CLTV_DELTA, false),
        amount_msat,
    );
    params.max_total_routing_fee_msat = Some(max_fee_msat);
    params
}

/// A request to pay a quote (`POST /v1/liquidity/pay`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayRequest {
    /// The quote to pay.
    pub quote_id: String,
    /// The agent run the payment belongs to.
    pub run_id: Option<String>,
    /// The trajectory (ReplayBundle) hash.
    pub trajectory_hash: Option<String>,
    /// The API token paying (its SHA-256, hex): its budget pays, its name is recorded.
    pub caller: String,
}

/// A request to pay an invoice directly (`POST /v1/node/payments`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoicePayment {
    /// The BOLT11 invoice.
    pub invoice: String,
    /// The amount, for an invoice without one.
    pub amount_msat: Option<u64>,
    /// The fee ceiling; [`default_max_fee_msat`] when absent.
    pub max_fee_msat: Option<u64>,
    /// The request's idempotency key and its caller, if it has one. An invoice is paid
    /// at most once anyway; with a key a retry also gets the first answer.
    pub idempotency: Option<IdempotencyKey>,
    /// The API token paying (its SHA-256, hex): its budget pays, its name is recorded.
    pub caller: String,
}

/// A spontaneous payment (`POST /v1/node/payments/keysend`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeysendPayment {
    /// The payee.
    pub node_id: PublicKey,
    /// What the payee gets.
    pub amount_msat: u64,
    /// The fee ceiling; [`default_max_fee_msat`] when absent.
    pub max_fee_msat: Option<u64>,
    /// The request's idempotency key and its caller, who pays (its budget, its name in
    /// the record). A keysend has no invoice to be paid once, so the key is what keeps
    /// a retried request from paying twice.
    pub idempotency: IdempotencyKey,
}

impl KeysendPayment {
    /// What the idempotency key is bound to.
    fn fingerprint(&self) -> Result<String, NodeError> {
        idempotency::fingerprint(&json!({
            "node_id": self.node_id.to_string(),
            "amount_msat": self.amount_msat,
            "max_fee_msat": self.max_fee_msat,
        }))
    }
}

impl InvoicePayment {
    /// What the idempotency key is bound to.
    fn fingerprint(&self) -> Result<String, NodeError> {
        idempotency::fingerprint(&json!({
            "invoice": self.invoice.trim(),
            "amount_msat": self.amount_msat,
            "max_fee_msat": self.max_fee_msat,
        }))
    }
}

/// The idempotency scope of keysend payments (per caller).
pub const KEYSEND_SCOPE: &str = "keysend";
/// The idempotency scope of direct invoice payments (per caller).
pub const PAY_INVOICE_SCOPE: &str = "pay_invoice";

/// A key's binding to one request, answered by `payment_id`: stored in the payment
/// attempt's own batch.
fn answered_by(
    scope: &str,
    key: &IdempotencyKey,
    fingerprint: &str,
    payment_id: &str,
) -> IdempotencyRecord {
    let answer = json!({ idempotency::ANSWER: { "payment_id": payment_id } });
    idempotency::record(scope, &key.key, fingerprint, answer)
}

/// The payment a repeated request gets: the one its key was first answered with, as it
/// stands now.
async fn replayed_payment(
    components: &Components,
    scope: &str,
    key: &IdempotencyKey,
    fingerprint: &str,
) -> Result<Option<PaymentRecord>, NodeError> {
    let answer = match idempotency::seen(&components.store, scope, &key.key, fingerprint).await? {
        Seen::New => return Ok(None),
        Seen::Answered(answer) => answer,
        // Payments store the key with the attempt: a claim alone is never written.
        Seen::Unfinished(_) => {
            return Err(NodeError::RequestInProgress(format!(
                "Idempotency-Key {}",
                key.key
            )))
        }
    };
    named_payment(components, answer.get(idempotency::ANSWER), "").await
}

/// The payment a stored answer names (`{"payment_id": …}`); `of` says whose, for the
/// error of an answer naming a payment that is not stored.
async fn named_payment(
    components: &Components,
    answer: Option<&Value>,
    of: &str,
) -> Result<Option<PaymentRecord>, NodeError> {
    let payment_id = answer
        .and_then(|a| a.get("payment_id"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    components
        .store
        .get::<PaymentRecord>(payment_id.clone())
        .await?
        .map(Some)
        .ok_or_else(|| NodeError::NotFound(format!("payment {payment_id}{of}")))
}

/// Reserves a payment of `amount_msat` plus up to `max_fee_msat` in fees to `payee` from
/// `caller`'s budget, if it has one.
async fn reserve(
    components: &Components,
    caller: &str,
    payee: &PublicKey,
    amount_msat: u64,
    max_fee_msat: u64,
) -> Result<Option<Hold>, NodeError> {
    let cost_msat = amount_msat.saturating_add(max_fee_msat);
    components
        .budgets
        .reserve(&components.store, caller, payee, cost_msat)
        .await
}

/// `record` (a new attempt) as started by `caller` and paid from `hold`.
fn paid_by(mut record: PaymentRecord, caller: &str, hold: Option<&Hold>) -> PaymentRecord {
    record.token = Some(caller.to_owned());
    if let Some(hold) = hold {
        hold.stamp(&mut record);
    }
    record
}

/// Adds `hold`'s spend of `payment_id` to an attempt's batch.
fn spend(hold: Option<&Hold>, payment_id: &str, batch: &mut WriteBatch) -> Result<(), StoreError> {
    if let Some(hold) = hold {
        batch.create(&hold.spend(payment_id))?;
    }
    Ok(())
}

/// The attempt is stored: its outcome settles the hold from now on.
fn keep(hold: Option<Hold>) {
    if let Some(hold) = hold {
        hold.keep();
    }
}

/// Runs a payment request to its end in a task of its own: the caller may give up (a
/// closed connection, a timeout) at any point, and a payment recorded pending must still
/// be handed to LDK or settled failed, never left pending until a restart.
async fn detached<F>(request: F) -> Result<PaymentRecord, NodeError>
where
    F: std::future::Future<Output = Result<PaymentRecord, NodeError>> + Send + 'static,
{
    match tokio::spawn(request).await {
        Ok(result) => result,
        Err(e) => {
            // Cancelled by the runtime's shutdown, or a bug (a panic).
            if e.is_panic() {
                tracing::error!(error = %e, "a payment task panicked");
            }
            Err(NodeError::NotRunning)
        }
    }
}

/// A pending outbound record of attempt `payment_id`.
pub(crate) fn pending(
    payment_id: String,
    payment_hash: &[u8; 32],
    invoice: Option<String>,
    amount_msat: u64,
    max_fee_msat: u64,
) -> PaymentRecord {
    let now = unix_ms();
    PaymentRecord {
        payment_id,
        payment_hash: payment_hash.to_lower_hex_string(),
        quote_id: None,
        invoice,
        amount_msat,
        max_fee_msat,
        fee_paid_msat: None,
        status: PaymentStatus::Pending,
        preimage: None,
        failure_code: None,
        run_id: None,
        trajectory_hash: None,
        receipt_id: None,
        token: None,
        budget_period_ms: None,
        created_at_ms: now,
        updated_at_ms: now,
    }
}

fn payment_id_bytes(record: &PaymentRecord) -> Result<PaymentId, NodeError> {
    <[u8; 32]>::from_hex(&record.payment_id)
        .map(PaymentId)
        .map_err(|e| NodeError::InvalidRequest(format!("payment id: {e}")))
}

/// Hands a recorded attempt of `checked` to LDK; a refusal settles it as failed.
async fn send_invoice(
    components: &Components,
    record: PaymentRecord,
    checked: &CheckedInvoice,
    max_fee_msat: Option<u64>,
    urgency: Urgency,
) -> Result<PaymentRecord, NodeError> {
    let route_config = RouteParametersConfig {
        max_total_routing_fee_msat: max_fee_msat,
        max_channel_saturation_power_of_half: urgency.saturation_power_of_half(),
        ..RouteParametersConfig::default()
    };
    let payment_id = payment_id_bytes(&record)?;
    components.send_window.enter(&record.payment_id).await;
    let sent = components.channel_manager.pay_for_bolt11_invoice(
        &checked.invoice,
        payment_id,
        checked.explicit_amount_msat,
        route_config,
        Retry::Timeout(urgency.retry_for()),
    );
    match sent {
        Ok(()) => Ok(record),
        Err(e) => refused(components, record, bolt11_failure_code(&e)).await,
    }
}

/// Settles `record` as failed with `code`: LDK refused to send it.
async fn refused(
    components: &Components,
    record: PaymentRecord,
    code: &str,
) -> Result<PaymentRecord, NodeError> {
    metrics::counter!("sluice_payments_sent_total", "outcome" => "refused").increment(1);
    let outcome = Outcome::Failed {
        code: code.to_owned(),
    };
    Ok(settle(components, &record.payment_id, outcome)
        .await?
        .unwrap_or(record))
}

/// The payment of quote `quote_id`, if it was paid.
pub async fn paid_before(
    components: &Components,
    quote_id: &str,
) -> Result<Option<PaymentRecord>, NodeError> {
    let key = IdempotencyRecord::table_key(PAY_SCOPE, quote_id);
    let Some(stored) = components.store.get::<IdempotencyRecord>(key).await? else {
        return Ok(None);
    };
    let of = format!(" of quote {quote_id}");
    named_payment(components, stored.response.as_ref(), &of).await
}

/// Pays the quote `request.quote_id`, at most once: a repeat (concurrent or after a
/// restart) gets the first payment's record, whatever its state.
pub async fn pay_quote(
    components: &Components,
    request: PayRequest,
) -> Result<PaymentRecord, NodeError> {
    if let Some(record) = paid_before(components, &request.quote_id).await? {
        return Ok(record);
    }
    let quote = components
        .store
        .get::<QuoteRecord>(request.quote_id.clone())
        .await?
        .ok_or_else(|| NodeError::NotFound(format!("quote {}", request.quote_id)))?;
    if unix_ms() > quote.valid_until_ms {
        return Err(NodeError::QuoteExpired(quote.quote_id));
    }
    let amount = (quote.quoted_amount_msats != 0).then_some(quote.quoted_amount_msats);
    let checked = check_invoice(&quote.invoice, components.network, amount)?;
    let payment_hash = checked.invoice.payment_hash().to_byte_array();
    let fee_limit = quote
        .max_fee_msats
        .min(quote.max_amount_msats.saturating_sub(checked.amount_msat));
    let payee = checked.invoice.get_payee_pub_key();
    let caller = request.caller.as_str();
    let hold = reserve(components, caller, &payee, checked.amount_msat, fee_limit).await?;
    let now = unix_ms();
    let started = start(
        &components.store,
        &payment_hash,
        |id| {
            let record = PaymentRecord {
                quote_id: Some(quote.quote_id.clone()),
                run_id: request.run_id.clone(),
                trajectory_hash: request.trajectory_hash.clone(),
                ..pending(
                    id,
                    &payment_hash,
                    Some(quote.invoice.clone()),
                    checked.amount_msat,
                    fee_limit,
                )
            };
            paid_by(record, caller, hold.as_ref())
        },
        |payment_id, batch| {
            spend(hold.as_ref(), payment_id, batch)?;
            // Binds the quote to this attempt, in the attempt's own batch.
            let key = IdempotencyRecord {
                scope: PAY_SCOPE.to_owned(),
                key: quote.quote_id.clone(),
                request_sha256: quote.quote_id.clone(),
                response: Some(json!({ "payment_id": payment_id })),
                created_at_ms: now,
            };
            batch.create(&key)?;
            Ok(())
        },
    )
    .await;
    let started = match started {
        // The attempt in flight (or paid) may be this quote's own, started by a
        // concurrent pay since the check above: then that is the answer.
        Err(e @ (NodeError::PaymentInProgress(_) | NodeError::AlreadyPaid(_))) => {
            return match paid_before(components, &request.quote_id).await? {
                Some(record) => Ok(record),
                None => Err(e),
            };
        }
        other => other?,
    };
    let record = match started {
        Started::New(record) => {
            keep(hold);
            *record
        }
        Started::Conflict(table) if table == Table::Idempotency.name() => {
            // A concurrent pay of this quote won; answer with its payment.
            return paid_before(components, &request.quote_id)
                .await?
                .ok_or_else(|| NodeError::NotFound(format!("quote {}", request.quote_id)));
        }
        Started::Conflict(table) => {
            return Err(NodeError::InvalidRequest(format!(
                "a conflicting {table} record"
            )))
        }
    };
    let urgency = Urgency::parse(&quote.urgency).unwrap_or_default();
    send_invoice(components, record, &checked, Some(fee_limit), urgency).await
}

/// Pays an invoice directly. An invoice with a payment in flight gets that payment's
/// record back; a paid one is refused; a request repeated with its idempotency key gets
/// the first answer. Runs to its end even if the caller goes away.
pub async fn pay_invoice(
    components: &Components,
    request: InvoicePayment,
) -> Result<PaymentRecord, NodeError> {
    let components = components.clone();
    detached(async move { pay_invoice_now(&components, request).await }).await
}

async fn pay_invoice_now(
    components: &Components,
    request: InvoicePayment,
) -> Result<PaymentRecord, NodeError> {
    let keyed = match &request.idempotency {
        Some(key) => {
            let scope = idempotency::scope(PAY_INVOICE_SCOPE, &key.caller);
            let fingerprint = request.fingerprint()?;
            if let Some(record) = replayed_payment(components, &scope, key, &fingerprint).await? {
                return Ok(record);
            }
            Some((scope, key, fingerprint))
        }
        None => None,
    };
    let checked = check_invoice(&request.invoice, components.network, request.amount_msat)?;
    let payment_hash = checked.invoice.payment_hash().to_byte_array();
    let max_fee_msat = request
        .max_fee_msat
        .unwrap_or_else(|| default_max_fee_msat(checked.amount_msat));
    let payee = checked.invoice.get_payee_pub_key();
    let caller = request.caller.as_str();
    let hold = reserve(
        components,
        caller,
        &payee,
        checked.amount_msat,
        max_fee_msat,
    )
    .await?;
    let started = start(
        &components.store,
        &payment_hash,
        |id| {
            let record = pending(
                id,
                &payment_hash,
                Some(request.invoice.trim().to_owned()),
                checked.amount_msat,
                max_fee_msat,
            );
            paid_by(record, caller, hold.as_ref())
        },
        |payment_id, batch| {
            spend(hold.as_ref(), payment_id, batch)?;
            if let Some((scope, key, fingerprint)) = &keyed {
                let answer = answered_by(scope, key, fingerprint, payment_id);
                batch.create(&answer)?;
                batch.put(&key_expiry(&answer))?;
            }
            Ok(())
        },
    )
    .await;
    let record = match started {
        Ok(Started::New(record)) => {
            keep(hold);
            *record
        }
        Ok(Started::Conflict(table)) if table == Table::Idempotency.name() => {
            // A concurrent request with the same key won: answer with its payment.
            let (scope, key, fingerprint) = keyed.as_ref().ok_or_else(|| {
                NodeError::InvalidRequest("a conflicting idempotency record".into())
            })?;
            return replayed_payment(components, scope, key, fingerprint)
                .await?
                .ok_or_else(|| NodeError::RequestInProgress(key.key.clone()));
        }
        Ok(Started::Conflict(table)) => {
            return Err(NodeError::InvalidRequest(format!(
                "a conflicting {table} record"
            )))
        }
        Err(e @ NodeError::PaymentInProgress(_)) => {
            // The invoice is being paid: answer with that payment.
            return match latest(&components.store, &payment_hash).await? {
                (Some(record), _) if record.status == PaymentStatus::Pending => Ok(record),
                _ => Err(e),
            };
        }
        Err(e) => return Err(e),
    };
    send_invoice(
        components,
        record,
        &checked,
        Some(max_fee_msat),
        Urgency::Normal,
    )
    .await
}

/// Sends `request.amount_msat` to `request.node_id` without an invoice (keysend): the
/// preimage is made here and travels in the onion. A request repeated with its
/// idempotency key gets the first payment, as it stands. Runs to its end even if the
/// caller goes away.
pub async fn keysend(
    components: &Components,
    request: KeysendPayment,
) -> Result<PaymentRecord, NodeError> {
    let components = components.clone();
    detached(async move { keysend_now(&components, request).await }).await
}

async fn keysend_now(
    components: &Components,
    request: KeysendPayment,
) -> Result<PaymentRecord, NodeError> {
    if request.node_id == components.channel_manager.get_our_node_id() {
        return Err(NodeError::InvalidRequest(
            "node_id: a node cannot pay itself".into(),
        ));
    }
    let key = &request.idempotency;
    let scope = idempotency::scope(KEYSEND_SCOPE, &key.caller);
    let fingerprint = request.fingerprint()?;
    if let Some(record) = replayed_payment(components, &scope, key, &fingerprint).await? {
        return Ok(record);
    }
    let preimage = components.keys.get_secure_random_bytes();
    let payment_hash = sha256::Hash::hash(&preimage).to_byte_array();
    let max_fee_msat = request
        .max_fee_msat
        .unwrap_or_else(|| default_max_fee_msat(request.amount_msat));
    let caller = key.caller.as_str();
    let hold = reserve(
        components,
        caller,
        &request.node_id,
        request.amount_msat,
        max_fee_msat,
    )
    .await?;
    let started = start(
        &components.store,
        &payment_hash,
        |id| {
            let record = pending(id, &payment_hash, None, request.amount_msat, max_fee_msat);
            paid_by(record, caller, hold.as_ref())
        },
        |payment_id, batch| {
            spend(hold.as_ref(), payment_id, batch)?;
            let answer = answered_by(&scope, key, &fingerprint, payment_id);
            batch.create(&answer)?;
            batch.put(&key_expiry(&answer))?;
            Ok(())
        },
    )
    .await?;
    let record = match started {
        Started::New(record) => {
            keep(hold);
            *record
        }
        Started::Conflict(table) if table == Table::Idempotency.name() => {
            // A concurrent request with the same key won: answer with its payment.
            return replayed_payment(components, &scope, key, &fingerprint)
                .await?
                .ok_or_else(|| NodeError::RequestInProgress(key.key.clone()));
        }
        Started::Conflict(table) => {
            return Err(NodeError::InvalidRequest(format!(
                "a conflicting {table} record"
            )))
        }
    };
    let params = keysend_route(request.node_id, request.amount_msat, max_fee_msat);
    let payment_id = payment_id_bytes(&record)?;
    components.send_window.enter(&record.payment_id).await;
    let sent = components.channel_manager.send_spontaneous_payment(
        Some(PaymentPreimage(preimage)),
        RecipientOnionFields::spontaneous_empty(),
        payment_id,
        params,
        Retry::Timeout(Urgency::Normal.retry_for()),
    );
    match sent {
        Ok(_) => Ok(record),
        Err(e) => refused(components, record, send_failure_code(&e)).await,
    }
}

#[cfg(test)]
mod tests {
    use bitcoin::secp256k1::{Secp256k1, SecretKey};

    use super::*;

    fn payee() -> PublicKey {
        let key = SecretKey::from_slice(&[3u8; 32]).expect("a valid key");
        PublicKey::from_secret_key(&Secp256k1::new(), &key)
    }

    /// Before the fix a keysend without `max_fee_msat` went to LDK with no ceiling.
    #[test]
    fn a_keysend_always_carries_a_fee_ceiling() {
        let amount_msat = 2_000_000;
        let ceiling = default_max_fee_msat(amount_msat);
        assert_eq!(ceiling, 20_000 + 50_000);
        let params = keysend_route(payee(), amount_msat, ceiling);
        assert_eq!(params.max_total_routing_fee_msat, Some(ceiling));
        assert_eq!(params.final_value_msat, amount_msat);
        let params = keysend_route(payee(), amount_msat, 7);
        assert_eq!(params.max_total_routing_fee_msat, Some(7));
    }

    /// The default is LDK's own for invoice payments, so both kinds share one ceiling.
    #[test]
    fn the_default_ceiling_is_ldks_invoice_default() {
        for amount_msat in [0, 1, 999_999, 2_000_000, 21_000_000_000_000_000] {
            let ldk = RouteParameters::from_payment_params_and_value(
                PaymentParameters::from_node_id(payee(), 40),
                amount_msat,
            );
            assert_eq!(
                ldk.max_total_routing_fee_msat,
                Some(default_max_fee_msat(amount_msat))
            );
        }
    }
}
