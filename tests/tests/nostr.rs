//! The Nostr mirror over a real node and real relays on 127.0.0.1 (nostr-relay-builder's
//! `LocalRelay`, fetched back with nostr-sdk's client). B runs the credit pool of the
//! credit tests and publishes to the relays in its `[nostr]` section: a whole envelope
//! lifecycle comes back as NIP-AC events with their `d` tags, tags and signatures, with
//! a NIP-32 label for each settlement and default, and a proof snapshot as a signed
//! event. A relay that is down while events are made — and B killed meanwhile — gets
//! the backlog once it is back; a relay that refuses is reported and not sent to again.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::credit::*;
use common::*;
use nostr_relay_builder::builder::{PolicyResult, RateLimit, WritePolicy};
use nostr_relay_builder::{LocalRelay, RelayBuilder};
use nostr_sdk::util::BoxedFuture;
use nostr_sdk::{Client, Event, Filter, Kind, PublicKey, TagKind};
use sluice_api_types::{CreditSettleRequest, NostrStatusResponse};
use sluice_harness::{wait_for, ApiClient, NodeProcess};

/// A relay on 127.0.0.1 in the test's own runtime, which can be stopped and started
/// again on the same port with what it stored.
struct Relay {
    runtime: tokio::runtime::Runtime,
    relay: LocalRelay,
    url: String,
}

/// Refuses every event, as a relay that does not carry credit events would.
#[derive(Debug)]
struct RefuseAll;

impl WritePolicy for RefuseAll {
    fn admit_event<'a>(&'a self, _: &'a Event, _: &'a SocketAddr) -> BoxedFuture<'a, PolicyResult> {
        Box::pin(async { PolicyResult::Reject("no credit events here".into()) })
    }
}

impl Relay {
    fn start(refuse: bool) -> Relay {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut builder = RelayBuilder::default().port(port).rate_limit(RateLimit {
            max_reqs: 500,
            notes_per_minute: 10_000,
        });
        if refuse {
            builder = builder.write_policy(RefuseAll);
        }
        let relay = LocalRelay::new(builder);
        runtime.block_on(relay.run()).unwrap();
        let url = runtime.block_on(relay.url()).to_string();
        Relay {
            runtime,
            relay,
            url,
        }
    }

    /// Stops the relay: its listener and `node`'s connection to it. `LocalRelay::shutdown`
    /// wakes only the tasks waiting for it at that moment (`Notify::notify_waiters`), so
    /// a listener or connection busy just then misses it: it is said again at each look
    /// until the port refuses connections and `node` no longer reports it connected.
    fn stop(&self, node: &NodeProcess) {
        let addr = self.url.trim_start_matches("ws://").trim_end_matches('/');
        wait_for("the relay to stop", WAIT, || {
            self.relay.shutdown();
            let refused = std::net::TcpStream::connect(addr).is_err();
            let dropped = node.client().nostr_status().is_ok_and(|s| {
                s.relays
                    .iter()
                    .any(|r| r.url == self.url && r.connection != "Connected")
            });
            Ok((refused && dropped).then_some(()))
        })
        .unwrap();
    }

    fn resume(&self) {
        self.runtime.block_on(self.relay.run()).unwrap();
    }

    /// Every event `author` published here.
    fn events(&self, author: PublicKey) -> Vec<Event> {
        self.runtime.block_on(async {
            let client = Client::default();
            client.add_relay(&self.url).await.unwrap();
            client.connect().await;
            let events = client
                .fetch_events(Filter::new().author(author), Duration::from_secs(5))
                .await
                .unwrap();
            client.shutdown().await;
            events.into_iter().collect()
        })
    }
}

/// B's credit settings with a `[nostr]` section publishing to `relays`, retrying fast.
fn config(relays: &[&Relay]) -> String {
    let urls: Vec<String> = relays.iter().map(|r| format!("{:?}", r.url)).collect();
    format!(
        "{SETTLE_CONFIG}\n[nostr]\nrelays = [{}]\nretry_min_ms = 200\nretry_max_secs = 1\nreconnect_secs = 1\n",
        urls.join(", ")
    )
}

/// The mirror's status, once the node's publisher answers (it starts with the node).
fn status(node: &NodeProcess) -> NostrStatusResponse {
    wait_for("the mirror's status", WAIT, || {
        Ok(node.client().nostr_status().ok())
    })
    .unwrap()
}

