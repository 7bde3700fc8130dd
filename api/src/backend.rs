//! The node as the API sees it: [`NodeBackend`], implemented by the node crate.
//!
//! The API validates every input before it calls the backend, so the commands here
//! carry parsed values (a [`PublicKey`], a 32-byte [`ChannelId`]) and a backend never
//! sees malformed hex. Answers are the wire types of [`sluice_api_types`].

use std::fmt;
use std::future::Future;
use std::str::FromStr;
use std::time::Duration;

use bitcoin::hex::DisplayHex;
use bitcoin::secp256k1::PublicKey;
use sluice_actors::credit::{EnvelopeAsk, IntentAsk, OfferAsk, SettleAsk};
use sluice_actors::idempotency::IdempotencyKey;
use sluice_actors::payments::{KeysendPayment, PayRequest as PayQuote, QuoteRequest};
use sluice_actors::pool::{CreatePool, DepositAsk, WithdrawalAsk};
use sluice_actors::NodeError;

use crate::types::{
    BudgetResponse, ChannelInfo, CreditAgentExposureResponse, CreditEnvelopeResponse,
    CreditHealthResponse, CreditIntentResponse, CreditOfferResponse, CreditRepaymentResponse,
    CreditSettleResponse, DepositQuoteResponse, HealthResponse, InclusionProofResponse,
    InvoiceResponse, ListPaymentsResponse, Lsps2MenuResponse, Lsps2OrdersResponse,
    Lsps2SummaryResponse, NodeInfoResponse, NostrStatusResponse, PayResponse, PaymentDirection,
    PaymentInfo, PaymentStatus, PeerInfo, PoolInfo, PoolPositionResponse, PoolSnapshotResponse,
    PoolStatusResponse, QuotePayResponse, RebalanceChannelSettings, RebalancerStatusResponse,
    StatsResponse, WalletAddressResponse, WalletBalanceResponse, WithdrawResponse,
    WithdrawalsHaltResponse,
};

