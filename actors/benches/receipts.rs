//! Receipt sealing and offline verification: what one ReceiptSigner actor (one core) can
//! seal per second, and what a verifier checks per second.
//!
//! `cargo bench -p sluice-actors --bench receipts`
#![allow(missing_docs, clippy::unwrap_used)]

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sluice_actors::receipts::{verify, InvoicePayReceipt, ReceiptKind, ReceiptSigner};

fn receipt(n: u64) -> InvoicePayReceipt {
    InvoicePayReceipt {
        schema: ReceiptKind::InvoicePay.schema().into(),
        quote_id: format!("quote_{n:032x}"),
        idempotency_key: format!("neobank:liq:job-{n}"),
        invoice_hash: "11".repeat(32),
        payment_hash: "22".repeat(32),
        payment_id: "33".repeat(32),
        host: "sats4ai.com".into(),
        quoted_amount_msats: 1_500_000,
        quoted_fee_msats: 1_000,
        max_amount_msats: 1_550_000,
        max_fee_msats: 50_000,
        amount_msats: 1_500_000,
        fee_msats: Some(1_000),
        status: "succeeded".into(),
        preimage_sha256: Some("44".repeat(32)),
        error_code: None,
        policy_context_sha256: "55".repeat(32),
        run_id: Some(format!("run-{n}")),
        trajectory_hash: None,
        paid_at_ms: Some(1_700_000_000_000 + n),
        created_at_ms: 1_700_000_000_000 + n,
    }
}

fn receipts(c: &mut Criterion) {
    let signer = ReceiptSigner::from_seed(&[9u8; 32]).unwrap();
    let mut group = c.benchmark_group("receipts");
    group.throughput(Throughput::Elements(1));
    let mut n = 0;
    group.bench_function("seal (canonical hash + BIP-340 sign)", |b| {
        b.iter(|| {
            n += 1;
            signer.seal(&receipt(n)).unwrap()
        })
    });
    let sealed = signer.seal(&receipt(0)).unwrap();
    let key = signer.public_key();
    group.bench_function("verify offline", |b| {
        b.iter(|| verify(&sealed, Some(&key)).unwrap())
    });
    group.finish();
}

criterion_group!(benches, receipts);
criterion_main!(benches);
