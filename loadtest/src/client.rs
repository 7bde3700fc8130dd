//! Clients for a node's HTTP API and the chain's JSON-RPC.
//!
//! Both speak a deliberately small HTTP/1.1 over a blocking [`TcpStream`]: by default
//! one request per connection (`Connection: close`), bodies framed by `Content-Length` or
//! chunked. An [`ApiClient::kept_alive`] client instead keeps one connection per thread
//! and node, as a real client would, so a load run does not spend the nodes' CPU on
//! connection set-up. That is all a loopback cluster needs and keeps the harness free of
//! an HTTP stack; request and response bodies are [`sluice_api::types`], so the client
//! and the server cannot drift apart.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};
use sluice_api::paths;
use sluice_api::types::{
    ChannelInfo, CloseChannelRequest, CloseChannelResponse, ConnectPeerRequest,
    CreateInvoiceRequest, ErrorResponse, HealthResponse, InvoiceResponse, KeysendRequest,
    ListChannelsResponse, ListPaymentsQuery, ListPaymentsResponse, ListPeersResponse,
    Lsps2MenuResponse, Lsps2Order, Lsps2SummaryResponse, NodeInfoResponse, OpenChannelRequest,
    OpenChannelResponse, PayInvoiceRequest, PayRequest, PayResponse, PaymentInfo, PeerInfo,
    PeerResponse, QuotePayRequest, QuotePayResponse, WalletAddressResponse, WalletBalanceResponse,
};

use crate::Error;

/// How long a connection to 127.0.0.1 may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a request may wait for its answer (above the API's own request timeout).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

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

/// The request's bytes: head and body in one buffer, so they leave in one write (a
/// request sent as head then body waits for the server's delayed ACK of the head, 40 ms
/// on Linux). `Connection: close` unless `keep_alive`; a `Content-Length` whenever there
/// is a body or the method is `POST` or `PUT`.
fn request_bytes(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    keep_alive: bool,
) -> Vec<u8> {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\n");
    if !keep_alive {
        head.push_str("Connection: close\r\n");
    }
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() || method == "POST" || method == "PUT" {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    let mut request = head.into_bytes();
    request.extend_from_slice(body);
    request
}

/// A new connection to `addr`: Nagle off, read and write timeouts set.
fn connect(addr: SocketAddr) -> std::io::Result<TcpStream> {
    let stream = TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT)?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(REQUEST_TIMEOUT))?;
    stream.set_write_timeout(Some(REQUEST_TIMEOUT))?;
    Ok(stream)
}

/// How a failed `method path` is reported.
fn failure(method: &str, path: &str) -> impl Fn(String) -> Error {
    let request = format!("{method} {path}");
    move |detail| Error::Http {
        request: request.clone(),
        detail,
    }
}

/// A new connection to `addr`, a failure reported through `fail`.
fn open(addr: SocketAddr, fail: &impl Fn(String) -> Error) -> Result<TcpStream, Error> {
    connect(addr).map_err(|e| fail(format!("connecting to {addr}: {e}")))
}

/// Sends one HTTP/1.1 request to `addr` on a connection of its own and reads the whole
/// answer.
///
/// `headers` come after `Host` and `Connection: close`; a `Content-Length` is added
/// whenever there is a body or the method is `POST`.
pub fn http_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<HttpResponse, Error> {
    let fail = failure(method, path);
    let mut stream = open(addr, &fail)?;
    stream
        .write_all(&request_bytes(addr, method, path, headers, body, false))
        .and_then(|()| stream.flush())
        .map_err(|e| fail(format!("sending: {e}")))?;
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .map_err(|e| fail(format!("reading the answer: {e}")))?;
    parse_response(&raw).map_err(fail)
}

thread_local! {
    /// The idle kept-alive connection of this thread to each API address.
    static KEPT: RefCell<HashMap<SocketAddr, TcpStream>> = RefCell::new(HashMap::new());
}