/// What the API needs from a running node.
///
/// Every method returns a `Send` future, so the router can be generic over `B` without
/// boxing. A future may be dropped before it completes (the request timed out or the
/// client went away): an implementation that starts lasting work (a channel open) must
/// hand it to an actor rather than doing it half inside the future.
pub trait NodeBackend: Send + Sync + 'static {
    /// The node's identity and chain view.
    fn node_info(&self) -> impl Future<Output = Result<NodeInfoResponse, NodeError>> + Send;

    /// The connected peers.
    fn list_peers(&self) -> impl Future<Output = Result<Vec<PeerInfo>, NodeError>> + Send;

    /// Connects to a peer; succeeds once the connection is established (or already was).
    fn connect_peer(
        &self,
        request: ConnectPeer,
    ) -> impl Future<Output = Result<(), NodeError>> + Send;

    /// Disconnects a peer; [`NodeError::PeerNotConnected`] if it is not connected.
    fn disconnect_peer(
        &self,
        node_id: PublicKey,
    ) -> impl Future<Output = Result<(), NodeError>> + Send;

    /// Starts a channel open and returns the new channel's (temporary) id.
    fn open_channel(
        &self,
        request: OpenChannel,
    ) -> impl Future<Output = Result<ChannelId, NodeError>> + Send;

    /// Starts a cooperative or force close.
    fn close_channel(
        &self,
        request: CloseChannel,
    ) -> impl Future<Output = Result<(), NodeError>> + Send;

    /// Every channel, with balances.
    fn list_channels(&self) -> impl Future<Output = Result<Vec<ChannelInfo>, NodeError>> + Send;

    /// Starts paying a BOLT11 invoice; the answer is the payment as recorded (usually
    /// still pending: poll `get_payment`).
    fn pay_invoice(
        &self,
        request: PayInvoice,
    ) -> impl Future<Output = Result<PaymentInfo, NodeError>> + Send;

    /// Creates a BOLT11 invoice.
    fn create_invoice(
        &self,
        request: CreateInvoice,
    ) -> impl Future<Output = Result<InvoiceResponse, NodeError>> + Send;

    /// A page of the payments matching `filter`, newest first, at most `filter.limit`,
    /// and the cursor of the next page.
    fn list_payments(
        &self,
        filter: PaymentFilter,
    ) -> impl Future<Output = Result<ListPaymentsResponse, NodeError>> + Send;

    /// One payment; [`NodeError::NotFound`] if there is none with this id.
    fn get_payment(
        &self,
        id: PaymentId,
    ) -> impl Future<Output = Result<PaymentInfo, NodeError>> + Send;

    /// Sends a keysend payment; the answer is the payment as recorded.
    fn keysend(
        &self,
        request: KeysendPayment,
    ) -> impl Future<Output = Result<PaymentInfo, NodeError>> + Send;

    /// Quotes an invoice (TreasuryRouter `quote_pay`).
    fn quote_pay(
        &self,
        request: QuoteRequest,
    ) -> impl Future<Output = Result<QuotePayResponse, NodeError>> + Send;

    /// Pays a quote at most once, waiting up to `wait` for the outcome.
    fn pay_quote(
        &self,
        request: PayQuote,
        wait: Duration,
    ) -> impl Future<Output = Result<PayResponse, NodeError>> + Send;

    /// Pays a quote from credit envelope `envelope_id` (spec §8.2): the envelope ledger
    /// pays it from the pool's liquidity and books the draw. Errors as a settle's
    /// ([`NodeBackend::credit_settle`]), and `quote_expired` or `not_found` for the quote.
    fn pay_quote_on_envelope(
        &self,
        request: PayQuote,
        envelope_id: String,
    ) -> impl Future<Output = Result<PayResponse, NodeError>> + Send;

    /// The payment of a quote; [`NodeError::NotFound`] if the quote is unknown or unpaid.
    fn get_quote_payment(
        &self,
        quote_id: String,
    ) -> impl Future<Output = Result<PayResponse, NodeError>> + Send;

    /// A signed receipt as issued; [`NodeError::NotFound`] if there is none.
    fn get_receipt(
        &self,
        receipt_id: String,
    ) -> impl Future<Output = Result<serde_json::Value, NodeError>> + Send;

    /// Creates the node's liquidity pool (the same request again answers the same pool).
    fn create_pool(
        &self,
        create: CreatePool,
    ) -> impl Future<Output = Result<PoolInfo, NodeError>> + Send;

    /// A pool's partitions, prices and books against the node.
    fn pool_status(
        &self,
        pool_id: String,
    ) -> impl Future<Output = Result<PoolStatusResponse, NodeError>> + Send;

    /// Quotes a deposit (or answers the one its idempotency key made).
    fn deposit_quote(
        &self,
        ask: DepositAsk,
    ) -> impl Future<Output = Result<DepositQuoteResponse, NodeError>> + Send;

    /// A deposit, for its LP's owner (`caller`) or an admin.
    fn get_deposit(
        &self,
        pool_id: String,
        deposit_id: String,
        caller: String,
        admin: bool,
    ) -> impl Future<Output = Result<DepositQuoteResponse, NodeError>> + Send;

    /// An LP's position, for its owner (`caller`) or an admin.
    fn pool_position(
        &self,
        pool_id: String,
        lp_id: String,
        caller: String,
        admin: bool,
    ) -> impl Future<Output = Result<PoolPositionResponse, NodeError>> + Send;

    /// Asks for an LP's withdrawal (or answers the one its idempotency key made): the
    /// pool actor checks ownership, free shares, the amount limits and the payout
    /// destination, then locks the shares; the answer carries the payout throttle so the
    /// LP sees how fast payouts go now.
    fn withdraw_request(
        &self,
        ask: WithdrawalAsk,
    ) -> impl Future<Output = Result<WithdrawResponse, NodeError>> + Send;

    /// A withdrawal, for its LP's owner (`caller`) or an admin, with the payout throttle:
    /// how an LP follows its payout.
    fn get_withdrawal(
        &self,
        pool_id: String,
        withdrawal_id: String,
        caller: String,
        admin: bool,
    ) -> impl Future<Output = Result<WithdrawResponse, NodeError>> + Send;

    /// Cancels a withdrawal nothing was paid from yet, for its LP's owner (`caller`) or an
    /// admin, freeing its shares; canceling a canceled one answers it again.
    /// [`NodeError::WithdrawalState`] once a payout began or it ended.
    fn cancel_withdrawal(
        &self,
        pool_id: String,
        withdrawal_id: String,
        caller: String,
        admin: bool,
    ) -> impl Future<Output = Result<WithdrawResponse, NodeError>> + Send;

    /// An operator approves a withdrawal above the approval threshold so it is paid;
    /// `approver` is the admin token's SHA-256, hex, recorded with the approval.
    /// [`NodeError::WithdrawalState`] if it does not wait for an approval.
    fn approve_withdrawal(
        &self,
        pool_id: String,
        withdrawal_id: String,
        approver: String,
    ) -> impl Future<Output = Result<WithdrawResponse, NodeError>> + Send;

    /// An operator halts (`halted: true`) or resumes a pool's withdrawal payouts (spec
    /// §5.2: during an incident); stored, so it holds across restarts. Requests still
    /// queue while halted. Answers the pool's state now; [`NodeError::NotFound`] for an
    /// unknown pool.
    fn halt_withdrawals(
        &self,
        pool_id: String,
        halted: bool,
    ) -> impl Future<Output = Result<WithdrawalsHaltResponse, NodeError>> + Send;

    /// Files an agent's credit intent (or answers the one its idempotency key filed):
    /// the envelope ledger checks `max_sats` and `exp` against the credit settings.
    fn credit_intent(
        &self,
        ask: IntentAsk,
    ) -> impl Future<Output = Result<CreditIntentResponse, NodeError>> + Send;

    /// Makes a credit offer (or answers the one the same request made): underwriting
    /// decides the cap and fee from the agent's record, within the intent it names;
    /// [`NodeError::NoCredit`] when it allows nothing now.
    fn credit_offer(
        &self,
        ask: OfferAsk,
    ) -> impl Future<Output = Result<CreditOfferResponse, NodeError>> + Send;

    /// Issues an envelope from an offer for one provider (or answers the one issued for
    /// them before), with its signed `envelope_issue_receipt`. Refused with
    /// [`NodeError::OfferState`], [`NodeError::OfferExpired`],
    /// [`NodeError::CreditHalted`], [`NodeError::TooManyEnvelopes`],
    /// [`NodeError::NoCredit`] or [`NodeError::CreditCommitted`].
    fn credit_envelope(
        &self,
        ask: EnvelopeAsk,
    ) -> impl Future<Output = Result<CreditEnvelopeResponse, NodeError>> + Send;

    /// Settles an envelope (or answers the settlement the same request made): pays the
    /// provider's invoice after a passed verification and answers once the payment has an
    /// outcome, with a signed `envelope_settlement_receipt`; a failed verification or a
    /// lapsed envelope is a default with a signed `default_notice`. Refused with
    /// [`NodeError::NotFound`], [`NodeError::WrongProvider`],
    /// [`NodeError::OverEnvelopeCap`], [`NodeError::EnvelopeSettled`],
    /// [`NodeError::InvoiceReserved`], [`NodeError::AuthorizationInvalid`],
    /// [`NodeError::AuthorizationReplayed`], [`NodeError::SettlementFailed`] (the envelope
    /// is open again), [`NodeError::RequestInProgress`], or the invoice's and route's
    /// errors ([`NodeError::Invoice`], [`NodeError::InvoiceExpired`],
    /// [`NodeError::WrongNetwork`], [`NodeError::RouteNotFound`],
    /// [`NodeError::FeeLimitExceeded`]).
    fn credit_settle(
        &self,
        ask: SettleAsk,
    ) -> impl Future<Output = Result<CreditSettleResponse, NodeError>> + Send;

    /// An invoice for what an envelope owes now: its draw (the provider's invoice, the
    /// routing fee the pool paid and the credit fee) less what was repaid, or after an
    /// unrepaid default its unrecovered loss. Paying it repays the envelope; while it is
    /// open and still for what is owed, asking again answers the same invoice. Refused
    /// with [`NodeError::NotFound`] for an unknown envelope, [`NodeError::NothingOwed`]
    /// when it owes nothing, or [`NodeError::Invoice`] when no invoice could be made.
    fn credit_repayment(
        &self,
        envelope_id: String,
    ) -> impl Future<Output = Result<CreditRepaymentResponse, NodeError>> + Send;

    /// An envelope with its issue receipt; [`NodeError::NotFound`] for an unknown one.
    fn get_credit_envelope(
        &self,
        envelope_id: String,
    ) -> impl Future<Output = Result<CreditEnvelopeResponse, NodeError>> + Send;

    /// An agent's (x-only public key, lowercase hex) exposure and what underwriting would
    /// offer it now.
    fn credit_exposure(
        &self,
        agent_id: String,
    ) -> impl Future<Output = Result<CreditAgentExposureResponse, NodeError>> + Send;

    /// The credit health: live envelopes, what they reserve, the loss breaker, the
    /// settings in force.
    fn credit_health(&self)
        -> impl Future<Output = Result<CreditHealthResponse, NodeError>> + Send;

    /// The Nostr mirror's state: its key, each relay's connection and counters, the
    /// outbox. A node without relays answers `enabled: false` rather than an error.
    fn nostr_status(&self) -> impl Future<Output = Result<NostrStatusResponse, NodeError>> + Send;

    /// The rebalancer's state: its settings, the kill switch, the budget, every channel
    /// against its band, the plan with each move's verdict, its recent rebalances. A node
    /// without a `[rebalancer]` section answers `enabled: false` rather than an error.
    fn rebalancer_status(
        &self,
    ) -> impl Future<Output = Result<RebalancerStatusResponse, NodeError>> + Send;

    /// Pulls the rebalancer's kill switch with `reason` (checked: 1 to
    /// [`sluice_api_types::MAX_HALT_REASON_CHARS`] characters, trimmed); stored, so it holds
    /// across restarts. Answers the state after; [`NodeError::NotEnabled`] without a
    /// `[rebalancer]` section.
    fn halt_rebalancer(
        &self,
        reason: String,
    ) -> impl Future<Output = Result<RebalancerStatusResponse, NodeError>> + Send;

    /// Releases the rebalancer's kill switch. Answers the state after;
    /// [`NodeError::NotEnabled`] without a `[rebalancer]` section.
    fn resume_rebalancer(
        &self,
    ) -> impl Future<Output = Result<RebalancerStatusResponse, NodeError>> + Send;

    /// Stores channel `channel_id`'s own rebalancing settings, replacing its earlier ones,
    /// and answers them as stored. [`NodeError::NotFound`] for a channel the node does not
    /// have, [`NodeError::InvalidRequest`] for a bad band, [`NodeError::NotEnabled`]
    /// without a `[rebalancer]` section.
    fn set_rebalance_channel(
        &self,
        channel_id: ChannelId,
        settings: RebalanceChannelSettings,
    ) -> impl Future<Output = Result<RebalanceChannelSettings, NodeError>> + Send;

    /// Takes a proof snapshot of a pool now.
    fn take_snapshot(
        &self,
        pool_id: String,
    ) -> impl Future<Output = Result<PoolSnapshotResponse, NodeError>> + Send;

    /// A pool's proof snapshot `seq` (the latest with `None`).
    fn pool_snapshot(
        &self,
        pool_id: String,
        seq: Option<u64>,
    ) -> impl Future<Output = Result<PoolSnapshotResponse, NodeError>> + Send;

    /// An LP's inclusion proofs in snapshot `seq` (the latest with `None`), for the LP's
    /// owner (`caller`) or an admin.
    fn inclusion_proof(
        &self,
        pool_id: String,
        seq: Option<u64>,
        lp_id: String,
        caller: String,
        admin: bool,
    ) -> impl Future<Output = Result<InclusionProofResponse, NodeError>> + Send;

    /// The node's public figures (`GET /stats`), at most a minute old.
    fn stats(&self) -> impl Future<Output = Result<StatsResponse, NodeError>> + Send;

    /// A fresh receive address of the on-chain wallet.
    fn wallet_new_address(
        &self,
    ) -> impl Future<Output = Result<WalletAddressResponse, NodeError>> + Send;

    /// The on-chain wallet's balance.
    fn wallet_balance(
        &self,
    ) -> impl Future<Output = Result<WalletBalanceResponse, NodeError>> + Send;

    /// The LSPS2 service's menus and limits; `NotEnabled` without the service.
    fn lsps2_menu(&self) -> impl Future<Output = Result<Lsps2MenuResponse, NodeError>> + Send;

    /// One page of the LSPS2 service's orders, newest first, from the store (orders no
    /// longer in the service's memory included).
    fn lsps2_orders(
        &self,
        page: Lsps2OrdersPage,
    ) -> impl Future<Output = Result<Lsps2OrdersResponse, NodeError>> + Send;

    /// Totals over the LSPS2 orders.
    fn lsps2_summary(&self)
        -> impl Future<Output = Result<Lsps2SummaryResponse, NodeError>> + Send;

    /// The spend budget of the token `caller` (its SHA-256, hex); `NotFound` if it has
    /// none.
    fn budget(
        &self,
        caller: String,
    ) -> impl Future<Output = Result<BudgetResponse, NodeError>> + Send;

    /// Every token's spend budget.
    fn budgets(&self) -> impl Future<Output = Result<Vec<BudgetResponse>, NodeError>> + Send;

    /// Whether the node can serve requests. Must answer quickly: load balancers and
    /// supervisors poll it.
    fn health(&self) -> impl Future<Output = Result<HealthResponse, NodeError>> + Send;
}

