//! The pool routes' answers (`sluice_api_types::pools`, `pool_withdrawals`), built from
//! what the pool actor reports: records and ledger balances become the OpenAgents wire
//! shapes, with shares both as numbers for display and as exact decimal strings.

use bitcoin::hex::DisplayHex;
use sluice_actors::pool::deposits::{invoice_hash, rail_name};
use sluice_actors::pool::payouts::status_name as withdrawal_status_name;
use sluice_actors::pool::withdrawals::rail_name as withdrawal_rail_name;
use sluice_actors::pool::{
    DepositView, InclusionProof, PoolStatus, Position, Snapshot, WithdrawalView,
};
use sluice_api::time::rfc3339_ms;
use sluice_api_types::{
    Deposit, DepositQuoteResponse, InclusionProofResponse, NodeAssets, PartitionFlows,
    PartitionStatus, PoolInfo, PoolPositionResponse, PoolSnapshotResponse, PoolStatusResponse,
    PositionPartition, ProofLeaf, ProofStep, Reconciliation, SharePrice, WithdrawResponse,
    WithdrawThrottle, Withdrawal, WithdrawalFill, WithdrawalsHaltResponse,
    DEPOSIT_QUOTE_RESPONSE_SCHEMA, INCLUSION_PROOF_SCHEMA, POOL_POSITION_SCHEMA,
    POOL_SNAPSHOT_SCHEMA, POOL_STATUS_SCHEMA, WITHDRAW_RESPONSE_SCHEMA,
};
use sluice_pool::throttle::Throttle;
use sluice_pool::{Flow, PartitionBalances, PartitionKind, Price, UNITS_PER_SHARE};
use sluice_storage::{DepositStatus, FillRecord, FillState, PoolRecord};

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
        receivables_msats: p.receivables_msat,
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
            payout_fees_msats: p.flow_msat(Flow::PayoutFees),
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
        withdrawals_halted: status.record.withdrawals_halted,
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

