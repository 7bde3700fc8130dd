//! The cluster harness builds each topology into a network that pays: every payer's
//! graph routes over every channel, and one payment per pair goes through.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use serde_json::json;
use sluice_api::types::{
    CreateInvoiceRequest, PayRequest, QuotePayRequest, PAY_REQUEST_SCHEMA, QUOTE_PAY_REQUEST_SCHEMA,
};
use sluice_loadtest::cluster::{Cluster, ClusterSpec, Topology};
use sluice_loadtest::{Error, NodeOptions};

use common::*;

/// Builds `topology` with `nodes` nodes and pays once along every pair of its plan.
fn builds_and_pays(topology: Topology, nodes: usize) {
    let spec = ClusterSpec {
        topology,
        nodes,
        capacity_sat: CAPACITY_SAT,
    };
    let cluster = Cluster::start(&binary(), spec, NodeOptions::regtest).unwrap();
    for (round, &(payer, payee)) in cluster.plan.pairs.iter().enumerate() {
        let (payer, payee) = (&cluster.nodes[payer], &cluster.nodes[payee]);
        let invoice = payee
            .client()
            .create_invoice(&CreateInvoiceRequest {
                amount_msat: Some(PAYMENT_MSAT),
                description: format!("{topology} pair {round}"),
                expiry_secs: None,
            })
            .unwrap();
        let quote = payer
            .client()
            .quote_pay(&QuotePayRequest {
                schema: QUOTE_PAY_REQUEST_SCHEMA.into(),
                idempotency_key: format!("{topology}-{round}"),
                invoice: invoice.bolt11,
                host: "cluster.test".into(),
                max_amount_msats: PAYMENT_MSAT + 100_000,
                max_fee_msats: 100_000,
                urgency: None,
                policy_context: json!({}),
                amount_msats: None,
            })
            .unwrap();
        let paid = payer
            .client()
            .pay_quote(&PayRequest {
                schema: PAY_REQUEST_SCHEMA.into(),
                quote_id: quote.quote_id,
                run_id: None,
                trajectory_hash: None,
                wait_ms: None,
            })
            .unwrap();
        assert_eq!(
            paid.status, "succeeded",
            "{topology} pair {round}: {paid:?}"
        );
    }
}

#[test]
fn a_line_of_three_pays_end_to_end() {
    builds_and_pays(Topology::Line, 3);
}

#[test]
fn a_star_of_two_payers_and_two_payees_pays_through_its_hub() {
    builds_and_pays(Topology::Star, 5);
}

#[test]
fn a_ring_of_three_pays_two_hops_around() {
    builds_and_pays(Topology::Ring, 3);
}

#[test]
fn plans_refuse_node_counts_that_do_not_fit() {
    for (topology, nodes) in [
        (Topology::Line, 1),
        (Topology::Star, 4),
        (Topology::Ring, 2),
    ] {
        let spec = ClusterSpec {
            topology,
            nodes,
            capacity_sat: CAPACITY_SAT,
        };
        assert!(
            matches!(spec.plan(), Err(Error::Usage(_))),
            "{topology} of {nodes}"
        );
    }
    let star = ClusterSpec {
        topology: Topology::Star,
        nodes: 5,
        capacity_sat: CAPACITY_SAT,
    }
    .plan()
    .unwrap();
    assert_eq!(star.channels, vec![(1, 0), (2, 0), (0, 3), (0, 4)]);
    assert_eq!(star.pairs, vec![(1, 3), (2, 4)]);
}
