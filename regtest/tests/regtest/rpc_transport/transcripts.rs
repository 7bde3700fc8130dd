//! The recorded exchanges replayed byte for byte, and their answers compared with Core's:
//! status line, headers, framing, body, and the delay of a failed authentication.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sluice_regtest::rpc::RpcError;

use super::client::RawResponse;
use super::server::{config, key, Key, ScriptedHandler, TestServer};

fn transcripts_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bitcoind-regtest-rpc")
}

pub(super) fn load(file: &str) -> Vec<Value> {
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
