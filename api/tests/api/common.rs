//! A test double of the node and request helpers.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{to_bytes, Body};
use axum::http::{HeaderMap, Method, Request, StatusCode};
use axum::Router;
use bitcoin::secp256k1::PublicKey;
use serde_json::json;
use serde_json::Value;
use sluice_actors::credit::{EnvelopeAsk, IntentAsk, OfferAsk, SettleAsk};
use sluice_actors::payments::{KeysendPayment, PayRequest as PayQuote, QuoteRequest};
use sluice_actors::pool::{CreatePool, DepositAsk, WithdrawalAsk};
use sluice_actors::NodeError;
use sluice_api::backend::{
    ChannelId, CloseChannel, ConnectPeer, CreateInvoice, Lsps2OrdersPage, OpenChannel, PayInvoice,
    PaymentFilter, PaymentId,
};
use sluice_api::{hash_token, router, ApiConfig, AuthConfig, NodeBackend, Scope, TokenConfig};
use sluice_api_types::{
    BudgetResponse, ChannelInfo, CreditAgentExposureResponse, CreditBreakers, CreditEnvelope,
    CreditEnvelopeResponse, CreditHealthResponse, CreditIntent, CreditIntentResponse, CreditOffer,
    CreditOfferResponse, CreditPolicy, CreditRepaymentResponse, CreditScopeFees,
    CreditSettleResponse, CreditUnderwriting, Deposit, DepositQuoteResponse, HealthResponse,
    HealthStatus, InclusionProofResponse, InvoiceResponse, ListPaymentsResponse, Lsps2FeeOption,
    Lsps2MenuResponse, Lsps2OrdersResponse, Lsps2SummaryResponse, NodeAssets, NodeInfoResponse,
    NostrRelayStatus, NostrStatusResponse, PartitionFlows, PartitionStatus, PayResponse,
    PaymentDirection, PaymentInfo, PaymentStatus, PeerInfo, PoolInfo, PoolPositionResponse,
    PoolSnapshotResponse, PoolStatusResponse, QuotePayResponse, RebalanceChannelSettings,
    RebalanceTotals, RebalancerHalt, RebalancerStatusResponse, Reconciliation, SharePrice,
    StatsResponse, WalletAddressResponse, WalletBalanceResponse, WithdrawResponse,
    WithdrawThrottle, Withdrawal, WithdrawalFill, WithdrawalsHaltResponse,
};
use tower::ServiceExt;

pub const ADMIN: &str = "admin-secret";
pub const READ: &str = "read-secret";
pub const PAY: &str = "pay-secret";
pub const LP: &str = "lp-secret";

pub const NODE_ID: &str = "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798";
pub const PEER_ID: &str = "02c6047f9441ed7d6d3045406e95c07cd85c778e4b8cef3ca7abac09b95c709ee5";
pub const CHANNEL_ID: &str = "1111111111111111111111111111111111111111111111111111111111111111";
pub const PAYMENT_ID: &str = "2222222222222222222222222222222222222222222222222222222222222222";
pub const METRICS_TEXT: &str = "# TYPE sluice_up gauge\nsluice_up 1\n";
/// An agent: the x-only public key of `NODE_ID`.
pub const AGENT_ID: &str = "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798";
/// A provider: the x-only public key of `PEER_ID`.
pub const PROVIDER_ID: &str = "c6047f9441ed7d6d3045406e95c07cd85c778e4b8cef3ca7abac09b95c709ee5";
/// The envelope the canned credit answers name.
pub const ENVELOPE_ID: &str = "cepe_0123456789abcdef01234567";

type ErrorFactory = Box<dyn Fn() -> NodeError + Send + Sync>;

/// An ask as it reached the backend. The envelope ledger's asks do not implement
/// `PartialEq`, so a recorded one compares by its `Debug` rendering (every field).
#[derive(Debug, Clone)]
pub struct Asked<T>(pub T);

impl<T: std::fmt::Debug> PartialEq for Asked<T> {
    fn eq(&self, other: &Self) -> bool {
        format!("{:?}", self.0) == format!("{:?}", other.0)
    }
}

impl<T: std::fmt::Debug> Eq for Asked<T> {}

/// What a backend call was asked to do, recorded for assertions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    NodeInfo,
    ListPeers,
    Connect(ConnectPeer),
    Disconnect(PublicKey),
    Open(OpenChannel),
    Close(CloseChannel),
    ListChannels,
    Invoice(CreateInvoice),
    Pay(PayInvoice),
    ListPayments(PaymentFilter),
    GetPayment(PaymentId),
    Keysend(KeysendPayment),
    Quote(QuoteRequest),
    PayQuote(PayQuote, Duration),
    PayQuoteOnEnvelope(PayQuote, String),
    GetQuotePayment(String),
    GetReceipt(String),
    NewAddress,
    Balance,
    Lsps2Menu,
    Lsps2Orders(Lsps2OrdersPage),
    Lsps2Summary,
    Budget(String),
    Budgets,
    Health,
    CreatePool(CreatePool),
    PoolStatus(String),
    DepositQuote(DepositAsk),
    GetDeposit(String, String, String, bool),
    Position(String, String, String, bool),
    TakeSnapshot(String),
    Snapshot(String, Option<u64>),
    Proof(String, Option<u64>, String, String, bool),
    Stats,
    WithdrawRequest(WithdrawalAsk),
    GetWithdrawal(String, String, String, bool),
    CancelWithdrawal(String, String, String, bool),
    ApproveWithdrawal(String, String, String),
    HaltWithdrawals(String, bool),
    CreditIntent(Asked<IntentAsk>),
    CreditOffer(Asked<OfferAsk>),
    CreditEnvelope(Asked<EnvelopeAsk>),
    CreditSettle(Asked<SettleAsk>),
    CreditRepayment(String),
    GetCreditEnvelope(String),
    CreditExposure(String),
    CreditHealth,
    NostrStatus,
    RebalancerStatus,
    HaltRebalancer(String),
    ResumeRebalancer,
    SetRebalanceChannel(ChannelId, RebalanceChannelSettings),
}

/// Answers every call with canned data, or with the configured error after the
/// configured delay.
#[derive(Default)]
pub struct TestBackend {
    fail: Mutex<Option<ErrorFactory>>,
    delay: Mutex<Duration>,
    calls: Mutex<Vec<Call>>,
    health: Mutex<Option<HealthStatus>>,
    rebalancer_off: Mutex<bool>,
}

impl TestBackend {
    pub fn fail_with(&self, make: impl Fn() -> NodeError + Send + Sync + 'static) {
        *self.fail.lock().unwrap() = Some(Box::new(make));
    }

    pub fn delay(&self, delay: Duration) {
        *self.delay.lock().unwrap() = delay;
    }

