//! The regtest chain's HTTP/JSON-RPC transport against recorded Bitcoin Core v30 exchanges.
//!
//! Every record of `regtest/tests/fixtures/bitcoind-regtest-rpc/*.json` (except
//! `context.json`, which is not a transcript, and `large_response.json`, whose bodies are
//! truncated; it gets a synthetic equivalent below) is replayed byte for byte over a raw
//! TCP connection, one keep-alive connection per file, against [`serve`] with a scripted
//! handler: before each record, the handler is given the answers Core gave to the calls
//! in that record (its method-level results and errors), so what is compared is only
//! what the transport adds: status line, headers, framing, envelopes, ids, transport
//! errors and the delay of failed authentication.
//!
//! Nothing recorded is skipped: the `/wallet/<name>` records only need the wallet name
//! to reach the handler (`/wallet/w` for `getblockcount`, `/wallet/nosuch` for the
//! "wallet not found" error). Where the transport cannot be byte-identical to Core:
//! header names are lower-case (hyper), and an empty body's `Content-Length: 0` comes
//! after `Content-Type`, so for empty bodies header names are compared as sets; result
//! objects are compared as JSON when serde_json cannot reproduce Core's exact text
//! (member order, number spelling) of the recorded result itself.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sluice_regtest::rpc::{serve, RpcError, RpcHandler, RpcServerConfig};

// ---------------------------------------------------------------------------------------
// Server under test
// ---------------------------------------------------------------------------------------

/// `serve` on 127.0.0.1:0 in its own single-worker runtime (so a handler that ran on the
/// executor instead of a blocking thread would stall every other connection).
struct TestServer {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<io::Result<()>>>,
}

