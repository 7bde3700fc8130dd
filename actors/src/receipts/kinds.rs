//! The receipt types of spec §9 and their schemas.

use serde::{Deserialize, Serialize};

/// Every receipt type, by its `schema`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReceiptKind {
    /// A pool deposit credited.
    Deposit,
    /// A pool withdrawal asked for: shares locked.
    WithdrawRequest,
    /// A pool withdrawal ended: paid out (or failed and given back).
    WithdrawSettlement,
    /// A Lightning invoice paid (or failed) for a quote.
    InvoicePay,
    /// A credit envelope issued.
    EnvelopeIssue,
    /// A credit envelope settled.
    EnvelopeSettlement,
    /// A credit envelope defaulted.
    DefaultNotice,
    /// A pool's proof snapshot: its assets, partitions and liabilities root.
    PoolSnapshot,
    /// A rebalance of the node's channels ended: its fee, and the part the RRP
    /// partition booked.
    Rebalance,
}

impl ReceiptKind {
    /// Every kind.
    pub const ALL: [ReceiptKind; 9] = [
        ReceiptKind::Deposit,
        ReceiptKind::WithdrawRequest,
        ReceiptKind::WithdrawSettlement,
        ReceiptKind::InvoicePay,
        ReceiptKind::EnvelopeIssue,
        ReceiptKind::EnvelopeSettlement,
        ReceiptKind::DefaultNotice,
        ReceiptKind::PoolSnapshot,
        ReceiptKind::Rebalance,
    ];

    /// The `schema` a receipt of this kind carries. Pool and Lightning receipts are
    /// `openagents.liquidity.*` (the TreasuryRouter name for invoice payments); credit
    /// envelope receipts are `openagents.credit.*`.
    pub const fn schema(self) -> &'static str {
        match self {
            ReceiptKind::Deposit => "openagents.liquidity.deposit_receipt.v1",
            ReceiptKind::WithdrawRequest => "openagents.liquidity.withdraw_request_receipt.v1",
            ReceiptKind::WithdrawSettlement => {
                "openagents.liquidity.withdraw_settlement_receipt.v1"
            }
            ReceiptKind::InvoicePay => "openagents.liquidity.invoice_pay_receipt.v1",
            ReceiptKind::EnvelopeIssue => "openagents.credit.envelope_issue_receipt.v1",
            ReceiptKind::EnvelopeSettlement => "openagents.credit.envelope_settlement_receipt.v1",
            ReceiptKind::DefaultNotice => "openagents.credit.default_notice.v1",
            ReceiptKind::PoolSnapshot => "openagents.liquidity.pool_snapshot_receipt.v1",
            ReceiptKind::Rebalance => "openagents.liquidity.rebalance_receipt.v1",
        }
    }

    /// The kind whose schema is `schema`.
    pub fn from_schema(schema: &str) -> Option<ReceiptKind> {
        ReceiptKind::ALL.into_iter().find(|k| k.schema() == schema)
    }
}

/// The receipt of a quoted invoice payment (`openagents.liquidity.invoice_pay_receipt.v1`),
/// before sealing. The field names follow the TreasuryRouter receipt; optional fields
/// are written as `null`, never left out, so they are hashed as `null`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoicePayReceipt {
    /// Always [`ReceiptKind::InvoicePay`]'s schema.
    pub schema: String,
    /// The quote that was paid.
    pub quote_id: String,
    /// The caller's idempotency key of the quote.
    pub idempotency_key: String,
    /// SHA-256 of the BOLT11 invoice text, hex.
    pub invoice_hash: String,
    /// The invoice's payment hash, hex.
    pub payment_hash: String,
    /// The node's payment id of the attempt, hex.
    pub payment_id: String,
    /// The host the payment was for (from the quote).
    pub host: String,
    /// The amount quoted for the payee, msat.
    pub quoted_amount_msats: u64,
    /// The routing fee quoted, msat.
    pub quoted_fee_msats: u64,
    /// The caller's ceiling on amount plus fees, msat.
    pub max_amount_msats: u64,
    /// The caller's ceiling on fees, msat.
    pub max_fee_msats: u64,
    /// The amount delivered to the payee, msat.
    pub amount_msats: u64,
    /// The routing fee paid, msat (`null` unless it succeeded).
    pub fee_msats: Option<u64>,
    /// `succeeded` or `failed`.
    pub status: String,
    /// SHA-256 of the preimage, hex: proof of payment without revealing it.
    pub preimage_sha256: Option<String>,
    /// Why it failed, a stable code.
    pub error_code: Option<String>,
    /// SHA-256 of the quote's policy context, hex.
    pub policy_context_sha256: String,
    /// The agent run the payment belongs to, if the caller said.
    pub run_id: Option<String>,
    /// The trajectory (ReplayBundle) hash, if the caller said.
    pub trajectory_hash: Option<String>,
    /// When the payment settled, Unix ms (`null` unless it succeeded).
    pub paid_at_ms: Option<u64>,
    /// When the outcome was recorded, Unix ms.
    pub created_at_ms: u64,
}

