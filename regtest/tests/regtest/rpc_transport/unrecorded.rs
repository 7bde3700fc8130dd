//! What the recordings do not show: a large batch answer's framing, a handler's panic,
//! body limits, slow handlers, Core's HTTP dispatch rules and shutdown.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sluice_regtest::rpc::RpcServerConfig;

use super::client::post_request;
use super::server::{config, key, ScriptedHandler, TestServer};
use super::transcripts::load;

/// `large_response.json` kept only the headers of its 1.5 MB answer: check those on an
/// equivalent batch (400 calls, about 3.7 kB each).
#[test]
fn large_batch_answer_has_content_length_not_chunks() {
    let record = &load("large_response.json")[1];
    let handler = Arc::new(ScriptedHandler::default());
    let server = TestServer::start(config(), handler.clone());
    let batch: Vec<Value> = (0..400)
        .map(|i| json!({"jsonrpc": "1.0", "id": i, "method": "test_big", "params": [1800]}))
        .collect();
    let body = Value::from(batch).to_string();
    let mut client = server.connect();
    let response = client.post("/", &body);
    assert_eq!(
        response.status_line,
        record["status_line"].as_str().unwrap()
    );
    let names: Vec<String> = response
        .headers
        .iter()
        .map(|(n, _)| n.to_ascii_lowercase())
        .collect();
    assert_eq!(names, ["content-type", "date", "content-length"]);
    assert!(!response.chunked);
    assert_eq!(
        response.header("content-length").unwrap(),
        response.body.len().to_string()
    );
    assert!(response.body.len() > 1_400_000, "{}", response.body.len());
    assert!(response.body.ends_with(b"]\n"));
    let replies = response.json();
    let replies = replies.as_array().unwrap();
    assert_eq!(replies.len(), 400);
    for (i, reply) in replies.iter().enumerate() {
        assert_eq!(reply["id"], json!(i));
        assert_eq!(reply["error"], Value::Null);
    }
    // The connection is still usable.
    let again = client.post("/", r#"{"id":1,"method":"test_big","params":[1]}"#);
    assert_eq!(again.status(), 200);
    server.stop().unwrap();
}

#[test]
fn handler_panic_becomes_internal_error() {
    let handler = Arc::new(ScriptedHandler::default());
    let server = TestServer::start(config(), handler.clone());
    let mut client = server.connect();

    let legacy = client.post("/", r#"{"jsonrpc":"1.0","id":"t","method":"test_panic"}"#);
    assert_eq!(legacy.status(), 500);
    assert_eq!(legacy.header("content-type"), Some("application/json"));
    let reply = legacy.json();
    assert_eq!(reply["error"]["code"], -32603);
    assert_eq!(reply["error"]["message"], "Internal error: boom");
    assert_eq!(reply["result"], Value::Null);
    assert_eq!(reply["id"], "t");

    let v2 = client.post("/", r#"{"jsonrpc":"2.0","id":7,"method":"test_panic"}"#);
    assert_eq!(v2.status(), 200);
    assert_eq!(
        v2.text(),
        "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32603,\"message\":\"Internal error: boom\"},\"id\":7}\n"
    );

    // In a batch only the panicking call fails.
    let batch = client.post(
        "/",
        r#"[{"id":1,"method":"test_panic"},{"id":2,"method":"test_big","params":[0]}]"#,
    );
    assert_eq!(batch.status(), 200);
    let replies = batch.json();
    assert_eq!(replies[0]["error"]["code"], -32603);
    assert_eq!(replies[1]["result"]["hex"], "");
    server.stop().unwrap();
}

#[test]
fn oversized_bodies_are_refused_like_libevent() {
    let handler = Arc::new(ScriptedHandler::default());
    let server = TestServer::start(
        RpcServerConfig {
            max_body_bytes: 1000,
            ..config()
        },
        handler.clone(),
    );
    let page = "<HTML><HEAD>\n<TITLE>413 Request Entity Too Large</TITLE>\n</HEAD><BODY>\n\
                <H1>Request Entity Too Large</H1>\n</BODY></HTML>\n";

    // At the limit: served.
    let call = r#"{"id":1,"method":"test_big","params":[0]}"#;
    let padded = format!("{call}{}", " ".repeat(1000 - call.len()));
    let mut client = server.connect();
    assert_eq!(client.post("/", &padded).status(), 200);

    // Declared over the limit: refused before the body is read, connection closed.
    let over = format!("{call}{}", " ".repeat(1001 - call.len()));
    let response = client.post("/", &over);
    assert_eq!(response.status(), 413);
    assert_eq!(response.text(), page);
    assert_eq!(response.header("content-type"), Some("text/html"));
    assert_eq!(response.header("connection"), Some("close"));
    assert!(client.closed(), "connection kept open after 413");

    // A chunked body that grows over the limit.
    let mut client = server.connect();
    let chunk = "x".repeat(600);
    client.send(
        format!(
            "POST / HTTP/1.1\r\nHost: x\r\nAuthorization: Basic dTpw\r\n\
             Transfer-Encoding: chunked\r\n\r\n258\r\n{chunk}\r\n258\r\n{chunk}\r\n0\r\n\r\n"
        )
        .as_bytes(),
    );
    let response = client.read_response();
    assert_eq!(response.status(), 413);
    assert_eq!(response.text(), page);

    // Nothing reached the handler but the call at the limit.
    assert_eq!(handler.count.load(Ordering::SeqCst), 1);
    server.stop().unwrap();
}

#[test]
fn slow_handler_runs_off_the_executor() {
    let handler = Arc::new(ScriptedHandler::default());
    let server = TestServer::start(config(), handler.clone());
    handler.set_answers(vec![(
        key(None, "getblockcount", &json!([])),
        Ok(json!(102)),
    )]);

    let mut slow = server.connect();
    slow.send(post_request("/", r#"{"id":"slow","method":"test_wait"}"#).as_bytes());
    // Wait until the slow call is inside the handler.
    let deadline = Instant::now() + Duration::from_secs(10);
    while handler.count.load(Ordering::SeqCst) == 0 {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(5));
    }
    // With the only executor thread free, other requests are served meanwhile.
    let started = Instant::now();
    let mut fast = server.connect();
    for _ in 0..3 {
        let response = fast.post("/", r#"{"id":"fast","method":"getblockcount"}"#);
        assert_eq!(
            response.text(),
            "{\"result\":102,\"error\":null,\"id\":\"fast\"}\n"
        );
    }
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "requests waited for the slow call"
    );
    handler.gate.open();
    let response = slow.read_response();
    assert_eq!(
        response.text(),
        "{\"result\":\"released\",\"error\":null,\"id\":\"slow\"}\n"
    );
    server.stop().unwrap();
}

/// Behaviours of Core's HTTP layer that the transcripts do not show, taken from
/// src/httpserver.cpp, src/httprpc.cpp and libevent's http.c.
#[test]
fn http_dispatch_follows_core() {
    let handler = Arc::new(ScriptedHandler::default());
    let server = TestServer::start(config(), handler.clone());
    let mut client = server.connect();
    let mut request = |raw: &str| {
        client.send(raw.as_bytes());
        client.read_response()
    };

    // The method is checked before the credentials, the path before the method.
    let response = request("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(response.status(), 405);
    assert_eq!(response.text(), "JSONRPC server handles only POST requests");
    assert_eq!(
        response.status(),
        request("PUT /wallet/w HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n").status()
    );
    assert_eq!(
        request("GET /foo HTTP/1.1\r\nHost: x\r\n\r\n").status(),
        404
    );
    assert_eq!(
        request("POST /?x=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n").status(),
        404
    );
    assert_eq!(
        request("POST /wallet HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n").status(),
        404
    );
    // DELETE is allowed by libevent but unknown to Core: an empty 405.
    let response = request("DELETE / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(response.status(), 405);
    assert!(response.body.is_empty());
    assert_eq!(
        response.header("content-type"),
        Some("text/html; charset=ISO-8859-1")
    );

    // Well-formed Basic credentials with a wrong password.
    let unauthorized = request("POST / HTTP/1.1\r\nHost: x\r\nAuthorization: Basic dTpwcA==\r\nContent-Length: 2\r\n\r\n{}");
    assert_eq!(unauthorized.status(), 401);
    assert_eq!(
        unauthorized.header("www-authenticate"),
        Some("Basic realm=\"jsonrpc\"")
    );

    // Methods evhttp does not allow get its 501 page and a closed connection.
    let response = request("OPTIONS / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(response.status(), 501);
    assert_eq!(
        response.text(),
        "<HTML><HEAD>\n<TITLE>501 Not Implemented</TITLE>\n</HEAD><BODY>\n<H1>Not Implemented</H1>\n</BODY></HTML>\n"
    );
    assert!(client.closed());

    // The wallet name reaches the handler, percent-decoded as Core does.
    let mut client = server.connect();
    let response = client.post(
        "/wallet/my%20w%2",
        r#"{"id":1,"method":"test_big","params":[0]}"#,
    );
    assert_eq!(response.status(), 200);
    let calls = handler.calls.lock().unwrap().clone();
    assert_eq!(calls.last().unwrap().2.as_deref(), Some("my w%2"));

    // Notifications are executed, though not answered; absent params arrive as [].
    let before = handler.count.load(Ordering::SeqCst);
    let response = client.post("/", r#"{"jsonrpc":"2.0","method":"test_big"}"#);
    assert_eq!(response.status(), 204);
    assert!(response.header("content-length").is_none() && response.body.is_empty());
    assert_eq!(handler.count.load(Ordering::SeqCst), before + 1);
    assert_eq!(handler.calls.lock().unwrap().last().unwrap().1, json!([]));

    // `Connection: close` from the client is honoured.
    client.send(
        post_request("/", r#"{"id":1,"method":"test_big","params":[0]}"#)
            .replace("HTTP/1.1\r\n", "HTTP/1.1\r\nConnection: close\r\n")
            .as_bytes(),
    );
    assert_eq!(client.read_response().status(), 200);
    assert!(client.closed());
    server.stop().unwrap();
}

/// Shutdown returns even while a client keeps an idle keep-alive connection open.
#[test]
fn shutdown_closes_idle_connections() {
    let handler = Arc::new(ScriptedHandler::default());
    let server = TestServer::start(config(), handler.clone());
    let mut client = server.connect();
    assert_eq!(
        client
            .post("/", r#"{"id":1,"method":"test_big","params":[0]}"#)
            .status(),
        200
    );
    server.stop().unwrap();
    assert!(client.closed());
}