    pub fn set_health(&self, status: HealthStatus) {
        *self.health.lock().unwrap() = Some(status);
    }

    /// Answers as a node without a `[rebalancer]` section does: the state with
    /// `enabled: false`, `not_enabled` to the admin routes.
    pub fn rebalancer_off(&self) {
        *self.rebalancer_off.lock().unwrap() = true;
    }

    fn rebalancer_enabled(&self) -> Result<(), NodeError> {
        if *self.rebalancer_off.lock().unwrap() {
            return Err(NodeError::NotEnabled("the rebalancer"));
        }
        Ok(())
    }

    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    async fn enter(&self, call: Call) -> Result<(), NodeError> {
        self.calls.lock().unwrap().push(call);
        let delay = *self.delay.lock().unwrap();
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        match self.fail.lock().unwrap().as_ref() {
            Some(make) => Err(make()),
            None => Ok(()),
        }
    }
}

/// A canned budget of `token`.
pub fn pool_info(pool_id: &str) -> PoolInfo {
    PoolInfo {
        pool_id: pool_id.into(),
        name: pool_id.into(),
        partitions: vec!["llp".into()],
        created_at: "2026-01-01T00:00:00.000Z".into(),
        created_at_ms: 1_767_225_600_000,
    }
}

pub fn deposit(pool_id: &str, lp_id: &str) -> DepositQuoteResponse {
    DepositQuoteResponse {
        schema: sluice_api_types::DEPOSIT_QUOTE_RESPONSE_SCHEMA.into(),
        deposit: Deposit {
            deposit_id: "dep_1".into(),
            pool_id: pool_id.into(),
            partition_kind: "llp".into(),
            lp_id: lp_id.into(),
            rail: "lightning_invoice".into(),
            amount_sats: 10_000,
            received_msats: None,
            share_price_sats: 1.0,
            share_price: SharePrice {
                msat: "1".into(),
                units: "1000000".into(),
            },
            shares_minted: None,
            units_minted: None,
            status: "quoted".into(),
            idempotency_key: "k".into(),
            invoice_bolt11: Some("lnbcrt1test".into()),
            invoice_hash: Some("00".repeat(32)),
            payment_hash: Some("11".repeat(32)),
            deposit_address: None,
            required_confirmations: None,
            created_at: "2026-01-01T00:00:00.000Z".into(),
            expires_at: "2026-01-01T01:00:00.000Z".into(),
            confirmed_at: None,
        },
        receipt: Value::Null,
    }
}

pub fn budget(token: &str) -> BudgetResponse {
    BudgetResponse {
        token_sha256: token.into(),
        max_per_payment_msat: Some(1_000),
        total_msat: Some(10_000),
        used_msat: 2_500,
        remaining_msat: Some(7_500),
        renewal: "daily".into(),
        period_start_ms: 1_700_000_000_000,
        renews_at_ms: Some(1_700_086_400_000),
        expires_at_ms: None,
        allowed_destinations: None,
    }
}

pub fn payment(id: &str) -> PaymentInfo {
    PaymentInfo {
        id: id.to_owned(),
        direction: PaymentDirection::Outbound,
        status: PaymentStatus::Succeeded,
        amount_msat: Some(1_000),
        fee_paid_msat: Some(1),
        payment_hash: "33".repeat(32),
        preimage: Some("44".repeat(32)),
        failure_code: None,
        token_sha256: None,
        created_at_ms: 1_700_000_000_000,
        updated_at_ms: 1_700_000_000_500,
    }
}

pub const QUOTE_ID: &str = "quote_0123456789abcdef0123456789abcdef";

pub fn pay_response(quote_id: &str) -> PayResponse {
    PayResponse {
        schema: "openagents.liquidity.pay_response.v1".into(),
        quote_id: quote_id.to_owned(),
        status: "succeeded".into(),
        payment_id: PAYMENT_ID.into(),
        preimage_sha256: Some("77".repeat(32)),
        paid_at_ms: Some(1_700_000_000_500),
        fee_paid_msats: Some(1),
        error_code: None,
        error_message: None,
        receipt: Some(json!({ "receipt_id": "rcpt_00" })),
        envelope_id: None,
        envelope_receipt: None,
    }
}

/// A canned withdrawal of `lp_id`: on-chain, one fill paid and the rest outstanding,
/// with a throttle.
pub fn withdrawal(pool_id: &str, withdrawal_id: &str, lp_id: &str) -> WithdrawResponse {
    WithdrawResponse {
        schema: sluice_api_types::WITHDRAW_RESPONSE_SCHEMA.into(),
        withdrawal: Withdrawal {
            withdrawal_id: withdrawal_id.into(),
            pool_id: pool_id.into(),
            partition_kind: "llp".into(),
            lp_id: lp_id.into(),
            idempotency_key: "k".into(),
            rail: "onchain".into(),
            status: "queued".into(),
            shares_burned: 2.5,
            units_locked: "2500000000".into(),
            units_outstanding: "1500000000".into(),
            value_at_request_msats: 2_500,
            amount_sats_estimate: 1,
            paid_msats: 1_000,
            needs_approval: false,
            emergency: false,
            approved_at: None,
            payout_address: Some("bcrt1qtestaddress".into()),
            payout_invoice_hash: None,
            fills: vec![WithdrawalFill {
                n: 0,
                msats: 1_000,
                units: "1000000000".into(),
                state: "paid".into(),
                payment_id: None,
                batch_id: Some("batch_1".into()),
                txid: Some("55".repeat(32)),
                fee_msats: None,
                failure: None,
                units_returned: None,
            }],
            earliest_settlement_at: "2026-01-01T00:00:00.000Z".into(),
            latest_settlement_at: "2026-01-02T00:00:00.000Z".into(),
            created_at: "2026-01-01T00:00:00.000Z".into(),
            ended_at: None,
        },
        receipt: json!({ "receipt_id": "rcpt_wd" }),
        settlement_receipt: None,
        withdraw_throttle: Some(WithdrawThrottle {
            mode: "stressed".into(),
            reasons: vec!["channels_degraded".into()],
            tick_cap_sats: 500_000,
            lightning_sats: 300_000,
            onchain_sats: 200_000,
            largest_sats: None,
        }),
    }
}

