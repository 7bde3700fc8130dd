//! Clients for a node's HTTP API and the chain's JSON-RPC, over [`ureq`]'s blocking
//! HTTP/1.1 client.
//!
//! A client made with [`ApiClient::new`] sends each request on a connection of its own
//! (`Connection: close`), so a test that kills and restarts a node never meets a stale
//! connection. An [`ApiClient::kept_alive`] client instead keeps its connections open in
//! a pool shared by its clones (one per node in the load driver, used by every worker),
//! as a real client would, so a load run does not spend the nodes' CPU on connection
//! set-up. A pooled connection the server has closed meanwhile is noticed before it is
//! reused. Error statuses come back as answers ([`HttpResponse`]), not errors, and
//! request and response bodies are [`sluice_api_types`], so the client and the server
//! cannot drift apart.

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

use base64::prelude::{Engine, BASE64_STANDARD};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};
use sluice_api_types::paths;
use sluice_api_types::{
    ChannelInfo, CloseChannelRequest, CloseChannelResponse, ConnectPeerRequest,
    CreateInvoiceRequest, CreatePoolRequest, CreditAgentExposureResponse, CreditEnvelopeRequest,
    CreditEnvelopeResponse, CreditHealthResponse, CreditIntentRequest, CreditIntentResponse,
    CreditOfferRequest, CreditOfferResponse, CreditRepaymentResponse, CreditSettleRequest,
    CreditSettleResponse, DepositQuoteRequest, DepositQuoteResponse, ErrorResponse,
    HaltRebalancerRequest, HealthResponse, InclusionProofResponse, InvoiceResponse, KeysendRequest,
    ListChannelsResponse, ListPaymentsQuery, ListPaymentsResponse, ListPeersResponse,
    Lsps2MenuResponse, Lsps2Order, Lsps2OrdersResponse, Lsps2SummaryResponse, NodeInfoResponse,
    NostrStatusResponse, OpenChannelRequest, OpenChannelResponse, PayInvoiceRequest, PayRequest,
    PayResponse, PaymentInfo, PeerInfo, PeerResponse, PoolInfo, PoolPositionResponse,
    PoolSnapshotResponse, PoolStatusResponse, QuotePayRequest, QuotePayResponse,
    RebalanceChannelSettings, RebalancerStatusResponse, StatsResponse, WalletAddressResponse,
    WalletBalanceResponse, WithdrawRequest, WithdrawResponse, WithdrawalsHaltRequest,
    WithdrawalsHaltResponse,
};
use ureq::http::{Method, Request};
use ureq::Agent;

use crate::Error;

/// How long a connection to 127.0.0.1 may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long each phase of a request (sending it, waiting for the answer's head, reading its
/// body) may take; above the API's own request timeout.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// The most idle connections a kept-alive client keeps: more than the load driver ever
/// has requests in flight to one node, so no worker's connection is closed for room.
pub const MAX_KEPT_CONNECTIONS: usize = 1024;
/// The largest answer body read (a node's `/metrics` is a few KiB).
const MAX_BODY_BYTES: u64 = 16 * 1024 * 1024;
/// Each connection's read and write buffer, and the largest answer head. ureq's default
/// (128 KiB each) is sized for downloads; the API's requests and answer heads are a few
/// KiB, and 64 kept-alive connections at the default held 35 MiB in the load driver.
const BUFFER_BYTES: usize = 16 * 1024;

/// An HTTP answer as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// The header fields, names lowercased, in order.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first header field called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }

    /// The API's error body (`{"error":{"code","message"}}`), if the body is one.
    pub fn api_error(&self) -> Option<ErrorResponse> {
        self.json().ok()
    }
}

/// A new agent: error statuses answered as responses, no redirects followed, the
/// harness's timeouts, and a pool of `pooled` idle connections (none: every connection
/// is closed after its answer).
fn agent(pooled: usize) -> Agent {
    Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_connect(Some(CONNECT_TIMEOUT))
        // Per phase, not `timeout_global`: with a global timeout set, ureq resolves every
        // request's address (even 127.0.0.1, even on a pooled connection) on a new thread,
        // which tripled the load driver's CPU under `--scenario bench-line`.
        .timeout_send_request(Some(REQUEST_TIMEOUT))
        .timeout_send_body(Some(REQUEST_TIMEOUT))
        .timeout_recv_response(Some(REQUEST_TIMEOUT))
        .timeout_recv_body(Some(REQUEST_TIMEOUT))
        .max_idle_connections(pooled)
        .max_idle_connections_per_host(pooled)
        .input_buffer_size(BUFFER_BYTES)
        .output_buffer_size(BUFFER_BYTES)
        .max_response_header_size(BUFFER_BYTES)
        .build()
        .into()
}

/// The agent every client without kept-alive connections shares.
fn closing_agent() -> Agent {
    static CLOSING: OnceLock<Agent> = OnceLock::new();
    CLOSING.get_or_init(|| agent(0)).clone()
}

/// How a failed `method path` is reported.
fn failure(method: &str, path: &str) -> impl Fn(String) -> Error {
    let request = format!("{method} {path}");
    move |detail| Error::Http {
        request: request.clone(),
        detail,
    }
}