/// The receipt of a pool deposit credited (`openagents.liquidity.deposit_receipt.v1`),
/// before sealing: what arrived, and the shares it minted at the price of the moment it
/// confirmed. Share counts and the price are decimal strings (they are `u128`, beyond
/// what a JSON number carries exactly); optional fields are written as `null`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepositReceipt {
    /// Always [`ReceiptKind::Deposit`]'s schema.
    pub schema: String,
    /// The deposit.
    pub deposit_id: String,
    /// The pool.
    pub pool_id: String,
    /// The partition (`llp`, `cep`, `rrp`).
    pub partition_kind: String,
    /// The depositor.
    pub lp_id: String,
    /// The LP's idempotency key of the quote.
    pub idempotency_key: String,
    /// `lightning_invoice` or `onchain_address`.
    pub rail: String,
    /// The amount quoted, sat.
    pub amount_sats: u64,
    /// The amount credited, msat (what arrived).
    pub received_msats: u64,
    /// The Lightning payment's hash, hex.
    pub payment_hash: Option<String>,
    /// The on-chain output that paid it, `txid:vout`.
    pub outpoint: Option<String>,
    /// The price minted at: NAV plus the virtual msat (numerator), msat.
    pub price_msat: String,
    /// The price minted at: share units plus the virtual units (denominator).
    pub price_units: String,
    /// Share units minted (a share is 10^9 units).
    pub units_minted: String,
    /// The ledger entry that booked it.
    pub entry_seq: u64,
    /// When it was quoted, Unix ms.
    pub created_at_ms: u64,
    /// When it confirmed and minted, Unix ms.
    pub confirmed_at_ms: u64,
}

/// A pool's proof snapshot (`openagents.liquidity.pool_snapshot_receipt.v1`, spec §4.3),
/// before sealing: the node's assets by rail, each partition's books, and the liabilities
/// to LPs as the root of a Merkle sum tree (`sluice_pool::proof`) that each LP can check
/// their own leaf against. Share counts and prices are decimal strings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolSnapshotReceipt {
    /// Always [`ReceiptKind::PoolSnapshot`]'s schema.
    pub schema: String,
    /// The pool.
    pub pool_id: String,
    /// The snapshot's number in the pool, from 1.
    pub snapshot_seq: u64,
    /// The chain (`bitcoin`, `regtest`, …) the outpoints are on.
    pub network: String,
    /// The last ledger entry the books include (`null` before the first).
    pub ledger_seq: Option<u64>,
    /// The node's assets.
    pub assets: SnapshotAssets,
    /// Each partition the pool has, as booked.
    pub partitions: Vec<SnapshotPartition>,
    /// What the pool owes.
    pub liabilities: SnapshotLiabilities,
    /// The partitions' booked assets summed, msat.
    pub booked_msats: u64,
    /// The node's assets less the booked ones, msat: funds that are not the pool's (the
    /// operator's), and costs not booked yet. Negative means the books hold more than the
    /// node has.
    pub drift_msats: i64,
    /// When it was taken, Unix ms.
    pub taken_at_ms: u64,
}

/// The node's assets by rail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotAssets {
    /// On-chain outputs: anyone can check them against the chain.
    pub onchain: OnchainAssets,
    /// Channel balances: the operator's word (`operator_attested`).
    pub lightning: LightningAssets,
    /// Both, msat.
    pub total_msats: u64,
}

/// The wallet's unspent outputs (immature coinbase left out).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnchainAssets {
    /// `provable`.
    pub attestation: String,
    /// The outputs' sum, msat.
    pub total_msats: u64,
    /// The outputs.
    pub utxos: Vec<SnapshotUtxo>,
}