/// A canned open envelope of `offer_id` for `provider_id`.
pub fn credit_envelope(
    envelope_id: &str,
    offer_id: &str,
    provider_id: &str,
) -> CreditEnvelopeResponse {
    CreditEnvelopeResponse {
        schema: sluice_api_types::CREDIT_ENVELOPE_RESPONSE_SCHEMA.into(),
        envelope: CreditEnvelope {
            envelope_id: envelope_id.into(),
            offer_id: offer_id.into(),
            agent_id: AGENT_ID.into(),
            pool_id: "main".into(),
            provider_id: provider_id.into(),
            scope_type: "nip90".into(),
            scope_id: "job-1".into(),
            max_sats: 1_500,
            fee_bps: 100,
            exp: "2026-01-01T01:00:00.000Z".into(),
            repay_by: "2026-01-02T01:00:00.000Z".into(),
            status: "open".into(),
            issued_at: "2026-01-01T00:00:00.000Z".into(),
            outstanding_msats: 0,
            settlement_id: None,
            spent_msats: None,
            owed_msats: None,
            default_reason: None,
            loss_msats: None,
            recovered_msats: None,
            settlement_receipt_id: None,
            default_notice_id: None,
            payment_id: None,
        },
        receipt: json!({ "receipt_id": "rcpt_env" }),
    }
}

/// A canned rebalancer state: running, nothing planned or done; halted with `halted`'s
/// reason if given.
pub fn rebalancer_status(halted: Option<&str>) -> RebalancerStatusResponse {
    RebalancerStatusResponse {
        schema: sluice_api_types::REBALANCER_STATUS_RESPONSE_SCHEMA.into(),
        enabled: true,
        dry_run: false,
        halted: halted.map(|reason| RebalancerHalt {
            reason: reason.into(),
            at_ms: 1_700_000_000_000,
        }),
        settings: None,
        budget: None,
        totals: RebalanceTotals::default(),
        channels: Vec::new(),
        plan: Vec::new(),
        recent: Vec::new(),
        note: None,
    }
}

fn test_snapshot(pool_id: String, snapshot_seq: u64) -> PoolSnapshotResponse {
    PoolSnapshotResponse {
        schema: sluice_api_types::POOL_SNAPSHOT_SCHEMA.into(),
        pool_id,
        snapshot_seq,
        receipt_id: "rcpt_00".into(),
        taken_at: "2026-01-01T00:00:00.000Z".into(),
        receipt: json!({ "receipt_id": "rcpt_00" }),
    }
}

impl NodeBackend for TestBackend {
    async fn node_info(&self) -> Result<NodeInfoResponse, NodeError> {
        self.enter(Call::NodeInfo).await?;
        Ok(NodeInfoResponse {
            node_id: NODE_ID.into(),
            network: "regtest".into(),
            block_height: 101,
            block_hash: "00".repeat(32),
            num_peers: 1,
            num_channels: 1,
            num_usable_channels: 1,
            num_graph_channels: 0,
            num_routable_graph_channels: 0,
            num_graph_nodes: 0,
            listening_addresses: vec!["127.0.0.1:9735".into()],
            version: "0.1.0".into(),
        })
    }

    async fn list_peers(&self) -> Result<Vec<PeerInfo>, NodeError> {
        self.enter(Call::ListPeers).await?;
        Ok(vec![PeerInfo {
            node_id: PEER_ID.into(),
            address: Some("127.0.0.1:9736".into()),
            is_inbound: false,
        }])
    }

    async fn connect_peer(&self, request: ConnectPeer) -> Result<(), NodeError> {
        self.enter(Call::Connect(request)).await
    }

    async fn disconnect_peer(&self, node_id: PublicKey) -> Result<(), NodeError> {
        self.enter(Call::Disconnect(node_id)).await
    }

    async fn open_channel(&self, request: OpenChannel) -> Result<ChannelId, NodeError> {
        self.enter(Call::Open(request)).await?;
        Ok(ChannelId([0x11; 32]))
    }

    async fn close_channel(&self, request: CloseChannel) -> Result<(), NodeError> {
        self.enter(Call::Close(request)).await
    }

    async fn list_channels(&self) -> Result<Vec<ChannelInfo>, NodeError> {
        self.enter(Call::ListChannels).await?;
        Ok(vec![ChannelInfo {
            channel_id: CHANNEL_ID.into(),
            counterparty_node_id: PEER_ID.into(),
            funding_txo: Some(format!("{}:0", "55".repeat(32))),
            short_channel_id: Some(111_050_512_384),
            capacity_sat: 1_000_000,
            outbound_capacity_msat: 989_000_000,
            inbound_capacity_msat: 0,
            next_outbound_htlc_limit_msat: 989_000_000,
            reserve_sat: Some(10_000),
            confirmations: Some(6),
            confirmations_required: Some(3),
            is_outbound: true,
            is_ready: true,
            is_usable: true,
            is_announced: false,
            anchors: true,
        }])
    }

    async fn create_invoice(&self, request: CreateInvoice) -> Result<InvoiceResponse, NodeError> {
        let amount_msat = request.amount_msat;
        self.enter(Call::Invoice(request)).await?;
        Ok(InvoiceResponse {
            bolt11: "lnbcrt10n1ptest".into(),
            payment_hash: "33".repeat(32),
            amount_msat,
            expires_at_secs: 1_700_003_600,
        })
    }

    async fn pay_invoice(&self, request: PayInvoice) -> Result<PaymentInfo, NodeError> {
        self.enter(Call::Pay(request)).await?;
        Ok(payment(PAYMENT_ID))
    }

    async fn list_payments(
        &self,
        filter: PaymentFilter,
    ) -> Result<ListPaymentsResponse, NodeError> {
        self.enter(Call::ListPayments(filter)).await?;
        Ok(ListPaymentsResponse {
            payments: vec![payment(PAYMENT_ID)],
            next_cursor: Some("cursor-1".into()),
        })
    }

    async fn get_payment(&self, id: PaymentId) -> Result<PaymentInfo, NodeError> {
        self.enter(Call::GetPayment(id)).await?;
        Ok(payment(&id.to_string()))
    }

    async fn keysend(&self, request: KeysendPayment) -> Result<PaymentInfo, NodeError> {
        self.enter(Call::Keysend(request)).await?;
        Ok(payment(PAYMENT_ID))
    }

    async fn quote_pay(&self, request: QuoteRequest) -> Result<QuotePayResponse, NodeError> {
        let answer = QuotePayResponse {
            schema: "openagents.liquidity.quote_pay_response.v1".into(),
            quote_id: QUOTE_ID.into(),
            idempotency_key: request.idempotency_key.clone(),
            invoice_hash: "55".repeat(32),
            payment_hash: "33".repeat(32),
            host: request.host.clone(),
            quoted_amount_msats: 1_000,
            quoted_fee_msats: 1,
            max_amount_msats: request.max_amount_msats,
            max_fee_msats: request.max_fee_msats,
            urgency: request.urgency.as_str().into(),
            policy_context_sha256: "66".repeat(32),
            valid_until: "2023-11-14T22:14:20.000Z".into(),
            valid_until_ms: 1_700_000_060_000,
            created_at: "2023-11-14T22:13:20.000Z".into(),
            created_at_ms: 1_700_000_000_000,
        };
        self.enter(Call::Quote(request)).await?;
        Ok(answer)
    }

