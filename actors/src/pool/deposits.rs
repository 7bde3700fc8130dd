//! Deposits (spec §5.1): a quote hands the LP an invoice or an address; when the money
//! is final, the deposit mints shares at the price of that moment.
//!
//! Nothing is lost and nothing minted twice:
//! - a quote stores the deposit, its rail reference, the LP's ownership and the
//!   idempotency key in one commit before the invoice or address is returned;
//! - a Lightning deposit is final when the node's record of the claimed payment is
//!   durable (`received_payments`); an on-chain one when the wallet sees its output with
//!   enough confirmations. Either way the deposit is confirmed, its ledger entry booked
//!   and its receipt stored in one commit, and only a deposit not yet confirmed is
//!   credited. After a crash the sweep finds what arrived and credits it.

use bitcoin::hashes::{sha256, Hash};
use bitcoin::hex::DisplayHex;
use lightning::ln::channelmanager::Bolt11InvoiceParameters;
use lightning::sign::EntropySource;
use lightning_invoice::{Bolt11InvoiceDescription, Description};
use serde_json::{json, Value};
use sluice_pool::{Movement, PartitionKind, Price};
use sluice_storage::{
    DepositRail, DepositRecord, DepositRefRecord, DepositStatus, LpRecord, PoolEntryRecord,
    PoolRecord, ReceiptRecord, ReceivedByHashRecord, ReceivedRecord, WriteBatch,
};

use super::book::Pools;
use super::PoolConfig;
use crate::clock::unix_ms;
use crate::idempotency::{self, Seen};
use crate::receipts::{self, DepositReceipt, ReceiptKind};
use crate::{Components, NodeError};

/// The idempotency scope's operation name of deposit quotes.
const OPERATION: &str = "pool_deposit";

/// A deposit quote asked for, checked by the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepositAsk {
    /// The pool.
    pub pool_id: String,
    /// Who asks: the API token's SHA-256, hex.
    pub caller: String,
    /// Whether the caller is an admin (may act for any LP).
    pub admin: bool,
    /// The depositor.
    pub lp_id: String,
    /// The caller's idempotency key.
    pub idempotency_key: String,
    /// The request's fingerprint (SHA-256 of its canonical JSON), bound to the key.
    pub fingerprint: String,
    /// The partition.
    pub partition: PartitionKind,
    /// How it is paid.
    pub rail: DepositRail,
    /// The amount, sat.
    pub amount_sats: u64,
    /// The LP's note.
    pub description: Option<String>,
    /// How long the quote stays payable, s.
    pub expiry_secs: u64,
}

/// A deposit as the API shows it: the record, the price (now, or the one it minted at),
/// and its receipt once confirmed.
#[derive(Debug, Clone)]
pub struct DepositView {
    /// The deposit.
    pub record: DepositRecord,
    /// The price it would mint at now, or minted at.
    pub price: Price,
    /// The confirmations an on-chain deposit needs.
    pub required_confirmations: Option<u32>,
    /// The signed receipt, once confirmed.
    pub receipt: Option<Value>,
}

/// Checks that `caller` may act for `lp_id` in `pool_id`: the LP id's owner or an admin.
/// An LP id nobody used yet may be taken.
pub async fn check_owner(
    c: &Components,
    pool_id: &str,
    lp_id: &str,
    caller: &str,
    admin: bool,
) -> Result<Option<LpRecord>, NodeError> {
    let owner = c
        .store
        .get::<LpRecord>(LpRecord::table_key(pool_id, lp_id))
        .await?;
    match &owner {
        Some(lp) if !admin && lp.owner != caller => Err(NodeError::Forbidden(format!(
            "LP {lp_id} of pool {pool_id} belongs to another token"
        ))),
        _ => Ok(owner),
    }
}

