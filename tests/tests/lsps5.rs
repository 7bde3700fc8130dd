//! LSPS5 webhooks: the sender's delivery (retries, refusals, timeouts, certificates)
//! against a real HTTPS endpoint on 127.0.0.1, and an offline JIT client woken by its
//! webhook and then paid, end to end.
//!
//! ldk-node 0.7.1 has no LSPS5 client, so the webhook is registered by a bare LSPS peer
//! holding the wallet's node key while the wallet is offline; the notifications are
//! checked with lightning-liquidity's own validator (signature and replay).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::str::FromStr;

use bitcoin::bip32::Xpriv;
use bitcoin::secp256k1::PublicKey;
use bitcoin::Network;
use common::jit::{
    description, jit_setup, lsp_address, lsps2_config, menu_fee, settled, start_paying,
    wait_received, wallet_seeded,
};
use common::lsps_wire::LspsPeer;
use common::webhook_receiver::{Answer, Received, WebhookReceiver};
use common::{binary, WAIT};
use lightning_liquidity::lsps0::ser::LSPSDateTime;
use lightning_liquidity::lsps5::msgs::WebhookNotification;
use lightning_liquidity::lsps5::validator::LSPS5Validator;
use sluice_actors::lsps5::{Delivery, Lsps5Config, WebhookSender, WebhookSetupError};
use sluice_api_types::PaymentStatus;
use sluice_harness::wait_for;

/// The JIT payment, in millisatoshis.
const PAYMENT_MSAT: u64 = 50_000_000;
/// P's channel to L.
const PAYER_CHANNEL_SAT: u64 = 1_000_000;

/// Quick delivery settings trusting `receiver`'s CA (written into `dir`), allowed to
/// reach 127.0.0.1.
fn quick(receiver: &WebhookReceiver, dir: &std::path::Path) -> Lsps5Config {
    Lsps5Config {
        timeout_secs: 1,
        retry_delay_ms: 50,
        ca_file: Some(receiver.write_ca(dir)),
        allow_private_addresses: true,
        ..Lsps5Config::default()
    }
}

/// Delivers one notification-shaped body with `config` to `url`.
fn deliver(config: Lsps5Config, url: &str) -> Delivery {
    let sender = WebhookSender::new(config).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let headers = vec![("x-lsps5-signature".to_owned(), "sig".to_owned())];
    let body = r#"{"jsonrpc":"2.0","method":"lsps5.payment_incoming","params":{}}"#.to_owned();
    runtime.block_on(sender.deliver(url, body, &headers))
}

#[test]
fn a_failing_endpoint_is_tried_again_until_it_takes_the_notification() {
    let receiver = WebhookReceiver::start();
    let dir = tempfile::tempdir().unwrap();
    receiver.script(&[Answer::Status(503), Answer::Status(429)]);
    let delivery = deliver(quick(&receiver, dir.path()), &receiver.url("/hook"));
    assert_eq!(delivery, Delivery::Delivered { attempts: 3 });
    let received = receiver.received();
    assert_eq!(received.len(), 3);
    // Every attempt carries the same body and signature headers.
    for request in &received {
        assert_eq!(request.path, "/hook");
        assert_eq!(request.body, received[0].body);
        assert_eq!(request.header("x-lsps5-signature"), Some("sig"));
    }
}

#[test]
fn an_endpoint_that_refuses_the_notification_is_not_asked_again() {
    let receiver = WebhookReceiver::start();
    let dir = tempfile::tempdir().unwrap();
    receiver.script(&[Answer::Status(404)]);
    let delivery = deliver(quick(&receiver, dir.path()), &receiver.url("/gone"));
    assert_eq!(delivery, Delivery::Refused { status: 404 });
    assert_eq!(receiver.received().len(), 1);
}

#[test]
fn a_silent_endpoint_times_out_and_the_sender_gives_up() {
    let receiver = WebhookReceiver::start();
    let dir = tempfile::tempdir().unwrap();
    receiver.script(&[Answer::Silence, Answer::Silence]);
    let config = Lsps5Config {
        attempts: 2,
        ..quick(&receiver, dir.path())
    };
    let delivery = deliver(config, &receiver.url("/slow"));
    match delivery {
        Delivery::GaveUp {
            attempts: 2,
            last_error,
        } => assert!(last_error.contains("timed out"), "{last_error}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(receiver.received().len(), 2);
}

#[test]
fn an_endpoint_whose_certificate_is_not_trusted_gets_nothing() {
    let receiver = WebhookReceiver::start();
    // The public roots only: the test CA is unknown.
    let config = Lsps5Config {
        timeout_secs: 1,
        attempts: 1,
        allow_private_addresses: true,
        ..Lsps5Config::default()
    };
    match deliver(config, &receiver.url("/hook")) {
        Delivery::GaveUp { last_error, .. } => {
            assert!(last_error.contains("certificate"), "{last_error}")
        }
        other => panic!("{other:?}"),
    }
    assert!(receiver.received().is_empty());
}

/// By default a webhook may not reach into the LSP's own network: an address literal is
/// refused before anything is sent, and a name is resolved to public addresses only.
#[test]
fn webhooks_to_private_addresses_are_blocked_by_default() {
    let receiver = WebhookReceiver::start();
    let dir = tempfile::tempdir().unwrap();
    let config = Lsps5Config {
        allow_private_addresses: false,
        ..quick(&receiver, dir.path())
    };
    match deliver(config.clone(), &receiver.url("/inside")) {
        Delivery::Blocked { reason } => assert!(reason.contains("127.0.0.1"), "{reason}"),
        other => panic!("{other:?}"),
    }
    let by_name = receiver.url("/inside").replace("127.0.0.1", "localhost");
    let config = Lsps5Config {
        attempts: 1,
        ..config
    };
    match deliver(config, &by_name) {
        Delivery::GaveUp { last_error, .. } => {
            assert!(last_error.contains("no public address"), "{last_error}")
        }
        other => panic!("{other:?}"),
    }
    assert!(receiver.received().is_empty());
}

#[test]
fn a_missing_or_empty_ca_file_is_a_setup_error() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "not a certificate\n").unwrap();
    for path in [dir.path().join("missing.pem"), empty] {
        let config = Lsps5Config {
            ca_file: Some(path.clone()),
            ..Lsps5Config::default()
        };
        match WebhookSender::new(config) {
            Err(WebhookSetupError::CaFile { path: named, .. }) => {
                assert_eq!(named, path.display().to_string())
            }
            Err(other) => panic!("{path:?}: {other}"),
            Ok(_) => panic!("{path:?}: accepted"),
        }
    }
}

