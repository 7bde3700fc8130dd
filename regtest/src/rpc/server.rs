//! The HTTP side of the JSON-RPC server, answering as Bitcoin Core v30 (libevent's evhttp
//! plus src/httpserver.cpp and src/httprpc.cpp) does wherever a client could notice.
//!
//! In the order Core applies them:
//!
//! 1. The whole body is read first (evhttp buffers it before dispatching). A body over
//!    [`RpcServerConfig::max_body_bytes`] (Core: `MAX_SIZE`, 32 MiB) is refused by
//!    evhttp with `413 Request Entity Too Large`, an HTML error page and
//!    `Connection: close`; a `Content-Length` over the limit is refused before any of
//!    the body is read (and before `100 Continue`).
//! 2. Methods evhttp does not allow (anything but GET, POST, HEAD, PUT, DELETE) get
//!    evhttp's `501 Not Implemented` page; DELETE, which Core does not know, gets an
//!    empty 405.
//! 3. Only `/` (exactly, query string included) and `/wallet/<name>` are served;
//!    anything else is an empty 404, whatever the method or credentials.
//! 4. A method other than POST gets 405 `JSONRPC server handles only POST requests`.
//! 5. Basic auth: no `Authorization` header is an immediate 401; wrong credentials
//!    (or a malformed header) a 401 after 250 ms, Core's deterrent against guessing.
//! 6. The body is answered by [`super::envelope`] on a blocking thread, which calls
//!    the [`RpcHandler`]. A panic in the handler becomes a `-32603` error for that
//!    call instead of a dropped connection.
//!
//! Responses carry `Content-Length` (never chunked: bdk's HTTP client rejects chunked
//! bodies), headers in Core's order, and keep the connection alive. Core's replies
//! without a `Content-Type` of their own get libevent's default
//! `text/html; charset=ISO-8859-1`.
//!
//! Known differences that no client we target can observe: header names are written
//! lower-case by hyper (`content-type`, Core: `Content-Type`), an empty body's
//! `Content-Length: 0` is written after the other headers, the reason phrase of 413 is
//! hyper's `Payload Too Large`, there is no idle-connection timeout (Core closes after
//! `-rpcservertimeout`, 30 s) and no work-queue limit (Core answers 503 past
//! `-rpcworkqueue` queued requests).

use std::fmt;
use std::future::Future;
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::{Body, HttpBody as _};
use axum::extract::{Request, State};
use axum::http::header::{self, HeaderName};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;
use axum::serve::ListenerExt as _;
use axum::Router;
use bitcoin::base64::engine::general_purpose::STANDARD as BASE64;
use bitcoin::base64::Engine as _;
use httpdate::fmt_http_date;
use percent_encoding::percent_decode_str;
use tokio::net::TcpListener;

use super::envelope::{self, Reply};
use super::{RpcError, RpcHandler};

/// Default for [`RpcServerConfig::max_body_bytes`]: 32 MiB, Bitcoin Core's `MAX_SIZE`
/// (`0x02000000`), which Core passes to `evhttp_set_max_body_size`.
pub const DEFAULT_MAX_BODY_BYTES: usize = 0x0200_0000;

/// How long a request with wrong credentials waits before its 401, as in Core.
const AUTH_FAILURE_DELAY: Duration = Duration::from_millis(250);

/// Core's `WWW-Authenticate` challenge.
const WWW_AUTHENTICATE: &str = "Basic realm=\"jsonrpc\"";
/// libevent's default `Content-Type` for replies that set none.
const LIBEVENT_DEFAULT_CONTENT_TYPE: &str = "text/html; charset=ISO-8859-1";
/// Core's answer to a method other than POST.
const ONLY_POST: &str = "JSONRPC server handles only POST requests";
/// Core's endpoint prefix for wallet requests.
const WALLET_PREFIX: &str = "/wallet/";

/// Settings of the JSON-RPC server.
#[derive(Clone)]
pub struct RpcServerConfig {
    /// The user name clients must present (Core's `-rpcuser`).
    pub user: String,
    /// The password clients must present (Core's `-rpcpassword`).
    pub password: String,
    /// The largest request body accepted; larger ones are answered 413 as Core does.
    /// Defaults to [`DEFAULT_MAX_BODY_BYTES`] (32 MiB, Core's limit).
    pub max_body_bytes: usize,
}