/// A 32-byte channel id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChannelId(pub [u8; 32]);

/// A 32-byte payment id (LDK's: outgoing attempts' ids, incoming payments' ids).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PaymentId(pub [u8; 32]);

impl fmt::Display for ChannelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.as_hex())
    }
}

impl fmt::Display for PaymentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.as_hex())
    }
}

/// A peer's network address, `host:port`. The host is an IPv4 address, a bracketed
/// IPv6 address or a host name; it is checked for shape only, not resolved.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PeerAddress {
    /// The host as written, IPv6 addresses without their brackets.
    pub host: String,
    /// The TCP port.
    pub port: u16,
}

impl FromStr for PeerAddress {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (host, port) = s
            .rsplit_once(':')
            .ok_or_else(|| format!("`{s}` is not host:port"))?;
        let port: u16 = port
            .parse()
            .ok()
            .filter(|port| *port != 0)
            .ok_or_else(|| format!("`{port}` is not a TCP port (1-65535)"))?;
        let host = match host.strip_prefix('[') {
            Some(rest) => rest
                .strip_suffix(']')
                .filter(|ip| ip.parse::<std::net::Ipv6Addr>().is_ok())
                .ok_or_else(|| format!("`{host}` is not a bracketed IPv6 address"))?,
            None => host,
        };
        let valid_name = !host.is_empty()
            && host.len() <= 255
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b':');
        // An unbracketed host with a colon is an IPv6 address missing its brackets.
        if !valid_name || (host.contains(':') && !s.starts_with('[')) {
            return Err(format!("`{host}` is not a host name or IP address"));
        }
        Ok(PeerAddress {
            host: host.to_string(),
            port,
        })
    }
}

