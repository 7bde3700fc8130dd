//! Checks on the facts before they become tags: a bad fact is an error naming the
//! field, never a panic and never a silently malformed event.

use nostr::PublicKey;

use crate::error::NostrError;

/// The scope kinds NIP-AC defines: a NIP-90 job, an L402 resource, a skill.
pub(crate) const SCOPE_KINDS: [&str; 3] = ["nip90", "l402", "skill"];

/// The settlement modes the node pays in.
pub(crate) const SETTLEMENT_MODES: [&str; 3] = ["issuer_pays", "provider_pulls", "jit_pay"];

/// `text` as an x-only public key (64 hex chars, a point on the curve), or an error
/// naming `field`.
pub(crate) fn pubkey(field: &str, text: &str) -> Result<PublicKey, NostrError> {
    if !is_hex(text, 64) {
        return Err(NostrError::Build(format!(
            "{field} is not a 64-hex public key: {text:?}"
        )));
    }
    let key = PublicKey::from_hex(text)
        .map_err(|e| NostrError::Build(format!("{field} is not a valid public key: {e}")))?;
    // nostr 0.44 parses hex without checking the point; check it is on the curve.
    key.xonly()
        .map_err(|e| NostrError::Build(format!("{field} is not a valid public key: {e}")))?;
    Ok(key)
}

/// `text` if it is a non-empty identifier, or an error naming `field`.
pub(crate) fn id<'a>(field: &str, text: &'a str) -> Result<&'a str, NostrError> {
    if text.trim().is_empty() {
        return Err(NostrError::Build(format!("{field} is empty")));
    }
    Ok(text)
}

/// `text` lowercased if it is exactly `len` hex characters, or an error naming `field`.
///
/// Lowercased so the same value always gives the same content (and event id).
pub(crate) fn hex(field: &str, text: &str, len: usize) -> Result<String, NostrError> {
    if !is_hex(text, len) {
        return Err(NostrError::Build(format!(
            "{field} is not {len} hex chars: {text:?}"
        )));
    }
    Ok(text.to_ascii_lowercase())
}

/// `text` if it is one of `allowed`, or an error naming `field`.
pub(crate) fn one_of<'a>(
    field: &str,
    text: &'a str,
    allowed: &[&str],
) -> Result<&'a str, NostrError> {
    if !allowed.contains(&text) {
        return Err(NostrError::Build(format!(
            "{field} {text:?} is not one of {allowed:?}"
        )));
    }
    Ok(text)
}

/// Whether `text` is exactly `len` hex characters (either case).
fn is_hex(text: &str, len: usize) -> bool {
    text.len() == len && text.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn checks_name_the_field() {
        let err = pubkey("agent_id", "nope").unwrap_err();
        assert!(err.to_string().contains("agent_id"), "{err}");
        // 64 hex chars that are not on the curve.
        assert!(pubkey("agent_id", &"f".repeat(64)).is_err());
        assert!(id("envelope_id", " ").is_err());
        assert_eq!(id("envelope_id", "env-1").unwrap(), "env-1");
        assert!(hex("payment_hash", &"0g".repeat(32), 64).is_err());
        assert!(hex("payment_hash", &"00".repeat(31), 64).is_err());
        assert_eq!(
            hex("payment_hash", &"AB".repeat(32), 64).unwrap(),
            "ab".repeat(32)
        );
        assert!(one_of("mode", "cash", &SETTLEMENT_MODES).is_err());
        assert_eq!(
            one_of("mode", "jit_pay", &SETTLEMENT_MODES).unwrap(),
            "jit_pay"
        );
    }
}
