//! JSON-RPC errors with Bitcoin Core's codes.

/// An error answered to a JSON-RPC call, as Bitcoin Core would: a numeric code from
/// Core's `RPCErrorCode` and a message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("RPC error {code}: {message}")]
pub struct RpcError {
    /// Bitcoin Core's error code (see the constants on this type).
    pub code: i32,
    /// Human-readable message, worded like Core's where clients might match on it.
    pub message: String,
}

impl RpcError {
    /// -32600: the request is not a valid JSON-RPC request.
    pub const INVALID_REQUEST: i32 = -32600;
    /// -32601: no such method.
    pub const METHOD_NOT_FOUND: i32 = -32601;
    /// -32602: invalid method parameters.
    pub const INVALID_PARAMS: i32 = -32602;
    /// -32603: internal error.
    pub const INTERNAL_ERROR: i32 = -32603;
    /// -32700: the body is not valid JSON.
    pub const PARSE_ERROR: i32 = -32700;
    /// -1: misc error (also: wrong number of parameters, with the help text).
    pub const MISC_ERROR: i32 = -1;
    /// -3: unexpected type passed as parameter.
    pub const TYPE_ERROR: i32 = -3;
    /// -5: invalid address or key / not found.
    pub const INVALID_ADDRESS_OR_KEY: i32 = -5;
    /// -8: invalid, missing or duplicate parameter.
    pub const INVALID_PARAMETER: i32 = -8;
    /// -18: the requested wallet does not exist or is not loaded.
    pub const WALLET_NOT_FOUND: i32 = -18;
    /// -22: error parsing or validating a structure in raw format.
    pub const DESERIALIZATION_ERROR: i32 = -22;
    /// -25: general error during transaction or block submission (missing inputs, max fee).
    pub const VERIFY_ERROR: i32 = -25;
    /// -26: transaction or block rejected by network rules.
    pub const VERIFY_REJECTED: i32 = -26;
    /// -27: transaction already in the chain.
    pub const VERIFY_ALREADY_IN_CHAIN: i32 = -27;

    /// An error with `code` and `message`.
    pub fn new(code: i32, message: impl Into<String>) -> Self {
        RpcError {
            code,
            message: message.into(),
        }
    }
}