/// Sends `method path` to `addr` through `agent` with `headers` and reads the whole
/// answer, whatever its status. With `close`, the request asks for `Connection: close`.
/// A body is sent (with its `Content-Length`) when there is one or the method is `POST`
/// or `PUT`; no header is added but ureq's own (`Host`, `User-Agent`, `Accept`).
fn exchange(
    agent: &Agent,
    addr: SocketAddr,
    (method, path): (&str, &str),
    headers: &[(&str, &str)],
    body: &[u8],
    close: bool,
) -> Result<HttpResponse, Error> {
    let fail = failure(method, path);
    let verb =
        Method::from_bytes(method.as_bytes()).map_err(|e| fail(format!("a bad method: {e}")))?;
    let with_body = !body.is_empty() || verb == Method::POST || verb == Method::PUT;
    let mut request = Request::builder()
        .method(verb)
        .uri(format!("http://{addr}{path}"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if close {
        request = request.header("connection", "close");
    }
    let answer = if with_body {
        request.body(body).map(|r| agent.run(r))
    } else {
        request.body(()).map(|r| agent.run(r))
    };
    let mut answer = answer
        .map_err(|e| fail(format!("a bad request: {e}")))?
        .map_err(|e| fail(e.to_string()))?;
    let headers = answer
        .headers()
        .iter()
        .map(|(name, value)| {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            (name.as_str().to_owned(), value)
        })
        .collect();
    let body = answer
        .body_mut()
        .with_config()
        .limit(MAX_BODY_BYTES)
        .read_to_vec()
        .map_err(|e| fail(format!("reading the answer: {e}")))?;
    Ok(HttpResponse {
        status: answer.status().as_u16(),
        headers,
        body,
    })
}

/// A client of one node's HTTP API, with or without a bearer token.
///
/// Typed methods answer the parsed body for a 2xx status and [`Error::Api`] (with the
/// error body's code) otherwise; [`ApiClient::send`] and [`ApiClient::send_with_headers`]
/// give the raw answer for tests of bad input.
#[derive(Debug, Clone)]
pub struct ApiClient {
    addr: SocketAddr,
    token: Option<String>,
    agent: Agent,
    keep_alive: bool,
}

impl ApiClient {
    /// A client of the API at `addr` sending `token` as `Authorization: Bearer`, one
    /// connection per request.
    pub fn new(addr: SocketAddr, token: Option<String>) -> ApiClient {
        ApiClient {
            addr,
            token,
            agent: closing_agent(),
            keep_alive: false,
        }
    }

    /// The same client keeping its connections open between requests, in a pool of its
    /// own that its clones share (see the module docs).
    pub fn kept_alive(self) -> ApiClient {
        ApiClient {
            agent: agent(MAX_KEPT_CONNECTIONS),
            keep_alive: true,
            ..self
        }
    }

    /// The API's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The same API with another token (or none), on the same connections.
    pub fn with_token(&self, token: Option<&str>) -> ApiClient {
        ApiClient {
            token: token.map(str::to_owned),
            ..self.clone()
        }
    }

    /// Sends `method path` with the client's token, `body` as JSON, and returns the raw
    /// answer whatever its status.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
    ) -> Result<HttpResponse, Error> {
        self.send_with_headers(method, path, &[], body)
    }

    /// Like [`ApiClient::send`], with extra header fields; a body is sent as
    /// `application/json` unless `headers` has a `Content-Type`.
    pub fn send_with_headers(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Result<HttpResponse, Error> {
        let authorization = self.token.as_ref().map(|t| format!("Bearer {t}"));
        let mut all = Vec::with_capacity(headers.len() + 2);
        if let Some(authorization) = &authorization {
            all.push(("Authorization", authorization.as_str()));
        }
        let has_type = headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("content-type"));
        if body.is_some() && !has_type {
            all.push(("Content-Type", "application/json"));
        }
        all.extend_from_slice(headers);
        exchange(
            &self.agent,
            self.addr,
            (method, path),
            &all,
            body.unwrap_or_default(),
            !self.keep_alive,
        )
    }

    /// Sends a request with an optional JSON body and parses a 2xx answer as `T`.
    pub fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        body: Option<&impl Serialize>,
    ) -> Result<T, Error> {
        self.call_with_headers(method, path, &[], body)
    }

    /// Like [`ApiClient::call`], with extra header fields (an `Idempotency-Key`, say).
    pub fn call_with_headers<T: DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&impl Serialize>,
    ) -> Result<T, Error> {
        let request = format!("{method} {path}");
        let body = body
            .map(serde_json::to_vec)
            .transpose()
            .map_err(|e| Error::Http {
                request: request.clone(),
                detail: format!("encoding the body: {e}"),
            })?;
        let response = self.send_with_headers(method, path, headers, body.as_deref())?;
        if !(200..300).contains(&response.status) {
            let (code, message) = match response.api_error() {
                Some(e) => (e.error.code, e.error.message),
                None => (String::new(), response.text()),
            };
            return Err(Error::Api {
                request,
                status: response.status,
                code,
                message,
            });
        }
        response.json().map_err(|e| Error::Http {
            request,
            detail: format!("decoding {:?}: {e}", response.text()),
        })
    }

    fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, Error> {
        self.call("GET", path, None::<&()>)
    }

    /// The value of a metric from `GET /metrics` (a counter or gauge; `name` with its
    /// labels as exposed, e.g. `x_total{outcome="ok"}`), or `None` while the node has not
    /// recorded it.
    pub fn metric(&self, name: &str) -> Result<Option<f64>, Error> {
        Ok(self.metrics(&[name])?.pop().flatten())
    }

    /// [`ApiClient::metric`] for each of `names`, from one `GET /metrics`.
    pub fn metrics(&self, names: &[&str]) -> Result<Vec<Option<f64>>, Error> {
        let response = self.send("GET", "/metrics", None)?;
        if response.status != 200 {
            return Err(Error::Api {
                request: "GET /metrics".into(),
                status: response.status,
                code: String::new(),
                message: response.text(),
            });
        }
        let text = response.text();
        let value = |name: &str| {
            text.lines().find_map(|line| {
                let value = line.strip_prefix(name)?.strip_prefix(' ')?;
                value.trim().parse().ok()
            })
        };
        Ok(names.iter().map(|name| value(name)).collect())
    }

    /// `GET /healthz`.
    pub fn health(&self) -> Result<HealthResponse, Error> {
        self.get(paths::HEALTHZ)
    }

    /// `GET /v1/node/info`.
    pub fn node_info(&self) -> Result<NodeInfoResponse, Error> {
        self.get(paths::NODE_INFO)
    }

    /// `GET /v1/node/peers`.
    pub fn list_peers(&self) -> Result<Vec<PeerInfo>, Error> {
        Ok(self.get::<ListPeersResponse>(paths::PEERS)?.peers)
    }

    /// `POST /v1/node/peers`: connects to `node_id` at `address` (`host:port`); a no-op
    /// when already connected.
    pub fn connect_peer(&self, node_id: &str, address: &str) -> Result<PeerResponse, Error> {
        let request = ConnectPeerRequest {
            node_id: node_id.to_owned(),
            address: address.to_owned(),
        };
        self.call("POST", paths::PEERS, Some(&request))
    }

    /// `GET /v1/node/channels`.
    pub fn list_channels(&self) -> Result<Vec<ChannelInfo>, Error> {
        Ok(self.get::<ListChannelsResponse>(paths::CHANNELS)?.channels)
    }

    /// `POST /v1/node/channels`.
    pub fn open_channel(&self, request: &OpenChannelRequest) -> Result<OpenChannelResponse, Error> {
        self.call("POST", paths::CHANNELS, Some(request))
    }

    /// `POST /v1/node/channels/{channel_id}/close`: starts a cooperative close, or a
    /// force close.
    pub fn close_channel(
        &self,
        channel_id: &str,
        request: &CloseChannelRequest,
    ) -> Result<CloseChannelResponse, Error> {
        let path = paths::CHANNEL_CLOSE.replace("{channel_id}", channel_id);
        self.call("POST", &path, Some(request))
    }

    /// `POST /v1/node/invoices`.
    pub fn create_invoice(&self, request: &CreateInvoiceRequest) -> Result<InvoiceResponse, Error> {
        self.call("POST", paths::INVOICES, Some(request))
    }

    /// `POST /v1/node/payments`: starts paying an invoice; the answer is usually pending.
    pub fn pay_invoice(&self, request: &PayInvoiceRequest) -> Result<PaymentInfo, Error> {
        self.call("POST", paths::PAYMENTS, Some(request))
    }

    /// `POST /v1/node/payments/keysend` with `Idempotency-Key: key`: a retry with the
    /// same key and request gets the first payment.
    pub fn keysend(&self, key: &str, request: &KeysendRequest) -> Result<PaymentInfo, Error> {
        let headers = [("Idempotency-Key", key)];
        self.call_with_headers("POST", paths::KEYSEND, &headers, Some(request))
    }

    /// `POST /v1/liquidity/quote_pay`.
    pub fn quote_pay(&self, request: &QuotePayRequest) -> Result<QuotePayResponse, Error> {
        self.call("POST", paths::QUOTE_PAY, Some(request))
    }

    /// `POST /v1/liquidity/pay`.
    pub fn pay_quote(&self, request: &PayRequest) -> Result<PayResponse, Error> {
        self.call("POST", paths::PAY, Some(request))
    }

    /// `GET /v1/liquidity/pay/{quote_id}`.
    pub fn quote_payment(&self, quote_id: &str) -> Result<PayResponse, Error> {
        self.get(&paths::fill(
            paths::QUOTE_PAYMENT,
            &[("quote_id", quote_id)],
        ))
    }

    /// `GET /v1/receipts/{receipt_id}`.
    pub fn receipt(&self, receipt_id: &str) -> Result<Value, Error> {
        self.get(&paths::fill(paths::RECEIPT, &[("receipt_id", receipt_id)]))
    }

    /// `GET /v1/node/payments` with `query`'s filters: the first page's payments.
    pub fn list_payments(&self, query: &ListPaymentsQuery) -> Result<Vec<PaymentInfo>, Error> {
        Ok(self.payments_page(query)?.payments)
    }

    /// `GET /v1/node/payments` with `query`'s filters and cursor: one page.
    pub fn payments_page(&self, query: &ListPaymentsQuery) -> Result<ListPaymentsResponse, Error> {
        let mut params = Vec::new();
        if let Some(direction) = query.direction {
            params.push(format!("direction={}", enum_name(&direction)));
        }
        if let Some(status) = query.status {
            params.push(format!("status={}", enum_name(&status)));
        }
        if let Some(limit) = query.limit {
            params.push(format!("limit={limit}"));
        }
        if let Some(hash) = &query.payment_hash {
            params.push(format!("payment_hash={hash}"));
        }
        if let Some(cursor) = &query.cursor {
            let encoded =
                percent_encoding::utf8_percent_encode(cursor, percent_encoding::NON_ALPHANUMERIC);
            params.push(format!("cursor={encoded}"));
        }
        let path = if params.is_empty() {
            paths::PAYMENTS.to_owned()
        } else {
            format!("{}?{}", paths::PAYMENTS, params.join("&"))
        };
        self.get::<ListPaymentsResponse>(&path)
    }

    /// Every payment of `payment_hash`: our attempts to pay it and what was received with
    /// it (`GET /v1/node/payments?payment_hash=…`).
    pub fn payments_of_hash(&self, payment_hash: &str) -> Result<Vec<PaymentInfo>, Error> {
        self.list_payments(&ListPaymentsQuery {
            payment_hash: Some(payment_hash.to_owned()),
            limit: Some(1000),
            ..ListPaymentsQuery::default()
        })
    }

    /// `GET /v1/node/payments/{payment_id}`.
    pub fn payment(&self, payment_id: &str) -> Result<PaymentInfo, Error> {
        self.get(&paths::fill(paths::PAYMENT, &[("payment_id", payment_id)]))
    }

    /// `POST /v1/node/wallet/address`.
    pub fn new_address(&self) -> Result<WalletAddressResponse, Error> {
        self.call("POST", paths::WALLET_ADDRESS, None::<&()>)
    }

    /// `GET /v1/node/wallet/balance`.
    pub fn wallet_balance(&self) -> Result<WalletBalanceResponse, Error> {
        self.get(paths::WALLET_BALANCE)
    }

    /// `GET /v1/lsps2/menu`.
    pub fn lsps2_menu(&self) -> Result<Lsps2MenuResponse, Error> {
        self.get(paths::LSPS2_MENU)
    }

    /// Every order of `GET /v1/lsps2/orders`, newest first, page after page.
    pub fn lsps2_orders(&self) -> Result<Vec<Lsps2Order>, Error> {
        let mut orders = Vec::new();
        let mut cursor = None;
        loop {
            let page = self.lsps2_orders_page(None, cursor.as_deref())?;
            orders.extend(page.orders);
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => return Ok(orders),
            }
        }
    }

    /// One page of `GET /v1/lsps2/orders`: at most `limit` orders (the server's default
    /// without), after `cursor` (a `next_cursor` of the page before).
    pub fn lsps2_orders_page(
        &self,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<Lsps2OrdersResponse, Error> {
        let mut query = Vec::new();
        if let Some(limit) = limit {
            query.push(format!("limit={limit}"));
        }
        if let Some(cursor) = cursor {
            query.push(format!("cursor={cursor}"));
        }
        let path = match query.is_empty() {
            true => paths::LSPS2_ORDERS.to_owned(),
            false => format!("{}?{}", paths::LSPS2_ORDERS, query.join("&")),
        };
        self.get(&path)
    }

    /// `GET /v1/lsps2/summary`.
    pub fn lsps2_summary(&self) -> Result<Lsps2SummaryResponse, Error> {
        self.get(paths::LSPS2_SUMMARY)
    }

    /// `POST /v1/pools`.
    pub fn create_pool(&self, request: &CreatePoolRequest) -> Result<PoolInfo, Error> {
        self.call("POST", paths::POOLS, Some(request))
    }

    /// `GET /v1/pools/{pool_id}/status`.
    pub fn pool_status(&self, pool_id: &str) -> Result<PoolStatusResponse, Error> {
        self.get(&paths::fill(paths::POOL_STATUS, &[("pool_id", pool_id)]))
    }

    /// `POST /v1/pools/{pool_id}/deposit_quote`.
    pub fn deposit_quote(
        &self,
        pool_id: &str,
        request: &DepositQuoteRequest,
    ) -> Result<DepositQuoteResponse, Error> {
        let path = paths::fill(paths::POOL_DEPOSIT_QUOTE, &[("pool_id", pool_id)]);
        self.call("POST", &path, Some(request))
    }

    /// `GET /v1/pools/{pool_id}/deposits/{deposit_id}`.
    pub fn deposit(&self, pool_id: &str, deposit_id: &str) -> Result<DepositQuoteResponse, Error> {
        self.get(&paths::fill(
            paths::POOL_DEPOSIT,
            &[("pool_id", pool_id), ("deposit_id", deposit_id)],
        ))
    }

    /// `GET /v1/pools/{pool_id}/lps/{lp_id}`.
    pub fn pool_position(&self, pool_id: &str, lp_id: &str) -> Result<PoolPositionResponse, Error> {
        self.get(&paths::fill(
            paths::POOL_POSITION,
            &[("pool_id", pool_id), ("lp_id", lp_id)],
        ))
    }

    /// `POST /v1/pools/{pool_id}/withdraw_request`.
    pub fn withdraw_request(
        &self,
        pool_id: &str,
        request: &WithdrawRequest,
    ) -> Result<WithdrawResponse, Error> {
        let path = paths::fill(paths::POOL_WITHDRAW_REQUEST, &[("pool_id", pool_id)]);
        self.call("POST", &path, Some(request))
    }

    /// `GET /v1/pools/{pool_id}/withdrawals/{withdrawal_id}`.
    pub fn withdrawal(
        &self,
        pool_id: &str,
        withdrawal_id: &str,
    ) -> Result<WithdrawResponse, Error> {
        self.get(&paths::fill(
            paths::POOL_WITHDRAWAL,
            &[("pool_id", pool_id), ("withdrawal_id", withdrawal_id)],
        ))
    }

    /// `POST /v1/pools/{pool_id}/withdrawals/{withdrawal_id}/cancel`.
    pub fn cancel_withdrawal(
        &self,
        pool_id: &str,
        withdrawal_id: &str,
    ) -> Result<WithdrawResponse, Error> {
        let path = paths::fill(
            paths::POOL_WITHDRAWAL_CANCEL,
            &[("pool_id", pool_id), ("withdrawal_id", withdrawal_id)],
        );
        self.call("POST", &path, None::<&()>)
    }

    /// `POST /v1/pools/{pool_id}/withdrawals/{withdrawal_id}/approve` (admin).
    pub fn approve_withdrawal(
        &self,
        pool_id: &str,
        withdrawal_id: &str,
    ) -> Result<WithdrawResponse, Error> {
        let path = paths::fill(
            paths::POOL_WITHDRAWAL_APPROVE,
            &[("pool_id", pool_id), ("withdrawal_id", withdrawal_id)],
        );
        self.call("POST", &path, None::<&()>)
    }

    /// `POST /v1/pools/{pool_id}/withdrawals/halt` (admin): halts (`true`) or resumes
    /// the pool's withdrawal payouts.
    pub fn halt_withdrawals(
        &self,
        pool_id: &str,
        halted: bool,
    ) -> Result<WithdrawalsHaltResponse, Error> {
        let path = paths::fill(paths::POOL_WITHDRAWALS_HALT, &[("pool_id", pool_id)]);
        self.call("POST", &path, Some(&WithdrawalsHaltRequest { halted }))
    }

    /// `POST /v1/credit/intent`: files an agent's credit intent.
    pub fn credit_intent(
        &self,
        request: &CreditIntentRequest,
    ) -> Result<CreditIntentResponse, Error> {
        self.call("POST", paths::CREDIT_INTENT, Some(request))
    }

    /// `POST /v1/credit/offer`: asks underwriting for a credit offer.
    pub fn credit_offer(&self, request: &CreditOfferRequest) -> Result<CreditOfferResponse, Error> {
        self.call("POST", paths::CREDIT_OFFER, Some(request))
    }

    /// `POST /v1/credit/envelope`: issues an envelope from an offer for one provider.
    pub fn credit_envelope(
        &self,
        request: &CreditEnvelopeRequest,
    ) -> Result<CreditEnvelopeResponse, Error> {
        self.call("POST", paths::CREDIT_ENVELOPE, Some(request))
    }

    /// `POST /v1/credit/settle`: settles an envelope: the provider paid (`success`), or
    /// a default (`failed`, `expired`). Answers once the provider's payment has an
    /// outcome; a refusal comes back as [`Error::Api`] with its code.
    pub fn credit_settle(
        &self,
        request: &CreditSettleRequest,
    ) -> Result<CreditSettleResponse, Error> {
        self.call("POST", paths::CREDIT_SETTLE, Some(request))
    }

    /// `POST /v1/credit/envelopes/{envelope_id}/repayment`: an invoice for what the
    /// envelope owes now (its draw, or after an unrepaid default its loss); paying it
    /// repays the envelope. An envelope that owes nothing is [`Error::Api`] with
    /// `nothing_owed`.
    pub fn credit_repayment(&self, envelope_id: &str) -> Result<CreditRepaymentResponse, Error> {
        let path = paths::fill(paths::CREDIT_REPAYMENT, &[("envelope_id", envelope_id)]);
        self.call("POST", &path, None::<&()>)
    }

    /// `GET /v1/credit/envelopes/{envelope_id}`.
    pub fn credit_envelope_get(&self, envelope_id: &str) -> Result<CreditEnvelopeResponse, Error> {
        self.get(&paths::fill(
            paths::CREDIT_ENVELOPE_VIEW,
            &[("envelope_id", envelope_id)],
        ))
    }

    /// `GET /v1/credit/agents/{agent_id}/exposure`.
    pub fn credit_exposure(&self, agent_id: &str) -> Result<CreditAgentExposureResponse, Error> {
        self.get(&paths::fill(
            paths::CREDIT_AGENT_EXPOSURE,
            &[("agent_id", agent_id)],
        ))
    }

    /// `GET /v1/credit/health`.
    pub fn credit_health(&self) -> Result<CreditHealthResponse, Error> {
        self.get(paths::CREDIT_HEALTH)
    }

    /// `GET /v1/nostr`: the Nostr mirror's state.
    pub fn nostr_status(&self) -> Result<NostrStatusResponse, Error> {
        self.get(paths::NOSTR_STATUS)
    }

    /// `GET /v1/rebalancer`: the rebalancer's state (budget, channels against their
    /// bands, plan, recent rebalances).
    pub fn rebalancer_status(&self) -> Result<RebalancerStatusResponse, Error> {
        self.get(paths::REBALANCER)
    }

    /// `POST /v1/rebalancer/halt` (admin): pulls the rebalancer's kill switch, giving
    /// `reason`; no rebalance starts until [`ApiClient::resume_rebalancer`]. The state
    /// after.
    pub fn halt_rebalancer(&self, reason: &str) -> Result<RebalancerStatusResponse, Error> {
        let request = HaltRebalancerRequest {
            reason: reason.to_owned(),
        };
        self.call("POST", paths::REBALANCER_HALT, Some(&request))
    }

    /// `POST /v1/rebalancer/resume` (admin): releases the kill switch. The state after.
    pub fn resume_rebalancer(&self) -> Result<RebalancerStatusResponse, Error> {
        self.call("POST", paths::REBALANCER_RESUME, None::<&()>)
    }

    /// `PUT /v1/rebalancer/channels/{channel_id}` (admin): channel `channel_id`'s own
    /// rebalancing settings (its band, an opt-out, a commitment); the settings stored.
    pub fn set_rebalance_channel(
        &self,
        channel_id: &str,
        settings: &RebalanceChannelSettings,
    ) -> Result<RebalanceChannelSettings, Error> {
        let path = paths::fill(paths::REBALANCER_CHANNEL, &[("channel_id", channel_id)]);
        self.call("PUT", &path, Some(settings))
    }

    /// `GET /stats` (JSON).
    pub fn stats(&self) -> Result<StatsResponse, Error> {
        self.get(paths::STATS)
    }

    /// `POST /v1/pools/{pool_id}/snapshots`.
    pub fn take_snapshot(&self, pool_id: &str) -> Result<PoolSnapshotResponse, Error> {
        let path = paths::fill(paths::POOL_SNAPSHOTS, &[("pool_id", pool_id)]);
        self.call("POST", &path, None::<&()>)
    }

    /// `GET /v1/pools/{pool_id}/snapshots/{seq}` (`seq` a number or `latest`).
    pub fn snapshot(&self, pool_id: &str, seq: &str) -> Result<PoolSnapshotResponse, Error> {
        self.get(&paths::fill(
            paths::POOL_SNAPSHOT,
            &[("pool_id", pool_id), ("seq", seq)],
        ))
    }

    /// `GET /v1/pools/{pool_id}/snapshots/{seq}/proofs/{lp_id}`.
    pub fn inclusion_proof(
        &self,
        pool_id: &str,
        seq: &str,
        lp_id: &str,
    ) -> Result<InclusionProofResponse, Error> {
        self.get(&paths::fill(
            paths::POOL_SNAPSHOT_PROOF,
            &[("pool_id", pool_id), ("seq", seq), ("lp_id", lp_id)],
        ))
    }
}

