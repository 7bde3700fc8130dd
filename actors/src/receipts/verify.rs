//! [`verify`]: checks a sealed receipt offline.

use bitcoin::hex::{DisplayHex, FromHex};
use bitcoin::secp256k1::schnorr::Signature;
use bitcoin::secp256k1::{Message, Secp256k1, XOnlyPublicKey};
use serde_json::Value;

use super::canonical::receipt_digest;
use super::receipt_id_for;
use super::{ReceiptError, ReceiptKind, SIGNATURE_SCHEMA, SIGNATURE_SCHEME};

/// What a valid receipt says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// Its type, when its schema is one sluice issues.
    pub kind: Option<ReceiptKind>,
    /// Its schema.
    pub schema: String,
    /// Its id.
    pub receipt_id: String,
    /// The key that signed it.
    pub signer: XOnlyPublicKey,
}

fn text<'a>(value: &'a Value, field: &'static str) -> Result<&'a str, ReceiptError> {
    let mut current = value;
    for part in field.split('.') {
        current = current.get(part).ok_or(ReceiptError::Field {
            field,
            problem: "missing".into(),
        })?;
    }
    current.as_str().ok_or(ReceiptError::Field {
        field,
        problem: "not a string".into(),
    })
}

fn expect(value: &Value, field: &'static str, wanted: &str) -> Result<(), ReceiptError> {
    let found = text(value, field)?;
    if found == wanted {
        Ok(())
    } else {
        Err(ReceiptError::Field {
            field,
            problem: format!("{found:?}, expected {wanted:?}"),
        })
    }
}

/// Checks `receipt`: its content hashes to the digest it carries (twice: as
/// `canonical_json_sha256` and as the signed digest), its `receipt_id` is the one that
/// digest gives, and the signature over the digest verifies for
/// `signature.signer_pubkey` — which must be `expected_signer` when given.
pub fn verify(
    receipt: &Value,
    expected_signer: Option<&XOnlyPublicKey>,
) -> Result<Verified, ReceiptError> {
    if !receipt.is_object() {
        return Err(ReceiptError::NotAnObject);
    }
    let schema = text(receipt, "schema")?.to_owned();
    let receipt_id = text(receipt, "receipt_id")?.to_owned();
    expect(receipt, "signature.schema", SIGNATURE_SCHEMA)?;
    expect(receipt, "signature.scheme", SIGNATURE_SCHEME)?;

    let digest = receipt_digest(receipt)?;
    let computed = digest.to_lower_hex_string();
    for field in ["canonical_json_sha256", "signature.signed_sha256"] {
        let claimed = text(receipt, field)?;
        if claimed != computed {
            return Err(ReceiptError::HashMismatch {
                computed,
                claimed: claimed.to_owned(),
            });
        }
    }

    let derived_id = receipt_id_for(&digest);
    if receipt_id != derived_id {
        return Err(ReceiptError::Field {
            field: "receipt_id",
            problem: format!("{receipt_id:?}, but the content makes it {derived_id:?}"),
        });
    }

    let signer_hex = text(receipt, "signature.signer_pubkey")?;
    let signer = <[u8; 32]>::from_hex(signer_hex)
        .ok()
        .and_then(|bytes| XOnlyPublicKey::from_slice(&bytes).ok())
        .ok_or(ReceiptError::Field {
            field: "signature.signer_pubkey",
            problem: "not an x-only public key (64 hex characters)".into(),
        })?;
    if let Some(expected) = expected_signer {
        if *expected != signer {
            return Err(ReceiptError::WrongSigner {
                expected: expected.to_string(),
                actual: signer.to_string(),
            });
        }
    }
    let signature = <[u8; 64]>::from_hex(text(receipt, "signature.signature_hex")?)
        .ok()
        .and_then(|bytes| Signature::from_slice(&bytes).ok())
        .ok_or(ReceiptError::Field {
            field: "signature.signature_hex",
            problem: "not a BIP-340 signature (128 hex characters)".into(),
        })?;
    Secp256k1::verification_only()
        .verify_schnorr(&signature, &Message::from_digest(digest), &signer)
        .map_err(|_| ReceiptError::BadSignature(signer.to_string()))?;
    Ok(Verified {
        kind: ReceiptKind::from_schema(&schema),
        schema,
        receipt_id,
        signer,
    })
}