/// A pool's withdrawal payout state on the wire, after the operator halted or resumed
/// its payouts.
pub fn withdrawals_halt(record: &PoolRecord) -> WithdrawalsHaltResponse {
    WithdrawalsHaltResponse {
        pool_id: record.pool_id.clone(),
        withdrawals_halted: record.withdrawals_halted,
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

fn fill_state_name(state: FillState) -> &'static str {
    match state {
        FillState::Sent => "sent",
        FillState::Paid => "paid",
        FillState::Reversed => "reversed",
    }
}

fn fill(fill: FillRecord) -> WithdrawalFill {
    WithdrawalFill {
        n: fill.n,
        msats: fill.msat,
        units: fill.units.to_string(),
        state: fill_state_name(fill.state).to_owned(),
        payment_id: fill.payment_id,
        batch_id: fill.batch_id,
        txid: fill.txid,
        fee_msats: fill.fee_msat,
        failure: fill.failure,
        units_returned: fill.units_returned.map(|u| u.to_string()),
    }
}

/// The payout throttle on the wire, in sat (msat rounded down).
pub fn throttle(throttle: Throttle) -> WithdrawThrottle {
    WithdrawThrottle {
        mode: throttle.mode.as_str().to_owned(),
        reasons: throttle
            .reasons
            .iter()
            .map(|r| r.as_str().to_owned())
            .collect(),
        tick_cap_sats: throttle.tick_cap_msat / 1000,
        lightning_sats: throttle.lightning_msat / 1000,
        onchain_sats: throttle.onchain_msat / 1000,
        largest_sats: throttle.largest_msat.map(|msat| msat / 1000),
    }
}

/// A withdrawal on the wire, with the payout throttle when the scheduler gave one.
pub fn withdrawal(view: WithdrawalView, throttle_now: Option<Throttle>) -> WithdrawResponse {
    let record = view.record;
    // While open, what the rest would be paid now; once ended, what was paid.
    let amount_msat = if record.status.is_open() {
        view.owed_now_msat
    } else {
        record.paid_msat
    };
    WithdrawResponse {
        schema: WITHDRAW_RESPONSE_SCHEMA.to_owned(),
        withdrawal: Withdrawal {
            withdrawal_id: record.withdrawal_id,
            pool_id: record.pool_id,
            partition_kind: record.partition.as_str().to_owned(),
            lp_id: record.lp_id,
            idempotency_key: record.idempotency_key,
            rail: withdrawal_rail_name(record.rail).to_owned(),
            status: withdrawal_status_name(record.status).to_owned(),
            shares_burned: shares(record.units_requested),
            units_locked: record.units_requested.to_string(),
            units_outstanding: record.outstanding.units.to_string(),
            value_at_request_msats: record.value_at_request_msat,
            amount_sats_estimate: amount_msat / 1000,
            paid_msats: record.paid_msat,
            needs_approval: record.needs_approval,
            emergency: record.emergency,
            approved_at: record.approved_at_ms.map(rfc3339_ms),
            payout_address: record.payout_address,
            payout_invoice_hash: record.payout_invoice.as_deref().map(invoice_hash),
            fills: record.fills.into_iter().map(fill).collect(),
            earliest_settlement_at: rfc3339_ms(record.earliest_settlement_at_ms),
            latest_settlement_at: rfc3339_ms(record.latest_settlement_at_ms),
            created_at: rfc3339_ms(record.requested_at_ms),
            ended_at: record.ended_at_ms.map(rfc3339_ms),
        },
        receipt: view.request_receipt,
        settlement_receipt: view.settlement_receipt,
        withdraw_throttle: throttle_now.map(throttle),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use sluice_pool::queue::Rail;
    use sluice_pool::throttle::{Mode, Reason};
    use sluice_pool::withdrawal::Outstanding;
    use sluice_storage::{WithdrawalRecord, WithdrawalStatus};

    use super::*;

    fn record() -> WithdrawalRecord {
        WithdrawalRecord {
            withdrawal_id: "wd_1".into(),
            pool_id: "main".into(),
            partition: PartitionKind::Cep,
            lp_id: "lp-1".into(),
            idempotency_key: "k".into(),
            rail: Rail::Lightning,
            payout_invoice: Some("lnbcrt1test".into()),
            payout_address: None,
            units_requested: 2_500_000_000,
            value_at_request_msat: 2_600_000,
            outstanding: Outstanding {
                units: 1_500_000_000,
                cap_msat: 1_600_000,
            },
            status: WithdrawalStatus::Approved,
            needs_approval: true,
            emergency: false,
            approved_by: Some("aa".repeat(32)),
            approved_at_ms: Some(1_700_000_000_000),
            fills: vec![FillRecord {
                n: 0,
                msat: 1_000_000,
                units: 1_000_000_000,
                burn_seq: 7,
                state: FillState::Reversed,
                payment_id: Some("11".repeat(32)),
                batch_id: None,
                txid: None,
                fee_msat: None,
                settle_seq: Some(8),
                burned_at_ms: 1_700_000_001_000,
                settled_at_ms: Some(1_700_000_002_000),
                failure: Some("route_not_found".into()),
                units_returned: Some(1_000_000_000),
            }],
            paid_msat: 0,
            request_receipt_id: "rcpt_1".into(),
            settlement_receipt_id: None,
            requested_at_ms: 1_699_999_999_000,
            earliest_settlement_at_ms: 1_699_999_999_000,
            latest_settlement_at_ms: 1_700_086_399_000,
            ended_at_ms: None,
        }
    }

    fn view(
        record: WithdrawalRecord,
        settlement_receipt: Option<serde_json::Value>,
    ) -> WithdrawalView {
        WithdrawalView {
            record,
            owed_now_msat: 1_555_999,
            request_receipt: json!({ "receipt_id": "rcpt_1" }),
            settlement_receipt,
        }
    }

    #[test]
    fn an_open_withdrawal_shows_what_it_would_be_paid_now() {
        let throttle_now = Throttle {
            mode: Mode::Stressed,
            reasons: vec![Reason::ChannelsDegraded, Reason::LightningFailures],
            tick_cap_msat: 500_000_999,
            lightning_msat: 300_000_000,
            onchain_msat: 999,
            largest_msat: Some(50_000_500),
        };
        let answer = withdrawal(view(record(), None), Some(throttle_now));
        assert_eq!(answer.schema, WITHDRAW_RESPONSE_SCHEMA);
        let w = &answer.withdrawal;
        assert_eq!(
            (
                w.partition_kind.as_str(),
                w.rail.as_str(),
                w.status.as_str()
            ),
            ("cep", "lightning", "approved")
        );
        assert_eq!(w.shares_burned, 2.5);
        assert_eq!(w.units_locked, "2500000000");
        assert_eq!(w.units_outstanding, "1500000000");
        assert_eq!(w.value_at_request_msats, 2_600_000);
        // Open: what the rest is worth now, rounded down to the sat.
        assert_eq!(w.amount_sats_estimate, 1_555);
        assert_eq!(w.approved_at.as_deref(), Some("2023-11-14T22:13:20.000Z"));
        assert_eq!(w.created_at, "2023-11-14T22:13:19.000Z");
        assert_eq!(w.ended_at, None);
        assert_eq!(
            w.payout_invoice_hash.as_deref(),
            Some(invoice_hash("lnbcrt1test").as_str())
        );
        assert_eq!(
            w.fills,
            vec![WithdrawalFill {
                n: 0,
                msats: 1_000_000,
                units: "1000000000".into(),
                state: "reversed".into(),
                payment_id: Some("11".repeat(32)),
                batch_id: None,
                txid: None,
                fee_msats: None,
                failure: Some("route_not_found".into()),
                units_returned: Some("1000000000".into()),
            }]
        );
        assert_eq!(answer.receipt["receipt_id"], "rcpt_1");
        assert_eq!(
            answer.withdraw_throttle,
            Some(WithdrawThrottle {
                mode: "stressed".into(),
                reasons: vec!["channels_degraded".into(), "lightning_failures".into()],
                tick_cap_sats: 500_000,
                lightning_sats: 300_000,
                onchain_sats: 0,
                largest_sats: Some(50_000),
            })
        );
    }

    fn pool_record(withdrawals_halted: bool) -> PoolRecord {
        PoolRecord {
            pool_id: "main".into(),
            name: "Main".into(),
            partitions: vec![PartitionKind::Llp],
            created_at_ms: 1_700_000_000_000,
            fees_from_height: None,
            withdrawals_halted,
        }
    }

    #[test]
    fn the_status_shows_the_halt_and_the_payout_fees() {
        let llp = PartitionBalances {
            assets_msat: 10_000_000,
            flows: [(Flow::PayoutFees, 1_234), (Flow::OnchainFees, 5_000)]
                .into_iter()
                .collect(),
            ..PartitionBalances::default()
        };
        let answer = status(PoolStatus {
            record: pool_record(true),
            partitions: vec![(PartitionKind::Llp, llp)],
            node: sluice_actors::pool::NodeAssets::default(),
            booked_msat: 10_000_000,
            at_ms: 1_700_000_000_000,
        });
        assert!(answer.withdrawals_halted);
        let flows = &answer.partitions[0].flows;
        assert_eq!(
            (flows.payout_fees_msats, flows.onchain_fees_msats),
            (1_234, 5_000)
        );

        let resumed = withdrawals_halt(&pool_record(false));
        assert_eq!(
            resumed,
            WithdrawalsHaltResponse {
                pool_id: "main".into(),
                withdrawals_halted: false,
            }
        );
        assert!(withdrawals_halt(&pool_record(true)).withdrawals_halted);
    }

    #[test]
    fn an_ended_withdrawal_shows_what_was_paid() {
        let paid = WithdrawalRecord {
            status: WithdrawalStatus::Paid,
            paid_msat: 2_400_999,
            outstanding: Outstanding {
                units: 0,
                cap_msat: 0,
            },
            ended_at_ms: Some(1_700_000_003_000),
            ..record()
        };
        let answer = withdrawal(view(paid, Some(json!({ "receipt_id": "rcpt_2" }))), None);
        let w = &answer.withdrawal;
        assert_eq!(w.status, "paid");
        assert_eq!(w.amount_sats_estimate, 2_400);
        assert_eq!(w.paid_msats, 2_400_999);
        assert_eq!(w.units_outstanding, "0");
        assert_eq!(w.ended_at.as_deref(), Some("2023-11-14T22:13:23.000Z"));
        assert_eq!(
            answer.settlement_receipt,
            Some(json!({ "receipt_id": "rcpt_2" }))
        );
        assert_eq!(answer.withdraw_throttle, None);
    }
}
