//! The store's tables (fjall keyspaces) and the [`Record`] trait that ties a ledger
//! type to its table.

use serde::de::DeserializeOwned;
use serde::Serialize;

/// One fjall keyspace of the node's database.
///
/// [`Table::Ldk`] holds LDK's own key-value data (channel manager, monitors, graph …);
/// every other table holds one kind of ledger record, encoded as JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Table {
    /// LDK's key-value data, keyed `primary/secondary/key`.
    Ldk,
    /// Outgoing payment attempts ([`crate::PaymentRecord`]).
    Payments,
    /// Payment quotes ([`crate::QuoteRecord`]).
    Quotes,
    /// Signed receipts, append-only ([`crate::ReceiptRecord`]).
    Receipts,
    /// Idempotency keys and the first response given for them ([`crate::IdempotencyRecord`]).
    Idempotency,
    /// The on-chain wallet's state ([`crate::WalletRecord`]).
    Wallet,
    /// Peers to keep connected ([`crate::PeerRecord`]).
    Peers,
    /// JIT channel orders sold over LSPS2 ([`crate::JitOrderRecord`]).
    JitOrders,
    /// Incoming payments ([`crate::ReceivedRecord`]), apart from outgoing ones.
    Received,
    /// What payments took from their token's spend budget ([`crate::BudgetSpendRecord`]).
    BudgetSpends,
    /// Payments sent and received in time order ([`crate::PaymentIndexRecord`]).
    PaymentIndex,
    /// Client-created records by when they fall due ([`crate::ExpiryRecord`]).
    Expiries,
    /// Incoming payments by payment hash ([`crate::ReceivedByHashRecord`]).
    ReceivedByHash,
    /// The JIT orders by creation time ([`crate::JitOrderTimeKey`]), to list them newest
    /// first a page at a time.
    JitOrdersByTime,
    /// Liquidity pools ([`crate::PoolRecord`]).
    Pools,
    /// Pool ledger entries, append-only ([`crate::PoolEntryRecord`]).
    PoolEntries,
    /// LP deposits ([`crate::DepositRecord`]).
    PoolDeposits,
    /// Deposits by payment hash or address ([`crate::DepositRefRecord`]).
    PoolDepositRefs,
    /// Which token owns each LP id ([`crate::LpRecord`]).
    PoolLps,
    /// Proof snapshots of pools ([`crate::PoolSnapshotRecord`]).
    PoolSnapshots,
    /// Forwarding fees earned, per time bucket ([`crate::ForwardTotalRecord`]).
    ForwardTotals,
    /// LP withdrawals ([`crate::WithdrawalRecord`]).
    PoolWithdrawals,
    /// On-chain payout batches of withdrawals ([`crate::PayoutBatchRecord`]).
    PoolPayoutBatches,
    /// Payout invoices reserved by withdrawals ([`crate::PayoutInvoiceRecord`]).
    PoolPayoutInvoices,
    /// Agents' credit intents ([`crate::CreditIntentRecord`]).
    CreditIntents,
    /// Credit offers ([`crate::CreditOfferRecord`]).
    CreditOffers,
    /// Credit envelopes ([`crate::CreditEnvelopeRecord`]).
    CreditEnvelopes,
    /// Provider invoices reserved by envelope settlements ([`crate::CreditInvoiceRecord`]).
    CreditInvoices,
    /// Invoices the node made for agents to repay envelope draws
    /// ([`crate::CreditRepaymentRecord`]).
    CreditRepayments,
    /// Signed Nostr events the node publishes ([`crate::NostrEventRecord`]).
    NostrEvents,
    /// Nostr events some relay has yet to answer ([`crate::NostrOutboxRecord`]).
    NostrOutbox,
    /// Rebalances, by start time ([`crate::RebalanceRecord`]).
    Rebalances,
    /// Operators' per-channel rebalancing settings ([`crate::RebalanceChannelRecord`]).
    RebalanceChannels,
    /// The rebalancer's kill switch ([`crate::RebalancerControlRecord`]).
    RebalancerControl,
    /// The store's own bookkeeping: the commit sequence number (see the `mark` module).
    Meta,
}

