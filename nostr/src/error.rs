//! The crate's one error type: a key that could not be made or read, or an event that
//! could not be built from its facts.

/// Why a key or an event could not be produced.
///
/// Builders never panic on bad input; they answer with one of these so the caller can
/// log it and skip the mirror instead of losing the actor.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NostrError {
    /// A Nostr key could not be derived or parsed (the message never echoes the secret).
    #[error("nostr key: {0}")]
    Key(String),
    /// An event could not be built: a fact was invalid (named in the message) or
    /// signing failed.
    #[error("nostr event: {0}")]
    Build(String),
}
