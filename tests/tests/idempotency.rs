//! Requests that move money or funds, retried: a keysend, an invoice payment and a
//! channel open each take an `Idempotency-Key`; the same key and body get the first
//! answer and never a second effect, another body is refused, and a request whose client
//! goes away still ends with its payment sent or failed, never left pending.
//!
//! One pair of nodes (A pays B over their channel) runs every step; A's send window
//! holds one payment, so a second waits for the first's slot.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use common::*;
use sluice_api_types::{
    paths, CreateInvoiceRequest, KeysendRequest, ListPaymentsQuery, OpenChannelRequest,
    OpenChannelResponse, PayInvoiceRequest, PaymentDirection, PaymentInfo, PaymentStatus,
};
use sluice_harness::setup::PairSpec;
use sluice_harness::{wait_for, ApiClient, Error, NodeOptions, NodeProcess};

/// A second token with the `pay` scope: keys are per token.
const OTHER_PAYER: &str = "other-payer-token";
/// What each keysend sends.
const KEYSEND_MSAT: u64 = 1_000_000;

fn keysend_to(node: &NodeProcess) -> KeysendRequest {
    KeysendRequest {
        node_id: node.node_id().into(),
        amount_msat: KEYSEND_MSAT,
        max_fee_msat: Some(10_000),
    }
}

fn refusal<T: std::fmt::Debug>(result: Result<T, Error>) -> (u16, String) {
    match result {
        Err(Error::Api { status, code, .. }) => (status, code),
        other => panic!("expected an API error, got {other:?}"),
    }
}

/// B's incoming payments.
fn received(b: &NodeProcess) -> Vec<PaymentInfo> {
    b.client()
        .list_payments(&ListPaymentsQuery {
            direction: Some(PaymentDirection::Inbound),
            ..ListPaymentsQuery::default()
        })
        .unwrap()
}

/// Waits until A's payment `id` succeeded.
fn wait_succeeded(a: &ApiClient, id: &str) {
    wait_for(&format!("payment {id} to succeed"), WAIT, || {
        let payment = a.payment(id)?;
        assert_ne!(payment.status, PaymentStatus::Failed, "{payment:?}");
        Ok((payment.status == PaymentStatus::Succeeded).then_some(()))
    })
    .unwrap();
}

/// Sends a signal to `node`'s process.
fn signal(node: &NodeProcess, name: &str) {
    let pid = node.pid().expect("the node runs").to_string();
    let status = Command::new("kill")
        .args([name, pid.as_str()])
        .status()
        .unwrap();
    assert!(status.success(), "kill {name} {pid}");
}

