//! Turning the wire types' strings and integers into checked values. Every failure is a
//! 400 `invalid_request` naming the field.

use std::str::FromStr;

use bitcoin::hex::FromHex;
use bitcoin::secp256k1::{PublicKey, XOnlyPublicKey};

use crate::backend::PeerAddress;
use crate::error::ApiError;

/// The most bitcoin there will ever be, in satoshis.
pub const MAX_SAT: u64 = 21_000_000 * 100_000_000;
/// The same, in millisatoshis.
pub const MAX_MSAT: u64 = MAX_SAT * 1000;
/// The longest invoice description BOLT11 allows, in bytes.
pub const MAX_DESCRIPTION_BYTES: usize = 639;
/// The longest invoice expiry accepted: one year.
pub const MAX_EXPIRY_SECS: u32 = 365 * 24 * 3600;
/// The longest `Idempotency-Key` accepted.
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 128;

fn invalid(field: &str, why: impl std::fmt::Display) -> ApiError {
    ApiError::InvalidRequest(format!("{field}: {why}"))
}

/// A node id: 33 bytes compressed public key, 66 hex characters.
pub fn node_id(field: &str, hex: &str) -> Result<PublicKey, ApiError> {
    if hex.len() != 66 {
        return Err(invalid(
            field,
            "expected a 33-byte compressed public key as 66 hex characters",
        ));
    }
    let bytes = <[u8; 33]>::from_hex(hex).map_err(|_| invalid(field, "not hex"))?;
    PublicKey::from_slice(&bytes).map_err(|_| invalid(field, "not a valid public key"))
}

/// A request's `schema` must be `expected`.
pub fn schema(given: &str, expected: &str) -> Result<(), ApiError> {
    if given != expected {
        return Err(invalid(
            "schema",
            format!("expected `{expected}`, got `{given}`"),
        ));
    }
    Ok(())
}

/// An x-only public key (a credit agent or provider): 64 hex characters, either case,
/// answered in lowercase.
pub fn xonly_key(field: &str, value: &str) -> Result<String, ApiError> {
    if value.len() != 64 || !value.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(invalid(
            field,
            "expected an x-only public key as 64 hex characters",
        ));
    }
    let key = value.to_ascii_lowercase();
    XOnlyPublicKey::from_str(&key).map_err(|_| invalid(field, "not a valid x-only public key"))?;
    Ok(key)
}

/// A 32-byte id (channel id, payment id): 64 hex characters.
pub fn id32(field: &str, hex: &str) -> Result<[u8; 32], ApiError> {
    if hex.len() != 64 {
        return Err(invalid(field, "expected 32 bytes as 64 hex characters"));
    }
    <[u8; 32]>::from_hex(hex).map_err(|_| invalid(field, "not hex"))
}

/// A peer address, `host:port`.
pub fn peer_address(field: &str, address: &str) -> Result<PeerAddress, ApiError> {
    address.parse().map_err(|why: String| invalid(field, why))
}

/// An amount in satoshis, above zero and at most 21 million bitcoin.
pub fn positive_sat(field: &str, amount: u64) -> Result<u64, ApiError> {
    if amount == 0 || amount > MAX_SAT {
        return Err(invalid(field, format!("must be between 1 and {MAX_SAT}")));
    }
    Ok(amount)
}

/// An amount in millisatoshis, above zero and at most 21 million bitcoin.
pub fn positive_msat(field: &str, amount: u64) -> Result<u64, ApiError> {
    if amount == 0 || amount > MAX_MSAT {
        return Err(invalid(field, format!("must be between 1 and {MAX_MSAT}")));
    }
    Ok(amount)
}

/// An `Idempotency-Key` header: 1 to 128 visible ASCII characters.
pub fn idempotency_key(value: &[u8]) -> Result<String, ApiError> {
    let field = "Idempotency-Key";
    if value.is_empty() || value.len() > MAX_IDEMPOTENCY_KEY_LEN {
        return Err(invalid(
            field,
            format!("must be 1 to {MAX_IDEMPOTENCY_KEY_LEN} characters"),
        ));
    }
    if !value.iter().all(u8::is_ascii_graphic) {
        return Err(invalid(field, "must be visible ASCII characters"));
    }
    Ok(String::from_utf8_lossy(value).into_owned())
}

/// A caller-chosen label (idempotency key, quote id, run id): 1 to `max` visible ASCII
/// characters.
pub fn token(field: &str, value: &str, max: usize) -> Result<String, ApiError> {
    if value.is_empty() || value.len() > max {
        return Err(invalid(field, format!("must be 1 to {max} characters")));
    }
    if !value.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(invalid(field, "must be visible ASCII characters"));
    }
    Ok(value.to_owned())
}

/// Free text (a host name, a description): 1 to `max` bytes, no control characters.
pub fn text(field: &str, value: &str, max: usize) -> Result<String, ApiError> {
    if value.trim().is_empty() || value.len() > max {
        return Err(invalid(field, format!("must be 1 to {max} bytes")));
    }
    if value.chars().any(char::is_control) {
        return Err(invalid(field, "must not hold control characters"));
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NODE: &str = "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798";

    #[test]
    fn node_ids() {
        assert!(node_id("n", NODE).is_ok());
        assert!(node_id("n", &NODE[..64]).is_err());
        assert!(node_id("n", &NODE.replace('7', "g")).is_err());
        // Right length and hex, but not on the curve.
        assert!(node_id("n", &format!("05{}", &NODE[2..])).is_err());
    }

    #[test]
    fn peer_addresses() {
        for ok in [
            "127.0.0.1:9735",
            "example.com:1",
            "[::1]:9735",
            "abc.onion:9735",
        ] {
            let parsed = peer_address("a", ok).expect(ok);
            assert_eq!(parsed.to_string(), ok);
        }
        for bad in [
            "127.0.0.1",
            "host:0",
            "host:65536",
            ":9735",
            "::1:9735",
            "[nope]:1",
            "a b:1",
        ] {
            assert!(peer_address("a", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn amounts() {
        assert!(positive_sat("x", 0).is_err());
        assert!(positive_sat("x", MAX_SAT + 1).is_err());
        assert_eq!(positive_msat("x", 1), Ok(1));
    }

    #[test]
    fn tokens_and_text() {
        assert_eq!(token("t", "quote_ab", 64), Ok("quote_ab".into()));
        assert!(token("t", "", 64).is_err());
        assert!(token("t", "a b", 64).is_err());
        assert!(token("t", "é", 64).is_err());
        assert!(token("t", &"a".repeat(65), 64).is_err());
        assert_eq!(text("h", "sats4ai.com", 255), Ok("sats4ai.com".into()));
        assert!(text("h", " ", 255).is_err());
        assert!(text("h", "a\nb", 255).is_err());
        assert!(text("h", &"a".repeat(256), 255).is_err());
    }

    #[test]
    fn idempotency_keys() {
        assert!(idempotency_key(b"abc-123").is_ok());
        assert!(idempotency_key(b"").is_err());
        assert!(idempotency_key(b"a b").is_err());
        assert!(idempotency_key(&[b'a'; 129]).is_err());
    }
}
