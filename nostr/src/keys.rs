//! The node's Nostr signing key: derived from its seed under a domain tag, or given
//! explicitly (hex or `nsec1…`).

use nostr::hashes::{sha256, Hash, HashEngine};
use nostr::{Keys, SecretKey};

use crate::error::NostrError;

/// Domain tag of the seed-derived Nostr key: secret = SHA-256(NOSTR_KEY_TAG || seed).
///
/// The tag keeps the Nostr key independent of every other key drawn from the same seed
/// (Lightning, on-chain), so publishing under it reveals nothing about them.
pub const NOSTR_KEY_TAG: &[u8] = b"sluice/nostr-key/v1";

/// The node's Nostr keys derived from its 32-byte seed: secret = SHA-256(tag || seed).
///
/// Deterministic, so a node restarted from the same seed publishes under the same
/// pubkey. Fails only in the (negligible) case that the digest is not a valid
/// secp256k1 secret key.
pub fn keys_from_seed(seed: &[u8; 32]) -> Result<Keys, NostrError> {
    let mut engine = sha256::Hash::engine();
    engine.input(NOSTR_KEY_TAG);
    engine.input(seed);
    let digest = sha256::Hash::from_engine(engine);
    let secret = SecretKey::from_slice(digest.as_byte_array())
        .map_err(|e| NostrError::Key(format!("derived secret is not a valid key: {e}")))?;
    Ok(Keys::new(secret))
}

/// Keys from a given secret: 64 hex characters or an `nsec1…` bech32 string.
///
/// Lets an operator publish under an existing Nostr identity instead of the
/// seed-derived one. Surrounding whitespace is ignored; the error does not repeat the
/// text, since it may be a secret.
pub fn keys_from_secret(text: &str) -> Result<Keys, NostrError> {
    let secret = SecretKey::parse(text.trim()).map_err(|_| {
        NostrError::Key("not a Nostr secret key (expected 64 hex chars or nsec1...)".into())
    })?;
    Ok(Keys::new(secret))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use nostr::ToBech32;

    #[test]
    fn seed_keys_are_deterministic_and_differ_per_seed() {
        let a1 = keys_from_seed(&[7u8; 32]).unwrap();
        let a2 = keys_from_seed(&[7u8; 32]).unwrap();
        let b = keys_from_seed(&[8u8; 32]).unwrap();
        assert_eq!(a1.public_key(), a2.public_key());
        assert_eq!(a1.secret_key(), a2.secret_key());
        assert_ne!(a1.public_key(), b.public_key());
    }

    #[test]
    fn seed_key_is_the_tagged_sha256() {
        let seed = [3u8; 32];
        let mut preimage = NOSTR_KEY_TAG.to_vec();
        preimage.extend_from_slice(&seed);
        let digest = sha256::Hash::hash(&preimage);
        let keys = keys_from_seed(&seed).unwrap();
        assert_eq!(keys.secret_key().to_secret_hex(), digest.to_string());
    }

    #[test]
    fn secret_accepts_hex_and_nsec() {
        let keys = keys_from_seed(&[1u8; 32]).unwrap();
        let hex = keys.secret_key().to_secret_hex();
        let nsec = keys.secret_key().to_bech32().unwrap();
        assert!(nsec.starts_with("nsec1"));
        assert_eq!(
            keys_from_secret(&hex).unwrap().public_key(),
            keys.public_key()
        );
        assert_eq!(
            keys_from_secret(&nsec).unwrap().public_key(),
            keys.public_key()
        );
        assert_eq!(
            keys_from_secret(&format!("  {nsec}\n"))
                .unwrap()
                .public_key(),
            keys.public_key()
        );
    }

    #[test]
    fn secret_rejects_garbage() {
        for bad in [
            "",
            "garbage",
            "nsec1qqqq",
            &"0".repeat(64),
            &"zz".repeat(32),
        ] {
            let err = keys_from_secret(bad).unwrap_err();
            assert!(matches!(err, NostrError::Key(_)), "{bad}: {err}");
        }
    }
}
