//! How to read a relay's answer (the NIP-01 `OK` message) to a published event: done,
//! try again later, or give up.
//!
//! NIP-01 gives a refusal a machine-readable prefix ending in `:`. `duplicate:` means the
//! relay already holds the event, which is what publishing wanted. `rate-limited:` and
//! `error:` are the relay's own passing trouble, so the publisher retries. `blocked:`,
//! `invalid:`, `pow:`, `restricted:` and `mute:` say this relay will not take this event
//! from this key, so retrying would only repeat the refusal. Anything else—notably the
//! client's own failures (a timeout, "relay not connected")—says nothing about the
//! event, so it is retried.

/// What the publisher should do with an event after a relay's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The relay has the event (it said OK, or that it already held it): done.
    Accepted,
    /// A passing failure; publish again later. Carries the message.
    Retry(String),
    /// The relay refuses the event for good; stop. Carries the message.
    Rejected(String),
}

/// Prefixes with which a relay says it already has the event.
const ACCEPTED_PREFIXES: [&str; 1] = ["duplicate:"];

/// Prefixes of a passing failure at the relay.
const RETRY_PREFIXES: [&str; 2] = ["rate-limited:", "error:"];

/// Prefixes of a lasting refusal.
const REJECTED_PREFIXES: [&str; 5] = ["blocked:", "invalid:", "pow:", "restricted:", "mute:"];

/// Reads a relay's answer to a published event.
///
/// `ok`: the relay said OK true; `message`: its message (or the client's error text,
/// e.g. a timeout or "relay not connected").
pub fn verdict(ok: bool, message: &str) -> Verdict {
    if ok {
        return Verdict::Accepted;
    }
    let text = message.trim_start();
    let has = |prefixes: &[&str]| prefixes.iter().any(|p| text.starts_with(p));
    if has(&ACCEPTED_PREFIXES) {
        Verdict::Accepted
    } else if has(&RETRY_PREFIXES) {
        Verdict::Retry(message.to_owned())
    } else if has(&REJECTED_PREFIXES) {
        Verdict::Rejected(message.to_owned())
    } else {
        // No known prefix: a client-side failure or an unknown reason, not a refusal.
        Verdict::Retry(message.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdict_table() {
        let retry = |m: &str| Verdict::Retry(m.to_owned());
        let rejected = |m: &str| Verdict::Rejected(m.to_owned());
        let table = [
            (true, "", Verdict::Accepted),
            (true, "error: odd but ok", Verdict::Accepted),
            (
                false,
                "duplicate: already have this event",
                Verdict::Accepted,
            ),
            (
                false,
                "rate-limited: slow down",
                retry("rate-limited: slow down"),
            ),
            (
                false,
                "error: could not store",
                retry("error: could not store"),
            ),
            (
                false,
                "blocked: you are banned",
                rejected("blocked: you are banned"),
            ),
            (
                false,
                "invalid: bad signature",
                rejected("invalid: bad signature"),
            ),
            (false, "pow: difficulty 20", rejected("pow: difficulty 20")),
            (
                false,
                "restricted: members only",
                rejected("restricted: members only"),
            ),
            (false, "mute: muted", rejected("mute: muted")),
            (false, "timeout", retry("timeout")),
            (false, "relay not connected", retry("relay not connected")),
            (false, "", retry("")),
            (false, "something new: ?", retry("something new: ?")),
        ];
        for (ok, message, expected) in table {
            assert_eq!(verdict(ok, message), expected, "{ok} {message:?}");
        }
    }
}