impl Table {
    /// Every table, in the order their keyspaces are opened.
    pub const ALL: [Table; 35] = [
        Table::Ldk,
        Table::Payments,
        Table::Quotes,
        Table::Receipts,
        Table::Idempotency,
        Table::Wallet,
        Table::Peers,
        Table::JitOrders,
        Table::Received,
        Table::BudgetSpends,
        Table::PaymentIndex,
        Table::Expiries,
        Table::ReceivedByHash,
        Table::JitOrdersByTime,
        Table::Pools,
        Table::PoolEntries,
        Table::PoolDeposits,
        Table::PoolDepositRefs,
        Table::PoolLps,
        Table::PoolSnapshots,
        Table::ForwardTotals,
        Table::PoolWithdrawals,
        Table::PoolPayoutBatches,
        Table::PoolPayoutInvoices,
        Table::CreditIntents,
        Table::CreditOffers,
        Table::CreditEnvelopes,
        Table::CreditInvoices,
        Table::CreditRepayments,
        Table::NostrEvents,
        Table::NostrOutbox,
        Table::Rebalances,
        Table::RebalanceChannels,
        Table::RebalancerControl,
        Table::Meta,
    ];

    /// The keyspace name on disk. Never change one: it is the table's identity.
    pub const fn name(self) -> &'static str {
        match self {
            Table::Ldk => "ldk",
            Table::Payments => "payments",
            Table::Quotes => "quotes",
            Table::Receipts => "receipts",
            Table::Idempotency => "idempotency",
            Table::Wallet => "wallet",
            Table::Peers => "peers",
            Table::JitOrders => "jit_orders",
            Table::Received => "received_payments",
            Table::BudgetSpends => "budget_spends",
            Table::PaymentIndex => "payment_index",
            Table::Expiries => "expiries",
            Table::ReceivedByHash => "received_by_hash",
            Table::JitOrdersByTime => "jit_orders_by_time",
            Table::Pools => "pools",
            Table::PoolEntries => "pool_entries",
            Table::PoolDeposits => "pool_deposits",
            Table::PoolDepositRefs => "pool_deposit_refs",
            Table::PoolLps => "pool_lps",
            Table::PoolSnapshots => "pool_snapshots",
            Table::ForwardTotals => "forward_totals",
            Table::PoolWithdrawals => "pool_withdrawals",
            Table::PoolPayoutBatches => "pool_payout_batches",
            Table::PoolPayoutInvoices => "pool_payout_invoices",
            Table::CreditIntents => "credit_intents",
            Table::CreditOffers => "credit_offers",
            Table::CreditEnvelopes => "credit_envelopes",
            Table::CreditInvoices => "credit_invoices",
            Table::CreditRepayments => "credit_repayments",
            Table::NostrEvents => "nostr_events",
            Table::NostrOutbox => "nostr_outbox",
            Table::Rebalances => "rebalances",
            Table::RebalanceChannels => "rebalance_channels",
            Table::RebalancerControl => "rebalancer_control",
            Table::Meta => "meta",
        }
    }

    pub(crate) const fn index(self) -> usize {
        self as usize
    }
}

/// A ledger record stored in its own table under a text key.
///
/// Records are encoded as JSON with the field names of their Rust struct, so adding an
/// optional field later keeps old records readable (`#[serde(default)]`).
pub trait Record: Serialize + DeserializeOwned + Send + 'static {
    /// The table this record lives in.
    const TABLE: Table;

    /// The record's primary key.
    fn key(&self) -> String;
}

pub(crate) fn encode<R: Record>(record: &R) -> Result<Vec<u8>, crate::StoreError> {
    serde_json::to_vec(record).map_err(|source| crate::StoreError::Encode {
        table: R::TABLE.name(),
        source,
    })
}

pub(crate) fn decode<R: Record>(bytes: &[u8]) -> Result<R, crate::StoreError> {
    serde_json::from_slice(bytes).map_err(|source| crate::StoreError::Decode {
        table: R::TABLE.name(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::Table;

    #[test]
    fn every_table_is_listed_at_its_index() {
        for (position, table) in Table::ALL.iter().enumerate() {
            assert_eq!(table.index(), position, "{table:?}");
        }
        // A table missing from ALL would have no keyspace: its index would be out of range.
        assert_eq!(
            Table::Meta.index(),
            Table::ALL.len() - 1,
            "ALL must end with the last variant"
        );
    }
}
