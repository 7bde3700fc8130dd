//! [`ReceiptSigner`]: seals receipts with the node's receipt key.

use bitcoin::hashes::{sha256, Hash, HashEngine};
use bitcoin::hex::DisplayHex;
use bitcoin::secp256k1::{All, Keypair, Message, Secp256k1, SecretKey, XOnlyPublicKey};
use serde::Serialize;
use serde_json::{json, Value};

use super::canonical::receipt_digest;
use super::{receipt_id_for, ReceiptError, SIGNATURE_SCHEMA, SIGNATURE_SCHEME};

/// The tag the receipt key is derived under, so it is unrelated to the node's Lightning
/// and wallet keys made from the same seed.
const KEY_TAG: &[u8] = b"sluice/receipt-key/v1";

/// Seals receipts: computes their canonical digest and signs it.
pub struct ReceiptSigner {
    secp: Secp256k1<All>,
    keypair: Keypair,
}

impl ReceiptSigner {
    /// The signer for the node with `seed`: the key is SHA-256(`sluice/receipt-key/v1` ‖
    /// seed), so it survives restarts and reinstalls from the seed.
    pub fn from_seed(seed: &[u8; 32]) -> Result<Self, ReceiptError> {
        let mut engine = sha256::Hash::engine();
        engine.input(KEY_TAG);
        engine.input(seed);
        let secret = SecretKey::from_slice(&sha256::Hash::from_engine(engine).to_byte_array())
            .map_err(|e| ReceiptError::Encode(format!("deriving the receipt key: {e}")))?;
        let secp = Secp256k1::new();
        let keypair = Keypair::from_secret_key(&secp, &secret);
        Ok(ReceiptSigner { secp, keypair })
    }

    /// The x-only public key receipts are signed with (what verifiers should pin).
    pub fn public_key(&self) -> XOnlyPublicKey {
        self.keypair.x_only_public_key().0
    }

    /// `receipt` sealed: its fields plus `receipt_id` (derived from the digest, see
    /// [`receipt_id_for`]), `canonical_json_sha256` and `signature`. Sealing the same
    /// receipt again gives the same bytes.
    pub fn seal<R: Serialize>(&self, receipt: &R) -> Result<Value, ReceiptError> {
        let mut value =
            serde_json::to_value(receipt).map_err(|e| ReceiptError::Encode(e.to_string()))?;
        let digest = receipt_digest(&value)?;
        let signature = self
            .secp
            .sign_schnorr_no_aux_rand(&Message::from_digest(digest), &self.keypair);
        let digest_hex = digest.to_lower_hex_string();
        let Value::Object(fields) = &mut value else {
            return Err(ReceiptError::NotAnObject);
        };
        fields.insert("receipt_id".into(), json!(receipt_id_for(&digest)));
        fields.insert("canonical_json_sha256".into(), json!(digest_hex));
        fields.insert(
            "signature".into(),
            json!({
                "schema": SIGNATURE_SCHEMA,
                "scheme": SIGNATURE_SCHEME,
                "signer_pubkey": self.public_key().serialize().to_lower_hex_string(),
                "signed_sha256": digest_hex,
                "signature_hex": signature.serialize().to_lower_hex_string(),
            }),
        );
        Ok(value)
    }
}
