//! The publisher's queue, free of I/O: which (event, relay) sends are due, and what a
//! relay's answer does to them. A send that failed for a reason that may pass (the relay
//! is down, slow, rate-limiting) is retried after a backoff that doubles up to a
//! ceiling; an accept or a lasting refusal is final for that relay. An event leaves the
//! queue when every relay has answered it for good.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use sluice_nostr::Verdict;
use sluice_storage::{DeliveryOutcome, NostrDelivery, NostrEventRecord};

/// One relay's pending send of one event.
#[derive(Debug, Clone)]
struct Pending {
    attempts: u32,
    next_at: Instant,
    in_flight: bool,
}

/// A queued event: its record and the relays it still waits on.
#[derive(Debug, Clone)]
pub struct Queued<E> {
    /// Its record (deliveries filled in as relays answer for good).
    pub record: NostrEventRecord,
    /// The event, parsed.
    pub event: E,
    pending: HashMap<String, Pending>,
}

impl<E> Queued<E> {
    /// Whether every relay has answered for good.
    pub fn finished(&self) -> bool {
        self.pending.is_empty()
    }
}

/// What a relay's answer did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answered {
    /// The relay took it (or had it).
    Accepted,
    /// The relay refused it for good.
    Rejected(String),
    /// It is sent again after `Duration`.
    Retry(String, Duration),
    /// The event or relay was not waiting (answered already).
    Stale,
}

/// Queued events in outbox order (their outbox keys), for a fixed set of relays.
#[derive(Debug)]
pub struct Queue<E> {
    relays: Vec<String>,
    retry_min: Duration,
    retry_max: Duration,
    events: BTreeMap<String, Queued<E>>,
}

impl<E> Queue<E> {
    /// An empty queue for `relays`, retrying after `retry_min` doubling to `retry_max`.
    pub fn new(relays: Vec<String>, retry_min: Duration, retry_max: Duration) -> Self {
        Queue {
            relays,
            retry_min,
            retry_max,
            events: BTreeMap::new(),
        }
    }

    /// Queues `record` under its outbox `key`, due now for every relay that has not
    /// answered it for good; false if it was queued already.
    pub fn add(&mut self, key: String, record: NostrEventRecord, event: E, now: Instant) -> bool {
        if self.events.contains_key(&key) {
            return false;
        }
        let pending = self
            .relays
            .iter()
            .filter(|relay| !record.deliveries.contains_key(*relay))
            .map(|relay| {
                let fresh = Pending {
                    attempts: 0,
                    next_at: now,
                    in_flight: false,
                };
                (relay.clone(), fresh)
            })
            .collect();
        self.events.insert(
            key,
            Queued {
                record,
                event,
                pending,
            },
        );
        true
    }

    /// Whether `key` is queued.
    pub fn contains(&self, key: &str) -> bool {
        self.events.contains_key(key)
    }

    /// Up to `limit` sends due at `now`, oldest event first, marked in flight.
    pub fn take_due(&mut self, now: Instant, limit: usize) -> Vec<(String, String)> {
        let mut due = Vec::new();
        for (key, queued) in &mut self.events {
            for relay in &self.relays {
                if due.len() >= limit {
                    return due;
                }
                if let Some(p) = queued.pending.get_mut(relay) {
                    if !p.in_flight && p.next_at <= now {
                        p.in_flight = true;
                        due.push((key.clone(), relay.clone()));
                    }
                }
            }
        }
        due
    }

    /// The event queued under `key`.
    pub fn get(&self, key: &str) -> Option<&Queued<E>> {
        self.events.get(key)
    }

    /// Records `relay`'s answer `verdict` to the event under `key`, at `now` (Unix ms
    /// `at_ms` for the record).
    pub fn answer(
        &mut self,
        key: &str,
        relay: &str,
        verdict: Verdict,
        now: Instant,
        at_ms: u64,
    ) -> Answered {
        let Some(queued) = self.events.get_mut(key) else {
            return Answered::Stale;
        };
        let Some(pending) = queued.pending.get_mut(relay) else {
            return Answered::Stale;
        };
        pending.in_flight = false;
        pending.attempts = pending.attempts.saturating_add(1);
        let (outcome, message) = match verdict {
            Verdict::Retry(message) => {
                let delay = backoff(self.retry_min, self.retry_max, pending.attempts);
                pending.next_at = now + delay;
                return Answered::Retry(message, delay);
            }
            Verdict::Accepted => (DeliveryOutcome::Accepted, String::new()),
            Verdict::Rejected(message) => (DeliveryOutcome::Rejected, message),
        };
        let attempts = pending.attempts;
        queued.pending.remove(relay);
        queued.record.deliveries.insert(
            relay.to_owned(),
            NostrDelivery {
                outcome,
                message: message.clone(),
                attempts,
                at_ms,
            },
        );
        match outcome {
            DeliveryOutcome::Accepted => Answered::Accepted,
            DeliveryOutcome::Rejected => Answered::Rejected(message),
        }
    }

