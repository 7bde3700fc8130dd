//! The pool routes' answers (`sluice_api_types::pools`), built from what the pool actor
//! reports: records and ledger balances become the OpenAgents wire shapes, with shares
//! both as numbers for display and as exact decimal strings.

use bitcoin::hex::DisplayHex;
use sluice_actors::pool::deposits::{invoice_hash, rail_name};
use sluice_actors::pool::{DepositView, InclusionProof, PoolStatus, Position, Snapshot};
use sluice_api::time::rfc3339_ms;
use sluice_api_types::{
    Deposit, DepositQuoteResponse, InclusionProofResponse, NodeAssets, PartitionFlows,
    PartitionStatus, PoolInfo, PoolPositionResponse, PoolSnapshotResponse, PoolStatusResponse,
    PositionPartition, ProofLeaf, ProofStep, Reconciliation, SharePrice,
    DEPOSIT_QUOTE_RESPONSE_SCHEMA, INCLUSION_PROOF_SCHEMA, POOL_POSITION_SCHEMA,
    POOL_SNAPSHOT_SCHEMA, POOL_STATUS_SCHEMA,
};
use sluice_pool::{Flow, PartitionBalances, PartitionKind, Price, UNITS_PER_SHARE};
use sluice_storage::{DepositStatus, PoolRecord};

/// Units as shares, for display (the exact count goes beside it as a string).
pub fn shares(units: u128) -> f64 {
    units as f64 / UNITS_PER_SHARE as f64
}

fn price(price: &Price) -> SharePrice {
    SharePrice {
        msat: price.msat.to_string(),
        units: price.units.to_string(),
    }
}

/// A pool record on the wire.
pub fn pool_info(record: &PoolRecord) -> PoolInfo {
    PoolInfo {
        pool_id: record.pool_id.clone(),
        name: record.name.clone(),
        partitions: record
            .partitions
            .iter()
            .map(|p| p.as_str().to_owned())
            .collect(),
        created_at: rfc3339_ms(record.created_at_ms),
        created_at_ms: record.created_at_ms,
    }
}

fn status_name(status: DepositStatus) -> &'static str {
    match status {
        DepositStatus::Quoted => "quoted",
        DepositStatus::Pending => "pending",
        DepositStatus::Confirmed => "confirmed",
        DepositStatus::Expired => "expired",
    }
}

/// A deposit on the wire.
pub fn deposit(view: DepositView) -> DepositQuoteResponse {
    let record = view.record;
    DepositQuoteResponse {
        schema: DEPOSIT_QUOTE_RESPONSE_SCHEMA.to_owned(),
        deposit: Deposit {
            deposit_id: record.deposit_id,
            pool_id: record.pool_id,
            partition_kind: record.partition.as_str().to_owned(),
            lp_id: record.lp_id,
            rail: rail_name(record.rail).to_owned(),
            amount_sats: record.amount_sats,
            received_msats: record.received_msat,
            share_price_sats: view.price.sats_per_share(),
            share_price: price(&view.price),
            shares_minted: record.units_minted.map(shares),
            units_minted: record.units_minted.map(|u| u.to_string()),
            status: status_name(record.status).to_owned(),
            idempotency_key: record.idempotency_key,
            invoice_hash: record.invoice_bolt11.as_deref().map(invoice_hash),
            invoice_bolt11: record.invoice_bolt11,
            payment_hash: record.payment_hash,
            deposit_address: record.deposit_address,
            required_confirmations: view.required_confirmations,
            created_at: rfc3339_ms(record.created_at_ms),
            expires_at: rfc3339_ms(record.expires_at_ms),
            confirmed_at: record.confirmed_at_ms.map(rfc3339_ms),
        },
        receipt: view.receipt.unwrap_or(serde_json::Value::Null),
    }
}

fn partition(kind: PartitionKind, open: bool, p: &PartitionBalances) -> PartitionStatus {
    let book = p.book();
    PartitionStatus {
        partition_kind: kind.as_str().to_owned(),
        open_for_deposits: open,
        assets_msats: p.assets_msat,
        pending_withdrawals_msats: p.pending_withdrawals_msat,
        nav_msats: p.nav_msat(),
        total_shares: shares(p.supply_units),
        total_units: p.supply_units.to_string(),
        share_price_sats: book.price().sats_per_share(),
        share_price: price(&book.price()),
        lp_count: p.holdings.len() as u64,
        flows: PartitionFlows {
            deposits_msats: p.flow_msat(Flow::Deposits),
            withdrawals_msats: p.flow_msat(Flow::Withdrawals),
            routing_fees_msats: p.flow_msat(Flow::RoutingFees),
            jit_fees_msats: p.flow_msat(Flow::JitFees),
            credit_fees_msats: p.flow_msat(Flow::CreditFees),
            credit_losses_msats: p.flow_msat(Flow::CreditLosses),
            rebalance_costs_msats: p.flow_msat(Flow::RebalanceCosts),
            onchain_fees_msats: p.flow_msat(Flow::OnchainFees),
        },
    }
}