/// Like [`http_request`], on this thread's kept-alive connection to `addr` (made when
/// there is none). A kept connection the server has meanwhile closed shows as a failure
/// before any answer byte; the request is then sent once more on a new connection.
fn http_request_kept_alive(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<HttpResponse, Error> {
    let fail = failure(method, path);
    let bytes = request_bytes(addr, method, path, headers, body, true);
    let kept = KEPT.with(|kept| kept.borrow_mut().remove(&addr));
    let (mut stream, reused) = match kept {
        Some(stream) => (stream, true),
        None => (open(addr, &fail)?, false),
    };
    let raw = match exchange(&mut stream, &bytes) {
        Ok(raw) => raw,
        Err(Exchange::Unanswered(_)) if reused => {
            stream = open(addr, &fail)?;
            exchange(&mut stream, &bytes).map_err(|e| fail(e.to_string()))?
        }
        Err(e) => return Err(fail(e.to_string())),
    };
    let response = parse_response(&raw).map_err(fail)?;
    let closing = response
        .header("connection")
        .is_some_and(|c| c.eq_ignore_ascii_case("close"));
    if !closing {
        KEPT.with(|kept| kept.borrow_mut().insert(addr, stream));
    }
    Ok(response)
}

/// Why a request on a kept connection got no complete answer.
#[derive(Debug)]
enum Exchange {
    /// Nothing of an answer arrived (the connection was closed or broke first).
    Unanswered(String),
    /// The answer broke off.
    CutShort(String),
}

impl std::fmt::Display for Exchange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Exchange::Unanswered(e) => write!(f, "no answer: {e}"),
            Exchange::CutShort(e) => write!(f, "the answer broke off: {e}"),
        }
    }
}

/// Writes `request` and reads one framed answer (`Content-Length` or chunked).
fn exchange(stream: &mut TcpStream, request: &[u8]) -> Result<Vec<u8>, Exchange> {
    stream
        .write_all(request)
        .and_then(|()| stream.flush())
        .map_err(|e| Exchange::Unanswered(e.to_string()))?;
    let mut raw = Vec::new();
    let mut buffer = [0u8; 16 * 1024];
    loop {
        if let Some(length) = answer_length(&raw).map_err(Exchange::CutShort)? {
            raw.truncate(length);
            return Ok(raw);
        }
        match stream.read(&mut buffer) {
            Ok(0) if raw.is_empty() => return Err(Exchange::Unanswered("closed".into())),
            Ok(0) => return Err(Exchange::CutShort("closed".into())),
            Ok(n) => raw.extend_from_slice(&buffer[..n]),
            Err(e) if raw.is_empty() => return Err(Exchange::Unanswered(e.to_string())),
            Err(e) => return Err(Exchange::CutShort(e.to_string())),
        }
    }
}

/// The length of the complete answer at the start of `raw`, `None` while more must be
/// read, or why it cannot be framed (no `Content-Length` and not chunked).
fn answer_length(raw: &[u8]) -> Result<Option<usize>, String> {
    let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Ok(None);
    };
    let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
    let field = |name: &str| {
        head.split("\r\n")
            .filter_map(|line| line.split_once(':'))
            .find(|(n, _)| n.trim() == name)
            .map(|(_, v)| v.trim().to_owned())
    };
    let body_start = end + 4;
    if field("transfer-encoding").is_some_and(|te| te == "chunked") {
        return Ok(chunked_length(&raw[body_start..]).map(|n| body_start + n));
    }
    let length: usize = field("content-length")
        .ok_or("an answer with neither Content-Length nor chunks cannot be kept alive")?
        .parse()
        .map_err(|_| "a bad Content-Length".to_owned())?;
    Ok((raw.len() >= body_start + length).then_some(body_start + length))
}

/// The length of a complete chunked body at the start of `rest` (up to and including the
/// final empty chunk and its blank line; trailers are not expected), or `None` while it
/// is incomplete.
fn chunked_length(rest: &[u8]) -> Option<usize> {
    let mut at = 0;
    loop {
        let line_end = at + rest[at..].windows(2).position(|w| w == b"\r\n")?;
        let line = std::str::from_utf8(&rest[at..line_end]).ok()?;
        let size = usize::from_str_radix(line.split(';').next()?.trim(), 16).ok()?;
        at = line_end + 2 + size + 2;
        if rest.len() < at {
            return None;
        }
        if size == 0 {
            return Some(at);
        }
    }
}