    async fn pay_quote(&self, request: PayQuote, wait: Duration) -> Result<PayResponse, NodeError> {
        let quote_id = request.quote_id.clone();
        self.enter(Call::PayQuote(request, wait)).await?;
        Ok(pay_response(&quote_id))
    }

    async fn pay_quote_on_envelope(
        &self,
        request: PayQuote,
        envelope_id: String,
    ) -> Result<PayResponse, NodeError> {
        let quote_id = request.quote_id.clone();
        self.enter(Call::PayQuoteOnEnvelope(request, envelope_id.clone()))
            .await?;
        Ok(PayResponse {
            envelope_id: Some(envelope_id),
            ..pay_response(&quote_id)
        })
    }

    async fn get_quote_payment(&self, quote_id: String) -> Result<PayResponse, NodeError> {
        self.enter(Call::GetQuotePayment(quote_id.clone())).await?;
        Ok(pay_response(&quote_id))
    }

    async fn get_receipt(&self, receipt_id: String) -> Result<Value, NodeError> {
        self.enter(Call::GetReceipt(receipt_id.clone())).await?;
        Ok(json!({ "receipt_id": receipt_id }))
    }

    async fn wallet_new_address(&self) -> Result<WalletAddressResponse, NodeError> {
        self.enter(Call::NewAddress).await?;
        Ok(WalletAddressResponse {
            address: "bcrt1qtestaddress".into(),
        })
    }

    async fn wallet_balance(&self) -> Result<WalletBalanceResponse, NodeError> {
        self.enter(Call::Balance).await?;
        Ok(WalletBalanceResponse {
            confirmed_sat: 5_000,
            unconfirmed_sat: 1_000,
            immature_sat: 2_000,
            total_sat: 8_000,
            spendable_sat: 4_000,
            synced_height: 101,
        })
    }

    async fn budget(&self, caller: String) -> Result<BudgetResponse, NodeError> {
        self.enter(Call::Budget(caller.clone())).await?;
        Ok(budget(&caller))
    }

    async fn budgets(&self) -> Result<Vec<BudgetResponse>, NodeError> {
        self.enter(Call::Budgets).await?;
        Ok(vec![budget(&"aa".repeat(32))])
    }

    async fn lsps2_menu(&self) -> Result<Lsps2MenuResponse, NodeError> {
        self.enter(Call::Lsps2Menu).await?;
        Ok(Lsps2MenuResponse {
            fee_menu: vec![Lsps2FeeOption {
                min_fee_msat: 10_000,
                proportional_ppm: 5_000,
                valid_for_secs: 600,
                min_lifetime_blocks: 1008,
                max_client_to_self_delay: 2016,
                min_payment_size_msat: 1_000_000,
                max_payment_size_msat: 100_000_000,
            }],
            tokens: Vec::new(),
            require_token: false,
            client_trusts_lsp: false,
            over_provisioning_ppm: 100_000,
            min_channel_sat: 100_000,
            max_channel_sat: 1_000_000,
            max_pending_buys_per_peer: 5,
            max_pending_opens: 10,
            max_committed_sat: 10_000_000,
            max_unclaimed_sat: 5_000_000,
            unclaimed_window_secs: 3_600,
            unclaimed_close_after_secs: 1_800,
            max_live_orders: 1_000,
            order_retention_secs: 86_400,
        })
    }

    async fn lsps2_orders(&self, page: Lsps2OrdersPage) -> Result<Lsps2OrdersResponse, NodeError> {
        self.enter(Call::Lsps2Orders(page)).await?;
        Ok(Lsps2OrdersResponse {
            orders: Vec::new(),
            next_cursor: Some("0".repeat(48)),
        })
    }

    async fn lsps2_summary(&self) -> Result<Lsps2SummaryResponse, NodeError> {
        self.enter(Call::Lsps2Summary).await?;
        Ok(Lsps2SummaryResponse {
            orders_bought: 1,
            orders_expired: 0,
            orders_opening: 0,
            orders_forwarded: 2,
            orders_failed: 0,
            orders_unclaimed: 1,
            revenue_msat: 20_000,
            committed_sat: 300_000,
            unclaimed_sat: 100_000,
            orders_in_memory: 4,
        })
    }

    async fn create_pool(&self, create: CreatePool) -> Result<PoolInfo, NodeError> {
        self.enter(Call::CreatePool(create.clone())).await?;
        Ok(pool_info(&create.pool_id))
    }

    async fn pool_status(&self, pool_id: String) -> Result<PoolStatusResponse, NodeError> {
        self.enter(Call::PoolStatus(pool_id.clone())).await?;
        Ok(PoolStatusResponse {
            schema: sluice_api_types::POOL_STATUS_SCHEMA.into(),
            pool: pool_info(&pool_id),
            share_price_sats: 1.0,
            share_price: SharePrice {
                msat: "1".into(),
                units: "1000000".into(),
            },
            total_shares: 0.0,
            pending_withdrawals_sats_estimate: 0,
            withdrawals_halted: false,
            partitions: vec![PartitionStatus {
                partition_kind: "llp".into(),
                open_for_deposits: true,
                assets_msats: 0,
                receivables_msats: 0,
                pending_withdrawals_msats: 0,
                nav_msats: 0,
                total_shares: 0.0,
                total_units: "0".into(),
                share_price_sats: 1.0,
                share_price: SharePrice {
                    msat: "1".into(),
                    units: "1000000".into(),
                },
                lp_count: 0,
                flows: PartitionFlows {
                    deposits_msats: 0,
                    withdrawals_msats: 0,
                    routing_fees_msats: 0,
                    jit_fees_msats: 0,
                    credit_fees_msats: 0,
                    credit_losses_msats: 0,
                    rebalance_costs_msats: 0,
                    onchain_fees_msats: 0,
                    payout_fees_msats: 0,
                },
            }],
            reconciliation: Reconciliation {
                node: NodeAssets {
                    onchain_msats: 0,
                    channels_spendable_msats: 0,
                    channels_reserve_msats: 0,
                    htlcs_in_flight_msats: 0,
                    total_msats: 0,
                },
                booked_msats: 0,
                drift_msats: 0,
            },
            updated_at: "2026-01-01T00:00:00.000Z".into(),
        })
    }

    async fn deposit_quote(&self, ask: DepositAsk) -> Result<DepositQuoteResponse, NodeError> {
        self.enter(Call::DepositQuote(ask.clone())).await?;
        Ok(deposit(&ask.pool_id, &ask.lp_id))
    }

