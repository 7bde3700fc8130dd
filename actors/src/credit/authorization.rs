//! Spend authorizations (spec §7.2, mode 2): the provider pulls its payment with the
//! agent's BIP-340 signature over the one spend the agent authorizes — this envelope,
//! this invoice (its payment hash and amount), on this verified outcome. A signature
//! names all four, so it cannot be moved to another envelope, invoice or outcome; the
//! envelope ledger refuses one used by a settlement already.

use std::str::FromStr;

use bitcoin::hashes::{sha256, Hash};
use bitcoin::hex::FromHex;
use bitcoin::secp256k1::{schnorr, Message, Secp256k1, XOnlyPublicKey};

use crate::NodeError;

/// The tag that opens every signed spend authorization.
pub const AUTHORIZATION_TAG: &str = "openagents.credit.spend_authorization.v1";

/// The 32 bytes an agent signs to authorize paying `amount_msat` to the invoice with
/// `payment_hash` (hex) from `envelope_id` for the outcome whose verifier receipt hashes
/// to `verification_receipt_sha256` (hex): SHA-256 of the tag and the four, one per
/// line.
pub fn digest(
    envelope_id: &str,
    payment_hash: &str,
    amount_msat: u64,
    verification_receipt_sha256: &str,
) -> [u8; 32] {
    let text = format!(
        "{AUTHORIZATION_TAG}\n{envelope_id}\n{payment_hash}\n{amount_msat}\n{verification_receipt_sha256}"
    );
    sha256::Hash::hash(text.as_bytes()).to_byte_array()
}

/// Checks `signature` (hex) over `digest` by `agent_id` (an x-only key, hex).
pub fn verify(agent_id: &str, signature: &str, digest: [u8; 32]) -> Result<(), NodeError> {
    let invalid = |what: String| NodeError::AuthorizationInvalid(what);
    let key =
        XOnlyPublicKey::from_str(agent_id).map_err(|e| invalid(format!("the agent's key: {e}")))?;
    let bytes = <[u8; 64]>::from_hex(signature)
        .map_err(|e| invalid(format!("not a 64-byte signature in hex: {e}")))?;
    let signature = schnorr::Signature::from_slice(&bytes)
        .map_err(|e| invalid(format!("not a BIP-340 signature: {e}")))?;
    Secp256k1::verification_only()
        .verify_schnorr(&signature, &Message::from_digest(digest), &key)
        .map_err(|_| invalid("it is not the agent's signature of this spend".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::hex::DisplayHex;
    use bitcoin::secp256k1::{Keypair, SecretKey};

    #[test]
    fn the_agents_signature_of_the_spend_verifies_and_nothing_else_does() {
        let secp = Secp256k1::new();
        let agent = Keypair::from_secret_key(&secp, &SecretKey::from_slice(&[7; 32]).unwrap());
        let other = Keypair::from_secret_key(&secp, &SecretKey::from_slice(&[8; 32]).unwrap());
        let agent_id = agent.x_only_public_key().0.to_string();
        let hash = "ab".repeat(32);
        let verdict = "cd".repeat(32);
        let spend = digest("cepe_1", &hash, 42_000, &verdict);
        let sign = |keys: &Keypair, d: [u8; 32]| {
            secp.sign_schnorr_no_aux_rand(&Message::from_digest(d), keys)
                .serialize()
                .to_lower_hex_string()
        };
        assert!(verify(&agent_id, &sign(&agent, spend), spend).is_ok());
        // Another key, another envelope, amount, invoice or verdict: refused.
        let forged = sign(&other, spend);
        let moved = [
            digest("cepe_2", &hash, 42_000, &verdict),
            digest("cepe_1", &hash, 42_001, &verdict),
            digest("cepe_1", &"ac".repeat(32), 42_000, &verdict),
            digest("cepe_1", &hash, 42_000, &"ce".repeat(32)),
        ];
        assert!(matches!(
            verify(&agent_id, &forged, spend),
            Err(NodeError::AuthorizationInvalid(_))
        ));
        for other_spend in moved {
            assert!(matches!(
                verify(&agent_id, &sign(&agent, spend), other_spend),
                Err(NodeError::AuthorizationInvalid(_))
            ));
        }
        assert!(matches!(
            verify(&agent_id, "00", spend),
            Err(NodeError::AuthorizationInvalid(_))
        ));
    }
}
