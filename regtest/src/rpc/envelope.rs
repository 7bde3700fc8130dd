//! JSON-RPC envelopes, parsed and answered as Bitcoin Core v30 does.
//!
//! This mirrors `JSONRPCRequest::parse` (src/rpc/request.cpp), `ExecuteHTTPRPC`,
//! `JSONErrorReply` and `JSONRPCReplyObj` (src/httprpc.cpp, src/rpc/request.cpp), and is
//! checked against the recorded exchanges in
//! `regtest/tests/fixtures/bitcoind-regtest-rpc/`:
//!
//! * The body must be JSON; otherwise `-32700 "Parse error"`, HTTP 500, a 1.0-style body
//!   with `"id":null`. A JSON scalar gets `-32700 "Top-level object parse error"`.
//! * An object is a single call. `"jsonrpc"` absent/null or `"1.0"` means the legacy
//!   style (`{"result":…,"error":…,"id":…}`), `"2.0"` the 2.0 style (`{"jsonrpc":"2.0",
//!   "result"|"error":…,"id":…}`); any other string is `-32600 "JSON-RPC version not
//!   supported"`, a non-string `-32600 "jsonrpc field must be a string"`.
//! * Legacy calls that fail answer HTTP 500, except -32600 → 400 and -32601 → 404. 2.0
//!   calls answer method errors with HTTP 200; request-shape errors (found while parsing
//!   the request, before the version is known to be 2.0 or after) still take the
//!   status of the legacy mapping, with a body in the request's style.
//! * The `id` is echoed whatever its type; without an `id` key the reply has no `id`
//!   key. A 2.0 call without `id` is a notification: it is executed, and answered 204
//!   with no body, even if it failed.
//! * An array is a batch: HTTP 200 and an array of replies, each in its own request's
//!   style, errors inline, notifications left out; a non-empty batch of notifications
//!   only is answered 204, `[]` is answered `[]`. Like Core, the parse state (`id`,
//!   version) carries over from one element to the next, which shows when an element
//!   is not an object (it is answered with the previous element's id and style).
//! * Every JSON body ends with `"\n"`.
//!
//! Known differences, from parsing with serde_json instead of UniValue: an object with a
//! duplicated key takes the last value (Core: the first); a non-integer numeric `id` is
//! echoed as serde_json spells it (`1.50` comes back as `1.5`); nesting deeper than 128
//! levels is a parse error (Core allows 512).

use std::fmt::Write as _;

use serde_json::Value;

use super::RpcError;

/// HTTP 200 OK.
pub(crate) const HTTP_OK: u16 = 200;
/// HTTP 204 No Content.
pub(crate) const HTTP_NO_CONTENT: u16 = 204;
/// HTTP 400 Bad Request.
pub(crate) const HTTP_BAD_REQUEST: u16 = 400;
/// HTTP 404 Not Found.
pub(crate) const HTTP_NOT_FOUND: u16 = 404;
/// HTTP 500 Internal Server Error.
pub(crate) const HTTP_INTERNAL_SERVER_ERROR: u16 = 500;

/// Core's message for a body that is not JSON.
pub(crate) const MSG_PARSE_ERROR: &str = "Parse error";
/// Core's message for a body that is JSON but neither an object nor an array.
pub(crate) const MSG_TOP_LEVEL: &str = "Top-level object parse error";
/// Core's message for a batch element that is not an object.
pub(crate) const MSG_INVALID_REQUEST_OBJECT: &str = "Invalid Request object";
/// Core's message for a `jsonrpc` member that is not a string.
pub(crate) const MSG_JSONRPC_NOT_STRING: &str = "jsonrpc field must be a string";
/// Core's message for a `jsonrpc` string other than "1.0" and "2.0".
pub(crate) const MSG_VERSION_NOT_SUPPORTED: &str = "JSON-RPC version not supported";
/// Core's message for a missing (or null) `method`.
pub(crate) const MSG_MISSING_METHOD: &str = "Missing method";
/// Core's message for a `method` that is not a string.
pub(crate) const MSG_METHOD_NOT_STRING: &str = "Method must be a string";
/// Core's message for `params` that are neither an array nor an object (nor null).
pub(crate) const MSG_PARAMS_SHAPE: &str = "Params must be an array or object";