    async fn get_deposit(
        &self,
        pool_id: String,
        deposit_id: String,
        caller: String,
        admin: bool,
    ) -> Result<DepositQuoteResponse, NodeError> {
        self.enter(Call::GetDeposit(pool_id.clone(), deposit_id, caller, admin))
            .await?;
        Ok(deposit(&pool_id, "lp-1"))
    }

    async fn pool_position(
        &self,
        pool_id: String,
        lp_id: String,
        caller: String,
        admin: bool,
    ) -> Result<PoolPositionResponse, NodeError> {
        self.enter(Call::Position(
            pool_id.clone(),
            lp_id.clone(),
            caller,
            admin,
        ))
        .await?;
        Ok(PoolPositionResponse {
            schema: sluice_api_types::POOL_POSITION_SCHEMA.into(),
            pool_id,
            lp_id,
            partitions: Vec::new(),
        })
    }

    async fn take_snapshot(&self, pool_id: String) -> Result<PoolSnapshotResponse, NodeError> {
        self.enter(Call::TakeSnapshot(pool_id.clone())).await?;
        Ok(test_snapshot(pool_id, 1))
    }

    async fn pool_snapshot(
        &self,
        pool_id: String,
        seq: Option<u64>,
    ) -> Result<PoolSnapshotResponse, NodeError> {
        self.enter(Call::Snapshot(pool_id.clone(), seq)).await?;
        Ok(test_snapshot(pool_id, seq.unwrap_or(1)))
    }

    async fn inclusion_proof(
        &self,
        pool_id: String,
        seq: Option<u64>,
        lp_id: String,
        caller: String,
        admin: bool,
    ) -> Result<InclusionProofResponse, NodeError> {
        self.enter(Call::Proof(
            pool_id.clone(),
            seq,
            lp_id.clone(),
            caller,
            admin,
        ))
        .await?;
        Ok(InclusionProofResponse {
            schema: sluice_api_types::INCLUSION_PROOF_SCHEMA.into(),
            pool_id,
            snapshot_seq: seq.unwrap_or(1),
            receipt_id: "rcpt_00".into(),
            lp_id,
            leaves: Vec::new(),
        })
    }

    async fn withdraw_request(&self, ask: WithdrawalAsk) -> Result<WithdrawResponse, NodeError> {
        self.enter(Call::WithdrawRequest(ask.clone())).await?;
        Ok(withdrawal(&ask.pool_id, "wd_1", &ask.lp_id))
    }

    async fn get_withdrawal(
        &self,
        pool_id: String,
        withdrawal_id: String,
        caller: String,
        admin: bool,
    ) -> Result<WithdrawResponse, NodeError> {
        let answer = withdrawal(&pool_id, &withdrawal_id, "lp-1");
        self.enter(Call::GetWithdrawal(pool_id, withdrawal_id, caller, admin))
            .await?;
        Ok(answer)
    }

    async fn cancel_withdrawal(
        &self,
        pool_id: String,
        withdrawal_id: String,
        caller: String,
        admin: bool,
    ) -> Result<WithdrawResponse, NodeError> {
        let mut answer = withdrawal(&pool_id, &withdrawal_id, "lp-1");
        answer.withdrawal.status = "canceled".into();
        answer.withdrawal.ended_at = Some("2026-01-01T00:10:00.000Z".into());
        answer.settlement_receipt = Some(json!({ "receipt_id": "rcpt_wd_end" }));
        self.enter(Call::CancelWithdrawal(
            pool_id,
            withdrawal_id,
            caller,
            admin,
        ))
        .await?;
        Ok(answer)
    }

    async fn approve_withdrawal(
        &self,
        pool_id: String,
        withdrawal_id: String,
        approver: String,
    ) -> Result<WithdrawResponse, NodeError> {
        let mut answer = withdrawal(&pool_id, &withdrawal_id, "lp-1");
        answer.withdrawal.status = "approved".into();
        answer.withdrawal.needs_approval = true;
        answer.withdrawal.approved_at = Some("2026-01-01T00:05:00.000Z".into());
        self.enter(Call::ApproveWithdrawal(pool_id, withdrawal_id, approver))
            .await?;
        Ok(answer)
    }

    async fn halt_withdrawals(
        &self,
        pool_id: String,
        halted: bool,
    ) -> Result<WithdrawalsHaltResponse, NodeError> {
        self.enter(Call::HaltWithdrawals(pool_id.clone(), halted))
            .await?;
        Ok(WithdrawalsHaltResponse {
            pool_id,
            withdrawals_halted: halted,
        })
    }

    async fn credit_intent(&self, ask: IntentAsk) -> Result<CreditIntentResponse, NodeError> {
        self.enter(Call::CreditIntent(Asked(ask.clone()))).await?;
        Ok(CreditIntentResponse {
            schema: sluice_api_types::CREDIT_INTENT_RESPONSE_SCHEMA.into(),
            intent: CreditIntent {
                intent_id: "cepi_1".into(),
                idempotency_key: ask.idempotency_key,
                agent_id: ask.agent_id,
                scope_type: ask.scope_type.as_str().into(),
                scope_id: ask.scope_id,
                max_sats: ask.max_sats,
                exp: "2026-01-01T01:00:00.000Z".into(),
                created_at: "2026-01-01T00:00:00.000Z".into(),
            },
        })
    }

    async fn credit_offer(&self, ask: OfferAsk) -> Result<CreditOfferResponse, NodeError> {
        self.enter(Call::CreditOffer(Asked(ask.clone()))).await?;
        Ok(CreditOfferResponse {
            schema: sluice_api_types::CREDIT_OFFER_RESPONSE_SCHEMA.into(),
            offer: CreditOffer {
                offer_id: "cepo_1".into(),
                agent_id: ask.agent_id,
                pool_id: ask.pool_id,
                intent_id: ask.intent_id,
                scope_type: ask.scope_type.as_str().into(),
                scope_id: ask.scope_id,
                max_sats: ask.max_sats.min(1_500),
                fee_bps: 100,
                requires_verifier: true,
                exp: "2026-01-01T01:00:00.000Z".into(),
                status: "offered".into(),
                issued_at: "2026-01-01T00:00:00.000Z".into(),
                underwriting: CreditUnderwriting {
                    limit_sats: 1_500,
                    fee_bps: 100,
                    default_rate_bps: 0,
                    successes_30d: 0,
                    success_volume_sats_30d: 0,
                    defaults_30d: 0,
                    default_weight_30d: 0,
                    loss_sats_30d: 0,
                    open_exposure_sats: 500,
                },
            },
        })
    }

    async fn credit_envelope(&self, ask: EnvelopeAsk) -> Result<CreditEnvelopeResponse, NodeError> {
        self.enter(Call::CreditEnvelope(Asked(ask.clone()))).await?;
        Ok(credit_envelope(
            ENVELOPE_ID,
            &ask.offer_id,
            &ask.provider_id,
        ))
    }