impl RpcServerConfig {
    /// A configuration for `user` and `password` with Core's body limit.
    pub fn new(user: impl Into<String>, password: impl Into<String>) -> Self {
        RpcServerConfig {
            user: user.into(),
            password: password.into(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }
}

impl Default for RpcServerConfig {
    /// Empty user name and password (so only `Basic Og==`, i.e. `":"`, is accepted)
    /// and Core's 32 MiB body limit. Meant for `..Default::default()`.
    fn default() -> Self {
        RpcServerConfig::new("", "")
    }
}

impl fmt::Debug for RpcServerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RpcServerConfig")
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .field("max_body_bytes", &self.max_body_bytes)
            .finish()
    }
}

/// Serves Bitcoin Core's JSON-RPC over HTTP/1.1 on `listener`, answering calls with
/// `handler`, until `shutdown` completes; then stops accepting, lets the requests in
/// flight finish, closes idle connections and returns.
pub async fn serve(
    listener: TcpListener,
    config: RpcServerConfig,
    handler: Arc<dyn RpcHandler>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let shared = Arc::new(Shared {
        user: config.user.into_bytes(),
        password: config.password.into_bytes(),
        max_body_bytes: config.max_body_bytes,
        handler,
    });
    let app = Router::new().fallback(handle_request).with_state(shared);
    let listener = listener.tap_io(|stream| {
        // Answers are small and request/response: do not let Nagle delay them.
        let _ = stream.set_nodelay(true);
    });
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

struct Shared {
    user: Vec<u8>,
    password: Vec<u8>,
    max_body_bytes: usize,
    handler: Arc<dyn RpcHandler>,
}

impl Shared {
    /// Core's `RPCAuthorized`: `Basic ` (case-sensitive), optional whitespace, strict
    /// base64 of `user:password`, both compared in constant time.
    fn authorized(&self, authorization: &[u8]) -> bool {
        let Some(encoded) = authorization.strip_prefix(b"Basic ") else {
            return false;
        };
        let Ok(decoded) = BASE64.decode(trim_whitespace(encoded)) else {
            return false;
        };
        let Some(colon) = decoded.iter().position(|&b| b == b':') else {
            return false;
        };
        let user_ok = timing_resistant_equal(&decoded[..colon], &self.user);
        let password_ok = timing_resistant_equal(&decoded[colon + 1..], &self.password);
        user_ok & password_ok
    }
}

async fn handle_request(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();

    // evhttp reads the whole request before Core's handlers see it.
    let body = match read_body(&parts.headers, body, shared.max_body_bytes).await {
        Ok(body) => body,
        Err(BodyError::TooLarge) => {
            return libevent_error_page(StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large")
        }
        // The client went away or sent a broken chunked body; evhttp answers 400.
        Err(BodyError::Broken) => {
            return libevent_error_page(StatusCode::BAD_REQUEST, "Bad Request");
        }
    };

    match parts.method {
        Method::GET | Method::POST | Method::HEAD | Method::PUT => {}
        // Allowed by evhttp, unknown to Core's HTTPRequest: `WriteReply(HTTP_BAD_METHOD)`.
        Method::DELETE => return plain_reply(StatusCode::METHOD_NOT_ALLOWED, ""),
        _ => return libevent_error_page(StatusCode::NOT_IMPLEMENTED, "Not Implemented"),
    }

    let Some(wallet) = route(&parts.uri) else {
        return plain_reply(StatusCode::NOT_FOUND, "");
    };

    if parts.method != Method::POST {
        return plain_reply(StatusCode::METHOD_NOT_ALLOWED, ONLY_POST);
    }

    let Some(authorization) = parts.headers.get(header::AUTHORIZATION) else {
        return unauthorized();
    };
    if !shared.authorized(authorization.as_bytes()) {
        tracing::warn!("regtest RPC: incorrect password attempt");
        tokio::time::sleep(AUTH_FAILURE_DELAY).await;
        return unauthorized();
    }

    let handler = Arc::clone(&shared.handler);
    let reply =
        tokio::task::spawn_blocking(move || execute(handler.as_ref(), &body, wallet.as_deref()))
            .await
            .unwrap_or_else(|join_error| {
                tracing::error!("regtest RPC: request processing failed: {join_error}");
                Reply::bare_error(&RpcError::new(RpcError::INTERNAL_ERROR, "Internal error"))
            });
    json_reply(reply)
}

/// Runs the JSON-RPC layer over `body`, turning a handler panic into an error reply
/// for that call.
fn execute(handler: &dyn RpcHandler, body: &[u8], wallet: Option<&str>) -> Reply {
    envelope::handle_body(body, &mut |call| {
        catch_unwind(AssertUnwindSafe(|| {
            handler.call(call.method, call.params, wallet)
        }))
        .unwrap_or_else(|panic| {
            let detail = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_owned());
            tracing::error!("regtest RPC: method {:?} panicked: {detail}", call.method);
            Err(RpcError::new(
                RpcError::INTERNAL_ERROR,
                format!("Internal error: {detail}"),
            ))
        })
    })
}

/// Which endpoint a request target names: `Some(None)` for `/`, `Some(Some(wallet))`
/// for `/wallet/<wallet>` (percent-decoded as Core's `UrlDecode`), `None` otherwise.
/// Like Core, this looks at the raw request target: `/?x` or an absolute URI is not `/`.
fn route(uri: &Uri) -> Option<Option<String>> {
    if uri.scheme().is_some() || uri.authority().is_some() {
        return None;
    }
    let target = uri
        .path_and_query()
        .map(|pq| pq.as_str())
        .unwrap_or_default();
    if target == "/" {
        Some(None)
    } else {
        target
            .strip_prefix(WALLET_PREFIX)
            .map(|name| Some(url_decode(name)))
    }
}

/// Core's `UrlDecode`: `%XX` with two hex digits becomes that byte, everything else
/// (including `+` and malformed escapes) stays as it is; the bytes are then read as UTF-8,
/// invalid sequences replaced.
fn url_decode(encoded: &str) -> String {
    percent_decode_str(encoded).decode_utf8_lossy().into_owned()
}

/// Core's `TrimStringView` set: space, \f, \n, \r, \t, \v.
fn trim_whitespace(mut s: &[u8]) -> &[u8] {
    const WS: &[u8] = b" \x0c\n\r\t\x0b";
    while let [first, rest @ ..] = s {
        if !WS.contains(first) {
            break;
        }
        s = rest;
    }
    while let [rest @ .., last] = s {
        if !WS.contains(last) {
            break;
        }
        s = rest;
    }
    s
}

/// Core's `TimingResistantEqual`: time depends on the lengths only.
fn timing_resistant_equal(a: &[u8], b: &[u8]) -> bool {
    if b.is_empty() {
        return a.is_empty();
    }
    let mut accumulator = a.len() ^ b.len();
    for (i, x) in a.iter().enumerate() {
        accumulator |= usize::from(x ^ b[i % b.len()]);
    }
    accumulator == 0
}

enum BodyError {
    TooLarge,
    Broken,
}

async fn read_body(headers: &HeaderMap, body: Body, max: usize) -> Result<Vec<u8>, BodyError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok());
    if declared.is_some_and(|len| len > max as u64) {
        return Err(BodyError::TooLarge);
    }
    let capacity = declared
        .and_then(|len| usize::try_from(len).ok())
        .unwrap_or(0);
    let mut buffer = Vec::with_capacity(capacity.min(max));
    let mut body = std::pin::pin!(body);
    while let Some(frame) = std::future::poll_fn(|cx| body.as_mut().poll_frame(cx)).await {
        let frame = frame.map_err(|_| BodyError::Broken)?;
        if let Ok(data) = frame.into_data() {
            if buffer.len().saturating_add(data.len()) > max {
                return Err(BodyError::TooLarge);
            }
            buffer.extend_from_slice(&data);
        }
    }
    Ok(buffer)
}

