//! [`ReceiptError`]: why a receipt could not be sealed or does not verify.

/// Why a receipt could not be sealed, or why it does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptError {
    /// The receipt is not a JSON object.
    #[error("a receipt must be a JSON object")]
    NotAnObject,
    /// The receipt holds a non-integer number, which has no canonical form here
    /// (amounts are integers of msat or sat).
    #[error("field {0}: a number that is not an integer has no canonical form")]
    NotAnInteger(String),
    /// A field is missing or has the wrong type.
    #[error("field {field}: {problem}")]
    Field {
        /// The field, as a path (`signature.scheme`).
        field: &'static str,
        /// What is wrong with it.
        problem: String,
    },
    /// The receipt's content does not hash to the digest it carries.
    #[error("the receipt was changed: its content hashes to {computed}, not {claimed}")]
    HashMismatch {
        /// The digest of the content as it is.
        computed: String,
        /// The digest the receipt claims.
        claimed: String,
    },
    /// The signature does not verify against the signer's key.
    #[error("the signature does not verify for signer {0}")]
    BadSignature(String),
    /// The receipt was signed by another key than the one expected.
    #[error("signed by {actual}, not by the expected {expected}")]
    WrongSigner {
        /// The expected x-only public key, hex.
        expected: String,
        /// The key that signed, hex.
        actual: String,
    },
    /// Serialising a receipt failed.
    #[error("encoding the receipt: {0}")]
    Encode(String),
}