    async fn credit_settle(&self, ask: SettleAsk) -> Result<CreditSettleResponse, NodeError> {
        self.enter(Call::CreditSettle(Asked(ask.clone()))).await?;
        Ok(CreditSettleResponse {
            schema: sluice_api_types::CREDIT_SETTLE_RESPONSE_SCHEMA.into(),
            envelope_id: ask.envelope_id,
            settlement_id: "ceps_1".into(),
            outcome: "success".into(),
            spent_sats: 1_000,
            fee_sats: 11,
            spent_msats: 1_000_000,
            routing_fee_msats: 1_000,
            credit_fee_msats: 10_000,
            loss_sats: 0,
            verification_receipt_sha256: ask.verification_receipt_sha256,
            liquidity_receipt_sha256: None,
            payment_id: Some(PAYMENT_ID.into()),
            receipt: json!({ "receipt_id": "rcpt_settle" }),
        })
    }

    async fn credit_repayment(
        &self,
        envelope_id: String,
    ) -> Result<CreditRepaymentResponse, NodeError> {
        self.enter(Call::CreditRepayment(envelope_id.clone()))
            .await?;
        Ok(CreditRepaymentResponse {
            schema: sluice_api_types::CREDIT_REPAYMENT_RESPONSE_SCHEMA.into(),
            envelope_id,
            status: "owed".into(),
            owed_msats: 1_011_000,
            owed_sats: 1_011,
            invoice_bolt11: "lnbcrt10110n1repay".into(),
            payment_hash: "ef".repeat(32),
            expires_at: "2026-01-01T02:00:00.000Z".into(),
            created_at: "2026-01-01T01:00:00.000Z".into(),
        })
    }

    async fn get_credit_envelope(
        &self,
        envelope_id: String,
    ) -> Result<CreditEnvelopeResponse, NodeError> {
        self.enter(Call::GetCreditEnvelope(envelope_id.clone()))
            .await?;
        Ok(credit_envelope(&envelope_id, "cepo_1", PROVIDER_ID))
    }

    async fn credit_exposure(
        &self,
        agent_id: String,
    ) -> Result<CreditAgentExposureResponse, NodeError> {
        self.enter(Call::CreditExposure(agent_id.clone())).await?;
        Ok(CreditAgentExposureResponse {
            schema: sluice_api_types::CREDIT_AGENT_EXPOSURE_RESPONSE_SCHEMA.into(),
            agent_id,
            open_envelope_count: 1,
            open_exposure_sats: 1_500,
            settled_count_30d: 4,
            success_volume_sats_30d: 40_000,
            default_count_30d: 1,
            loss_sats_30d: 0,
            underwriting_limit_sats: 20_000,
            underwriting_default_rate_bps: 2_000,
            underwriting_fee_bps: CreditScopeFees {
                nip90: 2_000,
                l402: 2_000,
                skill: 2_000,
            },
            requires_verifier: true,
            computed_at: "2026-01-01T00:00:00.000Z".into(),
        })
    }

    async fn credit_health(&self) -> Result<CreditHealthResponse, NodeError> {
        self.enter(Call::CreditHealth).await?;
        Ok(CreditHealthResponse {
            schema: sluice_api_types::CREDIT_HEALTH_RESPONSE_SCHEMA.into(),
            generated_at: "2026-01-01T00:00:00.000Z".into(),
            open_envelope_count: 1,
            reserved_commitments_msats: 1_500_000,
            loss_sample: 5,
            loss_count: 1,
            loss_rate_bps: 2_000,
            ln_sample: 40,
            ln_failed_count: 2,
            ln_failure_rate_bps: 500,
            breakers: CreditBreakers {
                halt_new_envelopes: false,
                hold_large_settlements: false,
            },
            policy: CreditPolicy {
                base_sats: 2_000,
                k: 150,
                default_penalty_sats: 500,
                loss_penalty: 2,
                max_envelope_sats: 100_000,
                min_fee_bps: 50,
                max_fee_bps: 2_000,
                fee_scaler: 4,
                nip90_surcharge_bps: 0,
                l402_surcharge_bps: 25,
                skill_surcharge_bps: 50,
                max_open_envelopes_per_agent: 3,
                max_offer_ttl_secs: 3_600,
                repay_within_secs: 86_400,
                loss_window: 200,
                loss_min_samples: 5,
                loss_trip_bps: 5_000,
                loss_clear_bps: 2_500,
                large_settlement_sats: 25_000,
                ln_window: 100,
                ln_min_samples: 20,
                ln_trip_bps: 3_000,
                ln_clear_bps: 1_000,
            },
        })
    }

    async fn nostr_status(&self) -> Result<NostrStatusResponse, NodeError> {
        self.enter(Call::NostrStatus).await?;
        Ok(NostrStatusResponse {
            schema: sluice_api_types::NOSTR_STATUS_RESPONSE_SCHEMA.into(),
            enabled: true,
            public_key: Some(AGENT_ID.into()),
            npub: Some("npub1test".into()),
            relays: vec![NostrRelayStatus {
                url: "wss://relay.example/".into(),
                connection: "connected".into(),
                sent: 4,
                accepted: 3,
                rejected: 1,
                retries: 0,
                pending: 0,
                last_rejection: Some("blocked: not allowed".into()),
                last_error: None,
            }],
            outbox_events: 0,
            note: None,
        })
    }

    async fn rebalancer_status(&self) -> Result<RebalancerStatusResponse, NodeError> {
        self.enter(Call::RebalancerStatus).await?;
        if self.rebalancer_enabled().is_err() {
            return Ok(RebalancerStatusResponse {
                enabled: false,
                note: Some("no [rebalancer] section: the node does not rebalance".into()),
                ..rebalancer_status(None)
            });
        }
        Ok(rebalancer_status(None))
    }

    async fn halt_rebalancer(&self, reason: String) -> Result<RebalancerStatusResponse, NodeError> {
        self.enter(Call::HaltRebalancer(reason.clone())).await?;
        self.rebalancer_enabled()?;
        Ok(rebalancer_status(Some(&reason)))
    }

    async fn resume_rebalancer(&self) -> Result<RebalancerStatusResponse, NodeError> {
        self.enter(Call::ResumeRebalancer).await?;
        self.rebalancer_enabled()?;
        Ok(rebalancer_status(None))
    }

    async fn set_rebalance_channel(
        &self,
        channel_id: ChannelId,
        settings: RebalanceChannelSettings,
    ) -> Result<RebalanceChannelSettings, NodeError> {
        self.enter(Call::SetRebalanceChannel(channel_id, settings.clone()))
            .await?;
        self.rebalancer_enabled()?;
        Ok(settings)
    }