/// A pool's status on the wire.
pub fn status(status: PoolStatus) -> PoolStatusResponse {
    let partitions: Vec<PartitionStatus> = status
        .partitions
        .iter()
        .map(|(kind, p)| partition(*kind, status.record.partitions.contains(kind), p))
        .collect();
    let llp = status
        .partitions
        .iter()
        .find(|(kind, _)| *kind == PartitionKind::Llp)
        .map(|(_, p)| p.clone())
        .unwrap_or_default();
    let pending_msat: u64 = status
        .partitions
        .iter()
        .map(|(_, p)| p.pending_withdrawals_msat)
        .sum();
    let node_total = status.node.total_msat();
    PoolStatusResponse {
        schema: POOL_STATUS_SCHEMA.to_owned(),
        pool: pool_info(&status.record),
        share_price_sats: llp.book().price().sats_per_share(),
        share_price: price(&llp.book().price()),
        total_shares: shares(llp.supply_units),
        pending_withdrawals_sats_estimate: pending_msat / 1000,
        partitions,
        reconciliation: Reconciliation {
            node: NodeAssets {
                onchain_msats: status.node.onchain_msat,
                channels_spendable_msats: status.node.channels_spendable_msat,
                channels_reserve_msats: status.node.channels_reserve_msat,
                htlcs_in_flight_msats: status.node.htlcs_in_flight_msat,
                total_msats: node_total,
            },
            booked_msats: status.booked_msat,
            drift_msats: status.node.drift_msat(status.booked_msat),
        },
        updated_at: rfc3339_ms(status.at_ms),
    }
}

/// An LP's position on the wire.
pub fn position(pool_id: String, lp_id: String, position: Position) -> PoolPositionResponse {
    PoolPositionResponse {
        schema: POOL_POSITION_SCHEMA.to_owned(),
        pool_id,
        lp_id,
        partitions: position
            .holdings
            .into_iter()
            .map(|(kind, units, value)| PositionPartition {
                partition_kind: kind.as_str().to_owned(),
                shares: shares(units),
                units: units.to_string(),
                value_msats: value,
            })
            .collect(),
    }
}

/// A proof snapshot on the wire.
pub fn snapshot(snapshot: Snapshot) -> PoolSnapshotResponse {
    PoolSnapshotResponse {
        schema: POOL_SNAPSHOT_SCHEMA.to_owned(),
        pool_id: snapshot.record.pool_id,
        snapshot_seq: snapshot.record.seq,
        receipt_id: snapshot.record.receipt_id,
        taken_at: rfc3339_ms(snapshot.record.taken_at_ms),
        receipt: snapshot.receipt,
    }
}

/// An LP's inclusion proofs on the wire.
pub fn inclusion_proofs(
    snapshot: Snapshot,
    lp_id: String,
    proofs: Vec<InclusionProof>,
) -> InclusionProofResponse {
    InclusionProofResponse {
        schema: INCLUSION_PROOF_SCHEMA.to_owned(),
        pool_id: snapshot.record.pool_id,
        snapshot_seq: snapshot.record.seq,
        receipt_id: snapshot.record.receipt_id,
        lp_id,
        leaves: proofs
            .into_iter()
            .map(|proof| ProofLeaf {
                partition_kind: proof.leaf.partition.as_str().to_owned(),
                units: proof.leaf.units.to_string(),
                value_msats: proof.leaf.value_msat,
                salt: proof.leaf.salt.to_lower_hex_string(),
                leaf_index: proof.index as u64,
                path: proof
                    .path
                    .iter()
                    .map(|step| ProofStep {
                        side: step.side.as_str().to_owned(),
                        hash: step.sibling.hash.to_lower_hex_string(),
                        sum_msats: step.sibling.sum_msat,
                    })
                    .collect(),
                root_hash: proof.root.hash.to_lower_hex_string(),
                root_sum_msats: proof.root.sum_msat,
            })
            .collect(),
    }
}