/// Positional parameters of a call that gave none.
static NO_PARAMS: Value = Value::Array(Vec::new());

/// The JSON-RPC style of a request, which decides the style of its reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Version {
    /// `"jsonrpc":"1.0"` or no `jsonrpc` member: Core's legacy (1.0/1.1) behaviour.
    Legacy,
    /// `"jsonrpc":"2.0"`.
    V2,
}

/// What Core's `JSONRPCRequest` remembers of the request being parsed: the id (absent
/// key = `None`) and the version. Core keeps one of these for a whole batch.
#[derive(Clone, Debug)]
struct RequestState {
    id: Option<Value>,
    version: Version,
}

impl Default for RequestState {
    /// Core's initial state: `id` null (present), legacy version.
    fn default() -> Self {
        RequestState {
            id: Some(Value::Null),
            version: Version::Legacy,
        }
    }
}

impl RequestState {
    /// A 2.0 request without an `id` key.
    fn is_notification(&self) -> bool {
        self.id.is_none() && self.version == Version::V2
    }
}

/// A parsed call: what the method handler gets.
#[derive(Debug)]
pub(crate) struct Call<'a> {
    /// The method name (possibly empty: that is the handler's "Method not found").
    pub method: &'a str,
    /// A JSON array or object; an empty array when the request had no (or null) params.
    pub params: &'a Value,
}

/// An HTTP answer to a JSON-RPC POST: a status and, unless it is 204, a JSON body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Reply {
    /// The HTTP status code.
    pub status: u16,
    /// The `application/json` body, ending with `"\n"`; `None` for 204 No Content.
    pub body: Option<String>,
}

impl Reply {
    fn json(status: u16, mut body: String) -> Self {
        body.push('\n');
        Reply {
            status,
            body: Some(body),
        }
    }

    fn no_content() -> Self {
        Reply {
            status: HTTP_NO_CONTENT,
            body: None,
        }
    }

    /// A legacy-style error reply with `"id":null`, as Core sends when the request could
    /// not be read at all (and as this server sends when the handler machinery failed).
    pub(crate) fn bare_error(error: &RpcError) -> Self {
        error_reply(error, &RequestState::default())
    }
}