    async fn stats(&self) -> Result<StatsResponse, NodeError> {
        self.enter(Call::Stats).await?;
        Ok(StatsResponse {
            schema: sluice_api_types::STATS_SCHEMA.into(),
            generated_at: "2026-01-01T00:00:00.000Z".into(),
            generated_at_ms: 1_767_225_600_000,
            cache_secs: 60,
            liquidity: sluice_api_types::LiquidityStats {
                total_msats: 3_000_000,
                onchain_msats: 1_000_000,
                channels_outbound_msats: 1_500_000,
                channels_inbound_msats: 2_000_000,
                channels_locked_msats: 500_000,
            },
            channels: sluice_api_types::ChannelStats {
                open: 1,
                usable: 1,
                peers_connected: 1,
                outbound_ratio: Some(0.5),
            },
            routing: sluice_api_types::RoutingStats {
                forwards_24h: 3,
                fees_24h_msats: 3_000,
                jit_fees_24h_msats: 0,
                hourly: (0..24)
                    .map(|i| sluice_api_types::HourStats {
                        hour_ms: 1_767_139_200_000 + i * 3_600_000,
                        forwards: i % 2,
                        fees_msats: (i % 2) * 1_000,
                    })
                    .collect(),
            },
            payments: sluice_api_types::PaymentStats {
                sample: 4,
                succeeded: 3,
                failed: 1,
                pending: 0,
                success_rate: Some(0.75),
            },
            pool: None,
            credit: sluice_api_types::CreditStats {
                open_envelopes: 2,
                reserved_msats: 5_000_000,
                loss_sample: 10,
                loss_count: 6,
                loss_rate_bps: 6_000,
                halt_new_envelopes: true,
                ln_sample: 40,
                ln_failed_count: 13,
                ln_failure_rate_bps: 3_250,
                hold_large_settlements: false,
                large_settlement_sats: 25_000,
            },
        })
    }

    async fn health(&self) -> Result<HealthResponse, NodeError> {
        self.enter(Call::Health).await?;
        let status = self.health.lock().unwrap().unwrap_or(HealthStatus::Ok);
        Ok(HealthResponse {
            status,
            detail: None,
        })
    }
}

pub fn auth_config() -> AuthConfig {
    let token = |token: &str, scopes: &[Scope]| TokenConfig {
        sha256_hex: hash_token(token),
        scopes: scopes.to_vec(),
    };
    AuthConfig {
        tokens: vec![
            token(ADMIN, &[Scope::Admin]),
            token(READ, &[Scope::Read]),
            token(PAY, &[Scope::Pay]),
            token(LP, &[Scope::Lp]),
        ],
    }
}

pub struct TestApp {
    pub backend: Arc<TestBackend>,
    pub router: Router,
}

pub fn app() -> TestApp {
    app_with(ApiConfig {
        auth: auth_config(),
        ..ApiConfig::default()
    })
}

pub fn app_with(config: ApiConfig) -> TestApp {
    let backend = Arc::new(TestBackend::default());
    let router = router(
        Arc::clone(&backend),
        config,
        Arc::new(|| METRICS_TEXT.to_owned()),
    );
    TestApp { backend, router }
}

/// A response, its body parsed as JSON when it is JSON.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
    pub json: Value,
}

impl Answer {
    /// The error code of an error answer, checking the error body's shape.
    pub fn code(&self) -> &str {
        let error = &self.json["error"];
        assert!(
            error["message"].is_string(),
            "not an error body: {} {}",
            self.status,
            self.text
        );
        assert_eq!(
            error.as_object().map(|o| o.len()),
            Some(2),
            "error has exactly code and message: {}",
            self.text
        );
        error["code"].as_str().expect("error code is a string")
    }

    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(self.status.as_u16(), status, "status of {}", self.text);
        assert_eq!(self.code(), code, "code of {}", self.text);
    }
}

/// The `Idempotency-Key` [`TestApp::call`] sends with every request that has a body,
/// as a careful client does.
pub const IDEMPOTENCY_KEY: &str = "idem-1";

impl TestApp {
    /// Sends a request; `body` is sent as JSON (Content-Type set, and an
    /// [`IDEMPOTENCY_KEY`]) when given.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> Answer {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let request = match body {
            Some(body) => request
                .header("content-type", "application/json")
                .header("idempotency-key", IDEMPOTENCY_KEY)
                .body(Body::from(body.to_owned())),
            None => request.body(Body::empty()),
        };
        self.send(request.unwrap()).await
    }

    pub async fn send(&self, request: Request<Body>) -> Answer {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = to_bytes(response.into_body(), usize::MAX).await.unwrap();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Answer {
            status,
            headers,
            text,
            json,
        }
    }

    pub async fn get(&self, path: &str, token: &str) -> Answer {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: &str) -> Answer {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }
}

/// A valid quote request body.
pub fn quote_pay_body() -> String {
    json!({
        "schema": "openagents.liquidity.quote_pay_request.v1",
        "idempotency_key": "idem:quote-1",
        "invoice": "lnbcrt10n1ptest",
        "host": "sats4ai.com",
        "max_amount_msats": 2_000,
        "max_fee_msats": 50,
        "urgency": "normal",
        "policy_context": {"schema": "openagents.liquidity.policy_context.v1", "note": "test"}
    })
    .to_string()
}

/// A valid withdrawal request body: 1.5 shares of `lp-1`, on-chain.
pub fn withdraw_request_body() -> String {
    json!({
        "schema": "openagents.liquidity.pool.withdraw_request.v1",
        "lp_id": "lp-1",
        "idempotency_key": "wd-key-1",
        "shares_burned": 1.5,
        "rail_preference": "onchain",
        "payout_address": "bcrt1qtestaddress"
    })
    .to_string()
}

/// A valid credit intent body: 2,000 sat of `nip90` credit for `AGENT_ID`.
pub fn credit_intent_body() -> String {
    json!({
        "schema": "openagents.credit.intent_request.v1",
        "idempotency_key": "intent-key-1",
        "agent_id": AGENT_ID,
        "scope_type": "nip90",
        "scope_id": "job-1",
        "max_sats": 2_000,
        "exp": "2026-01-01T01:00:00Z",
        "policy_context": {"schema": "openagents.liquidity.policy_context.v1", "ratio": 0.5}
    })
    .to_string()
}

/// A valid credit offer body for `AGENT_ID` from pool `main`, naming an intent.
pub fn credit_offer_body() -> String {
    json!({
        "schema": "openagents.credit.offer_request.v1",
        "agent_id": AGENT_ID,
        "pool_id": "main",
        "intent_id": "cepi_1",
        "scope_type": "nip90",
        "scope_id": "job-1",
        "max_sats": 1_500,
        "fee_bps": 100,
        "requires_verifier": true,
        "exp": "2026-01-01T01:00:00Z"
    })
    .to_string()
}