impl fmt::Display for PeerAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// Connect to a peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectPeer {
    /// The peer's node id.
    pub node_id: PublicKey,
    /// Where to reach it.
    pub address: PeerAddress,
}

/// Open a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenChannel {
    /// The counterparty.
    pub node_id: PublicKey,
    /// Where to reach the counterparty if it is not connected.
    pub address: Option<PeerAddress>,
    /// The channel's capacity (> 0).
    pub capacity_sat: u64,
    /// What to give the counterparty at open (at most the capacity).
    pub push_msat: u64,
    /// Announce the channel to the network.
    pub announce: bool,
    /// Allow use before the funding transaction confirms.
    pub zero_conf: bool,
    /// The client's `Idempotency-Key` and who sent it, if it sent one: open at most one
    /// channel per key and answer a repeat with the first open's channel id.
    pub idempotency: Option<IdempotencyKey>,
}

/// Close a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseChannel {
    /// The channel.
    pub channel_id: ChannelId,
    /// Its counterparty.
    pub counterparty_node_id: PublicKey,
    /// Force-close (broadcast our commitment) instead of negotiating.
    pub force: bool,
}

/// Create a BOLT11 invoice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateInvoice {
    /// The amount; `None` for an any-amount invoice. Never zero.
    pub amount_msat: Option<u64>,
    /// The description, at most 639 bytes.
    pub description: String,
    /// Seconds until the invoice expires (> 0).
    pub expiry_secs: u32,
}

/// Which payments to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayInvoice {
    /// The BOLT11 invoice, as given (checked by the node).
    pub invoice: String,
    /// The amount, for an invoice without one.
    pub amount_msat: Option<u64>,
    /// The fee ceiling.
    pub max_fee_msat: Option<u64>,
    /// The client's `Idempotency-Key` and who sent it, if it sent one.
    pub idempotency: Option<IdempotencyKey>,
    /// The token paying (its SHA-256, hex).
    pub caller: String,
}

/// Which page of the LSPS2 orders to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lsps2OrdersPage {
    /// At most this many (1..=[`crate::types::LSPS2_ORDERS_MAX_LIMIT`]).
    pub limit: usize,
    /// The orders before this cursor (a `next_cursor` given earlier; checked); from the
    /// newest when `None`.
    pub cursor: Option<String>,
}

/// Which payments to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentFilter {
    /// Only payments going this way.
    pub direction: Option<PaymentDirection>,
    /// Only payments in this state.
    pub status: Option<PaymentStatus>,
    /// At most this many (1..=1000).
    pub limit: usize,
    /// Continue after an earlier page's `next_cursor`.
    pub cursor: Option<String>,
    /// Only payments of this payment hash.
    pub payment_hash: Option<[u8; 32]>,
}
