//! The API's [`NodeBackend`], answered from the node's LDK components.

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use crate::credit_answers;
use crate::nostr_answers;
use crate::pool_answers;
use crate::rebalancer_answers;
use crate::stats::StatsCache;
use bitcoin::hex::DisplayHex;
use bitcoin::secp256k1::PublicKey;
use lightning::ln::channelmanager::Bolt11InvoiceParameters;
use lightning::ln::types::ChannelId as LdkChannelId;
use lightning::util::errors::APIError;
use lightning_invoice::{Bolt11InvoiceDescription, Description};
use ractor::RpcReplyPort;
use sluice_actors::budgets::BudgetView;
use sluice_actors::credit::{
    CreditMsg, EnvelopeAsk, IntentAsk, OfferAsk, QuoteDraw, SettleAsk, SettleOutcome,
};
use sluice_actors::health::Health;
use sluice_actors::lsps2::{self, FeeOption};
use sluice_actors::nostr::PublisherMsg;
use sluice_actors::payments::codes::failure_message;
use sluice_actors::payments::listing::{self, Listed};
use sluice_actors::payments::{
    self, pay, InvoicePayment, KeysendPayment, PayRequest as PayQuote, QuoteRequest,
};
use sluice_actors::pool::snapshot as pool_snapshot;
use sluice_actors::pool::{
    CreatePool, DepositAsk, PoolMsg, WithdrawalAsk, WithdrawalView, POOL_TIMEOUT,
};
use sluice_actors::rebalance::RebalancerMsg;
use sluice_actors::withdrawals::SchedulerMsg;
use sluice_actors::{Components, NodeError};
use sluice_api::backend::{
    ChannelId, CloseChannel, ConnectPeer, CreateInvoice, Lsps2OrdersPage, OpenChannel, PayInvoice,
    PaymentFilter, PaymentId, PeerAddress,
};
use sluice_api::time::rfc3339_ms;
use sluice_api::NodeBackend;
use sluice_api_types::{
    BudgetResponse, ChannelInfo, CreditAgentExposureResponse, CreditEnvelopeResponse,
    CreditHealthResponse, CreditIntentResponse, CreditOfferResponse, CreditRepaymentResponse,
    CreditSettleResponse, DepositQuoteResponse, HealthResponse, HealthStatus,
    InclusionProofResponse, InvoiceResponse, ListPaymentsResponse, Lsps2FeeOption,
    Lsps2MenuResponse, Lsps2Order, Lsps2OrdersResponse, Lsps2SummaryResponse, Lsps2TokenMenu,
    NodeInfoResponse, NostrStatusResponse, PayResponse, PaymentDirection, PaymentInfo,
    PaymentStatus, PeerInfo, PoolInfo, PoolPositionResponse, PoolSnapshotResponse,
    PoolStatusResponse, QuotePayResponse, RebalanceChannelSettings, RebalancerStatusResponse,
    StatsResponse, WalletAddressResponse, WalletBalanceResponse, WithdrawResponse,
    WithdrawalsHaltResponse, PAY_RESPONSE_SCHEMA, QUOTE_PAY_RESPONSE_SCHEMA,
};
use sluice_pool::throttle::Throttle;
use sluice_storage::{
    IndexedDirection, JitOrderRecord, JitOrderState, PaymentRecord, PeerRecord, QuoteRecord,
    ReceiptRecord, ReceivedRecord, WriteBatch,
};
use std::str::FromStr;

/// How often a cooperative close is retried while the channel is mid-update, and how
/// long apart (together at most five seconds, for a loaded node).
const CLOSE_ATTEMPTS: u32 = 500;
const CLOSE_RETRY_DELAY: Duration = Duration::from_millis(10);

/// How long a connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a withdrawal answer waits for the scheduler's throttle. The scheduler answers
/// between ticks, and a tick can take a while (pool calls, a batch's transaction); the
/// throttle is only for display, so the answer goes without it rather than wait.
const THROTTLE_TIMEOUT: Duration = Duration::from_secs(2);

/// How long a credit request waits for the envelope ledger. An issue asks the pool actor
/// (within [`POOL_TIMEOUT`]) and the receipt signer on the way, one request at a time.
pub(crate) const CREDIT_TIMEOUT: Duration = Duration::from_secs(15);

/// How long a settle waits for the envelope ledger: longer than [`CREDIT_TIMEOUT`], since
/// the envelope ledger answers a settle once the provider's Lightning payment has an
/// outcome, or after at most 20 s (its `pay::WAIT`) with `request_in_progress` — inside
/// the API's default 30 s request timeout.
const CREDIT_SETTLE_TIMEOUT: Duration = Duration::from_secs(25);

/// How long the Nostr mirror's state waits for the publisher. It answers between the
/// rounds of sends (which run in a task of their own), asking each relay's connection.
const NOSTR_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a rebalancer request waits for the Rebalancer actor. It answers between its
/// looks at the channels; a status is one more look, which asks the pool actor for the
/// RRP partition's funds (within 10 s, its `look::FUNDS_TIMEOUT`).
const REBALANCER_TIMEOUT: Duration = Duration::from_secs(15);

/// The node as the API sees it.
pub struct NodeService {
    components: Components,
    listening: Vec<SocketAddr>,
    stats: StatsCache,
    rebalancer: bool,
}

