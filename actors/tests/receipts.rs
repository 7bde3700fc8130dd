//! Receipts: the canonical hash against vectors written out by hand, sealing, and
//! offline verification that fails when anything is changed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{json, Value};
use sluice_actors::receipts::{
    canonical, receipt_id_for, verify, InvoicePayReceipt, ReceiptError, ReceiptKind, ReceiptSigner,
};

fn failed_payment() -> InvoicePayReceipt {
    InvoicePayReceipt {
        schema: ReceiptKind::InvoicePay.schema().into(),
        quote_id: "q-1".into(),
        idempotency_key: "idem-1".into(),
        invoice_hash: "aa".into(),
        payment_hash: "bb".into(),
        payment_id: "dd".into(),
        host: "api.example".into(),
        quoted_amount_msats: 1_000,
        quoted_fee_msats: 3,
        max_amount_msats: 1_010,
        max_fee_msats: 10,
        amount_msats: 1_000,
        fee_msats: None,
        status: "failed".into(),
        preimage_sha256: None,
        error_code: Some("route_not_found".into()),
        policy_context_sha256: "cc".into(),
        run_id: None,
        trajectory_hash: None,
        paid_at_ms: None,
        created_at_ms: 1_700_000_000_000,
    }
}

fn signer() -> ReceiptSigner {
    ReceiptSigner::from_seed(&[7u8; 32]).unwrap()
}

fn hex(bytes: &[u8]) -> String {
    bitcoin::hex::DisplayHex::to_lower_hex_string(bytes)
}

/// Keys sorted by their bytes at every depth (`A` < `a` < `b` < `é`), no whitespace,
/// escapes as JSON requires, non-ASCII kept as UTF-8. The digest is `sha256sum` of the
/// expected text.
#[test]
fn canonical_json_matches_a_vector_written_by_hand() {
    let value = json!({"b": 1, "é": "ünï", "a": {"z": null, "y": [3, "x\"y", true]}, "A": -2});
    let expected = r#"{"A":-2,"a":{"y":[3,"x\"y",true],"z":null},"b":1,"é":"ünï"}"#;
    assert_eq!(canonical::to_string(&value).unwrap(), expected);
    let digest = canonical::receipt_digest(&value).unwrap();
    assert_eq!(
        hex(&digest),
        "4bd7aa456f0da5834738ebcb4cee98a9f4f7493de7e25c93ec077f525b275c5f"
    );
}

/// A receipt's absent optionals are hashed as `null`; the sealing fields are left out.
/// The digest is `sha256sum` of the expected text.
#[test]
fn a_receipt_hashes_its_absent_optionals_as_null() {
    let sealed = signer().seal(&failed_payment()).unwrap();
    let expected = concat!(
        r#"{"amount_msats":1000,"created_at_ms":1700000000000,"error_code":"route_not_found","#,
        r#""fee_msats":null,"host":"api.example","idempotency_key":"idem-1","invoice_hash":"aa","#,
        r#""max_amount_msats":1010,"max_fee_msats":10,"#,
        r#""paid_at_ms":null,"payment_hash":"bb","payment_id":"dd","policy_context_sha256":"cc","#,
        r#""preimage_sha256":null,"quote_id":"q-1","quoted_amount_msats":1000,"quoted_fee_msats":3,"run_id":null,"#,
        r#""schema":"openagents.liquidity.invoice_pay_receipt.v1","status":"failed","#,
        r#""trajectory_hash":null}"#
    );
    let digest = "3bd824daa5ea4452c2974884ddfdb80afb29107733111abf16a9c2fc8b22a03c";
    let unsealed = serde_json::to_value(failed_payment()).unwrap();
    assert_eq!(canonical::to_string(&unsealed).unwrap(), expected);
    assert_eq!(sealed["canonical_json_sha256"], digest);
    assert_eq!(sealed["signature"]["signed_sha256"], digest);
    assert_eq!(sealed["receipt_id"], format!("rcpt_{}", &digest[..32]));
}

#[test]
fn sealed_receipts_verify_offline_and_sealing_is_deterministic() {
    let signer = signer();
    let sealed = signer.seal(&failed_payment()).unwrap();
    assert_eq!(sealed, signer.seal(&failed_payment()).unwrap());

    let verified = verify(&sealed, Some(&signer.public_key())).unwrap();
    assert_eq!(verified.kind, Some(ReceiptKind::InvoicePay));
    assert_eq!(verified.signer, signer.public_key());
    let digest = canonical::receipt_digest(&sealed).unwrap();
    assert_eq!(verified.receipt_id, receipt_id_for(&digest));

    // Another node's key is not the expected signer.
    let other = ReceiptSigner::from_seed(&[8u8; 32]).unwrap();
    assert!(matches!(
        verify(&sealed, Some(&other.public_key())),
        Err(ReceiptError::WrongSigner { .. })
    ));
}

/// Every leaf of a sealed receipt, as a JSON pointer.
fn leaves(value: &Value, pointer: String, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                leaves(child, format!("{pointer}/{key}"), out);
            }
        }
        _ => out.push(pointer),
    }
}

/// Changing any field (content, id, digest, signature parts) fails verification.
#[test]
fn changing_any_field_fails_verification() {
    let signer = signer();
    let sealed = signer.seal(&failed_payment()).unwrap();
    let mut pointers = Vec::new();
    leaves(&sealed, String::new(), &mut pointers);
    assert!(pointers.len() >= 20, "{pointers:?}");
    for pointer in pointers {
        let mut changed = sealed.clone();
        let field = changed.pointer_mut(&pointer).unwrap();
        *field = match field.take() {
            Value::Null => json!("x"),
            Value::Number(n) => json!(n.as_u64().unwrap() + 1),
            Value::String(s) if s.len() == 64 || s.len() == 128 => {
                // A hex digest, key or signature: change its last digit.
                let other = if s.ends_with('0') { '1' } else { '0' };
                json!(format!("{}{other}", &s[..s.len() - 1]))
            }
            Value::String(s) => json!(format!("{s}!")),
            other => panic!("{pointer}: unexpected {other}"),
        };
        assert!(
            verify(&changed, None).is_err(),
            "changing {pointer} went unnoticed"
        );
    }

    // So does adding or removing a field.
    let mut added = sealed.clone();
    added["extra"] = json!(1);
    assert!(matches!(
        verify(&added, None),
        Err(ReceiptError::HashMismatch { .. })
    ));
    let mut removed = sealed.clone();
    removed.as_object_mut().unwrap().remove("run_id");
    assert!(verify(&removed, None).is_err());
}

#[test]
fn non_integer_numbers_have_no_canonical_form() {
    assert_eq!(
        canonical::to_string(&json!({"a": {"b": 1.5}})),
        Err(ReceiptError::NotAnInteger("a.b".into()))
    );
    assert_eq!(
        canonical::receipt_digest(&json!([1])),
        Err(ReceiptError::NotAnObject)
    );
}

#[test]
fn every_kind_has_its_own_schema() {
    for kind in ReceiptKind::ALL {
        assert_eq!(ReceiptKind::from_schema(kind.schema()), Some(kind));
    }
    assert_eq!(
        ReceiptKind::from_schema("openagents.liquidity.other.v1"),
        None
    );
}