/// The serde name of a unit enum variant (`inbound`, `succeeded`).
fn enum_name(value: &impl Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(Value::String(name)) => name,
        _ => String::new(),
    }
}

/// A client of the chain's Bitcoin Core compatible JSON-RPC (Basic auth), one
/// connection per call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainRpc {
    addr: SocketAddr,
    /// The `Authorization` field: `Basic` and base64 of `user:password`.
    authorization: String,
}

impl ChainRpc {
    /// A client of the RPC server at `addr` with `user` and `password`.
    pub fn new(addr: SocketAddr, user: &str, password: &str) -> ChainRpc {
        let credentials = BASE64_STANDARD.encode(format!("{user}:{password}"));
        ChainRpc {
            addr,
            authorization: format!("Basic {credentials}"),
        }
    }

    /// The server's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Calls `method` with `params` (a JSON array) and returns its `result`.
    pub fn call(&self, method: &str, params: Value) -> Result<Value, Error> {
        let fail = |code, detail: String| Error::Rpc {
            method: method.to_owned(),
            code,
            detail,
        };
        let body = json!({"jsonrpc": "1.0", "id": "harness", "method": method, "params": params});
        let request = Request::post(format!("http://{}/", self.addr))
            .header("authorization", &self.authorization)
            .header("content-type", "application/json")
            .header("connection", "close")
            .body(body.to_string())
            .map_err(|e| fail(None, format!("a bad request: {e}")))?;
        let mut answer = closing_agent()
            .run(request)
            .map_err(|e| fail(None, format!("HTTP: {e}")))?;
        let status = answer.status().as_u16();
        let text = answer
            .body_mut()
            .with_config()
            .limit(MAX_BODY_BYTES)
            .read_to_string()
            .map_err(|e| fail(None, format!("HTTP {status}: reading the answer: {e}")))?;
        let mut reply: Value = serde_json::from_str(&text)
            .map_err(|_| fail(None, format!("HTTP {status}: {text:?}")))?;
        match reply.get("error") {
            Some(error) if !error.is_null() => Err(fail(
                error.get("code").and_then(Value::as_i64),
                error
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
            )),
            _ => Ok(reply.get_mut("result").map(Value::take).unwrap_or_default()),
        }
    }

