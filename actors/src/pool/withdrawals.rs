//! Withdrawal requests (spec §5.2): an LP locks shares for a payout by Lightning or
//! on-chain; the withdrawal scheduler's ticks pay them (see `payouts.rs`).
//!
//! A request is checked whole before anything is stored — the LP's free shares (held and
//! not locked by another open withdrawal), the amount limits, the payout invoice (parses,
//! this network, not ours, no amount: the payout is the value at settlement) or address
//! (parses, this network) — and then stored with its idempotency key and its signed
//! `withdraw_request_receipt` in one commit. A bad request locks nothing.

use std::str::FromStr;

use bitcoin::hex::DisplayHex;
use bitcoin::Address;
use lightning::sign::EntropySource;
use lightning_invoice::Bolt11Invoice;
use serde_json::{json, Value};
use sluice_pool::queue::Rail;
use sluice_pool::withdrawal::Outstanding;
use sluice_pool::PartitionKind;
use sluice_storage::{
    PayoutInvoiceRecord, ReceiptRecord, WithdrawalRecord, WithdrawalStatus, WriteBatch,
};

use super::book::Pools;
use super::deposits::{check_owner, invoice_hash};
use crate::clock::{since_epoch, unix_ms};
use crate::idempotency::{self, Seen};
use crate::receipts::{self, ReceiptKind, WithdrawRequestReceipt};
use crate::withdrawals::WithdrawalConfig;
use crate::{Components, NodeError};

/// The idempotency scope's operation name of withdrawal requests.
const OPERATION: &str = "pool_withdraw";

/// A withdrawal asked for, checked for shape by the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WithdrawalAsk {
    /// The pool.
    pub pool_id: String,
    /// Who asks: the API token's SHA-256, hex.
    pub caller: String,
    /// Whether the caller is an admin (may act for any LP).
    pub admin: bool,
    /// The LP.
    pub lp_id: String,
    /// The caller's idempotency key.
    pub idempotency_key: String,
    /// The request's fingerprint (SHA-256 of its canonical JSON), bound to the key.
    pub fingerprint: String,
    /// The partition whose shares are withdrawn.
    pub partition: PartitionKind,
    /// Share units to withdraw.
    pub units: u128,
    /// How it is paid.
    pub rail: Rail,
    /// The LP's invoice without an amount (Lightning).
    pub payout_invoice: Option<String>,
    /// The LP's address (on-chain).
    pub payout_address: Option<String>,
    /// An emergency withdrawal (spec §5.2): paid first and in full while the pool is
    /// solvent and its reserves whole.
    pub emergency: bool,
}

/// A withdrawal as the API shows it.
#[derive(Debug, Clone)]
pub struct WithdrawalView {
    /// The withdrawal.
    pub record: WithdrawalRecord,
    /// What the rest is worth paying now, msat (0 once nothing is left).
    pub owed_now_msat: u64,
    /// The signed `withdraw_request_receipt`.
    pub request_receipt: Value,
    /// The signed `withdraw_settlement_receipt`, once it ended.
    pub settlement_receipt: Option<Value>,
}

/// Units of `lp_id` in `partition` of `pool_id` locked by open withdrawals.
pub fn locked_units(pools: &Pools, pool_id: &str, partition: PartitionKind, lp_id: &str) -> u128 {
    pools
        .open_withdrawals
        .values()
        .filter(|w| w.pool_id == pool_id && w.partition == partition && w.lp_id == lp_id)
        .map(|w| w.outstanding.units)
        .fold(0u128, u128::saturating_add)
}