    /// Takes out the event under `key` if every relay has answered it for good.
    pub fn take_finished(&mut self, key: &str) -> Option<Queued<E>> {
        if self.events.get(key).is_some_and(Queued::finished) {
            return self.events.remove(key);
        }
        None
    }

    /// How many events still wait on `relay`.
    pub fn depth(&self, relay: &str) -> usize {
        self.events
            .values()
            .filter(|q| q.pending.contains_key(relay))
            .count()
    }

    /// How many events are queued.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// When the next send not in flight falls due, if any waits.
    pub fn next_due(&self) -> Option<Instant> {
        self.events
            .values()
            .flat_map(|q| q.pending.values())
            .filter(|p| !p.in_flight)
            .map(|p| p.next_at)
            .min()
    }
}

/// The delay before attempt `attempts + 1`: `min` doubled per failed attempt, at most
/// `max`.
pub fn backoff(min: Duration, max: Duration, attempts: u32) -> Duration {
    let doublings = attempts.saturating_sub(1).min(30);
    min.saturating_mul(1u32 << doublings).min(max)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn record(id: &str) -> NostrEventRecord {
        NostrEventRecord {
            event_id: id.into(),
            kind: 39242,
            d: Some("d".into()),
            source: "s".into(),
            event_json: "{}".into(),
            queued_at_ms: 1,
            deliveries: Default::default(),
        }
    }

    fn queue() -> Queue<()> {
        Queue::new(
            vec!["ws://a".into(), "ws://b".into()],
            Duration::from_secs(1),
            Duration::from_secs(8),
        )
    }

    #[test]
    fn every_relay_gets_every_event_once_in_order() {
        let (mut q, now) = (queue(), Instant::now());
        assert!(q.add("2".into(), record("y"), (), now));
        assert!(q.add("1".into(), record("x"), (), now));
        assert!(!q.add("1".into(), record("x"), (), now));
        let due = q.take_due(now, 10);
        let expected = [
            ("1", "ws://a"),
            ("1", "ws://b"),
            ("2", "ws://a"),
            ("2", "ws://b"),
        ];
        let due: Vec<_> = due.iter().map(|(k, r)| (k.as_str(), r.as_str())).collect();
        assert_eq!(due, expected);
        // In flight: not handed out again.
        assert!(q.take_due(now, 10).is_empty());
        assert_eq!(q.take_due(now, 1).len(), 0);
    }

    #[test]
    fn a_refused_send_backs_off_and_a_final_answer_finishes_the_event() {
        let (mut q, now) = (queue(), Instant::now());
        q.add("1".into(), record("x"), (), now);
        q.take_due(now, 10);
        assert_eq!(
            q.answer("1", "ws://a", Verdict::Retry("down".into()), now, 5),
            Answered::Retry("down".into(), Duration::from_secs(1))
        );
        assert_eq!(
            q.answer("1", "ws://b", Verdict::Accepted, now, 5),
            Answered::Accepted
        );
        assert!(q.take_finished("1").is_none());
        assert_eq!((q.depth("ws://a"), q.depth("ws://b")), (1, 0));
        assert!(q.take_due(now, 10).is_empty());
        assert_eq!(q.next_due(), Some(now + Duration::from_secs(1)));
        let later = now + Duration::from_secs(1);
        assert_eq!(q.take_due(later, 10), vec![("1".into(), "ws://a".into())]);
        assert_eq!(
            q.answer(
                "1",
                "ws://a",
                Verdict::Rejected("blocked: no".into()),
                later,
                6
            ),
            Answered::Rejected("blocked: no".into())
        );
        let done = q.take_finished("1").unwrap();
        assert_eq!(
            done.record.deliveries["ws://a"].outcome,
            DeliveryOutcome::Rejected
        );
        assert_eq!(done.record.deliveries["ws://a"].attempts, 2);
        assert_eq!(
            done.record.deliveries["ws://b"].outcome,
            DeliveryOutcome::Accepted
        );
        assert!(q.is_empty());
        assert_eq!(
            q.answer("1", "ws://a", Verdict::Accepted, later, 7),
            Answered::Stale
        );
    }

    #[test]
    fn a_relay_that_answered_before_a_restart_is_not_sent_to_again() {
        let (mut q, now) = (queue(), Instant::now());
        let mut r = record("x");
        r.deliveries.insert(
            "ws://a".into(),
            NostrDelivery {
                outcome: DeliveryOutcome::Accepted,
                message: String::new(),
                attempts: 1,
                at_ms: 1,
            },
        );
        q.add("1".into(), r, (), now);
        assert_eq!(q.take_due(now, 10), vec![("1".into(), "ws://b".into())]);
    }

    #[test]
    fn backoff_doubles_to_its_ceiling() {
        let (min, max) = (Duration::from_secs(1), Duration::from_secs(8));
        let delays: Vec<u64> = (1..=6).map(|a| backoff(min, max, a).as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 8, 8]);
        assert_eq!(backoff(min, max, u32::MAX), max);
    }
}