impl NodeService {
    /// A backend over `components`, listening for peers on `listening`. `rebalancer`
    /// says whether the node runs a Rebalancer (its config has a `[rebalancer]`
    /// section): without one the rebalancer's state says so, and its admin routes
    /// answer `not_enabled`, rather than `node_not_running` as while it restarts.
    pub fn new(components: Components, listening: Vec<SocketAddr>, rebalancer: bool) -> Self {
        NodeService {
            components,
            listening,
            stats: StatsCache::default(),
            rebalancer,
        }
    }

    /// [`NodeError::NotEnabled`] on a node without a `[rebalancer]` section.
    fn rebalancer_enabled(&self) -> Result<(), NodeError> {
        if self.rebalancer {
            Ok(())
        } else {
            Err(NodeError::NotEnabled("the rebalancer"))
        }
    }
}

/// The first socket address `address` resolves to.
pub(crate) fn resolve(address: &PeerAddress) -> Result<SocketAddr, NodeError> {
    (address.host.as_str(), address.port)
        .to_socket_addrs()
        .map_err(|e| NodeError::PeerUnreachable(format!("{}:{}: {e}", address.host, address.port)))?
        .next()
        .ok_or_else(|| {
            NodeError::PeerUnreachable(format!(
                "{}:{} does not resolve",
                address.host, address.port
            ))
        })
}