/// Checks `request` is a notification `method` signed by `lsp` (lightning-liquidity's
/// client-side validator: signature over timestamp and body, no replay).
fn assert_signed(validator: &LSPS5Validator, request: &Received, lsp: PublicKey, method: &str) {
    let body: serde_json::Value = serde_json::from_str(&request.body).unwrap();
    assert_eq!(body["method"], method, "{}", request.body);
    let notification: WebhookNotification = serde_json::from_str(&request.body).unwrap();
    let timestamp = LSPSDateTime::from_str(request.header("x-lsps5-timestamp").unwrap()).unwrap();
    let signature = request.header("x-lsps5-signature").unwrap();
    validator
        .validate(lsp, &timestamp, signature, &notification)
        .unwrap_or_else(|e| panic!("{method}: {e:?}"));
    assert_eq!(request.header("content-type"), Some("application/json"));
}

/// A wallet that bought a JIT channel and went offline, with a webhook registered: when
/// the payment arrives L holds it, POSTs a signed `lsps5.payment_incoming` to the webhook,
/// and waits; the wallet comes back, the channel opens and the payment goes through.
#[test]
fn an_offline_client_is_woken_by_its_webhook_and_then_paid() {
    let receiver = WebhookReceiver::start();
    let dir = tempfile::tempdir().unwrap();
    let ca = receiver.write_ca(dir.path());
    let config = format!(
        "{}[lsps5]\nca_file = {:?}\nretry_delay_ms = 100\nallow_private_addresses = true\n",
        lsps2_config("client_wait_secs = 30", 600),
        ca.display().to_string()
    );
    let binary = binary();
    let jit = jit_setup(&binary, &config, PAYER_CHANNEL_SAT, 1);
    let lsp = PublicKey::from_str(jit.l.node_id()).unwrap();
    let seed = [7u8; 64];
    let w = wallet_seeded(&jit, "sleeper", None, Some(seed));
    let invoice = w
        .bolt11_payment()
        .receive_via_jit_channel(PAYMENT_MSAT, &description("wake up"), 3600, None)
        .unwrap()
        .to_string();
    w.stop().unwrap();

    // The wallet's node key (ldk-node's: the BIP32 master key of its seed) registers the
    // webhook.
    let key = Xpriv::new_master(Network::Regtest, &seed)
        .unwrap()
        .private_key
        .secret_bytes();
    let peer = LspsPeer::connect_as(&key, lsp, jit.l.peer_addr());
    assert_eq!(peer.node_id(), w.node_id());
    let url = receiver.url("/wake/sleeper");
    let answer = peer.request(&format!(
        r#"{{"jsonrpc":"2.0","id":"hook-1","method":"lsps5.set_webhook","params":{{"app_name":"sluice-test","webhook":"{url}"}}}}"#
    ));
    assert_eq!(answer["result"]["num_webhooks"], 1, "{answer}");
    let validator = LSPS5Validator::new();
    let registered = receiver.wait_for(1);
    assert_signed(&validator, &registered[0], lsp, "lsps5.webhook_registered");
    drop(peer);
    let client = w.node_id().to_string();
    wait_for("L to see the client gone", WAIT, || {
        let peers = jit.l.client().list_peers()?;
        Ok((!peers.iter().any(|p| p.node_id == client)).then_some(()))
    })
    .unwrap();

    let started = start_paying(&jit.p, &invoice);
    let woken = receiver.wait_for(2);
    assert_eq!(
        woken.len(),
        2,
        "one notification for the payment: {woken:?}"
    );
    assert_eq!(woken[1].path, "/wake/sleeper");
    assert_signed(&validator, &woken[1], lsp, "lsps5.payment_incoming");

    w.start().unwrap();
    w.connect(lsp, lsp_address(&jit.l), true).unwrap();
    assert_eq!(
        settled(&jit.p, &started, "the payment"),
        PaymentStatus::Succeeded
    );
    assert_eq!(wait_received(&w), PAYMENT_MSAT - menu_fee(PAYMENT_MSAT));
    let metric = jit
        .l
        .client()
        .metric(r#"sluice_lsps5_webhooks_total{outcome="delivered"}"#)
        .unwrap();
    assert_eq!(metric, Some(2.0));
    // Nothing else was sent: one notification per registration and per held payment.
    assert_eq!(receiver.received().len(), 2);
    w.stop().unwrap();
}