/// Asks for a withdrawal, or answers the one this key made before.
pub async fn request(
    c: &Components,
    pools: &mut Pools,
    config: &WithdrawalConfig,
    ask: WithdrawalAsk,
) -> Result<WithdrawalView, NodeError> {
    let pool = pools.get(&ask.pool_id)?;
    let scope = idempotency::scope(OPERATION, &ask.caller);
    if let Seen::Answered(response) =
        idempotency::seen(&c.store, &scope, &ask.idempotency_key, &ask.fingerprint).await?
    {
        let id = response[idempotency::ANSWER]["withdrawal_id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        return view(c, pools, &id).await;
    }
    if ask.emergency && !config.emergency_enabled {
        return Err(NodeError::NotEnabled("emergency withdrawals"));
    }
    if ask.units == 0 {
        return Err(NodeError::InvalidRequest(
            "shares_burned: must be above 0".into(),
        ));
    }
    check_owner(c, &ask.pool_id, &ask.lp_id, &ask.caller, ask.admin).await?;
    let balances = pool.ledger.partition(ask.partition);
    let held = balances.holdings.get(&ask.lp_id).copied().unwrap_or(0);
    let free = held.saturating_sub(locked_units(pools, &ask.pool_id, ask.partition, &ask.lp_id));
    if ask.units > free {
        return Err(NodeError::NotEnoughShares {
            asked: ask.units,
            free,
        });
    }
    let book = balances.book();
    let lock = Outstanding::request(&book, ask.units)
        .map_err(|e| NodeError::Ledger(format!("withdrawal of {} units: {e}", ask.units)))?;
    let now = unix_ms();
    let max_delay_ms = u64::try_from(config.max_delay.as_millis()).unwrap_or(u64::MAX);
    let latest = now.saturating_add(max_delay_ms);
    check_amount(config, ask.rail, lock.cap_msat)?;
    let reserved = check_payout(c, config, &ask)?;
    if let Some(hash) = &reserved {
        if let Some(taken) = c.store.get::<PayoutInvoiceRecord>(hash.clone()).await? {
            return Err(NodeError::InvalidRequest(format!(
                "payout_invoice_bolt11: already the payout of withdrawal {}",
                taken.withdrawal_id
            )));
        }
    }

    let random = c.keys.get_secure_random_bytes();
    let withdrawal_id = format!("wd_{}", random[..16].to_lower_hex_string());
    let needs_approval = lock.cap_msat > config.approval_above_sats.saturating_mul(1000);
    let price = book.price();
    let body = WithdrawRequestReceipt {
        schema: ReceiptKind::WithdrawRequest.schema().to_owned(),
        withdrawal_id: withdrawal_id.clone(),
        pool_id: ask.pool_id.clone(),
        partition_kind: ask.partition.as_str().to_owned(),
        lp_id: ask.lp_id.clone(),
        idempotency_key: ask.idempotency_key.clone(),
        rail: rail_name(ask.rail).to_owned(),
        payout_invoice_hash: ask.payout_invoice.as_deref().map(invoice_hash),
        payout_address: ask.payout_address.clone(),
        shares_locked: ask.units.to_string(),
        price_msat: price.msat.to_string(),
        price_units: price.units.to_string(),
        value_at_request_msats: lock.cap_msat,
        needs_approval,
        emergency: ask.emergency,
        earliest_settlement_at_ms: now,
        latest_settlement_at_ms: latest,
        created_at_ms: now,
    };
    let receipt =
        receipts::actor::seal_record(&c.actors.receipts, ReceiptKind::WithdrawRequest, &body, now)
            .await?;
    let record = WithdrawalRecord {
        withdrawal_id: withdrawal_id.clone(),
        pool_id: ask.pool_id.clone(),
        partition: ask.partition,
        lp_id: ask.lp_id.clone(),
        idempotency_key: ask.idempotency_key.clone(),
        rail: ask.rail,
        payout_invoice: ask.payout_invoice.as_deref().map(|i| i.trim().to_owned()),
        payout_address: ask.payout_address.clone(),
        units_requested: ask.units,
        value_at_request_msat: lock.cap_msat,
        outstanding: lock,
        status: if needs_approval {
            WithdrawalStatus::Requested
        } else {
            WithdrawalStatus::Queued
        },
        needs_approval,
        emergency: ask.emergency,
        approved_by: None,
        approved_at_ms: None,
        fills: Vec::new(),
        paid_msat: 0,
        request_receipt_id: receipt.receipt_id.clone(),
        settlement_receipt_id: None,
        requested_at_ms: now,
        earliest_settlement_at_ms: now,
        latest_settlement_at_ms: latest,
        ended_at_ms: None,
    };
    let mut batch = WriteBatch::new();
    batch.create(&record)?;
    batch.create(&receipt)?;
    if let Some(payment_hash) = reserved {
        batch.create(&PayoutInvoiceRecord {
            payment_hash,
            withdrawal_id: withdrawal_id.clone(),
        })?;
    }
    batch.create(&idempotency::record(
        &scope,
        &ask.idempotency_key,
        &ask.fingerprint,
        json!({ idempotency::ANSWER: { "withdrawal_id": withdrawal_id } }),
    ))?;
    c.store.commit(batch).await?;
    metrics::counter!("sluice_pool_withdrawals_total", "stage" => "requested").increment(1);
    tracing::info!(
        %withdrawal_id,
        pool_id = %record.pool_id,
        lp_id = %record.lp_id,
        units = %record.units_requested,
        value_msat = record.value_at_request_msat,
        needs_approval,
        "withdrawal requested: shares locked"
    );
    pools.open_withdrawals.insert(withdrawal_id.clone(), record);
    view(c, pools, &withdrawal_id).await
}

/// The request's value against the limits: at least the minimum, at most the maximum
/// (and, over Lightning, at most what one payment may carry).
fn check_amount(config: &WithdrawalConfig, rail: Rail, value_msat: u64) -> Result<(), NodeError> {
    let min_msat = config.min_sats.saturating_mul(1000);
    if value_msat < min_msat {
        return Err(NodeError::InvalidRequest(format!(
            "shares_burned: worth {value_msat} msat now, below the minimum withdrawal of {min_msat} msat"
        )));
    }
    let max_sats = match rail {
        Rail::Lightning => config.max_lightning_sats.min(config.max_sats),
        Rail::Onchain => config.max_sats,
    };
    if value_msat > max_sats.saturating_mul(1000) {
        return Err(NodeError::AmountAboveMaximum {
            amount_msat: value_msat,
            max_msat: max_sats.saturating_mul(1000),
        });
    }
    Ok(())
}

/// Checks the payout destination the rail needs, and that the other rail's is absent;
/// the invoice's payment hash (hex) for a Lightning payout.
fn check_payout(
    c: &Components,
    config: &WithdrawalConfig,
    ask: &WithdrawalAsk,
) -> Result<Option<String>, NodeError> {
    match (ask.rail, &ask.payout_invoice, &ask.payout_address) {
        (Rail::Lightning, Some(invoice), None) => check_invoice(c, config, invoice).map(Some),
        (Rail::Onchain, None, Some(address)) => check_address(c, address).map(|()| None),
        (Rail::Lightning, _, _) => Err(NodeError::InvalidRequest(
            "rail_preference lightning takes payout_invoice_bolt11 and no payout_address".into(),
        )),
        (Rail::Onchain, _, _) => Err(NodeError::InvalidRequest(
            "rail_preference onchain takes payout_address and no payout_invoice_bolt11".into(),
        )),
    }
}

/// A payout invoice: parses, is for this network, is not the node's own, carries no
/// amount, and stays payable for at least two ticks. Its payment hash, hex.
fn check_invoice(
    c: &Components,
    config: &WithdrawalConfig,
    text: &str,
) -> Result<String, NodeError> {
    let invoice = Bolt11Invoice::from_str(text.trim())
        .map_err(|e| NodeError::InvalidRequest(format!("payout_invoice_bolt11: {e}")))?;
    if invoice.network() != c.network {
        return Err(NodeError::WrongNetwork {
            what: "invoice",
            theirs: invoice.network().to_string(),
            node: c.network.to_string(),
        });
    }
    if invoice.amount_milli_satoshis().is_some() {
        return Err(NodeError::InvalidRequest(
            "payout_invoice_bolt11: must carry no amount (the payout is the shares' value when paid)"
                .into(),
        ));
    }
    if invoice.get_payee_pub_key() == c.channel_manager.get_our_node_id() {
        return Err(NodeError::InvalidRequest(
            "payout_invoice_bolt11: an invoice of this node cannot be paid by it".into(),
        ));
    }
    if invoice.would_expire(since_epoch() + config.tick_every * 2) {
        return Err(NodeError::InvoiceExpired);
    }
    Ok(invoice.payment_hash().to_string())
}

/// A payout address: parses and is for this network.
fn check_address(c: &Components, text: &str) -> Result<(), NodeError> {
    let address = Address::from_str(text.trim())
        .map_err(|e| NodeError::InvalidRequest(format!("payout_address: {e}")))?;
    if !address.is_valid_for_network(c.network) {
        return Err(NodeError::WrongNetwork {
            what: "address",
            theirs: "another network".into(),
            node: c.network.to_string(),
        });
    }
    Ok(())
}

/// The withdrawal `withdrawal_id` as it stands.
pub async fn view(
    c: &Components,
    pools: &Pools,
    withdrawal_id: &str,
) -> Result<WithdrawalView, NodeError> {
    let record = match pools.open_withdrawals.get(withdrawal_id) {
        Some(open) => open.clone(),
        None => c
            .store
            .get::<WithdrawalRecord>(withdrawal_id.to_owned())
            .await?
            .ok_or_else(|| NodeError::NotFound(format!("withdrawal {withdrawal_id}")))?,
    };
    let owed_now_msat = if record.status.is_open() {
        let book = pools
            .get(&record.pool_id)?
            .ledger
            .partition(record.partition)
            .book();
        record.outstanding.entitlement(&book).unwrap_or(0)
    } else {
        0
    };
    let receipt = |id: String| async move {
        c.store
            .get::<ReceiptRecord>(id.clone())
            .await?
            .map(|r| r.body)
            .ok_or_else(|| NodeError::NotFound(format!("receipt {id}")))
    };
    let request_receipt = receipt(record.request_receipt_id.clone()).await?;
    let settlement_receipt = match record.settlement_receipt_id.clone() {
        Some(id) => Some(receipt(id).await?),
        None => None,
    };
    Ok(WithdrawalView {
        record,
        owed_now_msat,
        request_receipt,
        settlement_receipt,
    })
}

/// A withdrawal of `pool_id`, for its LP's owner or an admin.
pub async fn owned_view(
    c: &Components,
    pools: &Pools,
    pool_id: &str,
    withdrawal_id: &str,
    caller: &str,
    admin: bool,
) -> Result<WithdrawalView, NodeError> {
    pools.get(pool_id)?;
    let view = view(c, pools, withdrawal_id).await?;
    if view.record.pool_id != pool_id {
        return Err(NodeError::NotFound(format!(
            "withdrawal {withdrawal_id} in pool {pool_id}"
        )));
    }
    check_owner(c, pool_id, &view.record.lp_id, caller, admin).await?;
    Ok(view)
}

/// Cancels a withdrawal nothing was paid from yet: its shares are free again.
pub async fn cancel(
    c: &Components,
    pools: &mut Pools,
    pool_id: &str,
    withdrawal_id: &str,
    caller: &str,
    admin: bool,
) -> Result<WithdrawalView, NodeError> {
    let current = owned_view(c, pools, pool_id, withdrawal_id, caller, admin).await?;
    let record = current.record;
    if record.status == WithdrawalStatus::Canceled {
        return view(c, pools, withdrawal_id).await;
    }
    if !record.status.is_open() || !record.fills.is_empty() {
        return Err(NodeError::WithdrawalState(format!(
            "{withdrawal_id} cannot be canceled: a payout has begun or it ended"
        )));
    }
    let now = unix_ms();
    let canceled = WithdrawalRecord {
        status: WithdrawalStatus::Canceled,
        ended_at_ms: Some(now),
        ..record
    };
    let receipt = super::payouts::settlement_receipt(c, &canceled, now).await?;
    let canceled = WithdrawalRecord {
        settlement_receipt_id: Some(receipt.receipt_id.clone()),
        ..canceled
    };
    let mut batch = WriteBatch::new();
    batch.put(&canceled)?;
    batch.create(&receipt)?;
    c.store.commit(batch).await?;
    metrics::counter!("sluice_pool_withdrawals_total", "stage" => "canceled").increment(1);
    pools.open_withdrawals.remove(withdrawal_id);
    view(c, pools, withdrawal_id).await
}

/// An operator approves a withdrawal that waits for approval.
pub async fn approve(
    c: &Components,
    pools: &mut Pools,
    pool_id: &str,
    withdrawal_id: &str,
    approver: &str,
) -> Result<WithdrawalView, NodeError> {
    let current = owned_view(c, pools, pool_id, withdrawal_id, approver, true).await?;
    let record = current.record;
    match record.status {
        WithdrawalStatus::Approved => return view(c, pools, withdrawal_id).await,
        WithdrawalStatus::Requested => {}
        _ => {
            return Err(NodeError::WithdrawalState(format!(
                "{withdrawal_id} does not wait for an approval"
            )))
        }
    }
    let approved = WithdrawalRecord {
        status: WithdrawalStatus::Approved,
        approved_by: Some(approver.to_owned()),
        approved_at_ms: Some(unix_ms()),
        ..record
    };
    let mut batch = WriteBatch::new();
    batch.put(&approved)?;
    c.store.commit(batch).await?;
    tracing::info!(%withdrawal_id, "withdrawal approved");
    pools
        .open_withdrawals
        .insert(withdrawal_id.to_owned(), approved);
    view(c, pools, withdrawal_id).await
}

/// The wire name of a rail.
pub fn rail_name(rail: Rail) -> &'static str {
    match rail {
        Rail::Lightning => "lightning",
        Rail::Onchain => "onchain",
    }
}