#[test]
fn retried_requests_have_one_effect_and_abandoned_ones_still_finish() {
    let spec = PairSpec::new(CAPACITY_SAT);
    let pair = Pair::start(&binary(), spec, |chain, i| {
        let options = NodeOptions::regtest(chain).token(OTHER_PAYER, "pay+read");
        if i == 0 {
            options.args(["--send-window", "1"])
        } else {
            options
        }
    })
    .unwrap();
    let (a, b) = (&pair.a, &pair.b);
    let payer = a.client();

    // A keysend retried with its key is one payment; B receives it once.
    let first = payer.keysend("ks-1", &keysend_to(b)).unwrap();
    let again = payer.keysend("ks-1", &keysend_to(b)).unwrap();
    assert_eq!(again.id, first.id);
    wait_succeeded(&payer, &first.id);
    let repeat = payer.keysend("ks-1", &keysend_to(b)).unwrap();
    assert_eq!(
        (repeat.id.as_str(), repeat.status),
        (first.id.as_str(), PaymentStatus::Succeeded)
    );
    // The same key with another body is refused, and sends nothing.
    let other_amount = KeysendRequest {
        amount_msat: KEYSEND_MSAT + 1,
        ..keysend_to(b)
    };
    assert_eq!(
        refusal(payer.keysend("ks-1", &other_amount)),
        (409, "idempotency_conflict".into())
    );
    // Without a key a keysend is refused: a retry could pay twice.
    let body = serde_json::to_vec(&keysend_to(b)).unwrap();
    let unkeyed = payer
        .send("POST", paths::KEYSEND, Some(body.as_slice()))
        .unwrap();
    assert_eq!(unkeyed.status, 400, "{}", unkeyed.text());

    // Concurrent retries of one key: still one payment.
    let racers: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..6)
            .map(|_| s.spawn(|| payer.keysend("ks-race", &keysend_to(b)).unwrap().id))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(racers.iter().all(|id| *id == racers[0]), "{racers:?}");
    wait_succeeded(&payer, &racers[0]);

    // Keys are per token: another token's "ks-1" is another payment.
    let other = payer.with_token(Some(OTHER_PAYER));
    let theirs = other.keysend("ks-1", &keysend_to(b)).unwrap();
    assert_ne!(theirs.id, first.id);
    wait_succeeded(&payer, &theirs.id);

    wait_for("B to receive three keysends", WAIT, || {
        Ok((received(b).len() == 3).then_some(()))
    })
    .unwrap();
    assert!(received(b)
        .iter()
        .all(|p| p.amount_msat == Some(KEYSEND_MSAT)));

    // An invoice payment retried with its key gets the first answer; another body with
    // the key is refused.
    let invoice = b
        .client()
        .create_invoice(&CreateInvoiceRequest {
            amount_msat: Some(KEYSEND_MSAT),
            description: "keyed".into(),
            expiry_secs: None,
        })
        .unwrap();
    let pay = PayInvoiceRequest {
        invoice: invoice.bolt11.clone(),
        amount_msat: None,
        max_fee_msat: None,
    };
    let keyed = [("Idempotency-Key", "inv-1")];
    let paid: PaymentInfo = payer
        .call_with_headers("POST", paths::PAYMENTS, &keyed, Some(&pay))
        .unwrap();
    wait_succeeded(&payer, &paid.id);
    let repeat: PaymentInfo = payer
        .call_with_headers("POST", paths::PAYMENTS, &keyed, Some(&pay))
        .unwrap();
    assert_eq!(
        (repeat.id.as_str(), repeat.status),
        (paid.id.as_str(), PaymentStatus::Succeeded)
    );
    let other_body = PayInvoiceRequest {
        max_fee_msat: Some(1),
        ..pay
    };
    let conflict =
        payer.call_with_headers::<PaymentInfo>("POST", paths::PAYMENTS, &keyed, Some(&other_body));
    assert_eq!(refusal(conflict), (409, "idempotency_conflict".into()));

    // A client that goes away while its keysend waits for the send window's only slot
    // (held by a payment to a B that is paused) does not leave the payment pending
    // with nothing sent.
    signal(b, "-STOP");
    let holder = payer.keysend("ks-holder", &keysend_to(b)).unwrap();
    let body = serde_json::to_vec(&keysend_to(b)).unwrap();
    let mut socket = TcpStream::connect(a.api_addr()).unwrap();
    write!(
        socket,
        "POST {} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nIdempotency-Key: ks-abandoned\r\n\
         Content-Length: {}\r\n\r\n",
        paths::KEYSEND,
        a.admin_token(),
        body.len()
    )
    .unwrap();
    socket.write_all(&body).unwrap();
    // Long enough for the payment to be recorded, shorter than the window's wait.
    std::thread::sleep(Duration::from_millis(300));
    drop(socket);
    signal(b, "-CONT");
    // The retry finds the abandoned request's payment, which went on and succeeds.
    let abandoned = payer.keysend("ks-abandoned", &keysend_to(b)).unwrap();
    assert_ne!(abandoned.id, holder.id);
    wait_succeeded(&payer, &holder.id);
    wait_succeeded(&payer, &abandoned.id);

    // A channel open retried with its key opens one channel.
    let channels = |node: &NodeProcess| node.client().list_channels().unwrap().len();
    let before = channels(a);
    let open = OpenChannelRequest {
        node_id: b.node_id().into(),
        address: None,
        capacity_sat: 100_000,
        push_msat: 0,
        announce: false,
        zero_conf: false,
    };
    let admin = a.client();
    let keyed = [("Idempotency-Key", "open-1")];
    let opened: OpenChannelResponse = admin
        .call_with_headers("POST", paths::CHANNELS, &keyed, Some(&open))
        .unwrap();
    let again: OpenChannelResponse = admin
        .call_with_headers("POST", paths::CHANNELS, &keyed, Some(&open))
        .unwrap();
    assert_eq!(again.channel_id, opened.channel_id);
    let bigger = OpenChannelRequest {
        capacity_sat: 200_000,
        ..open
    };
    let conflict = admin.call_with_headers::<OpenChannelResponse>(
        "POST",
        paths::CHANNELS,
        &keyed,
        Some(&bigger),
    );
    assert_eq!(refusal(conflict), (409, "idempotency_conflict".into()));
    wait_for("A to list the new channel", WAIT, || {
        Ok((channels(a) > before).then_some(()))
    })
    .unwrap();
    assert_eq!(channels(a), before + 1, "one channel per key");
}
