//! NIP-32 labels (kind 1985) in the `agent/credit` namespace: an agent's credit outcome
//! (success or default) attached to the agent and to the event that records it, so
//! others can read an agent's record without parsing NIP-AC content.

use nostr::{Event, Keys, Tag};

use crate::check;
use crate::error::NostrError;
use crate::kinds::{LABEL, LABEL_NAMESPACE};
use crate::sign::{custom, sign_text};

/// The outcome a credit label records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelOutcome {
    /// The credit was settled (labels a settlement).
    Success,
    /// The agent defaulted (labels a default notice).
    Default,
}

impl LabelOutcome {
    /// The label value: `"success"` or `"default"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Default => "default",
        }
    }
}

/// Builds the kind-1985 label of `agent_id`'s outcome, pointing at `event` (the
/// settlement or default notice it summarises).
///
/// Tags: `L agent/credit`, `l <outcome> agent/credit`, `p` (agent), `e` (the event's
/// id), `amount` (sats). Content is empty. It is dated as `event` is, so the label is as
/// deterministic as the event it labels.
pub fn label(
    keys: &Keys,
    agent_id: &str,
    outcome: LabelOutcome,
    event: &Event,
    amount_sats: u64,
) -> Result<Event, NostrError> {
    let tags = vec![
        custom("L", [LABEL_NAMESPACE]),
        custom("l", [outcome.as_str(), LABEL_NAMESPACE]),
        Tag::public_key(check::pubkey("agent_id", agent_id)?),
        Tag::event(event.id),
        custom("amount", [amount_sats.to_string().as_str()]),
    ];
    sign_text(keys, LABEL, String::new(), tags, event.created_at.as_secs())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::credit::tests::{agent, check_common, node, owned, tags};
    use nostr::{EventBuilder, Kind, Timestamp};

    fn labelled(keys: &Keys) -> Event {
        EventBuilder::new(Kind::from(39244), "{}")
            .custom_created_at(Timestamp::from(1_700_000_040))
            .sign_with_keys(keys)
            .unwrap()
    }

    #[test]
    fn success_and_default_labels() {
        let keys = node();
        let target = labelled(&keys);
        let a = agent();
        let id = target.id.to_hex();
        for (outcome, value) in [
            (LabelOutcome::Success, "success"),
            (LabelOutcome::Default, "default"),
        ] {
            let event = label(&keys, &a, outcome, &target, 1_200).unwrap();
            check_common(&event, &keys, 1985, 1_700_000_040);
            assert_eq!(event.content, "");
            assert_eq!(crate::read::d_tag(&event), None);
            assert_eq!(
                tags(&event),
                owned(&[
                    &["L", "agent/credit"],
                    &["l", value, "agent/credit"],
                    &["p", &a],
                    &["e", &id],
                    &["amount", "1200"],
                ])
            );
            assert_eq!(
                label(&keys, &a, outcome, &target, 1_200).unwrap().id,
                event.id
            );
        }
    }

    #[test]
    fn bad_agent_is_an_error() {
        let keys = node();
        let err = label(&keys, "zz", LabelOutcome::Success, &labelled(&keys), 1).unwrap_err();
        assert!(
            matches!(&err, NostrError::Build(m) if m.starts_with("agent_id")),
            "{err}"
        );
    }
}