/// One unspent output of the wallet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotUtxo {
    /// `txid:vout`.
    pub outpoint: String,
    /// Its value, sat.
    pub value_sats: u64,
    /// The height of the block that confirmed it (`null`: unconfirmed).
    pub confirmed_height: Option<u32>,
}

/// The node's open channels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LightningAssets {
    /// `operator_attested`.
    pub attestation: String,
    /// The channels' local balances summed, msat.
    pub total_msats: u64,
    /// The channels.
    pub channels: Vec<SnapshotChannel>,
}

/// One channel's local balance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotChannel {
    /// The channel id, hex.
    pub channel_id: String,
    /// The peer, hex.
    pub counterparty_node_id: String,
    /// The funding output, `txid:vout` (`null` before it is known).
    pub funding_outpoint: Option<String>,
    /// What the node could send now, msat.
    pub spendable_msats: u64,
    /// The reserve the peer requires the node to keep, msat.
    pub reserve_msats: u64,
    /// Outgoing HTLCs not yet resolved, msat.
    pub htlcs_out_msats: u64,
}

/// A partition's books at the snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotPartition {
    /// `llp`, `cep` or `rrp`.
    pub partition_kind: String,
    /// Its booked assets, msat.
    pub assets_msats: u64,
    /// Owed by agents for credit envelopes, msat (left out at 0, as in every snapshot
    /// from before credit envelopes, which therefore still hash the same).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub receivables_msats: u64,
    /// Owed to LPs for burned shares not yet paid, msat.
    pub pending_withdrawals_msats: u64,
    /// Its NAV (assets and receivables less pending withdrawals), msat.
    pub nav_msats: u64,
    /// Share units outstanding.
    pub units: String,
    /// The share price: NAV plus the virtual msat (numerator).
    pub price_msat: String,
    /// The share price: units plus the virtual units (denominator).
    pub price_units: String,
    /// Its LPs' holdings valued at that price, summed, msat.
    pub lp_positions_msats: u64,
}

/// What the pool owes, with the tree that commits to every LP's part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotLiabilities {
    /// The liabilities tree's root hash, hex.
    pub merkle_root: String,
    /// Its leaves (one per LP and partition held).
    pub leaf_count: u64,
    /// The root's sum: every LP's holdings at the partitions' prices, msat.
    pub lp_positions_msats: u64,
    /// Withdrawals owed and not yet paid, msat.
    pub pending_withdrawals_msats: u64,
    /// Credit envelope commitments reserved, msat.
    pub reserved_envelopes_msats: u64,
    /// All three, msat.
    pub total_msats: u64,
}

/// The receipt of an issued credit envelope (`openagents.credit.envelope_issue_receipt.v1`),
/// before sealing: who may draw what, for which outcome, until when, at what fee, and the
/// underwriting it was decided on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvelopeIssueReceipt {
    /// Always [`ReceiptKind::EnvelopeIssue`]'s schema.
    pub schema: String,
    /// The envelope.
    pub envelope_id: String,
    /// The offer it was issued from.
    pub offer_id: String,
    /// The agent (x-only public key, hex).
    pub agent_id: String,
    /// The pool whose CEP partition lends.
    pub pool_id: String,
    /// The provider it pays.
    pub provider_id: String,
    /// `nip90`, `l402` or `skill`.
    pub scope_type: String,
    /// Which job, call or skill.
    pub scope_id: String,
    /// The most the provider can be paid, sat.
    pub max_sats: u64,
    /// The credit fee, basis points of what is paid.
    pub fee_bps: u32,
    /// The agent's limit when the offer was made, sat.
    pub underwriting_limit_sats: u64,
    /// The last moment a settlement is accepted, Unix ms.
    pub exp_ms: u64,
    /// The last moment a draw may be repaid before it defaults, Unix ms.
    pub repay_by_ms: u64,
    /// When it was issued, Unix ms.
    pub created_at_ms: u64,
}