/// Answers one HTTP request body. `exec` runs a method (it is called once per call, in
/// order, notifications included) and must not panic; the caller catches panics.
pub(crate) fn handle_body(
    body: &[u8],
    exec: &mut dyn FnMut(&Call<'_>) -> Result<Value, RpcError>,
) -> Reply {
    // UniValue::read: any JSON value, surrounded by optional whitespace, nothing else.
    let request: Value = match serde_json::from_slice(body) {
        Ok(value) => value,
        Err(_) => return Reply::bare_error(&RpcError::new(RpcError::PARSE_ERROR, MSG_PARSE_ERROR)),
    };
    match &request {
        Value::Object(_) => handle_single(&request, exec),
        Value::Array(elements) => handle_batch(elements, exec),
        _ => Reply::bare_error(&RpcError::new(RpcError::PARSE_ERROR, MSG_TOP_LEVEL)),
    }
}

fn handle_single(
    request: &Value,
    exec: &mut dyn FnMut(&Call<'_>) -> Result<Value, RpcError>,
) -> Reply {
    let mut state = RequestState::default();
    let call = match parse(&mut state, request) {
        Ok(call) => call,
        Err(error) => return error_reply(&error, &state),
    };
    let outcome = exec(&call);
    match state.version {
        // 2.0: errors are caught and answered inline with HTTP 200.
        Version::V2 => {
            if state.is_notification() {
                Reply::no_content()
            } else {
                let mut body = String::new();
                write_reply_object(&mut body, &outcome, state.id.as_ref(), state.version);
                Reply::json(HTTP_OK, body)
            }
        }
        // Legacy: an error becomes an HTTP error status.
        Version::Legacy => match outcome {
            Ok(_) => {
                let mut body = String::new();
                write_reply_object(&mut body, &outcome, state.id.as_ref(), state.version);
                Reply::json(HTTP_OK, body)
            }
            Err(error) => error_reply(&error, &state),
        },
    }
}

fn handle_batch(
    elements: &[Value],
    exec: &mut dyn FnMut(&Call<'_>) -> Result<Value, RpcError>,
) -> Reply {
    // One state for the whole batch, as in Core (`jreq` is reused).
    let mut state = RequestState::default();
    let mut body = String::from("[");
    let mut replies = 0usize;
    for element in elements {
        let outcome = match parse(&mut state, element) {
            Ok(call) => exec(&call),
            Err(error) => Err(error),
        };
        if !state.is_notification() {
            if replies > 0 {
                body.push(',');
            }
            write_reply_object(&mut body, &outcome, state.id.as_ref(), state.version);
            replies += 1;
        }
    }
    if replies == 0 && !elements.is_empty() {
        return Reply::no_content();
    }
    body.push(']');
    Reply::json(HTTP_OK, body)
}

/// Core's `JSONRPCRequest::parse`: updates `state` as far as it gets, so that an error
/// is answered with whatever id and version were read before it.
fn parse<'a>(state: &mut RequestState, request: &'a Value) -> Result<Call<'a>, RpcError> {
    let Some(object) = request.as_object() else {
        return Err(invalid_request(MSG_INVALID_REQUEST_OBJECT));
    };
    state.id = object.get("id").cloned();
    state.version = Version::Legacy;
    match object.get("jsonrpc") {
        None | Some(Value::Null) => {}
        Some(Value::String(version)) => match version.as_str() {
            "1.0" => {}
            "2.0" => state.version = Version::V2,
            _ => return Err(invalid_request(MSG_VERSION_NOT_SUPPORTED)),
        },
        Some(_) => return Err(invalid_request(MSG_JSONRPC_NOT_STRING)),
    }
    let method = match object.get("method") {
        None | Some(Value::Null) => return Err(invalid_request(MSG_MISSING_METHOD)),
        Some(Value::String(method)) => method.as_str(),
        Some(_) => return Err(invalid_request(MSG_METHOD_NOT_STRING)),
    };
    let params = match object.get("params") {
        None | Some(Value::Null) => &NO_PARAMS,
        Some(params @ (Value::Array(_) | Value::Object(_))) => params,
        Some(_) => return Err(invalid_request(MSG_PARAMS_SHAPE)),
    };
    Ok(Call { method, params })
}

fn invalid_request(message: &str) -> RpcError {
    RpcError::new(RpcError::INVALID_REQUEST, message)
}

/// The HTTP status Core's `JSONErrorReply` gives an error.
pub(crate) fn error_status(code: i32) -> u16 {
    match code {
        RpcError::INVALID_REQUEST => HTTP_BAD_REQUEST,
        RpcError::METHOD_NOT_FOUND => HTTP_NOT_FOUND,
        _ => HTTP_INTERNAL_SERVER_ERROR,
    }
}

/// Core's `JSONErrorReply`: an error reply whose HTTP status depends on the code only.
fn error_reply(error: &RpcError, state: &RequestState) -> Reply {
    let mut body = String::new();
    write_reply_object(
        &mut body,
        &Err(error.clone()),
        state.id.as_ref(),
        state.version,
    );
    Reply::json(error_status(error.code), body)
}

/// Core's `JSONRPCReplyObj`, written compactly with the members in Core's order.
fn write_reply_object(
    out: &mut String,
    outcome: &Result<Value, RpcError>,
    id: Option<&Value>,
    version: Version,
) {
    // Writing to a String cannot fail, and serde_json's Display of a Value cannot either.
    out.push('{');
    if version == Version::V2 {
        out.push_str("\"jsonrpc\":\"2.0\",");
    }
    match (outcome, version) {
        (Ok(result), Version::V2) => {
            let _ = write!(out, "\"result\":{result}");
        }
        (Ok(result), Version::Legacy) => {
            let _ = write!(out, "\"result\":{result},\"error\":null");
        }
        (Err(error), Version::V2) => {
            let _ = write!(out, "\"error\":{}", error_object(error));
        }
        (Err(error), Version::Legacy) => {
            let _ = write!(out, "\"result\":null,\"error\":{}", error_object(error));
        }
    }
    if let Some(id) = id {
        let _ = write!(out, ",\"id\":{id}");
    }
    out.push('}');
}

/// `{"code":…,"message":…}` in that order.
fn error_object(error: &RpcError) -> String {
    format!(
        "{{\"code\":{},\"message\":{}}}",
        error.code,
        Value::from(error.message.as_str())
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(body: &str) -> Reply {
        handle_body(body.as_bytes(), &mut |call: &Call<'_>| match call.method {
            "getblockcount" => Ok(json!(102)),
            "echo" => Ok(call.params.clone()),
            "fail" => Err(RpcError::new(-8, "Block height out of range")),
            _ => Err(RpcError::new(
                RpcError::METHOD_NOT_FOUND,
                "Method not found",
            )),
        })
    }

    fn reply(status: u16, body: &str) -> Reply {
        Reply {
            status,
            body: Some(format!("{body}\n")),
        }
    }

    #[test]
    fn parse_errors() {
        let parse_error =
            r#"{"result":null,"error":{"code":-32700,"message":"Parse error"},"id":null}"#;
        for body in [
            "",
            "  \n",
            "hello",
            r#"{"method":"getblockcount""#,
            "{}x",
            "[] []",
        ] {
            assert_eq!(run(body), reply(500, parse_error), "body {body:?}");
        }
        let top = r#"{"result":null,"error":{"code":-32700,"message":"Top-level object parse error"},"id":null}"#;
        for body in ["42", "\"x\"", "null", "true"] {
            assert_eq!(run(body), reply(500, top), "body {body:?}");
        }
    }

    #[test]
    fn legacy_and_v2_styles() {
        assert_eq!(
            run(r#"{"id":"t","method":"getblockcount"}"#),
            reply(200, r#"{"result":102,"error":null,"id":"t"}"#)
        );
        assert_eq!(
            run(r#"{"jsonrpc":"2.0","id":[1],"method":"getblockcount","params":null}"#),
            reply(200, r#"{"jsonrpc":"2.0","result":102,"id":[1]}"#)
        );
        assert_eq!(
            run(r#"{"jsonrpc":"1.0","method":"fail"}"#),
            reply(
                500,
                r#"{"result":null,"error":{"code":-8,"message":"Block height out of range"}}"#
            )
        );
        assert_eq!(
            run(r#"{"jsonrpc":"2.0","id":1,"method":"nope"}"#),
            reply(
                200,
                r#"{"jsonrpc":"2.0","error":{"code":-32601,"message":"Method not found"},"id":1}"#
            )
        );
        assert_eq!(
            run(r#"{"jsonrpc":null,"id":1,"method":"nope"}"#),
            reply(
                404,
                r#"{"result":null,"error":{"code":-32601,"message":"Method not found"},"id":1}"#
            )
        );
        assert_eq!(
            run(r#"{"jsonrpc":"2.0","method":"fail"}"#),
            Reply::no_content()
        );
        // A 2.0 request without id that cannot be parsed is not answered as a notification.
        assert_eq!(
            run(r#"{"jsonrpc":"2.0","params":[]}"#),
            reply(
                400,
                r#"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Missing method"}}"#
            )
        );
        assert_eq!(
            run(r#"{"id":1,"method":"echo","params":{"a":[1,"x"]}}"#),
            reply(200, r#"{"result":{"a":[1,"x"]},"error":null,"id":1}"#)
        );
    }

    #[test]
    fn batches_carry_state_like_core() {
        assert_eq!(run("[]"), reply(200, "[]"));
        assert_eq!(
            run(
                r#"[{"jsonrpc":"2.0","method":"getblockcount"},{"jsonrpc":"2.0","method":"fail"}]"#
            ),
            Reply::no_content()
        );
        // A non-object element takes the id and style of the element before it...
        assert_eq!(
            run(r#"[{"jsonrpc":"2.0","id":7,"method":"getblockcount"},5]"#),
            reply(
                200,
                r#"[{"jsonrpc":"2.0","result":102,"id":7},{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request object"},"id":7}]"#
            )
        );
        // ...and is left out after a notification.
        assert_eq!(
            run(
                r#"[{"jsonrpc":"2.0","method":"getblockcount"},5,{"id":1,"method":"getblockcount"}]"#
            ),
            reply(200, r#"[{"result":102,"error":null,"id":1}]"#)
        );
    }
}

#[cfg(test)]
mod props {
    //! Property tests: any request body, bytes or JSON of any shape, gets one of Core's
    //! answers (a JSON body, or 204 for notifications) and never a panic; a 500 is only
    //! ever a JSON-RPC error object, as Core sends for a failed method.

    use proptest::prelude::*;
    use serde_json::{json, Map};

    use super::*;

    fn exec(call: &Call<'_>) -> Result<Value, RpcError> {
        match call.method {
            "echo" => Ok(call.params.clone()),
            "fail" => Err(RpcError::new(-8, "Block height out of range")),
            _ => Err(RpcError::new(
                RpcError::METHOD_NOT_FOUND,
                "Method not found",
            )),
        }
    }

    /// JSON shaped like JSON-RPC requests, and wrongly shaped ones.
    fn request() -> impl Strategy<Value = Value> {
        let id = prop_oneof![
            Just(Value::Null),
            any::<i64>().prop_map(|n| json!(n)),
            any::<String>().prop_map(Value::String),
            Just(json!([1])),
        ];
        let method = prop_oneof![
            Just(json!("echo")),
            Just(json!("fail")),
            any::<String>().prop_map(Value::String),
            any::<i64>().prop_map(|n| json!(n)),
            Just(Value::Null),
        ];
        let params = prop_oneof![
            Just(json!([])),
            Just(json!({"a": 1})),
            Just(Value::Null),
            any::<String>().prop_map(Value::String),
            any::<i64>().prop_map(|n| json!(n)),
        ];
        let version = prop_oneof![
            Just(None),
            Just(Some(json!("1.0"))),
            Just(Some(json!("2.0"))),
            any::<String>().prop_map(|v| Some(Value::String(v))),
        ];
        let object = (
            prop::option::of(id),
            prop::option::of(method),
            prop::option::of(params),
            version,
        )
            .prop_map(|(id, method, params, version)| {
                let mut map = Map::new();
                if let Some(id) = id {
                    map.insert("id".into(), id);
                }
                if let Some(method) = method {
                    map.insert("method".into(), method);
                }
                if let Some(params) = params {
                    map.insert("params".into(), params);
                }
                if let Some(version) = version {
                    map.insert("jsonrpc".into(), version);
                }
                Value::Object(map)
            });
        prop_oneof![
            3 => object.clone(),
            1 => prop::collection::vec(object, 0..5).prop_map(Value::Array),
            1 => any::<String>().prop_map(Value::String),
            1 => Just(Value::Null),
        ]
    }

    fn check(reply: &Reply) -> Result<(), TestCaseError> {
        prop_assert!(
            [200, 204, 400, 404, 500].contains(&reply.status),
            "status {}",
            reply.status
        );
        match &reply.body {
            None => prop_assert_eq!(reply.status, 204),
            Some(body) => {
                let parsed: Value = serde_json::from_str(body).expect("a JSON body");
                if reply.status == 500 {
                    prop_assert!(parsed.get("error").is_some_and(Value::is_object), "{body}");
                }
            }
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn any_bytes_get_an_answer(body in prop::collection::vec(any::<u8>(), 0..256)) {
            check(&handle_body(&body, &mut exec))?;
        }

        #[test]
        fn any_request_shape_gets_an_answer(request in request()) {
            let body = serde_json::to_vec(&request).expect("encodes");
            check(&handle_body(&body, &mut exec))?;
        }
    }
}