    /// `getblockcount`: the height of the best block.
    pub fn block_count(&self) -> Result<u64, Error> {
        let count = self.call("getblockcount", json!([]))?;
        count.as_u64().ok_or_else(|| Error::Rpc {
            method: "getblockcount".into(),
            code: None,
            detail: format!("not a height: {count}"),
        })
    }

    /// `generatetoaddress`: mines `blocks` blocks paying `address`; returns their hashes.
    pub fn generate_to_address(&self, blocks: u32, address: &str) -> Result<Vec<String>, Error> {
        let hashes = self.call("generatetoaddress", json!([blocks, address]))?;
        serde_json::from_value(hashes).map_err(|e| Error::Rpc {
            method: "generatetoaddress".into(),
            code: None,
            detail: format!("not a list of hashes: {e}"),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A server that answers `per_connection` requests on each connection it accepts,
    /// then closes it; returns its address and how many connections it accepted. Each
    /// answer's body says which connection carried it, and echoes the request's head
    /// (also as a JSON-RPC `result`).
    fn server(
        per_connection: usize,
    ) -> (SocketAddr, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
        let (addr, accepted, _) = server_counting_closes(per_connection);
        (addr, accepted)
    }

    /// [`server`], also counting the connections it has closed.
    fn server_counting_closes(
        per_connection: usize,
    ) -> (
        SocketAddr,
        std::sync::Arc<std::sync::atomic::AtomicUsize>,
        std::sync::Arc<std::sync::atomic::AtomicUsize>,
    ) {
        use std::io::{BufRead, BufReader, Read, Write};
        use std::sync::atomic::{AtomicUsize, Ordering};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = std::sync::Arc::new(AtomicUsize::new(0));
        let closed = std::sync::Arc::new(AtomicUsize::new(0));
        let counter = std::sync::Arc::clone(&accepted);
        let closes = std::sync::Arc::clone(&closed);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let stream = stream.unwrap();
                let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut writer = stream;
                for _ in 0..per_connection {
                    // The request: lines up to the blank one, then its body.
                    let (mut head, mut line, mut length) = (Vec::new(), String::new(), 0);
                    loop {
                        line.clear();
                        if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                            break;
                        }
                        let lower = line.trim().to_ascii_lowercase();
                        if let Some(n) = lower.strip_prefix("content-length:") {
                            length = n.trim().parse().unwrap();
                        }
                        head.push(lower);
                    }
                    if head.is_empty() {
                        break;
                    }
                    let mut body = vec![0; length];
                    reader.read_exact(&mut body).unwrap();
                    let answer = json!({
                        "connection": n,
                        "head": head,
                        "body": String::from_utf8_lossy(&body),
                        "result": head,
                    })
                    .to_string();
                    let answer = format!(
                        "HTTP/1.1 418 Teapot\r\nContent-Length: {}\r\nX-A: b\r\n\r\n{answer}",
                        answer.len()
                    );
                    if writer.write_all(answer.as_bytes()).is_err() {
                        break;
                    }
                }
                drop((reader, writer));
                closes.fetch_add(1, Ordering::SeqCst);
            }
        });
        (addr, accepted, closed)
    }

    /// The connection the test server answered a request of `client` on.
    fn connection(client: &ApiClient) -> u64 {
        let answer: Value = client.send("GET", "/x", None).unwrap().json().unwrap();
        answer["connection"].as_u64().unwrap()
    }

    #[test]
    fn a_kept_alive_client_reuses_its_connections_and_replaces_a_closed_one() {
        let (addr, accepted, closed) = server_counting_closes(2);
        let client = ApiClient::new(addr, None).kept_alive();
        // Two answers on the first connection; the server then closes it, and the third
        // request goes out on a new one.
        // The server's close has reached this end (loopback) before the pool checks it:
        // a request racing the close would be sent on a connection being torn down.
        let wait_closed = |n: usize| {
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            while closed.load(std::sync::atomic::Ordering::SeqCst) < n {
                assert!(
                    std::time::Instant::now() < deadline,
                    "the server never closed"
                );
                std::thread::yield_now();
            }
        };
        assert_eq!(connection(&client), 1);
        assert_eq!(connection(&client), 1);
        wait_closed(1);
        assert_eq!(connection(&client), 2);
        assert_eq!(connection(&client), 2);
        assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 2);
        wait_closed(2);
        // A clone shares the pool.
        let clone = client.with_token(Some("t"));
        assert_eq!(connection(&clone), 3);
        assert_eq!(connection(&client), 3);
    }

    #[test]
    fn a_plain_client_opens_a_connection_per_request() {
        let (addr, accepted) = server(2);
        let client = ApiClient::new(addr, None);
        assert_eq!(connection(&client), 1);
        assert_eq!(connection(&client), 2);
        assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 2);
    }

    #[test]
    fn error_statuses_headers_and_odd_requests_come_back_as_sent() {
        let (addr, _) = server(1);
        let client = ApiClient::new(addr, Some("secret".into()));
        let answer = client
            .send_with_headers(
                "POST",
                "/y?z=1",
                &[("Content-Type", "text/plain"), ("X-Odd", "1")],
                Some(b"{not json"),
            )
            .unwrap();
        assert_eq!(answer.status, 418);
        assert_eq!(answer.header("x-a"), Some("b"));
        let echo: Value = answer.json().unwrap();
        let head: Vec<String> = serde_json::from_value(echo["head"].clone()).unwrap();
        assert_eq!(head[0], "post /y?z=1 http/1.1");
        for field in [
            "authorization: bearer secret",
            "content-type: text/plain",
            "x-odd: 1",
            "connection: close",
        ] {
            assert!(head.iter().any(|h| h == field), "{field}: {head:?}");
        }
        assert!(
            !head.iter().any(|h| h.contains("application/json")),
            "{head:?}"
        );
        assert_eq!(echo["body"], "{not json");
        // A typed call reports the status as an API error.
        let (addr, _) = server(1);
        let typed: Result<Value, Error> =
            ApiClient::new(addr, None).call("POST", "/z", Some(&json!({})));
        assert!(
            matches!(typed, Err(Error::Api { status: 418, .. })),
            "{typed:?}"
        );
    }

    #[test]
    fn a_post_without_a_body_still_says_its_length_and_a_get_does_not() {
        let (addr, _) = server(2);
        let client = ApiClient::new(addr, None).kept_alive();
        let head = |method| {
            let echo: Value = client.send(method, "/", None).unwrap().json().unwrap();
            serde_json::from_value::<Vec<String>>(echo["head"].clone()).unwrap()
        };
        assert!(head("POST").contains(&"content-length: 0".to_owned()));
        assert!(!head("GET").iter().any(|h| h.starts_with("content-length")));
    }

    #[test]
    fn the_rebalancer_calls_send_their_method_path_body_and_token() {
        // The test server answers 418 with the request echoed: a typed call reports it as
        // an API error whose message is that echo.
        fn echo<T: std::fmt::Debug>(result: Result<T, Error>) -> (String, String, Vec<String>) {
            let Err(Error::Api {
                request, message, ..
            }) = result
            else {
                panic!("{result:?}");
            };
            let echo: Value = serde_json::from_str(&message).unwrap();
            let head: Vec<String> = serde_json::from_value(echo["head"].clone()).unwrap();
            (request, echo["body"].as_str().unwrap().to_owned(), head)
        }
        let (addr, _) = server(1);
        let client = ApiClient::new(addr, Some("admin-token".into()));
        let settings = RebalanceChannelSettings {
            opted_out: false,
            committed: false,
            band: Some(sluice_api_types::BandView {
                min_ppm: 0,
                max_ppm: 200_000,
                deadband_ppm: 0,
            }),
        };
        let cases = [
            (echo(client.rebalancer_status()), "GET /v1/rebalancer", ""),
            (
                echo(client.halt_rebalancer("maintenance")),
                "POST /v1/rebalancer/halt",
                r#"{"reason":"maintenance"}"#,
            ),
            (
                echo(client.resume_rebalancer()),
                "POST /v1/rebalancer/resume",
                "",
            ),
            (
                echo(client.set_rebalance_channel("ab01", &settings)),
                "PUT /v1/rebalancer/channels/ab01",
                r#"{"opted_out":false,"committed":false,"band":{"min_ppm":0,"max_ppm":200000,"deadband_ppm":0}}"#,
            ),
        ];
        for ((request, body, head), expected, expected_body) in cases {
            assert_eq!(request, expected);
            assert_eq!(
                head[0],
                format!("{} http/1.1", expected.to_ascii_lowercase())
            );
            assert!(head.contains(&"authorization: bearer admin-token".to_owned()));
            assert_eq!(body, expected_body, "{expected}");
        }
    }

    #[test]
    fn the_chain_rpc_sends_basic_auth_and_its_call_as_json() {
        let (addr, _) = server(1);
        let head = ChainRpc::new(addr, "user", "pass")
            .call("getblockcount", json!([]))
            .unwrap();
        let head: Vec<String> = serde_json::from_value(head).unwrap();
        assert_eq!(head[0], "post / http/1.1");
        // `Basic` and base64 of `user:pass`.
        for field in [
            "authorization: basic dxnlcjpwyxnz",
            "content-type: application/json",
        ] {
            assert!(head.iter().any(|h| h == field), "{field}: {head:?}");
        }
    }

    #[test]
    fn nothing_listening_is_an_http_error_naming_the_request() {
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        match ApiClient::new(addr, None).health() {
            Err(Error::Http { request, .. }) => assert_eq!(request, "GET /healthz"),
            other => panic!("{other:?}"),
        }
    }
}
