//! `sluice receipt verify`: a receipt checked offline by the binary, and every way it
//! refuses one.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};

use sluice_actors::receipts::{InvoicePayReceipt, ReceiptKind, ReceiptSigner};

fn verify(file: &Path, signer: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sluice"));
    command.args(["receipt", "verify"]).arg(file);
    if let Some(signer) = signer {
        command.args(["--signer", signer]);
    }
    command.output().unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn receipt() -> InvoicePayReceipt {
    InvoicePayReceipt {
        schema: ReceiptKind::InvoicePay.schema().into(),
        quote_id: "q-7".into(),
        idempotency_key: "idem-7".into(),
        invoice_hash: "11".repeat(32),
        payment_hash: "22".repeat(32),
        payment_id: "22".repeat(32),
        host: "api.example".into(),
        quoted_amount_msats: 250_000,
        quoted_fee_msats: 10,
        max_amount_msats: 260_000,
        max_fee_msats: 1_000,
        amount_msats: 250_000,
        fee_msats: Some(12),
        status: "succeeded".into(),
        preimage_sha256: Some("33".repeat(32)),
        error_code: None,
        policy_context_sha256: "44".repeat(32),
        run_id: Some("run-1".into()),
        trajectory_hash: None,
        paid_at_ms: Some(1_700_000_000_500),
        created_at_ms: 1_700_000_000_600,
    }
}

#[test]
fn verifies_a_sealed_receipt_and_refuses_a_changed_one() {
    let dir = tempfile::tempdir().unwrap();
    let signer = ReceiptSigner::from_seed(&[3u8; 32]).unwrap();
    let sealed = signer.seal(&receipt()).unwrap();
    let file = dir.path().join("receipt.json");
    std::fs::write(&file, serde_json::to_vec_pretty(&sealed).unwrap()).unwrap();
    let pubkey = signer.public_key().to_string();

    for expected in [None, Some(pubkey.as_str())] {
        let out = verify(&file, expected);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(
            stdout(&out).starts_with(&format!(
                "valid: openagents.liquidity.invoice_pay_receipt.v1 {} signed by {pubkey}",
                sealed["receipt_id"].as_str().unwrap()
            )),
            "{}",
            stdout(&out)
        );
    }

    // Signed by someone else than the expected node.
    let other = ReceiptSigner::from_seed(&[4u8; 32]).unwrap().public_key();
    let out = verify(&file, Some(&other.to_string()));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("not by the expected"),
        "{}",
        stderr(&out)
    );

    // The amount changed after sealing.
    let mut changed = sealed.clone();
    changed["amount_msats"] = serde_json::json!(250_001);
    std::fs::write(&file, serde_json::to_vec(&changed).unwrap()).unwrap();
    let out = verify(&file, None);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("invalid receipt: the receipt was changed"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn refuses_unreadable_input_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.json");
    let out = verify(&missing, None);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("reading"), "{}", stderr(&out));

    let garbage = dir.path().join("garbage.json");
    std::fs::write(&garbage, "{not json").unwrap();
    let out = verify(&garbage, None);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("is not JSON"), "{}", stderr(&out));

    let unsigned = dir.path().join("unsigned.json");
    std::fs::write(&unsigned, serde_json::to_vec(&receipt()).unwrap()).unwrap();
    let out = verify(&unsigned, None);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("receipt_id: missing"),
        "{}",
        stderr(&out)
    );

    let out = verify(&unsigned, Some("not-a-key"));
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--signer"), "{}", stderr(&out));
}
