//! The step every builder ends with: tags and content in, a signed event out, with the
//! creation time taken from the facts so the same facts always give the same event id.

use nostr::{Event, EventBuilder, Keys, Kind, Tag, TagKind, Timestamp};
use serde_json::Value;

use crate::error::NostrError;

/// A tag `[name, values...]` for names nostr has no helper for (`scope`, `max`, ...).
pub(crate) fn custom<const N: usize>(name: &str, values: [&str; N]) -> Tag {
    Tag::custom(TagKind::custom(name.to_owned()), values)
}

/// Signs an event of `kind` with `keys`, dated `created_at` (Unix seconds).
///
/// Self-tagging is allowed so a `p` tag equal to the signer is never silently dropped,
/// and nothing is deduplicated or reordered: the tags appear exactly as given.
pub(crate) fn sign(
    keys: &Keys,
    kind: u16,
    content: &Value,
    tags: Vec<Tag>,
    created_at: u64,
) -> Result<Event, NostrError> {
    let content =
        serde_json::to_string(content).map_err(|e| NostrError::Build(format!("content: {e}")))?;
    sign_text(keys, kind, content, tags, created_at)
}

/// As [`sign`], with the content given as text (labels carry an empty content).
pub(crate) fn sign_text(
    keys: &Keys,
    kind: u16,
    content: String,
    tags: Vec<Tag>,
    created_at: u64,
) -> Result<Event, NostrError> {
    EventBuilder::new(Kind::from(kind), content)
        .tags(tags)
        .custom_created_at(Timestamp::from(created_at))
        .allow_self_tagging()
        .sign_with_keys(keys)
        .map_err(|e| NostrError::Build(format!("signing kind {kind}: {e}")))
}