/// Waits until `relay` holds `count` events of `author`.
fn wait_events(relay: &Relay, author: PublicKey, count: usize) -> Vec<Event> {
    wait_for("the relay to hold the events", WAIT, || {
        let events = relay.events(author);
        Ok((events.len() >= count).then_some(events))
    })
    .unwrap()
}

/// The values of `event`'s first tag named `name` (after the name).
fn tag(event: &Event, name: &str) -> Vec<String> {
    event
        .tags
        .iter()
        .find(|t| t.kind() == TagKind::custom(name) || t.as_slice()[0] == name)
        .map(|t| t.as_slice()[1..].to_vec())
        .unwrap_or_else(|| panic!("{} has no {name} tag: {:?}", event.kind, event.tags))
}

fn one_of(events: &[Event], kind: u16, d: &str) -> Event {
    let found: Vec<&Event> = events
        .iter()
        .filter(|e| e.kind == Kind::Custom(kind) && e.tags.identifier() == Some(d))
        .collect();
    assert_eq!(found.len(), 1, "kind {kind} d {d}: {events:?}");
    found[0].clone()
}

fn content(event: &Event) -> serde_json::Value {
    serde_json::from_str(&event.content).unwrap()
}

#[test]
fn an_envelope_lifecycle_comes_back_from_the_relay_as_signed_nip_ac_events_and_labels() {
    let relay = Relay::start(false);
    let (_dir, pair) = pool_pair(&config(&[&relay]));
    let (a, b) = (pair.a, pair.b);
    let router: ApiClient = b.client().with_token(Some(ROUTER));
    let mirror = status(&b);
    assert!(mirror.enabled);
    let author = PublicKey::from_hex(mirror.public_key.as_deref().unwrap()).unwrap();
    deposit_by_invoice(&a, &b, POOL, LP, "lp", Some("cep"), CEP_SATS);
    let provider = provider_of(&a);

    // Agent 1 files an intent, is offered credit, takes an envelope and settles it in
    // mode 2 (its signed spend authorization).
    let agent1 = key(1);
    let filed = router
        .credit_intent(&intent(&agent1, "n1", 30_000))
        .unwrap();
    let intent_id = filed.intent.intent_id;
    let offered = router
        .credit_offer(&offer(&agent1, "job-1", 20_000, Some(&intent_id)))
        .unwrap()
        .offer;
    let issued = router
        .credit_envelope(&envelope(&offered.offer_id, &provider))
        .unwrap();
    let e1 = issued.envelope.envelope_id.clone();
    let invoice = invoice_of(&a, 12_000, "job-1");
    let paid = router
        .credit_settle(&CreditSettleRequest {
            spend_authorization: Some(authorize(1, &e1, &invoice)),
            ..settle(&e1, true, &invoice.bolt11)
        })
        .unwrap();
    assert_eq!(paid.outcome, "success");
    // Agent 2's outcome fails verification: a default.
    let agent2 = key(2);
    let e2 = issue(&router, &agent2, "job-2", 10_000, &provider);
    let failed = router
        .credit_settle(&settle(&e2, false, &invoice_of(&a, 5_000, "job-2").bolt11))
        .unwrap();
    assert_eq!(failed.outcome, "failed");
    let snapshot = b.client().take_snapshot(POOL).unwrap();

    // intent, 2 offers, 2 envelopes, authorization, settlement, default, 2 labels,
    // and the snapshot (the pool may have taken others on its cadence).
    let events = wait_events(&relay, author, 11);
    let credit = events
        .iter()
        .filter(|e| e.kind != Kind::Custom(30078))
        .count();
    assert_eq!(credit, 10, "{events:?}");
    for event in &events {
        event
            .verify()
            .expect("every event is signed by the node's key");
        assert_eq!(event.pubkey, author);
    }
    let node_key = author.to_hex();

    let e = one_of(&events, 39240, &intent_id);
    assert_eq!(tag(&e, "p"), [agent1.as_str()]);
    assert_eq!(tag(&e, "scope"), ["nip90", "job-1"]);
    assert_eq!(tag(&e, "max"), ["30000"]);
    assert_eq!(content(&e)["schema"], 1);

    let e = one_of(&events, 39241, &offered.offer_id);
    assert_eq!(tag(&e, "p"), [agent1.as_str()]);
    assert_eq!(tag(&e, "max"), ["20000"]);
    assert_eq!(tag(&e, "fee"), [format!("{}bps", offered.fee_bps)]);
    assert_eq!(tag(&e, "issuer"), [node_key.as_str()]);
    assert_eq!(tag(&e, "status"), ["offered"]);
    assert_eq!(content(&e)["intent_id"], intent_id.as_str());

    let e = one_of(&events, 39242, &e1);
    assert_eq!(tag(&e, "p"), [agent1.as_str()]);
    assert_eq!(tag(&e, "provider"), [provider.as_str()]);
    assert_eq!(tag(&e, "issuer"), [node_key.as_str()]);
    assert_eq!(tag(&e, "status"), ["accepted"]);
    assert_eq!(tag(&e, "scope"), ["nip90", "job-1"]);
    assert_eq!(tag(&e, "repay")[0], "bolt11");
    assert_eq!(
        content(&e)["issue_receipt_id"],
        issued.receipt["receipt_id"]
    );
    one_of(&events, 39242, &e2);

    let e = one_of(&events, 39243, &paid.settlement_id);
    assert_eq!(tag(&e, "credit"), [e1.as_str()]);
    assert_eq!(tag(&e, "p"), [agent1.as_str()]);
    assert_eq!(content(&e)["spend_sats"], 12_000);

    let settled = one_of(&events, 39244, &paid.settlement_id);
    assert_eq!(tag(&settled, "credit"), [e1.as_str()]);
    assert_eq!(tag(&settled, "provider"), [provider.as_str()]);
    assert_eq!(tag(&settled, "status"), ["settled"]);
    assert_eq!(
        tag(&settled, "repay"),
        ["bolt11", invoice.payment_hash.as_str()]
    );
    let body = content(&settled);
    assert_eq!(
        (body["schema"].clone(), body["spent_sats"].clone()),
        (1.into(), 12_000.into())
    );
    assert_eq!(body["outcome"], "success");
    assert_eq!(body["mode"], "provider_pulls");
    assert_eq!(body["receipt_id"], paid.receipt["receipt_id"]);

    let default_id = failed.receipt["receipt_id"].as_str().unwrap();
    let defaulted = one_of(&events, 39245, default_id);
    assert_eq!(tag(&defaulted, "credit"), [e2.as_str()]);
    assert_eq!(tag(&defaulted, "p"), [agent2.as_str()]);
    assert_eq!(tag(&defaulted, "status"), ["defaulted"]);
    assert_eq!(content(&defaulted)["reason"], "verification_failed");

    // A NIP-32 label for each: the agent, the event it rests on, the outcome.
    let labels: Vec<&Event> = events.iter().filter(|e| e.kind == Kind::Label).collect();
    assert_eq!(labels.len(), 2);
    for (agent, outcome, on) in [
        (&agent1, "success", &settled),
        (&agent2, "default", &defaulted),
    ] {
        let label = labels
            .iter()
            .find(|l| tag(l, "e") == [on.id.to_hex()])
            .unwrap_or_else(|| panic!("no label on {}", on.kind));
        assert_eq!(tag(label, "L"), ["agent/credit"]);
        assert_eq!(tag(label, "l"), [outcome, "agent/credit"]);
        assert_eq!(tag(label, "p"), [agent.as_str()]);
    }

    // The proof snapshot: its hash and its receipt.
    let d = format!("sluice/pool_snapshot/{POOL}/{}", snapshot.snapshot_seq);
    let e = one_of(&events, 30078, &d);
    assert_eq!(
        tag(&e, "x"),
        [snapshot.receipt["liabilities"]["merkle_root"]
            .as_str()
            .unwrap()]
    );
    assert_eq!(tag(&e, "receipt")[0], snapshot.receipt_id);

    // Every event reached the relay and left the outbox.
    let after = wait_for("the outbox to empty", WAIT, || {
        let s = status(&b);
        Ok((s.outbox_events == 0).then_some(s))
    })
    .unwrap();
    assert_eq!(after.relays.len(), 1);
    assert_eq!(after.relays[0].accepted, events.len() as u64);
    assert_eq!((after.relays[0].rejected, after.relays[0].pending), (0, 0));
}

