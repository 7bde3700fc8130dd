//! Signed receipts (ARCHITECTURE.md §7, spec §9): every money-moving action yields a typed
//! receipt that anyone can check offline.
//!
//! A receipt is a JSON object with a `schema` naming its type ([`ReceiptKind`]), a
//! `receipt_id` derived from its content ([`receipt_id_for`]: changing any field changes
//! it), and two fields that seal it:
//! - `canonical_json_sha256`: SHA-256 of the receipt's canonical JSON ([`canonical`]) with
//!   `receipt_id`, `canonical_json_sha256` and `signature` left out;
//! - `signature`: `{schema: "openagents.receipt_signature.v1", scheme:
//!   "secp256k1_schnorr_no_aux_rand", signer_pubkey, signed_sha256, signature_hex}`, a
//!   BIP-340 signature over that digest made without auxiliary randomness (so the same
//!   receipt always gets the same signature).
//!
//! [`ReceiptSigner`] seals receipts with the node's receipt key; [`verify`] checks one
//! without the node (`sluice receipt verify FILE`).

pub mod actor;
pub mod canonical;
mod error;
mod kinds;
mod signer;
mod verify;

pub use error::ReceiptError;
pub use kinds::{
    DefaultNoticeReceipt, DepositReceipt, EnvelopeIssueReceipt, EnvelopeSettlementReceipt,
    InvoicePayReceipt, LightningAssets, OnchainAssets, PoolSnapshotReceipt, RebalanceReceipt,
    ReceiptKind, SettledFill, SnapshotAssets, SnapshotChannel, SnapshotLiabilities,
    SnapshotPartition, SnapshotUtxo, WithdrawRequestReceipt, WithdrawSettlementReceipt,
};
pub use signer::ReceiptSigner;
pub use verify::{verify, Verified};

/// The `schema` of a receipt's `signature` object.
pub const SIGNATURE_SCHEMA: &str = "openagents.receipt_signature.v1";
/// The signature scheme: BIP-340 Schnorr over secp256k1, no auxiliary randomness.
pub const SIGNATURE_SCHEME: &str = "secp256k1_schnorr_no_aux_rand";
/// The fields the canonical hash leaves out: the id and the seal itself.
pub const UNHASHED_FIELDS: [&str; 3] = ["receipt_id", "canonical_json_sha256", "signature"];

/// The id of a receipt whose digest is `digest`: `rcpt_` and the digest's first 16 bytes
/// in hex. Content-addressed, so a receipt for the same action is the same receipt, and
/// an id cannot be swapped without breaking verification.
pub fn receipt_id_for(digest: &[u8; 32]) -> String {
    use bitcoin::hex::DisplayHex;
    format!("rcpt_{}", digest[..16].to_lower_hex_string())
}