/// A valid credit envelope body: offer `cepo_1` for `PROVIDER_ID`.
pub fn credit_envelope_body() -> String {
    json!({
        "schema": "openagents.credit.envelope_request.v1",
        "offer_id": "cepo_1",
        "provider_id": PROVIDER_ID
    })
    .to_string()
}

/// A provider's invoice for the settle bodies (the test backend does not parse it).
pub const PROVIDER_INVOICE: &str = "lnbcrt10u1pprovider";

/// A valid mode-1 credit settle body: envelope `ENVELOPE_ID` verified, the provider's
/// invoice, a 5,000 msat fee ceiling.
pub fn credit_settle_body() -> String {
    json!({
        "schema": "openagents.credit.settle_request.v1",
        "envelope_id": ENVELOPE_ID,
        "verification_passed": true,
        "verification_receipt_sha256": "ab".repeat(32),
        "provider_invoice": PROVIDER_INVOICE,
        "provider_host": "provider.example",
        "max_fee_msats": 5_000,
        "policy_context": {"schema": "openagents.liquidity.policy_context.v1", "ratio": 0.5}
    })
    .to_string()
}

/// One request per authenticated `/v1` endpoint, with a valid body: (method, path, body).
pub fn every_endpoint() -> Vec<(Method, String, Option<String>)> {
    vec![
        (Method::GET, "/v1/node/info".into(), None),
        (Method::GET, "/v1/node/peers".into(), None),
        (
            Method::POST,
            "/v1/node/peers".into(),
            Some(format!(
                r#"{{"node_id":"{PEER_ID}","address":"127.0.0.1:9736"}}"#
            )),
        ),
        (Method::DELETE, format!("/v1/node/peers/{PEER_ID}"), None),
        (Method::GET, "/v1/node/channels".into(), None),
        (
            Method::POST,
            "/v1/node/channels".into(),
            Some(format!(
                r#"{{"node_id":"{PEER_ID}","capacity_sat":100000}}"#
            )),
        ),
        (
            Method::POST,
            format!("/v1/node/channels/{CHANNEL_ID}/close"),
            Some(format!(r#"{{"counterparty_node_id":"{PEER_ID}"}}"#)),
        ),
        (
            Method::POST,
            "/v1/node/invoices".into(),
            Some(r#"{"amount_msat":1000,"description":"x"}"#.into()),
        ),
        (Method::GET, "/v1/node/payments".into(), None),
        (
            Method::POST,
            "/v1/node/payments".into(),
            Some(r#"{"invoice":"lnbcrt10n1ptest"}"#.into()),
        ),
        (Method::GET, format!("/v1/node/payments/{PAYMENT_ID}"), None),
        (
            Method::POST,
            "/v1/node/payments/keysend".into(),
            Some(format!(r#"{{"node_id":"{PEER_ID}","amount_msat":1000}}"#)),
        ),
        (
            Method::POST,
            "/v1/liquidity/quote_pay".into(),
            Some(quote_pay_body()),
        ),
        (
            Method::POST,
            "/v1/liquidity/pay".into(),
            Some(format!(
                r#"{{"schema":"openagents.liquidity.pay_request.v1","quote_id":"{QUOTE_ID}"}}"#
            )),
        ),
        (Method::GET, format!("/v1/liquidity/pay/{QUOTE_ID}"), None),
        (Method::GET, "/v1/receipts/rcpt_00".into(), None),
        (Method::POST, "/v1/node/wallet/address".into(), None),
        (Method::GET, "/v1/node/wallet/balance".into(), None),
        (Method::GET, "/v1/node/budget".into(), None),
        (Method::GET, "/v1/node/budgets".into(), None),
        (
            Method::POST,
            "/v1/pools".into(),
            Some(r#"{"pool_id":"main"}"#.into()),
        ),
        (Method::GET, "/v1/pools/main/status".into(), None),
        (
            Method::POST,
            "/v1/pools/main/deposit_quote".into(),
            Some(
                r#"{"schema":"openagents.liquidity.pool.deposit_quote_request.v1","lp_id":"lp-1","idempotency_key":"k","rail":"lightning_invoice","amount_sats":10000}"#
                    .into(),
            ),
        ),
        (Method::GET, "/v1/pools/main/deposits/dep_1".into(), None),
        (Method::GET, "/v1/pools/main/lps/lp-1".into(), None),
        (Method::POST, "/v1/pools/main/snapshots".into(), None),
        (Method::GET, "/v1/pools/main/snapshots/latest".into(), None),
        (
            Method::GET,
            "/v1/pools/main/snapshots/1/proofs/lp-1".into(),
            None,
        ),
        (
            Method::POST,
            "/v1/pools/main/withdraw_request".into(),
            Some(withdraw_request_body()),
        ),
        (Method::GET, "/v1/pools/main/withdrawals/wd_1".into(), None),
        (
            Method::POST,
            "/v1/pools/main/withdrawals/wd_1/cancel".into(),
            None,
        ),
        (
            Method::POST,
            "/v1/pools/main/withdrawals/wd_1/approve".into(),
            None,
        ),
        (
            Method::POST,
            "/v1/pools/main/withdrawals/halt".into(),
            Some(r#"{"halted":true}"#.into()),
        ),
        (
            Method::POST,
            "/v1/credit/intent".into(),
            Some(credit_intent_body()),
        ),
        (
            Method::POST,
            "/v1/credit/offer".into(),
            Some(credit_offer_body()),
        ),
        (
            Method::POST,
            "/v1/credit/envelope".into(),
            Some(credit_envelope_body()),
        ),
        (
            Method::POST,
            "/v1/credit/settle".into(),
            Some(credit_settle_body()),
        ),
        (
            Method::POST,
            format!("/v1/credit/envelopes/{ENVELOPE_ID}/repayment"),
            None,
        ),
        (
            Method::GET,
            format!("/v1/credit/envelopes/{ENVELOPE_ID}"),
            None,
        ),
        (
            Method::GET,
            format!("/v1/credit/agents/{AGENT_ID}/exposure"),
            None,
        ),
        (Method::GET, "/v1/credit/health".into(), None),
        (Method::GET, "/v1/nostr".into(), None),
        (Method::GET, "/v1/rebalancer".into(), None),
        (
            Method::POST,
            "/v1/rebalancer/halt".into(),
            Some(r#"{"reason":"maintenance"}"#.into()),
        ),
        (Method::POST, "/v1/rebalancer/resume".into(), None),
        (
            Method::PUT,
            format!("/v1/rebalancer/channels/{CHANNEL_ID}"),
            Some(
                r#"{"opted_out":false,"committed":true,"band":{"min_ppm":100000,"max_ppm":900000,"deadband_ppm":50000}}"#
                    .into(),
            ),
        ),
    ]
}