/// A JSON-RPC answer: `Content-Type`, `Date`, `Content-Length`, as Core writes them; a
/// 204 carries `Date` only.
fn json_reply(reply: Reply) -> Response {
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match reply.body {
        None => build(status, &[], None, String::new()),
        Some(body) => build(
            status,
            &[(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            None,
            body,
        ),
    }
}

/// A reply Core writes without a `Content-Type`: `Date`, `Content-Length`, then
/// libevent's default `Content-Type`.
fn plain_reply(status: StatusCode, body: &str) -> Response {
    build(
        status,
        &[],
        Some(HeaderValue::from_static(LIBEVENT_DEFAULT_CONTENT_TYPE)),
        body.to_owned(),
    )
}

fn unauthorized() -> Response {
    build(
        StatusCode::UNAUTHORIZED,
        &[(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(WWW_AUTHENTICATE),
        )],
        Some(HeaderValue::from_static(LIBEVENT_DEFAULT_CONTENT_TYPE)),
        String::new(),
    )
}

/// libevent's `evhttp_send_error` page: `Content-Type: text/html`, `Connection: close`
/// (the connection is closed after it), `Date`, `Content-Length`.
fn libevent_error_page(status: StatusCode, reason: &str) -> Response {
    let body = format!(
        "<HTML><HEAD>\n<TITLE>{} {reason}</TITLE>\n</HEAD><BODY>\n<H1>{reason}</H1>\n</BODY></HTML>\n",
        status.as_u16()
    );
    build(
        status,
        &[
            (header::CONTENT_TYPE, HeaderValue::from_static("text/html")),
            (header::CONNECTION, HeaderValue::from_static("close")),
        ],
        None,
        body,
    )
}

/// A response with `leading` headers, then `Date`, then `Content-Length` (except for
/// 204), then `trailing_content_type` if given: the orders Core and libevent use.
fn build(
    status: StatusCode,
    leading: &[(HeaderName, HeaderValue)],
    trailing_content_type: Option<HeaderValue>,
    body: String,
) -> Response {
    let length = body.len();
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    for (name, value) in leading {
        headers.append(name.clone(), value.clone());
    }
    // An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), as libevent writes `Date`; a clock
    // before 1970 (which `fmt_http_date` refuses) reads as 1970.
    let now = SystemTime::now().max(UNIX_EPOCH);
    if let Ok(date) = HeaderValue::from_str(&fmt_http_date(now)) {
        headers.append(header::DATE, date);
    }
    if status != StatusCode::NO_CONTENT {
        headers.append(header::CONTENT_LENGTH, HeaderValue::from(length));
    }
    if let Some(content_type) = trailing_content_type {
        headers.append(header::CONTENT_TYPE, content_type);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `Date` header is libevent's format.
    #[test]
    fn dates() {
        let at = |secs| fmt_http_date(UNIX_EPOCH + Duration::from_secs(secs));
        assert_eq!(at(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(at(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(at(951_782_400), "Tue, 29 Feb 2000 00:00:00 GMT");
        assert_eq!(at(1_795_335_333), "Sun, 22 Nov 2026 08:15:33 GMT");
    }

    #[test]
    fn auth() {
        let shared = Shared {
            user: b"u".to_vec(),
            password: b"p".to_vec(),
            max_body_bytes: 1,
            handler: Arc::new(Nothing),
        };
        assert!(shared.authorized(b"Basic dTpw"));
        assert!(shared.authorized(b"Basic  dTpw \t"));
        assert!(!shared.authorized(b"basic dTpw"));
        assert!(!shared.authorized(b"Basic dTp3cm9uZw=="));
        assert!(!shared.authorized(b"Basic bm9ib2R5OnA="));
        assert!(!shared.authorized(b"Basic !!!!"));
        assert!(!shared.authorized(b"Basic dQ=="));
        assert!(!shared.authorized(b"Bearer abc"));
        assert!(timing_resistant_equal(b"", b""));
        assert!(!timing_resistant_equal(b"a", b""));
        assert!(!timing_resistant_equal(b"ab", b"a"));
    }

    #[test]
    fn routes_and_wallet_names() {
        let r = |s: &str| route(&s.parse::<Uri>().unwrap_or_default());
        assert_eq!(r("/"), Some(None));
        assert_eq!(r("/wallet/w"), Some(Some("w".to_owned())));
        assert_eq!(r("/wallet/"), Some(Some(String::new())));
        assert_eq!(r("/wallet/a%20b%2"), Some(Some("a b%2".to_owned())));
        assert_eq!(r("/wallet/a+b%zz%41"), Some(Some("a+b%zzA".to_owned())));
        assert_eq!(r("/foo"), None);
        assert_eq!(r("/?x=1"), None);
        assert_eq!(r("/wallet"), None);
        assert_eq!(r("http://127.0.0.1:18443/"), None);
    }

    pub(super) struct Nothing;
    impl RpcHandler for Nothing {
        fn call(
            &self,
            _: &str,
            _: &serde_json::Value,
            _: Option<&str>,
        ) -> Result<serde_json::Value, RpcError> {
            Ok(serde_json::Value::Null)
        }
    }
}

#[cfg(test)]
mod props {
    //! Property tests: the `Authorization` check and the URL router never panic, and the
    //! check admits exactly the configured credentials.

    use proptest::prelude::*;

    use super::tests::Nothing;
    use super::*;

    fn shared() -> Shared {
        Shared {
            user: b"user".to_vec(),
            password: b"pass:word".to_vec(),
            max_body_bytes: 1,
            handler: Arc::new(Nothing),
        }
    }

    proptest! {
        #[test]
        fn any_header_is_judged_without_panic(header in prop::collection::vec(any::<u8>(), 0..128)) {
            let _ = shared().authorized(&header);
        }

        #[test]
        fn only_the_configured_credentials_pass(user in any::<String>(), password in any::<String>()) {
            let header = format!("Basic {}", BASE64.encode(format!("{user}:{password}")));
            let expected = user == "user" && password == "pass:word";
            prop_assert_eq!(shared().authorized(header.as_bytes()), expected);
        }

        #[test]
        fn any_path_is_routed_without_panic(path in "[ -~]{0,64}") {
            if let Ok(uri) = path.parse::<Uri>() {
                let _ = route(&uri);
            }
            let _ = url_decode(&path);
        }
    }
}