/// The receipt of an envelope's draw (`openagents.credit.envelope_settlement_receipt.v1`),
/// before sealing: the verifier's verdict it was paid on, the provider's payment (its
/// hash and the preimage's hash as proof), and what the agent owes for it, until when.
/// Optional fields are written as `null`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvelopeSettlementReceipt {
    /// Always [`ReceiptKind::EnvelopeSettlement`]'s schema.
    pub schema: String,
    /// The envelope.
    pub envelope_id: String,
    /// The settlement.
    pub settlement_id: String,
    /// The envelope's `envelope_issue_receipt`.
    pub issue_receipt_id: String,
    /// The agent (x-only public key, hex).
    pub agent_id: String,
    /// The pool whose CEP partition lent.
    pub pool_id: String,
    /// The provider paid.
    pub provider_id: String,
    /// The host the provider serves from, as the settle named it.
    pub provider_host: String,
    /// `nip90`, `l402` or `skill`.
    pub scope_type: String,
    /// Which job, call or skill.
    pub scope_id: String,
    /// `issuer_pays` (mode 1), `provider_pulls` (mode 2, with the agent's authorization)
    /// or `jit_pay` (a TreasuryRouter pay of a quote on the envelope, spec §8.2).
    pub mode: String,
    /// SHA-256 of the verifier's receipt, hex.
    pub verification_receipt_sha256: String,
    /// SHA-256 of the provider's BOLT11 invoice text, hex.
    pub invoice_hash: String,
    /// The invoice's payment hash, hex.
    pub payment_hash: String,
    /// The node's payment id, hex.
    pub payment_id: String,
    /// SHA-256 of the preimage, hex: proof of payment without revealing it.
    pub preimage_sha256: Option<String>,
    /// Paid to the provider, msat.
    pub spent_msats: u64,
    /// The routing fee the pool paid, msat.
    pub routing_fee_msats: u64,
    /// The credit fee, msat.
    pub credit_fee_msats: u64,
    /// What the agent owes for the draw (all three), msat.
    pub owed_msats: u64,
    /// The last moment the draw may be repaid before it defaults, Unix ms.
    pub repay_by_ms: u64,
    /// SHA-256 of the settle's policy context, hex.
    pub policy_context_sha256: String,
    /// The payment's `invoice_pay_receipt`, when a quote was paid (`jit_pay`).
    pub liquidity_receipt_id: Option<String>,
    /// When the payment was booked, Unix ms.
    pub settled_at_ms: u64,
}

/// The notice of an envelope's default (`openagents.credit.default_notice.v1`), before
/// sealing: why (`verification_failed`, `expired`, `unrepaid`) and the capital lost (0
/// unless a draw went unrepaid). Optional fields are written as `null`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DefaultNoticeReceipt {
    /// Always [`ReceiptKind::DefaultNotice`]'s schema.
    pub schema: String,
    /// The envelope.
    pub envelope_id: String,
    /// The settlement asked, if one was.
    pub settlement_id: Option<String>,
    /// The envelope's `envelope_issue_receipt`.
    pub issue_receipt_id: String,
    /// The agent (x-only public key, hex).
    pub agent_id: String,
    /// The pool whose CEP partition lent.
    pub pool_id: String,
    /// The provider.
    pub provider_id: String,
    /// `nip90`, `l402` or `skill`.
    pub scope_type: String,
    /// Which job, call or skill.
    pub scope_id: String,
    /// `verification_failed`, `expired` or `unrepaid`.
    pub reason: String,
    /// SHA-256 of the verifier's receipt, hex, if a settlement named one.
    pub verification_receipt_sha256: Option<String>,
    /// What the agent drew, msat (0 unless it was paid).
    pub drawn_msats: u64,
    /// The capital written off, msat.
    pub loss_msats: u64,
    /// The envelope's expiry, Unix ms.
    pub exp_ms: u64,
    /// The repayment deadline, Unix ms.
    pub repay_by_ms: u64,
    /// When it defaulted, Unix ms.
    pub defaulted_at_ms: u64,
}

/// The receipt of a withdrawal request (`openagents.liquidity.withdraw_request_receipt.v1`),
/// before sealing: the shares locked, what they were worth then (the most the LP can be
/// paid) and when it will be paid. Units and the price are decimal strings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WithdrawRequestReceipt {
    /// Always [`ReceiptKind::WithdrawRequest`]'s schema.
    pub schema: String,
    /// The withdrawal.
    pub withdrawal_id: String,
    /// The pool.
    pub pool_id: String,
    /// The partition (`llp`, `cep`, `rrp`).
    pub partition_kind: String,
    /// The LP.
    pub lp_id: String,
    /// The LP's idempotency key.
    pub idempotency_key: String,
    /// `lightning` or `onchain`.
    pub rail: String,
    /// SHA-256 of the payout invoice's text, hex (Lightning).
    pub payout_invoice_hash: Option<String>,
    /// The payout address (on-chain).
    pub payout_address: Option<String>,
    /// Share units locked.
    pub shares_locked: String,
    /// The price at the request: msat over units.
    pub price_msat: String,
    /// The price's units.
    pub price_units: String,
    /// Their value at the request, msat: the most the withdrawal pays.
    pub value_at_request_msats: u64,
    /// Whether an operator must approve it before it is paid.
    pub needs_approval: bool,
    /// Whether it is an emergency withdrawal.
    pub emergency: bool,
    /// The earliest it may be paid, Unix ms.
    pub earliest_settlement_at_ms: u64,
    /// The latest it will be paid unless withdrawals are halted, Unix ms.
    pub latest_settlement_at_ms: u64,
    /// When it was asked for, Unix ms.
    pub created_at_ms: u64,
}