impl TestServer {
    fn start(config: RpcServerConfig, handler: Arc<dyn RpcHandler>) -> Self {
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                addr_tx.send(listener.local_addr().unwrap()).unwrap();
                serve(listener, config, handler, async move {
                    let _ = stop_rx.await;
                })
                .await
            })
        });
        let addr = addr_rx
            .recv_timeout(Duration::from_secs(30))
            .expect("server did not start");
        TestServer {
            addr,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    fn connect(&self) -> Client {
        Client::connect(self.addr)
    }

    /// Triggers the shutdown and waits (bounded) for `serve` to return.
    fn stop(mut self) -> io::Result<()> {
        drop(self.stop.take());
        let thread = self.thread.take().unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !thread.is_finished() {
            assert!(
                Instant::now() < deadline,
                "serve did not return after shutdown"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        thread.join().unwrap()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        // Shuts the server down without waiting for it.
        drop(self.stop.take());
    }
}

fn config() -> RpcServerConfig {
    RpcServerConfig::new("u", "p")
}

// ---------------------------------------------------------------------------------------
// Scripted handler
// ---------------------------------------------------------------------------------------

type Key = (Option<String>, String, String);

/// Answers calls from a table of recorded answers, plus a few test methods.
#[derive(Default)]
struct ScriptedHandler {
    table: Mutex<HashMap<Key, Result<Value, RpcError>>>,
    calls: Mutex<Vec<(String, Value, Option<String>)>>,
    count: AtomicUsize,
    gate: Gate,
}

impl ScriptedHandler {
    fn set_answers(&self, answers: Vec<(Key, Result<Value, RpcError>)>) {
        let mut table = self.table.lock().unwrap();
        table.clear();
        for (key, outcome) in answers {
            if let Some(previous) = table.insert(key.clone(), outcome.clone()) {
                assert_eq!(
                    previous, outcome,
                    "two recorded answers to {key:?} in one record"
                );
            }
        }
    }
}

fn key(wallet: Option<&str>, method: &str, params: &Value) -> Key {
    (
        wallet.map(str::to_owned),
        method.to_owned(),
        params.to_string(),
    )
}

impl RpcHandler for ScriptedHandler {
    fn call(&self, method: &str, params: &Value, wallet: Option<&str>) -> Result<Value, RpcError> {
        self.count.fetch_add(1, Ordering::SeqCst);
        self.calls.lock().unwrap().push((
            method.to_owned(),
            params.clone(),
            wallet.map(str::to_owned),
        ));
        match method {
            "test_panic" => panic!("boom"),
            "test_wait" => {
                self.gate.wait();
                return Ok(json!("released"));
            }
            "test_big" => {
                let n = params[0].as_u64().unwrap_or(0) as usize;
                return Ok(json!({ "hash": "ab".repeat(32), "hex": "00".repeat(n) }));
            }
            _ => {}
        }
        let table = self.table.lock().unwrap();
        match table.get(&key(wallet, method, params)) {
            Some(outcome) => outcome.clone(),
            None => Err(RpcError::new(
                -1,
                format!("no recorded answer for {method} {params}"),
            )),
        }
    }
}

/// A latch the test opens to let `test_wait` calls return.
#[derive(Default)]
struct Gate {
    open: Mutex<bool>,
    cond: Condvar,
}

impl Gate {
    fn wait(&self) {
        let mut open = self.open.lock().unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while !*open && Instant::now() < deadline {
            open = self
                .cond
                .wait_timeout(open, Duration::from_millis(100))
                .unwrap()
                .0;
        }
    }

    fn open(&self) {
        *self.open.lock().unwrap() = true;
        self.cond.notify_all();
    }
}

// ---------------------------------------------------------------------------------------
// Raw HTTP client
// ---------------------------------------------------------------------------------------

#[derive(Debug)]
struct RawResponse {
    status_line: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    chunked: bool,
}

impl RawResponse {
    fn status(&self) -> u16 {
        self.status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn text(&self) -> String {
        String::from_utf8(self.body.clone()).unwrap()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    fn connect(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        stream.set_nodelay(true).unwrap();
        Client {
            stream,
            buf: Vec::new(),
        }
    }

    fn send(&mut self, raw: &[u8]) {
        self.stream.write_all(raw).unwrap();
    }

    fn post(&mut self, path: &str, body: &str) -> RawResponse {
        self.send(post_request(path, body).as_bytes());
        self.read_response()
    }

    /// Reads more bytes; returns how many (0 at end of stream).
    fn fill(&mut self) -> usize {
        let mut chunk = [0u8; 64 * 1024];
        let n = match self.stream.read(&mut chunk) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => 0,
            Err(e) => panic!("read failed: {e}"),
        };
        self.buf.extend_from_slice(&chunk[..n]);
        n
    }

    fn take(&mut self, n: usize) -> Vec<u8> {
        while self.buf.len() < n {
            assert!(self.fill() > 0, "connection closed in the middle of a body");
        }
        self.buf.drain(..n).collect()
    }

    fn line(&mut self) -> String {
        loop {
            if let Some(pos) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line = self.take(pos + 2);
                return String::from_utf8(line[..pos].to_vec()).unwrap();
            }
            assert!(self.fill() > 0, "connection closed before a full line");
        }
    }

    fn read_response(&mut self) -> RawResponse {
        loop {
            let status_line = self.line();
            let mut headers = Vec::new();
            loop {
                let line = self.line();
                if line.is_empty() {
                    break;
                }
                let (name, value) = line.split_once(':').expect("header without colon");
                headers.push((name.to_owned(), value.trim().to_owned()));
            }
            let mut response = RawResponse {
                status_line,
                headers,
                body: Vec::new(),
                chunked: false,
            };
            let status = response.status();
            if status == 100 {
                continue;
            }
            let chunked = response
                .header("transfer-encoding")
                .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
            if chunked {
                response.chunked = true;
                loop {
                    let size = usize::from_str_radix(self.line().trim(), 16).unwrap();
                    if size == 0 {
                        while !self.line().is_empty() {}
                        break;
                    }
                    let data = self.take(size);
                    response.body.extend_from_slice(&data);
                    assert!(self.line().is_empty());
                }
            } else if let Some(len) = response.header("content-length") {
                let len = len.parse().unwrap();
                response.body = self.take(len);
            } else if !(status == 204 || status == 304) {
                while self.fill() > 0 {}
                response.body = std::mem::take(&mut self.buf);
            }
            return response;
        }
    }

    /// Whether the server has closed the connection (nothing more to read).
    fn closed(&mut self) -> bool {
        self.buf.is_empty() && self.fill() == 0
    }
}

fn post_request(path: &str, body: &str) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic dTpw\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

// ---------------------------------------------------------------------------------------
// Transcripts
// ---------------------------------------------------------------------------------------

fn transcripts_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bitcoind-regtest-rpc")
}

fn load(file: &str) -> Vec<Value> {
    let path = transcripts_dir().join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// The exact bytes of a recorded request.
fn raw_request(record: &Value) -> Vec<u8> {
    let request = &record["request"];
    let mut raw = format!("{}\r\n", request["request_line"].as_str().unwrap());
    for header in request["headers"].as_array().unwrap() {
        raw.push_str(&format!(
            "{}: {}\r\n",
            header[0].as_str().unwrap(),
            header[1].as_str().unwrap()
        ));
    }
    raw.push_str("\r\n");
    if let Some(body) = request["body"].as_str() {
        raw.push_str(body);
    }
    raw.into_bytes()
}

/// `(method, params)` if `element` is a request Core parses successfully.
fn as_call(element: &Value) -> Option<(String, Value)> {
    let object = element.as_object()?;
    match object.get("jsonrpc") {
        None | Some(Value::Null) => {}
        Some(Value::String(v)) if v == "1.0" || v == "2.0" => {}
        _ => return None,
    }
    let method = object.get("method")?.as_str()?.to_owned();
    let params = match object.get("params") {
        None | Some(Value::Null) => json!([]),
        Some(p @ (Value::Array(_) | Value::Object(_))) => p.clone(),
        _ => return None,
    };
    Some((method, params))
}

/// The method-level outcome in a reply object.
fn as_outcome(reply: &Value) -> Option<Result<Value, RpcError>> {
    let reply = reply.as_object()?;
    match reply.get("error") {
        Some(error) if !error.is_null() => Some(Err(RpcError::new(
            i32::try_from(error["code"].as_i64()?).ok()?,
            error["message"].as_str()?,
        ))),
        _ => reply.get("result").map(|result| Ok(result.clone())),
    }
}

fn is_notification(element: &Value) -> bool {
    element.get("jsonrpc").and_then(Value::as_str) == Some("2.0") && element.get("id").is_none()
}

/// The answers Core gave to the calls of one record, keyed as the handler sees them.
fn recorded_answers(record: &Value) -> Vec<(Key, Result<Value, RpcError>)> {
    let url = record["request"]["url"].as_str().unwrap();
    let path = url
        .splitn(4, '/')
        .nth(3)
        .map(|p| format!("/{p}"))
        .unwrap_or_default();
    let wallet = path.strip_prefix("/wallet/");
    let Some(body) = record["request"]["body"].as_str() else {
        return Vec::new();
    };
    let Ok(request) = serde_json::from_str::<Value>(body) else {
        return Vec::new();
    };
    let reply = &record["body_json"];
    let mut answers = Vec::new();
    let mut push = |element: &Value, reply: &Value| {
        if let (Some((method, params)), Some(outcome)) = (as_call(element), as_outcome(reply)) {
            answers.push((key(wallet, &method, &params), outcome));
        }
    };
    match &request {
        Value::Object(_) => push(&request, reply),
        Value::Array(elements) => {
            // Replies are in request order with notifications left out. (Core would also
            // leave out a non-object element that follows a notification; no recorded
            // batch has one.)
            let mut replies = reply.as_array().map(|r| r.iter()).into_iter().flatten();
            for element in elements {
                if !is_notification(element) {
                    if let Some(reply) = replies.next() {
                        push(element, reply);
                    }
                }
            }
        }
        _ => {}
    }
    answers
}

/// Replays every record of `file` on one keep-alive connection; returns the mismatches.
fn replay(server: &TestServer, handler: &ScriptedHandler, file: &str) -> Vec<String> {
    let mut failures = Vec::new();
    let mut client = server.connect();
    for record in load(file) {
        let note = record["note"].as_str().unwrap_or("");
        handler.set_answers(recorded_answers(&record));
        let started = Instant::now();
        client.send(&raw_request(&record));
        let ours = client.read_response();
        let elapsed = started.elapsed();
        for problem in compare(&record, &ours, elapsed) {
            failures.push(format!("{file} / {note}: {problem}"));
        }
    }
    failures
}

fn compare(record: &Value, ours: &RawResponse, elapsed: Duration) -> Vec<String> {
    let mut problems = Vec::new();
    let expected_status_line = record["status_line"].as_str().unwrap();
    if ours.status_line != expected_status_line {
        problems.push(format!(
            "status line {:?}, Core {expected_status_line:?}",
            ours.status_line
        ));
    }

    // Headers: same names (in the same order when there is a body), same values but Date.
    let recorded: Vec<(String, String)> = record["headers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h[0].as_str().unwrap().to_owned(),
                h[1].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let mut core_names: Vec<String> = recorded
        .iter()
        .map(|(n, _)| n.to_ascii_lowercase())
        .collect();
    let mut our_names: Vec<String> = ours
        .headers
        .iter()
        .map(|(n, _)| n.to_ascii_lowercase())
        .collect();
    let core_body = record["body"].as_str().unwrap();
    let core_json = &record["body_json"];
    // Whether serde_json writes Core's exact text for the recorded JSON (it does not
    // where Core's member order is not alphabetical or a number is spelt `0.00010000`).
    let text_reproducible = core_json.is_null() || format!("{core_json}\n") == core_body;
    if core_body.is_empty() {
        core_names.sort();
        our_names.sort();
    }
    if core_names != our_names {
        problems.push(format!("header names {our_names:?}, Core {core_names:?}"));
    }
    for (name, value) in &recorded {
        if name.eq_ignore_ascii_case("date") {
            let ok = ours
                .header("date")
                .is_some_and(|d| d.len() == 29 && d.ends_with(" GMT"));
            if !ok {
                problems.push(format!("Date header {:?}", ours.header("date")));
            }
        } else if name.eq_ignore_ascii_case("content-length") && !text_reproducible {
            // Same JSON, other spelling (member order, numbers): our own length must hold.
            if ours.header(name) != Some(ours.body.len().to_string().as_str()) {
                problems.push(format!(
                    "{name}: {:?} for {} bytes",
                    ours.header(name),
                    ours.body.len()
                ));
            }
        } else if ours.header(name) != Some(value.as_str()) {
            problems.push(format!("{name}: {:?}, Core {value:?}", ours.header(name)));
        }
    }
    if ours.chunked || record["chunked_transfer_encoding"].as_bool() != Some(false) {
        problems.push("chunked transfer encoding".to_owned());
    }

    // Body: exact text where serde_json can reproduce Core's text, else as JSON.
    if core_json.is_null() {
        if ours.body != core_body.as_bytes() {
            problems.push(format!(
                "body {:?}, Core {core_body:?}",
                String::from_utf8_lossy(&ours.body)
            ));
        }
    } else {
        match serde_json::from_slice::<Value>(&ours.body) {
            Ok(our_json) if our_json == *core_json => {
                if text_reproducible && ours.body != core_body.as_bytes() {
                    problems.push(format!(
                        "body text {:?}, Core {core_body:?}",
                        String::from_utf8_lossy(&ours.body)
                    ));
                }
            }
            _ => problems.push(format!(
                "body {:?}, Core {core_body:?}",
                String::from_utf8_lossy(&ours.body)
            )),
        }
    }

    // Core delays a 401 for wrong credentials by 250 ms, not one for missing credentials.
    if record["status"] == 401 {
        let core_delayed = record["elapsed_ms"].as_u64().unwrap_or(0) >= 200;
        if core_delayed && elapsed < Duration::from_millis(245) {
            problems.push(format!("401 after {elapsed:?}, Core waits 250 ms"));
        }
        if !core_delayed && elapsed >= Duration::from_millis(250) {
            problems.push(format!("401 after {elapsed:?}, Core answers at once"));
        }
    }
    problems
}

fn replay_files(files: &[&str]) {
    let handler = Arc::new(ScriptedHandler::default());
    let server = TestServer::start(config(), handler.clone());
    let mut failures = Vec::new();
    for file in files {
        failures.extend(replay(&server, &handler, file));
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
    server.stop().unwrap();
}

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

/// The transport-level transcripts.
#[test]
fn replays_transport_transcripts() {
    replay_files(&[
        "auth.json",
        "empty_body.json",
        "malformed_json.json",
        "id_and_version_handling.json",
        "unknown_method.json",
        "batch.json",
        "wrong_param_types.json",
    ]);
}

/// The envelopes (styles, status codes, ids) of every method transcript.
#[test]
fn replays_method_transcripts_envelopes() {
    let transport = [
        "auth.json",
        "empty_body.json",
        "malformed_json.json",
        "id_and_version_handling.json",
        "unknown_method.json",
        "batch.json",
        "wrong_param_types.json",
        // Not transcripts we can replay: see the module documentation.
        "context.json",
        "large_response.json",
    ];
    let mut files: Vec<String> = std::fs::read_dir(transcripts_dir())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".json") && !transport.contains(&name.as_str()))
        .collect();
    files.sort();
    assert!(files.len() >= 15, "method transcripts missing: {files:?}");
    replay_files(&files.iter().map(String::as_str).collect::<Vec<_>>());
}

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
