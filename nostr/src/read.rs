//! Reading back what the builders made: the handle an outbox keys its events by.

use nostr::Event;

/// The event's identifier, its `d` tag, if it has one.
///
/// Every event this crate builds carries one, and with the kind and author it names the
/// addressable event, so the outbox can tell a rebuilt event from a new one.
pub fn d_tag(event: &Event) -> Option<&str> {
    event.tags.identifier()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use nostr::{EventBuilder, JsonUtil, Kind, Tag};

    #[test]
    fn reads_the_d_tag_also_after_a_json_round_trip() {
        let keys = crate::keys::keys_from_seed(&[9u8; 32]).unwrap();
        let event = EventBuilder::new(Kind::from(30078), "")
            .tags([Tag::identifier("abc")])
            .sign_with_keys(&keys)
            .unwrap();
        assert_eq!(d_tag(&event), Some("abc"));
        let back = Event::from_json(event.as_json()).unwrap();
        assert_eq!(d_tag(&back), Some("abc"));
        let none = EventBuilder::new(Kind::from(1), "")
            .sign_with_keys(&keys)
            .unwrap();
        assert_eq!(d_tag(&none), None);
    }
}