/// Parses a complete HTTP/1.1 answer (the connection was closed after it).
fn parse_response(raw: &[u8]) -> Result<HttpResponse, String> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("no complete header in {} bytes", raw.len()))?;
    let head = std::str::from_utf8(&raw[..end]).map_err(|_| "the header is not UTF-8")?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .filter(|_| status_line.starts_with("HTTP/1."))
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect::<Vec<_>>();
    let mut response = HttpResponse {
        status,
        headers,
        body: Vec::new(),
    };
    let rest = &raw[end + 4..];
    response.body = if response
        .header("transfer-encoding")
        .is_some_and(|te| te.eq_ignore_ascii_case("chunked"))
    {
        dechunk(rest)?
    } else if let Some(length) = response.header("content-length") {
        let length: usize = length
            .parse()
            .map_err(|_| format!("bad Content-Length {length:?}"))?;
        rest.get(..length)
            .ok_or_else(|| format!("body cut short: {} of {length} bytes", rest.len()))?
            .to_vec()
    } else {
        rest.to_vec()
    };
    Ok(response)
}

/// Decodes a chunked body (trailers ignored).
fn dechunk(mut rest: &[u8]) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    loop {
        let line_end = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("a chunk size line is cut short")?;
        let line = std::str::from_utf8(&rest[..line_end]).map_err(|_| "bad chunk size line")?;
        let size_hex = line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_hex, 16)
            .map_err(|_| format!("bad chunk size {size_hex:?}"))?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Ok(body);
        }
        let chunk = rest.get(..size).ok_or("a chunk is cut short")?;
        body.extend_from_slice(chunk);
        rest = rest.get(size + 2..).ok_or("a chunk is cut short")?;
    }
}

/// A client of one node's HTTP API, with or without a bearer token.
///
/// Typed methods answer the parsed body for a 2xx status and [`Error::Api`] (with the
/// error body's code) otherwise; [`ApiClient::send`] gives the raw answer for tests of
/// bad input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiClient {
    addr: SocketAddr,
    token: Option<String>,
    keep_alive: bool,
}

impl ApiClient {
    /// A client of the API at `addr` sending `token` as `Authorization: Bearer`, one
    /// connection per request.
    pub fn new(addr: SocketAddr, token: Option<String>) -> ApiClient {
        ApiClient {
            addr,
            token,
            keep_alive: false,
        }
    }

    /// The same client keeping its connection open between requests: one connection
    /// per thread and API address (see the module docs).
    pub fn kept_alive(mut self) -> ApiClient {
        self.keep_alive = true;
        self
    }

    /// The API's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The same API with another token (or none).
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
        let send = if self.keep_alive {
            http_request_kept_alive
        } else {
            http_request
        };
        send(self.addr, method, path, &all, body.unwrap_or_default())
    }

    /// Sends a request with an optional JSON body and parses a 2xx answer as `T`.
    pub fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
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
        let response = self.send(method, path, body.as_deref())?;
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

    /// The value of an unlabelled metric from `GET /metrics` (a counter or gauge), or
    /// `None` while the node has not recorded it.
    pub fn metric(&self, name: &str) -> Result<Option<f64>, Error> {
        let response = self.send("GET", "/metrics", None)?;
        if response.status != 200 {
            return Err(Error::Api {
                request: "GET /metrics".into(),
                status: response.status,
                code: String::new(),
                message: response.text(),
            });
        }
        Ok(response.text().lines().find_map(|line| {
            let value = line.strip_prefix(name)?.strip_prefix(' ')?;
            value.trim().parse().ok()
        }))
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

    /// `POST /v1/node/payments/keysend`.
    pub fn keysend(&self, request: &KeysendRequest) -> Result<PaymentInfo, Error> {
        self.call("POST", paths::KEYSEND, Some(request))
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

    /// `GET /v1/node/payments` with `query`'s filters.
    pub fn list_payments(&self, query: &ListPaymentsQuery) -> Result<Vec<PaymentInfo>, Error> {
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
        let path = if params.is_empty() {
            paths::PAYMENTS.to_owned()
        } else {
            format!("{}?{}", paths::PAYMENTS, params.join("&"))
        };
        Ok(self.get::<ListPaymentsResponse>(&path)?.payments)
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

    /// `GET /v1/lsps2/orders`.
    pub fn lsps2_orders(&self) -> Result<Vec<Lsps2Order>, Error> {
        self.get(paths::LSPS2_ORDERS)
    }

    /// `GET /v1/lsps2/summary`.
    pub fn lsps2_summary(&self) -> Result<Lsps2SummaryResponse, Error> {
        self.get(paths::LSPS2_SUMMARY)
    }
}

/// The serde name of a unit enum variant (`inbound`, `succeeded`).
fn enum_name(value: &impl Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(Value::String(name)) => name,
        _ => String::new(),
    }
}

/// A client of the chain's Bitcoin Core compatible JSON-RPC (Basic auth).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainRpc {
    addr: SocketAddr,
    authorization: String,
}