/// Quotes a deposit, or answers the deposit this key made before.
pub async fn quote(
    c: &Components,
    pools: &mut Pools,
    config: &PoolConfig,
    ask: DepositAsk,
) -> Result<DepositView, NodeError> {
    let pool = pools.get(&ask.pool_id)?;
    let scope = idempotency::scope(OPERATION, &ask.caller);
    if let Seen::Answered(response) =
        idempotency::seen(&c.store, &scope, &ask.idempotency_key, &ask.fingerprint).await?
    {
        let deposit_id = response[idempotency::ANSWER]["deposit_id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        return view(c, pools, config, &deposit_id).await;
    }
    if !pool.record.partitions.contains(&ask.partition) {
        return Err(NodeError::InvalidRequest(format!(
            "partition_kind: pool {} takes no deposits into {}",
            ask.pool_id,
            ask.partition.as_str()
        )));
    }
    let max_sats = match ask.rail {
        DepositRail::LightningInvoice => config.max_lightning_deposit_sats,
        DepositRail::OnchainAddress => config.max_onchain_deposit_sats,
    };
    if ask.amount_sats > max_sats {
        return Err(NodeError::AmountAboveMaximum {
            amount_msat: ask.amount_sats.saturating_mul(1000),
            max_msat: max_sats.saturating_mul(1000),
        });
    }
    let owner = check_owner(c, &ask.pool_id, &ask.lp_id, &ask.caller, ask.admin).await?;

    let now = unix_ms();
    let random = c.keys.get_secure_random_bytes();
    let deposit_id = format!("dep_{}", random[..16].to_lower_hex_string());
    let mut record = DepositRecord {
        deposit_id: deposit_id.clone(),
        pool_id: ask.pool_id.clone(),
        partition: ask.partition,
        lp_id: ask.lp_id.clone(),
        idempotency_key: ask.idempotency_key.clone(),
        rail: ask.rail,
        amount_sats: ask.amount_sats,
        description: ask.description.clone(),
        invoice_bolt11: None,
        payment_hash: None,
        deposit_address: None,
        status: DepositStatus::Quoted,
        received_msat: None,
        outpoint: None,
        units_minted: None,
        entry_seq: None,
        receipt_id: None,
        created_at_ms: now,
        expires_at_ms: now.saturating_add(ask.expiry_secs.saturating_mul(1000)),
        confirmed_at_ms: None,
    };
    let reference = match ask.rail {
        DepositRail::LightningInvoice => {
            let text = ask
                .description
                .clone()
                .unwrap_or_else(|| format!("deposit {deposit_id} into pool {}", ask.pool_id));
            let description = Description::new(text)
                .map_err(|e| NodeError::InvalidRequest(format!("description: {e}")))?;
            let params = Bolt11InvoiceParameters {
                amount_msats: Some(ask.amount_sats.saturating_mul(1000)),
                description: Bolt11InvoiceDescription::Direct(description),
                invoice_expiry_delta_secs: u32::try_from(ask.expiry_secs).ok(),
                ..Default::default()
            };
            let invoice = c
                .channel_manager
                .create_bolt11_invoice(params)
                .map_err(|e| NodeError::Invoice(format!("{e:?}")))?;
            let payment_hash = invoice.payment_hash().to_string();
            record.invoice_bolt11 = Some(invoice.to_string());
            record.payment_hash = Some(payment_hash.clone());
            DepositRefRecord::lightning(&payment_hash)
        }
        DepositRail::OnchainAddress => {
            let address = c.wallet.new_address()?.to_string();
            record.deposit_address = Some(address.clone());
            DepositRefRecord::onchain(&address)
        }
    };

    let mut batch = WriteBatch::new();
    batch.create(&record)?;
    batch.create(&DepositRefRecord {
        reference,
        deposit_id: deposit_id.clone(),
    })?;
    if owner.is_none() {
        batch.create(&LpRecord {
            pool_id: ask.pool_id.clone(),
            lp_id: ask.lp_id.clone(),
            owner: ask.caller.clone(),
            created_at_ms: now,
        })?;
    }
    batch.create(&idempotency::record(
        &scope,
        &ask.idempotency_key,
        &ask.fingerprint,
        json!({ idempotency::ANSWER: { "deposit_id": deposit_id } }),
    ))?;
    c.store.commit(batch).await?;
    metrics::counter!("sluice_pool_deposits_total", "stage" => "quoted").increment(1);
    pools.open_deposits.insert(deposit_id.clone(), record);
    view(c, pools, config, &deposit_id).await
}

/// The deposit `deposit_id` as it stands.
pub async fn view(
    c: &Components,
    pools: &Pools,
    config: &PoolConfig,
    deposit_id: &str,
) -> Result<DepositView, NodeError> {
    let record = match pools.open_deposits.get(deposit_id) {
        Some(open) => open.clone(),
        None => c
            .store
            .get::<DepositRecord>(deposit_id.to_owned())
            .await?
            .ok_or_else(|| NodeError::NotFound(format!("deposit {deposit_id}")))?,
    };
    let (price, receipt) = match &record.receipt_id {
        Some(receipt_id) => {
            let receipt = c
                .store
                .get::<ReceiptRecord>(receipt_id.clone())
                .await?
                .ok_or_else(|| NodeError::NotFound(format!("receipt {receipt_id}")))?;
            (minted_price(&receipt.body)?, Some(receipt.body))
        }
        None => (
            pools
                .get(&record.pool_id)?
                .ledger
                .partition(record.partition)
                .book()
                .price(),
            None,
        ),
    };
    Ok(DepositView {
        required_confirmations: (record.rail == DepositRail::OnchainAddress)
            .then_some(config.onchain_confirmations),
        record,
        price,
        receipt,
    })
}

/// The price a confirmed deposit minted at, from its receipt.
fn minted_price(receipt: &Value) -> Result<Price, NodeError> {
    let field = |name: &str| {
        receipt[name]
            .as_str()
            .and_then(|s| s.parse::<u128>().ok())
            .ok_or_else(|| NodeError::Receipt(format!("a deposit receipt without {name}")))
    };
    Ok(Price {
        msat: field("price_msat")?,
        units: field("price_units")?,
    })
}

/// What was claimed for `payment_hash`, msat: the first claim's amount (a second payment
/// of the same invoice is not a second deposit).
pub async fn claimed_msat(c: &Components, payment_hash: &str) -> Result<Option<u64>, NodeError> {
    let mut first: Option<ReceivedRecord> = None;
    for by_hash in c
        .store
        .scan::<ReceivedByHashRecord>(ReceivedByHashRecord::prefix(payment_hash))
        .await?
    {
        if let Some(received) = c
            .store
            .get::<ReceivedRecord>(by_hash.payment_id.clone())
            .await?
        {
            if first
                .as_ref()
                .is_none_or(|f| received.received_at_ms < f.received_at_ms)
            {
                first = Some(received);
            }
        }
    }
    Ok(first.map(|r| r.amount_msat))
}

/// Confirms an open deposit for `received_msat`: mints its units at the price now, books
/// the entry and stores the receipt, in one commit. A deposit already confirmed is left
/// as it is.
pub async fn credit(
    c: &Components,
    pools: &mut Pools,
    deposit_id: &str,
    received_msat: u64,
    outpoint: Option<String>,
) -> Result<(), NodeError> {
    let Some(open) = pools.open_deposits.get(deposit_id).cloned() else {
        return Ok(());
    };
    let book = pools
        .get(&open.pool_id)?
        .ledger
        .partition(open.partition)
        .book();
    let price = book.price();
    let units = book
        .units_for_deposit(received_msat)
        .map_err(|e| NodeError::Ledger(format!("deposit {deposit_id}: {e}")))?;
    let now = unix_ms();
    let entry = pools.next_entry(
        &open.pool_id,
        now,
        Movement::Deposit {
            partition: open.partition,
            lp_id: open.lp_id.clone(),
            msat: received_msat,
            units,
            deposit_id: deposit_id.to_owned(),
        },
    )?;
    let body = DepositReceipt {
        schema: ReceiptKind::Deposit.schema().to_owned(),
        deposit_id: deposit_id.to_owned(),
        pool_id: open.pool_id.clone(),
        partition_kind: open.partition.as_str().to_owned(),
        lp_id: open.lp_id.clone(),
        idempotency_key: open.idempotency_key.clone(),
        rail: rail_name(open.rail).to_owned(),
        amount_sats: open.amount_sats,
        received_msats: received_msat,
        payment_hash: open.payment_hash.clone(),
        outpoint: outpoint.clone(),
        price_msat: price.msat.to_string(),
        price_units: price.units.to_string(),
        units_minted: units.to_string(),
        entry_seq: entry.seq,
        created_at_ms: open.created_at_ms,
        confirmed_at_ms: now,
    };
    let receipt =
        receipts::actor::seal_record(&c.actors.receipts, ReceiptKind::Deposit, &body, now).await?;

    let confirmed = DepositRecord {
        status: DepositStatus::Confirmed,
        received_msat: Some(received_msat),
        outpoint,
        units_minted: Some(units),
        entry_seq: Some(entry.seq),
        receipt_id: Some(receipt.receipt_id.clone()),
        confirmed_at_ms: Some(now),
        ..open
    };
    let mut batch = WriteBatch::new();
    batch.create(&PoolEntryRecord {
        pool_id: confirmed.pool_id.clone(),
        entry: entry.clone(),
    })?;
    batch.put(&confirmed)?;
    batch.create(&receipt)?;
    // LLP's first deposit: on-chain fees count from the chain's height now.
    let funded = pools.get(&confirmed.pool_id)?.record.clone();
    let funded = (confirmed.partition == PartitionKind::Llp && funded.fees_from_height.is_none())
        .then(|| PoolRecord {
            fees_from_height: Some(c.wallet.synced_height()),
            ..funded
        });
    if let Some(record) = &funded {
        batch.put(record)?;
    }
    c.store.commit(batch).await?;
    pools.applied(&confirmed.pool_id, &entry)?;
    if let Some(record) = funded {
        if let Some(pool) = pools.pools.get_mut(&record.pool_id) {
            pool.record = record;
        }
    }
    pools.open_deposits.remove(deposit_id);
    metrics::counter!("sluice_pool_deposits_total", "stage" => "confirmed").increment(1);
    tracing::info!(
        deposit_id,
        pool_id = %confirmed.pool_id,
        lp_id = %confirmed.lp_id,
        received_msat,
        %units,
        "deposit confirmed: shares minted"
    );
    Ok(())
}

/// Stores a changed open deposit (pending, expired) and keeps the open set in step.
pub async fn update(
    c: &Components,
    pools: &mut Pools,
    record: DepositRecord,
) -> Result<(), NodeError> {
    let mut batch = WriteBatch::new();
    batch.put(&record)?;
    c.store.commit(batch).await?;
    if matches!(
        record.status,
        DepositStatus::Quoted | DepositStatus::Pending
    ) {
        pools
            .open_deposits
            .insert(record.deposit_id.clone(), record);
    } else {
        metrics::counter!("sluice_pool_deposits_total", "stage" => "expired").increment(1);
        pools.open_deposits.remove(&record.deposit_id);
    }
    Ok(())
}

/// The wire name of a rail.
pub fn rail_name(rail: DepositRail) -> &'static str {
    match rail {
        DepositRail::LightningInvoice => "lightning_invoice",
        DepositRail::OnchainAddress => "onchain_address",
    }
}

/// SHA-256 of an invoice's text, hex (the `invoice_hash` of OpenAgents bodies).
pub fn invoice_hash(invoice: &str) -> String {
    sha256::Hash::hash(invoice.as_bytes())
        .to_byte_array()
        .to_lower_hex_string()
}