/// One payout of a settled withdrawal, in its settlement receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettledFill {
    /// Its number within the withdrawal.
    pub n: u32,
    /// Value owed for it, msat.
    pub msats: u64,
    /// Share units burned for it (decimal string).
    pub shares_burned: String,
    /// `paid` or `reversed`.
    pub state: String,
    /// The Lightning payment's id, hex.
    pub payment_id: Option<String>,
    /// The confirmed transaction that paid it.
    pub txid: Option<String>,
    /// Routing fee paid by the pool, msat (Lightning).
    pub fee_msats: Option<u64>,
    /// Why it failed, a stable code (reversed).
    pub failure: Option<String>,
}

/// The receipt of a withdrawal that ended (`openagents.liquidity.withdraw_settlement_receipt.v1`),
/// before sealing: every payout with its Lightning payment id or transaction id, what
/// was paid and burned, and the operator's approval if one was needed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WithdrawSettlementReceipt {
    /// Always [`ReceiptKind::WithdrawSettlement`]'s schema.
    pub schema: String,
    /// The withdrawal.
    pub withdrawal_id: String,
    /// The pool.
    pub pool_id: String,
    /// The partition.
    pub partition_kind: String,
    /// The LP.
    pub lp_id: String,
    /// `paid` or `failed`.
    pub status: String,
    /// The request receipt's id.
    pub request_receipt_id: String,
    /// Share units locked by the request.
    pub shares_locked: String,
    /// Share units burned in all (decimal string).
    pub shares_burned: String,
    /// Share units given back to the LP (failed payouts).
    pub shares_returned: String,
    /// Value at the request, msat.
    pub value_at_request_msats: u64,
    /// Value paid out, msat.
    pub paid_msats: u64,
    /// The payouts.
    pub fills: Vec<SettledFill>,
    /// The approving token's SHA-256, hex, if an approval was needed.
    pub approved_by: Option<String>,
    /// When it was approved, Unix ms.
    pub approved_at_ms: Option<u64>,
    /// When it was asked for, Unix ms.
    pub requested_at_ms: u64,
    /// When it ended, Unix ms.
    pub settled_at_ms: u64,
}

/// The receipt of a rebalance that ended (`openagents.liquidity.rebalance_receipt.v1`),
/// before sealing: a circular payment out of one of the node's channels and back in
/// through another, what it moved, the fee it paid and the part of that fee the pool's
/// RRP partition booked. Optional fields are written as `null`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RebalanceReceipt {
    /// Always [`ReceiptKind::Rebalance`]'s schema.
    pub schema: String,
    /// The rebalance (its payment hash, hex).
    pub rebalance_id: String,
    /// The circular payment's hash, hex.
    pub payment_hash: String,
    /// The channel paid out through, hex.
    pub from_channel: String,
    /// The channel paid back in through, hex.
    pub to_channel: String,
    /// The peer of `to_channel`, hex node id.
    pub to_peer: String,
    /// The amount moved, msat.
    pub amount_msat: u64,
    /// The fee ceiling it was sent with, msat.
    pub max_fee_msat: u64,
    /// The routing fee paid, msat (0 unless it succeeded).
    pub fee_paid_msat: u64,
    /// The part of the fee booked to the pool's RRP partition as a rebalance cost, msat
    /// (0 when none was).
    pub booked_msat: u64,
    /// The pool whose RRP partition booked the fee (`null` when no pool booked it).
    pub pool_id: Option<String>,
    /// `succeeded` or `failed`.
    pub outcome: String,
    /// Why it failed, a stable code (`null` unless it failed).
    pub failure: Option<String>,
    /// When it started, Unix ms.
    pub started_at_ms: u64,
    /// When it ended, Unix ms.
    pub ended_at_ms: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}