impl ChainRpc {
    /// A client of the RPC server at `addr` with `user` and `password`.
    pub fn new(addr: SocketAddr, user: &str, password: &str) -> ChainRpc {
        ChainRpc {
            addr,
            authorization: format!("Basic {}", base64(format!("{user}:{password}").as_bytes())),
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
        let response = http_request(
            self.addr,
            "POST",
            "/",
            &[
                ("Authorization", &self.authorization),
                ("Content-Type", "application/json"),
            ],
            body.to_string().as_bytes(),
        )?;
        let mut reply: Value = response.json().map_err(|_| {
            fail(
                None,
                format!("HTTP {}: {:?}", response.status, response.text()),
            )
        })?;
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

/// Standard base64 with padding, for Basic auth.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn base64_matches_rfc4648() {
        for (input, output) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), output);
        }
    }

    #[test]
    fn parses_length_and_chunked_bodies() {
        let plain =
            parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-A: b\r\n\r\n{}").unwrap();
        assert_eq!((plain.status, plain.body.as_slice()), (200, &b"{}"[..]));
        assert_eq!(plain.header("x-a"), Some("b"));
        let chunked = parse_response(
            b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n",
        )
        .unwrap();
        assert_eq!((chunked.status, chunked.text().as_str()), (404, "abcde"));
        assert!(parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab").is_err());
        assert!(parse_response(b"garbage").is_err());
    }

    #[test]
    fn kept_alive_answers_are_framed_by_length_or_chunks() {
        let plain = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}";
        for cut in 0..plain.len() {
            assert_eq!(answer_length(&plain[..cut]).unwrap(), None, "{cut}");
        }
        assert_eq!(answer_length(plain).unwrap(), Some(plain.len()));
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
        for cut in 0..chunked.len() {
            assert_eq!(answer_length(&chunked[..cut]).unwrap(), None, "{cut}");
        }
        assert_eq!(answer_length(chunked).unwrap(), Some(chunked.len()));
        assert!(answer_length(b"HTTP/1.1 200 OK\r\n\r\nbody").is_err());
    }

    /// A server that answers `per_connection` requests on each connection it accepts,
    /// then closes it; returns its address and how many connections it accepted.
    fn server(
        per_connection: usize,
    ) -> (SocketAddr, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
        use std::io::{BufRead, BufReader};
        use std::sync::atomic::{AtomicUsize, Ordering};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = std::sync::Arc::new(AtomicUsize::new(0));
        let counter = std::sync::Arc::clone(&accepted);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let stream = stream.unwrap();
                let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut writer = stream;
                for _ in 0..per_connection {
                    // The request: lines up to the blank one (the tests send no body).
                    let mut line = String::new();
                    loop {
                        line.clear();
                        if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                            break;
                        }
                    }
                    let body = format!("{{\"connection\":{n}}}");
                    let answer = format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    if writer.write_all(answer.as_bytes()).is_err() {
                        break;
                    }
                }
            }
        });
        (addr, accepted)
    }

    #[test]
    fn a_kept_alive_client_reuses_its_connection_and_replaces_a_closed_one() {
        let (addr, accepted) = server(2);
        let client = ApiClient::new(addr, None).kept_alive();
        let connection = |client: &ApiClient| {
            let answer: Value = client.call("GET", "/x", None::<&()>).unwrap();
            answer["connection"].as_u64().unwrap()
        };
        // Two answers on the first connection; the server then closes it, and the third
        // request goes out again on a new one.
        assert_eq!(connection(&client), 1);
        assert_eq!(connection(&client), 1);
        assert_eq!(connection(&client), 2);
        assert_eq!(connection(&client), 2);
        assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 2);
        // Another thread has its own connection.
        let other = std::thread::spawn(move || connection(&client))
            .join()
            .unwrap();
        assert_eq!(other, 3);
    }
}