/// Connects to `node_id` at `address` unless already connected.
pub async fn connect(
    components: &Components,
    node_id: PublicKey,
    address: SocketAddr,
) -> Result<(), NodeError> {
    let peers = &components.peer_manager;
    if peers.peer_by_node_id(&node_id).is_some() {
        return Ok(());
    }
    let stream = crate::peer_socket::connect(address)
        .await
        .map_err(|e| NodeError::PeerUnreachable(format!("cannot connect to {address}: {e}")))?;
    tokio::spawn(lightning_net_tokio::setup_outbound(
        Arc::clone(peers),
        node_id,
        stream,
    ));
    let deadline = tokio::time::Instant::now() + CONNECT_TIMEOUT;
    loop {
        if peers.peer_by_node_id(&node_id).is_some() {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(NodeError::PeerUnreachable(format!(
                "the handshake with {node_id} did not finish"
            )));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Records a peer the operator connected to, so the node reconnects to it by itself.
pub(crate) async fn remember_peer(
    components: &Components,
    node_id: PublicKey,
    address: &PeerAddress,
) -> Result<(), NodeError> {
    let host = if address.host.contains(':') {
        format!("[{}]", address.host)
    } else {
        address.host.clone()
    };
    let record = PeerRecord {
        node_id: node_id.to_string(),
        address: format!("{host}:{}", address.port),
    };
    let mut batch = WriteBatch::new();
    batch.put(&record)?;
    components.store.commit(batch).await?;
    Ok(())
}

/// Connects to every remembered peer that is not connected; failures are logged and
/// retried on the next round.
pub async fn reconnect_peers(components: &Components) {
    let peers = match components.store.scan::<PeerRecord>("").await {
        Ok(peers) => peers,
        Err(e) => {
            tracing::error!(error = %e, "reading the peer list failed");
            return;
        }
    };
    for peer in peers {
        let Ok(node_id) = PublicKey::from_str(&peer.node_id) else {
            continue;
        };
        if components.peer_manager.peer_by_node_id(&node_id).is_some() {
            continue;
        }
        let Some(address) = peer
            .address
            .to_socket_addrs()
            .ok()
            .and_then(|mut a| a.next())
        else {
            tracing::warn!(address = %peer.address, "a remembered peer's address does not resolve");
            continue;
        };
        if let Err(e) = connect(components, node_id, address).await {
            tracing::debug!(%node_id, error = %e, "reconnecting failed; will retry");
        }
    }
}

fn to_payment_info(record: PaymentRecord) -> PaymentInfo {
    PaymentInfo {
        id: record.payment_id,
        direction: PaymentDirection::Outbound,
        status: match record.status {
            sluice_storage::PaymentStatus::Pending => PaymentStatus::Pending,
            sluice_storage::PaymentStatus::Succeeded => PaymentStatus::Succeeded,
            sluice_storage::PaymentStatus::Failed => PaymentStatus::Failed,
        },
        amount_msat: Some(record.amount_msat),
        fee_paid_msat: record.fee_paid_msat,
        payment_hash: record.payment_hash,
        preimage: record.preimage,
        failure_code: record.failure_code,
        token_sha256: record.token,
        created_at_ms: record.created_at_ms,
        updated_at_ms: record.updated_at_ms,
    }
}

fn received_info(record: ReceivedRecord) -> PaymentInfo {
    PaymentInfo {
        id: record.payment_id,
        direction: PaymentDirection::Inbound,
        status: PaymentStatus::Succeeded,
        amount_msat: Some(record.amount_msat),
        fee_paid_msat: None,
        payment_hash: record.payment_hash,
        preimage: record.preimage,
        failure_code: None,
        token_sha256: None,
        created_at_ms: record.received_at_ms,
        updated_at_ms: record.received_at_ms,
    }
}

impl NodeService {
    /// The TreasuryRouter view of `record`, a payment of quote `quote_id`.
    async fn pay_response(
        &self,
        quote_id: String,
        record: PaymentRecord,
    ) -> Result<PayResponse, NodeError> {
        use sluice_storage::PaymentStatus as Stored;
        let receipt = match &record.receipt_id {
            Some(id) => self
                .components
                .store
                .get::<ReceiptRecord>(id.clone())
                .await?
                .map(|r| r.body),
            None => None,
        };
        let preimage_sha256 = receipt
            .as_ref()
            .and_then(|r| r.get("preimage_sha256"))
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned);
        Ok(PayResponse {
            schema: PAY_RESPONSE_SCHEMA.to_owned(),
            quote_id,
            status: match record.status {
                Stored::Pending => "pending",
                Stored::Succeeded => "succeeded",
                Stored::Failed => "failed",
            }
            .to_owned(),
            payment_id: record.payment_id,
            preimage_sha256,
            paid_at_ms: (record.status == Stored::Succeeded).then_some(record.updated_at_ms),
            fee_paid_msats: record.fee_paid_msat,
            error_message: record
                .failure_code
                .as_deref()
                .map(|code| failure_message(code).to_owned()),
            error_code: record.failure_code,
            receipt,
            envelope_id: None,
            envelope_receipt: None,
        })
    }

    /// The payout throttle as the withdrawal scheduler's last tick judged it, for a
    /// withdrawal answer; `None` before the first tick, and when the scheduler is not
    /// running or busy past [`THROTTLE_TIMEOUT`] (the answer goes without it).
    async fn throttle(&self) -> Option<Throttle> {
        let scheduler = &self.components.actors.withdrawals;
        match scheduler
            .call(SchedulerMsg::Throttle, THROTTLE_TIMEOUT)
            .await
        {
            Ok(throttle) => throttle,
            Err(e) => {
                tracing::debug!(error = %e, "no withdrawal throttle for the answer");
                None
            }
        }
    }

    /// Asks the pool actor `message` about a withdrawal and answers it with the throttle.
    async fn withdrawal(
        &self,
        message: impl FnOnce(RpcReplyPort<Result<WithdrawalView, NodeError>>) -> PoolMsg,
    ) -> Result<WithdrawResponse, NodeError> {
        let pool = &self.components.actors.pool;
        let view = pool.call(message, POOL_TIMEOUT).await??;
        Ok(pool_answers::withdrawal(view, self.throttle().await))
    }
}

impl NodeBackend for NodeService {
    async fn node_info(&self) -> Result<NodeInfoResponse, NodeError> {
        let c = &self.components;
        let best = c.channel_manager.current_best_block();
        let channels = c.channel_manager.list_channels();
        let (num_graph_channels, num_routable_graph_channels, num_graph_nodes) = {
            let graph = c.graph.read_only();
            let routable = graph
                .channels()
                .unordered_iter()
                .filter(|(_, ch)| ch.one_to_two.is_some() && ch.two_to_one.is_some())
                .count();
            (
                graph.channels().len() as u32,
                routable as u32,
                graph.nodes().len() as u32,
            )
        };
        Ok(NodeInfoResponse {
            node_id: c.channel_manager.get_our_node_id().to_string(),
            network: c.network.to_string(),
            block_height: best.height,
            block_hash: best.block_hash.to_string(),
            num_peers: c.peer_manager.list_peers().len() as u32,
            num_channels: channels.len() as u32,
            num_usable_channels: channels.iter().filter(|ch| ch.is_usable).count() as u32,
            num_graph_channels,
            num_routable_graph_channels,
            num_graph_nodes,
            listening_addresses: self.listening.iter().map(ToString::to_string).collect(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        })
    }

    async fn list_peers(&self) -> Result<Vec<PeerInfo>, NodeError> {
        Ok(self
            .components
            .peer_manager
            .list_peers()
            .into_iter()
            .map(|p| PeerInfo {
                node_id: p.counterparty_node_id.to_string(),
                address: p.socket_address.map(|a| a.to_string()),
                is_inbound: p.is_inbound_connection,
            })
            .collect())
    }

    async fn connect_peer(&self, request: ConnectPeer) -> Result<(), NodeError> {
        if request.node_id == self.components.channel_manager.get_our_node_id() {
            return Err(NodeError::InvalidRequest(
                "node_id: a node cannot connect to itself".into(),
            ));
        }
        let address = resolve(&request.address)?;
        connect(&self.components, request.node_id, address).await?;
        remember_peer(&self.components, request.node_id, &request.address).await
    }

    async fn disconnect_peer(&self, node_id: PublicKey) -> Result<(), NodeError> {
        let peers = &self.components.peer_manager;
        if peers.peer_by_node_id(&node_id).is_none() {
            return Err(NodeError::PeerNotConnected(node_id.to_string()));
        }
        peers.disconnect_by_node_id(node_id);
        let mut batch = WriteBatch::new();
        batch.delete::<PeerRecord>(&node_id.to_string());
        self.components.store.commit(batch).await?;
        Ok(())
    }

    async fn open_channel(&self, request: OpenChannel) -> Result<ChannelId, NodeError> {
        crate::channel_open::open_channel(&self.components, request).await
    }

    async fn close_channel(&self, request: CloseChannel) -> Result<(), NodeError> {
        let c = &self.components;
        let channel_id = LdkChannelId(request.channel_id.0);
        let peer = request.counterparty_node_id;
        let exists = || {
            c.channel_manager
                .list_channels_with_counterparty(&peer)
                .iter()
                .any(|ch| ch.channel_id == channel_id)
        };
        if !exists() {
            return Err(NodeError::NotFound(format!(
                "channel {channel_id} with {peer}"
            )));
        }
        let mut attempts = 0;
        loop {
            let result = if request.force {
                c.channel_manager.force_close_broadcasting_latest_txn(
                    &channel_id,
                    &peer,
                    "closed by the operator".to_owned(),
                )
            } else {
                c.channel_manager.close_channel(&channel_id, &peer)
            };
            match result {
                Ok(()) => return Ok(()),
                Err(APIError::ChannelUnavailable { err }) if !exists() => {
                    return Err(NodeError::NotFound(err))
                }
                // A cooperative close cannot start while the channel is mid-update (a
                // payment just settled: a monitor update is being persisted, or its
                // completion not yet seen by the channel manager). With the peer
                // connected that passes within milliseconds: wait for it, briefly.
                Err(APIError::ChannelUnavailable { .. })
                    if attempts < CLOSE_ATTEMPTS
                        && c.peer_manager.peer_by_node_id(&peer).is_some() =>
                {
                    attempts += 1;
                    tokio::time::sleep(CLOSE_RETRY_DELAY).await;
                }
                Err(APIError::ChannelUnavailable { err }) => {
                    return Err(NodeError::ChannelRefused(err))
                }
                Err(other) => return Err(NodeError::ChannelRefused(format!("{other:?}"))),
            }
        }
    }

    async fn list_channels(&self) -> Result<Vec<ChannelInfo>, NodeError> {
        Ok(self
            .components
            .channel_manager
            .list_channels()
            .into_iter()
            .map(|ch| ChannelInfo {
                channel_id: ch.channel_id.0.to_lower_hex_string(),
                counterparty_node_id: ch.counterparty.node_id.to_string(),
                funding_txo: ch
                    .funding_txo
                    .map(|o| o.into_bitcoin_outpoint().to_string()),
                short_channel_id: ch.short_channel_id,
                capacity_sat: ch.channel_value_satoshis,
                outbound_capacity_msat: ch.outbound_capacity_msat,
                inbound_capacity_msat: ch.inbound_capacity_msat,
                next_outbound_htlc_limit_msat: ch.next_outbound_htlc_limit_msat,
                reserve_sat: ch.unspendable_punishment_reserve,
                confirmations: ch.confirmations,
                confirmations_required: ch.confirmations_required,
                is_outbound: ch.is_outbound,
                is_ready: ch.is_channel_ready,
                is_usable: ch.is_usable,
                is_announced: ch.is_announced,
                anchors: ch
                    .channel_type
                    .as_ref()
                    .is_some_and(|t| t.supports_anchors_zero_fee_htlc_tx()),
            })
            .collect())
    }

    async fn pay_invoice(&self, request: PayInvoice) -> Result<PaymentInfo, NodeError> {
        let payment = InvoicePayment {
            invoice: request.invoice,
            amount_msat: request.amount_msat,
            max_fee_msat: request.max_fee_msat,
            idempotency: request.idempotency,
            caller: request.caller,
        };
        let record = pay::pay_invoice(&self.components, payment).await?;
        Ok(to_payment_info(record))
    }

    async fn keysend(&self, request: KeysendPayment) -> Result<PaymentInfo, NodeError> {
        let record = pay::keysend(&self.components, request).await?;
        Ok(to_payment_info(record))
    }

    async fn quote_pay(&self, request: QuoteRequest) -> Result<QuotePayResponse, NodeError> {
        let quote = payments::request_quote(&self.components, request).await?;
        Ok(QuotePayResponse {
            schema: QUOTE_PAY_RESPONSE_SCHEMA.to_owned(),
            quote_id: quote.quote_id,
            idempotency_key: quote.idempotency_key,
            invoice_hash: quote.invoice_hash,
            payment_hash: quote.payment_hash,
            host: quote.host,
            quoted_amount_msats: quote.quoted_amount_msats,
            quoted_fee_msats: quote.quoted_fee_msats,
            max_amount_msats: quote.max_amount_msats,
            max_fee_msats: quote.max_fee_msats,
            urgency: quote.urgency,
            policy_context_sha256: quote.policy_context_sha256,
            valid_until: rfc3339_ms(quote.valid_until_ms),
            valid_until_ms: quote.valid_until_ms,
            created_at: rfc3339_ms(quote.created_at_ms),
            created_at_ms: quote.created_at_ms,
        })
    }

    async fn pay_quote(&self, request: PayQuote, wait: Duration) -> Result<PayResponse, NodeError> {
        let quote_id = request.quote_id.clone();
        let record = payments::request_pay(&self.components, request).await?;
        let record = if record.status == sluice_storage::PaymentStatus::Pending {
            payments::wait_settled(&self.components, &record.payment_id, wait).await?
        } else {
            record
        };
        self.pay_response(quote_id, record).await
    }

    async fn pay_quote_on_envelope(
        &self,
        request: PayQuote,
        envelope_id: String,
    ) -> Result<PayResponse, NodeError> {
        let quote_id = request.quote_id.clone();
        let draw = QuoteDraw {
            quote_id: quote_id.clone(),
            run_id: request.run_id,
            trajectory_hash: request.trajectory_hash,
        };
        let ask = SettleAsk::for_quote(envelope_id.clone(), draw);
        let credit = &self.components.actors.credit;
        let settled = credit
            .call(
                |reply| CreditMsg::Settle(Box::new(ask), reply),
                CREDIT_SETTLE_TIMEOUT,
            )
            .await?;
        // A payment that failed or is still in flight is answered as the quote's payment
        // stands, as any pay is.
        let envelope_receipt = match settled {
            Ok(view) if view.outcome == SettleOutcome::Success => Some(view.receipt),
            Ok(view) => {
                return Err(NodeError::EnvelopeSettled(format!(
                    "{envelope_id} defaulted ({}): nothing was paid",
                    view.outcome.as_str()
                )))
            }
            Err(NodeError::RequestInProgress(_) | NodeError::SettlementFailed(_)) => None,
            Err(e) => return Err(e),
        };
        let record = pay::paid_before(&self.components, &quote_id)
            .await?
            .ok_or_else(|| NodeError::NotFound(format!("a payment of quote {quote_id}")))?;
        let mut response = self.pay_response(quote_id, record).await?;
        response.envelope_id = Some(envelope_id);
        response.envelope_receipt = envelope_receipt;
        Ok(response)
    }

    async fn get_quote_payment(&self, quote_id: String) -> Result<PayResponse, NodeError> {
        match pay::paid_before(&self.components, &quote_id).await? {
            Some(record) => self.pay_response(quote_id, record).await,
            None => {
                let quote = self
                    .components
                    .store
                    .get::<QuoteRecord>(quote_id.clone())
                    .await?;
                Err(NodeError::NotFound(match quote {
                    Some(_) => format!("a payment of quote {quote_id}: it was not paid"),
                    None => format!("quote {quote_id}"),
                }))
            }
        }
    }

    async fn get_receipt(&self, receipt_id: String) -> Result<serde_json::Value, NodeError> {
        self.components
            .store
            .get::<ReceiptRecord>(receipt_id.clone())
            .await?
            .map(|receipt| receipt.body)
            .ok_or(NodeError::NotFound(format!("receipt {receipt_id}")))
    }

    async fn create_invoice(&self, request: CreateInvoice) -> Result<InvoiceResponse, NodeError> {
        let description = Description::new(request.description)
            .map_err(|e| NodeError::InvalidRequest(format!("description: {e}")))?;
        let params = Bolt11InvoiceParameters {
            amount_msats: request.amount_msat,
            description: Bolt11InvoiceDescription::Direct(description),
            invoice_expiry_delta_secs: Some(request.expiry_secs),
            ..Default::default()
        };
        let invoice = self
            .components
            .channel_manager
            .create_bolt11_invoice(params)
            .map_err(|e| NodeError::Invoice(format!("{e:?}")))?;
        let expires_at = invoice.duration_since_epoch() + invoice.expiry_time();
        Ok(InvoiceResponse {
            bolt11: invoice.to_string(),
            payment_hash: invoice.payment_hash().to_string(),
            amount_msat: invoice.amount_milli_satoshis(),
            expires_at_secs: expires_at.as_secs(),
        })
    }

    async fn list_payments(
        &self,
        filter: PaymentFilter,
    ) -> Result<ListPaymentsResponse, NodeError> {
        let filter = listing::Filter {
            direction: filter.direction.map(|d| match d {
                PaymentDirection::Outbound => IndexedDirection::Sent,
                PaymentDirection::Inbound => IndexedDirection::Received,
            }),
            status: filter.status.map(|s| match s {
                PaymentStatus::Pending => sluice_storage::PaymentStatus::Pending,
                PaymentStatus::Succeeded => sluice_storage::PaymentStatus::Succeeded,
                PaymentStatus::Failed => sluice_storage::PaymentStatus::Failed,
            }),
            limit: filter.limit,
            cursor: filter.cursor,
            payment_hash: filter.payment_hash,
        };
        let page = listing::list(&self.components.store, &filter).await?;
        let payments = page
            .payments
            .into_iter()
            .map(|listed| match listed {
                Listed::Sent(record) => to_payment_info(*record),
                Listed::Received(record) => received_info(record),
            })
            .collect();
        Ok(ListPaymentsResponse {
            payments,
            next_cursor: page.next_cursor,
        })
    }

    async fn get_payment(&self, id: PaymentId) -> Result<PaymentInfo, NodeError> {
        let key = id.0.to_lower_hex_string();
        let store = &self.components.store;
        if let Some(sent) = store.get::<PaymentRecord>(key.clone()).await? {
            return Ok(to_payment_info(sent));
        }
        store
            .get::<ReceivedRecord>(key.clone())
            .await?
            .map(received_info)
            .ok_or(NodeError::NotFound(format!("payment {key}")))
    }

    async fn create_pool(&self, create: CreatePool) -> Result<PoolInfo, NodeError> {
        let pool = &self.components.actors.pool;
        let record = pool
            .call(|reply| PoolMsg::Create(create, reply), POOL_TIMEOUT)
            .await??;
        Ok(pool_answers::pool_info(&record))
    }

    async fn pool_status(&self, pool_id: String) -> Result<PoolStatusResponse, NodeError> {
        let pool = &self.components.actors.pool;
        let status = pool
            .call(|reply| PoolMsg::Status(pool_id, reply), POOL_TIMEOUT)
            .await??;
        Ok(pool_answers::status(status))
    }

    async fn deposit_quote(&self, ask: DepositAsk) -> Result<DepositQuoteResponse, NodeError> {
        let pool = &self.components.actors.pool;
        let view = pool
            .call(
                |reply| PoolMsg::QuoteDeposit(Box::new(ask), reply),
                POOL_TIMEOUT,
            )
            .await??;
        Ok(pool_answers::deposit(view))
    }

    async fn get_deposit(
        &self,
        pool_id: String,
        deposit_id: String,
        caller: String,
        admin: bool,
    ) -> Result<DepositQuoteResponse, NodeError> {
        let pool = &self.components.actors.pool;
        let view = pool
            .call(
                |reply| PoolMsg::Deposit(pool_id, deposit_id, caller, admin, reply),
                POOL_TIMEOUT,
            )
            .await??;
        Ok(pool_answers::deposit(view))
    }

    async fn pool_position(
        &self,
        pool_id: String,
        lp_id: String,
        caller: String,
        admin: bool,
    ) -> Result<PoolPositionResponse, NodeError> {
        let pool = &self.components.actors.pool;
        let position = pool
            .call(
                |reply| PoolMsg::Position(pool_id.clone(), lp_id.clone(), caller, admin, reply),
                POOL_TIMEOUT,
            )
            .await??;
        Ok(pool_answers::position(pool_id, lp_id, position))
    }

    async fn withdraw_request(&self, ask: WithdrawalAsk) -> Result<WithdrawResponse, NodeError> {
        self.withdrawal(|reply| PoolMsg::RequestWithdrawal(Box::new(ask), reply))
            .await
    }

    async fn get_withdrawal(
        &self,
        pool_id: String,
        withdrawal_id: String,
        caller: String,
        admin: bool,
    ) -> Result<WithdrawResponse, NodeError> {
        self.withdrawal(|reply| PoolMsg::Withdrawal(pool_id, withdrawal_id, caller, admin, reply))
            .await
    }

    async fn cancel_withdrawal(
        &self,
        pool_id: String,
        withdrawal_id: String,
        caller: String,
        admin: bool,
    ) -> Result<WithdrawResponse, NodeError> {
        self.withdrawal(|reply| {
            PoolMsg::CancelWithdrawal(pool_id, withdrawal_id, caller, admin, reply)
        })
        .await
    }

    async fn approve_withdrawal(
        &self,
        pool_id: String,
        withdrawal_id: String,
        approver: String,
    ) -> Result<WithdrawResponse, NodeError> {
        self.withdrawal(|reply| PoolMsg::ApproveWithdrawal(pool_id, withdrawal_id, approver, reply))
            .await
    }

    async fn halt_withdrawals(
        &self,
        pool_id: String,
        halted: bool,
    ) -> Result<WithdrawalsHaltResponse, NodeError> {
        let record = self
            .components
            .actors
            .pool
            .call(
                |reply| PoolMsg::HaltWithdrawals(pool_id, halted, reply),
                POOL_TIMEOUT,
            )
            .await??;
        Ok(pool_answers::withdrawals_halt(&record))
    }

    async fn credit_intent(&self, ask: IntentAsk) -> Result<CreditIntentResponse, NodeError> {
        let credit = &self.components.actors.credit;
        let record = credit
            .call(|reply| CreditMsg::Intent(ask, reply), CREDIT_TIMEOUT)
            .await??;
        Ok(credit_answers::intent(record))
    }

    async fn credit_offer(&self, ask: OfferAsk) -> Result<CreditOfferResponse, NodeError> {
        let credit = &self.components.actors.credit;
        let record = credit
            .call(|reply| CreditMsg::Offer(ask, reply), CREDIT_TIMEOUT)
            .await??;
        Ok(credit_answers::offer(record))
    }

    async fn credit_envelope(&self, ask: EnvelopeAsk) -> Result<CreditEnvelopeResponse, NodeError> {
        let credit = &self.components.actors.credit;
        let view = credit
            .call(|reply| CreditMsg::Issue(ask, reply), CREDIT_TIMEOUT)
            .await??;
        Ok(credit_answers::envelope(view))
    }

    async fn credit_settle(&self, ask: SettleAsk) -> Result<CreditSettleResponse, NodeError> {
        let credit = &self.components.actors.credit;
        let view = credit
            .call(
                |reply| CreditMsg::Settle(Box::new(ask), reply),
                CREDIT_SETTLE_TIMEOUT,
            )
            .await??;
        Ok(credit_answers::settle(view))
    }

    async fn credit_repayment(
        &self,
        envelope_id: String,
    ) -> Result<CreditRepaymentResponse, NodeError> {
        let credit = &self.components.actors.credit;
        let view = credit
            .call(|reply| CreditMsg::Repay(envelope_id, reply), CREDIT_TIMEOUT)
            .await??;
        Ok(credit_answers::repayment(view))
    }

    async fn get_credit_envelope(
        &self,
        envelope_id: String,
    ) -> Result<CreditEnvelopeResponse, NodeError> {
        let credit = &self.components.actors.credit;
        let view = credit
            .call(
                |reply| CreditMsg::Envelope(envelope_id, reply),
                CREDIT_TIMEOUT,
            )
            .await??;
        Ok(credit_answers::envelope(view))
    }

    async fn credit_exposure(
        &self,
        agent_id: String,
    ) -> Result<CreditAgentExposureResponse, NodeError> {
        let credit = &self.components.actors.credit;
        let exposure = credit
            .call(|reply| CreditMsg::Exposure(agent_id, reply), CREDIT_TIMEOUT)
            .await??;
        Ok(credit_answers::exposure(exposure))
    }

    async fn credit_health(&self) -> Result<CreditHealthResponse, NodeError> {
        let credit = &self.components.actors.credit;
        let health = credit.call(CreditMsg::Health, CREDIT_TIMEOUT).await??;
        Ok(credit_answers::health(health))
    }

    async fn nostr_status(&self) -> Result<NostrStatusResponse, NodeError> {
        // Without relays the publisher never starts: nothing is staged or sent.
        if self.components.mirror.is_none() {
            return Ok(nostr_answers::disabled());
        }
        let publisher = &self.components.actors.publisher;
        let status = publisher.call(PublisherMsg::Status, NOSTR_TIMEOUT).await?;
        Ok(nostr_answers::status(status))
    }

    async fn rebalancer_status(&self) -> Result<RebalancerStatusResponse, NodeError> {
        // Without a `[rebalancer]` section the actor never starts.
        if !self.rebalancer {
            return Ok(rebalancer_answers::disabled());
        }
        let rebalancer = &self.components.actors.rebalancer;
        let status = rebalancer
            .call(RebalancerMsg::Status, REBALANCER_TIMEOUT)
            .await??;
        Ok(rebalancer_answers::status(status))
    }

    async fn halt_rebalancer(&self, reason: String) -> Result<RebalancerStatusResponse, NodeError> {
        self.rebalancer_enabled()?;
        let rebalancer = &self.components.actors.rebalancer;
        let status = rebalancer
            .call(
                |reply| RebalancerMsg::Halt(reason, reply),
                REBALANCER_TIMEOUT,
            )
            .await??;
        Ok(rebalancer_answers::status(status))
    }

    async fn resume_rebalancer(&self) -> Result<RebalancerStatusResponse, NodeError> {
        self.rebalancer_enabled()?;
        let rebalancer = &self.components.actors.rebalancer;
        let status = rebalancer
            .call(RebalancerMsg::Resume, REBALANCER_TIMEOUT)
            .await??;
        Ok(rebalancer_answers::status(status))
    }

    async fn set_rebalance_channel(
        &self,
        channel_id: ChannelId,
        settings: RebalanceChannelSettings,
    ) -> Result<RebalanceChannelSettings, NodeError> {
        self.rebalancer_enabled()?;
        // Lowercase hex, as LDK's channel ids print and the rebalancer keys them.
        let record = rebalancer_answers::channel_record(
            channel_id.to_string(),
            settings,
            sluice_actors::clock::unix_ms(),
        );
        let rebalancer = &self.components.actors.rebalancer;
        let stored = rebalancer
            .call(
                |reply| RebalancerMsg::SetChannel(record, reply),
                REBALANCER_TIMEOUT,
            )
            .await??;
        Ok(rebalancer_answers::channel_settings(stored))
    }

    async fn take_snapshot(&self, pool_id: String) -> Result<PoolSnapshotResponse, NodeError> {
        let pool = &self.components.actors.pool;
        let snapshot = pool
            .call(|reply| PoolMsg::TakeSnapshot(pool_id, reply), POOL_TIMEOUT)
            .await??;
        Ok(pool_answers::snapshot(snapshot))
    }

    async fn pool_snapshot(
        &self,
        pool_id: String,
        seq: Option<u64>,
    ) -> Result<PoolSnapshotResponse, NodeError> {
        let snapshot = pool_snapshot::get(&self.components, &pool_id, seq).await?;
        Ok(pool_answers::snapshot(snapshot))
    }

    async fn inclusion_proof(
        &self,
        pool_id: String,
        seq: Option<u64>,
        lp_id: String,
        caller: String,
        admin: bool,
    ) -> Result<InclusionProofResponse, NodeError> {
        let (snapshot, proofs) =
            pool_snapshot::proofs(&self.components, &pool_id, seq, &lp_id, &caller, admin).await?;
        Ok(pool_answers::inclusion_proofs(snapshot, lp_id, proofs))
    }

    async fn stats(&self) -> Result<StatsResponse, NodeError> {
        self.stats.get(&self.components).await
    }

    async fn wallet_new_address(&self) -> Result<WalletAddressResponse, NodeError> {
        let wallet = Arc::clone(&self.components.wallet);
        let address = tokio::task::spawn_blocking(move || wallet.new_address())
            .await
            .map_err(|e| NodeError::Wallet(e.to_string()))??;
        Ok(WalletAddressResponse {
            address: address.to_string(),
        })
    }

    async fn wallet_balance(&self) -> Result<WalletBalanceResponse, NodeError> {
        // The height first: the balance read after it includes at least that block.
        let synced_height = self.components.wallet.synced_height();
        let balance = self.components.wallet.balance();
        Ok(WalletBalanceResponse {
            confirmed_sat: balance.confirmed.to_sat(),
            unconfirmed_sat: (balance.trusted_pending + balance.untrusted_pending).to_sat(),
            immature_sat: balance.immature.to_sat(),
            total_sat: balance.total().to_sat(),
            spendable_sat: balance.trusted_spendable().to_sat(),
            synced_height,
        })
    }

    async fn lsps2_menu(&self) -> Result<Lsps2MenuResponse, NodeError> {
        let config = self
            .components
            .lsps2
            .as_deref()
            .ok_or(NodeError::NotEnabled("the LSPS2 service"))?;
        let menu = |options: &[FeeOption]| options.iter().map(fee_option).collect();
        Ok(Lsps2MenuResponse {
            fee_menu: menu(&config.fee_menu),
            tokens: config
                .tokens
                .iter()
                .map(|t| Lsps2TokenMenu {
                    token: t.token.clone(),
                    fee_menu: menu(&t.fee_menu),
                })
                .collect(),
            require_token: config.require_token,
            client_trusts_lsp: config.client_trusts_lsp,
            over_provisioning_ppm: config.over_provisioning_ppm,
            min_channel_sat: config.min_channel_sat,
            max_channel_sat: config.max_channel_sat,
            max_pending_buys_per_peer: config.max_pending_buys_per_peer,
            max_pending_opens: config.max_pending_opens,
            max_committed_sat: config.max_committed_sat,
            max_unclaimed_sat: config.max_unclaimed_sat,
            unclaimed_window_secs: config.unclaimed_window_secs,
            unclaimed_close_after_secs: config.unclaimed_close_after_secs,
            max_live_orders: config.max_live_orders,
            order_retention_secs: config.order_retention_secs,
        })
    }

    async fn lsps2_orders(&self, page: Lsps2OrdersPage) -> Result<Lsps2OrdersResponse, NodeError> {
        let now_secs = sluice_actors::clock::unix_ms() / 1000;
        let page = lsps2::orders_page(&self.components, page.cursor, page.limit).await?;
        Ok(Lsps2OrdersResponse {
            orders: page
                .orders
                .into_iter()
                .map(|o| order(o, now_secs))
                .collect(),
            next_cursor: page.next_cursor,
        })
    }

    async fn lsps2_summary(&self) -> Result<Lsps2SummaryResponse, NodeError> {
        let s = lsps2::summary(&self.components).await?;
        Ok(Lsps2SummaryResponse {
            orders_bought: s.orders_bought,
            orders_expired: s.orders_expired,
            orders_opening: s.orders_opening,
            orders_forwarded: s.orders_forwarded,
            orders_failed: s.orders_failed,
            orders_unclaimed: s.orders_unclaimed,
            revenue_msat: s.revenue_msat,
            committed_sat: s.committed_sat,
            unclaimed_sat: s.unclaimed_sat,
            orders_in_memory: s.orders_in_memory,
        })
    }

    async fn budget(&self, caller: String) -> Result<BudgetResponse, NodeError> {
        let c = &self.components;
        c.budgets
            .view(&c.store, &caller)
            .await?
            .map(budget_response)
            .ok_or_else(|| NodeError::NotFound("a budget for this token: it has none".into()))
    }

    async fn budgets(&self) -> Result<Vec<BudgetResponse>, NodeError> {
        let c = &self.components;
        let mut budgets = Vec::new();
        for token in c.budgets.tokens() {
            if let Some(view) = c.budgets.view(&c.store, &token).await? {
                budgets.push(budget_response(view));
            }
        }
        Ok(budgets)
    }

    async fn health(&self) -> Result<HealthResponse, NodeError> {
        let (status, detail) = match self.components.health.health() {
            Health::Ok => (HealthStatus::Ok, None),
            Health::Degraded(why) => (HealthStatus::Degraded, Some(why)),
            Health::Unavailable(why) => (HealthStatus::Unavailable, Some(why)),
        };
        Ok(HealthResponse { status, detail })
    }
}

fn budget_response(view: BudgetView) -> BudgetResponse {
    let policy = view.policy;
    BudgetResponse {
        token_sha256: view.token,
        max_per_payment_msat: policy.max_per_payment_msat,
        total_msat: policy.max_per_period_msat,
        used_msat: view.used_msat,
        remaining_msat: policy
            .max_per_period_msat
            .map(|total| total.saturating_sub(view.used_msat)),
        renewal: policy.renewal.as_str().to_owned(),
        period_start_ms: view.period_start_ms,
        renews_at_ms: view.renews_at_ms,
        expires_at_ms: policy.expires_at_ms,
        allowed_destinations: policy
            .allowed_destinations
            .map(|ids| ids.iter().map(ToString::to_string).collect()),
    }
}

fn fee_option(o: &FeeOption) -> Lsps2FeeOption {
    Lsps2FeeOption {
        min_fee_msat: o.min_fee_msat,
        proportional_ppm: o.proportional_ppm,
        valid_for_secs: o.valid_for_secs,
        min_lifetime_blocks: o.min_lifetime_blocks,
        max_client_to_self_delay: o.max_client_to_self_delay,
        min_payment_size_msat: o.min_payment_size_msat,
        max_payment_size_msat: o.max_payment_size_msat,
    }
}

fn order(o: JitOrderRecord, now_secs: u64) -> Lsps2Order {
    let state = match o.state {
        JitOrderState::Bought if lsps2::expired_unpaid(&o, now_secs) => "expired",
        JitOrderState::Bought => "bought",
        JitOrderState::Opening => "opening",
        JitOrderState::Forwarded => "forwarded",
        JitOrderState::Failed => "failed",
        JitOrderState::Unclaimed => "unclaimed",
    };
    Lsps2Order {
        order_id: o.order_id,
        client_node_id: o.client_node_id,
        intercept_scid: o.intercept_scid,
        state: state.to_owned(),
        min_fee_msat: o.min_fee_msat,
        proportional_ppm: o.proportional_ppm,
        valid_until: o.valid_until,
        payment_size_msat: o.payment_size_msat,
        opening_fee_msat: o.opening_fee_msat,
        amt_to_forward_msat: o.amt_to_forward_msat,
        channel_sat: o.channel_sat,
        channel_id: o.channel_id,
        skimmed_fee_msat: o.skimmed_fee_msat,
        failure: o.failure,
        created_at_ms: o.created_at_ms,
        open_started_at_ms: o.open_started_at_ms,
        channel_ready_at_ms: o.channel_ready_at_ms,
        forwarded_at_ms: o.forwarded_at_ms,
        ended_at_ms: o.ended_at_ms,
    }
}