#[test]
fn a_relay_that_was_down_gets_the_backlog_after_a_kill_and_a_refusing_relay_is_reported() {
    let up = Relay::start(false);
    let refusing = Relay::start(true);
    let (_dir, pair) = pool_pair(&config(&[&up, &refusing]));
    let (a, mut b) = (pair.a, pair.b);
    let router = b.client().with_token(Some(ROUTER));
    let author = PublicKey::from_hex(status(&b).public_key.as_deref().unwrap()).unwrap();
    let on = |s: &NostrStatusResponse, url: &str| {
        s.relays.iter().find(|r| r.url == url).unwrap().clone()
    };
    // A snapshot now, so that the pool's own (hourly, the first one soon after it is
    // created) does not come in the middle; then the mirror is idle.
    b.client().take_snapshot(POOL).unwrap();
    let idle = wait_for("the outbox to empty", WAIT, || {
        let s = status(&b);
        Ok((s.outbox_events == 0).then_some(s))
    })
    .unwrap();
    let refused_before = on(&idle, &refusing.url).rejected;
    assert!(refused_before >= 1, "{idle:?}");
    deposit_by_invoice(&a, &b, POOL, LP, "lp", Some("cep"), CEP_SATS);
    let provider = provider_of(&a);
    let credit_events = |relay: &Relay| -> Vec<Event> {
        let kinds = [Kind::Custom(39241), Kind::Custom(39242)];
        let events = relay.events(author);
        events
            .into_iter()
            .filter(|e| kinds.contains(&e.kind))
            .collect()
    };

    // The first envelope reaches the relay that is up (offer and envelope).
    issue(&router, &key(5), "before", 5_000, &provider);
    wait_for("the first envelope on the relay", WAIT, || {
        Ok((credit_events(&up).len() == 2).then_some(()))
    })
    .unwrap();

    // The relay goes down; two more envelopes are made, and B is killed with their
    // events in its outbox.
    up.stop(&b);
    let later: Vec<String> = (0..2)
        .map(|i| issue(&router, &key(6 + i), "while-down", 5_000, &provider))
        .collect();
    // The refusing relay has refused all six (each once); the relay that is down holds
    // up the four made while it was.
    let waiting = wait_for("the refusals and the backlog", WAIT, || {
        let s = status(&b);
        let refused = on(&s, &refusing.url).rejected - refused_before;
        Ok((refused == 6 && on(&s, &up.url).pending == 4).then_some(s))
    })
    .unwrap();
    assert_eq!(waiting.outbox_events, 4);
    let refused = on(&waiting, &refusing.url);
    assert_eq!((refused.sent, refused.accepted), (refused.rejected, 0));
    assert!(
        refused
            .last_rejection
            .as_deref()
            .is_some_and(|m| m.contains("no credit events here")),
        "{refused:?}"
    );
    let metric = format!("sluice_nostr_rejected_total{{relay=\"{}\"}}", refusing.url);
    assert_eq!(
        b.client().metric(&metric).unwrap(),
        Some(refused.rejected as f64)
    );
    assert!(on(&waiting, &up.url).last_error.is_some(), "{waiting:?}");
    b.kill().unwrap();
    b.start().unwrap();
    assert_eq!(status(&b).outbox_events, 4, "nothing is lost in the kill");

    // Back up: the backlog arrives, once each.
    up.resume();
    let events = wait_for("the backlog on the relay", WAIT, || {
        let events = credit_events(&up);
        Ok((events.len() >= 6).then_some(events))
    })
    .unwrap();
    assert_eq!(events.len(), 6, "{events:?}");
    for envelope_id in &later {
        one_of(&events, 39242, envelope_id).verify().unwrap();
    }
    let drained = wait_for("the outbox to empty", WAIT, || {
        let s = status(&b);
        Ok((s.outbox_events == 0).then_some(s))
    })
    .unwrap();
    assert_eq!(on(&drained, &up.url).accepted, 4);

    // The refusing relay answered for good before the kill: not sent to again.
    assert!(refusing.events(author).is_empty());
    let refused = on(&drained, &refusing.url);
    assert_eq!((refused.sent, refused.pending), (0, 0), "{refused:?}");
}
