//! `sluice snapshot …`: offline checks of a pool's proof snapshots and LPs' inclusion
//! proofs (spec §4.3), with nothing but the files.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use bitcoin::hex::FromHex;
use bitcoin::secp256k1::XOnlyPublicKey;
use clap::Subcommand;
use serde_json::Value;
use sluice_actors::receipts::{verify, PoolSnapshotReceipt, ReceiptKind};
use sluice_api_types::InclusionProofResponse;
use sluice_pool::proof::verify_path;
use sluice_pool::{Leaf, PartitionKind, Side, Step, SumNode};

/// Snapshot commands.
#[derive(Subcommand)]
pub enum SnapshotCommand {
    /// Check a proof snapshot (the answer of `GET /v1/pools/{pool_id}/snapshots/{seq}`
    /// or its bare receipt; `-` for stdin) without the node: its signature, that its
    /// figures add up, and with `--proof` an LP's inclusion proofs against its root.
    /// Exits 0 and prints what it checked if valid, 1 with the reason if not.
    Verify {
        /// The snapshot file.
        file: PathBuf,
        /// An LP's inclusion proofs (the answer of `GET …/snapshots/{seq}/proofs/{lp_id}`).
        #[arg(long, value_name = "FILE")]
        proof: Option<PathBuf>,
        /// Also require this signer (the node's receipt key, x-only, 64 hex characters).
        #[arg(long, value_name = "PUBKEY")]
        signer: Option<String>,
    },
}

/// Runs one snapshot command; the error is the message to print.
pub fn run(command: SnapshotCommand) -> Result<(), String> {
    let SnapshotCommand::Verify {
        file,
        proof,
        signer,
    } = command;
    let expected = signer
        .map(|hex| {
            XOnlyPublicKey::from_str(&hex)
                .map_err(|e| format!("--signer {hex:?}: not an x-only public key: {e}"))
        })
        .transpose()?;
    let document = read_json(&file)?;
    // The route's answer carries the receipt; a bare receipt is accepted too.
    let receipt = match document.get("receipt") {
        Some(receipt) if receipt.is_object() => receipt.clone(),
        _ => document,
    };
    let verified =
        verify(&receipt, expected.as_ref()).map_err(|e| format!("invalid snapshot: {e}"))?;
    if verified.kind != Some(ReceiptKind::PoolSnapshot) {
        return Err(format!(
            "invalid snapshot: a {} receipt, not a pool snapshot",
            verified.schema
        ));
    }
    let snapshot: PoolSnapshotReceipt = serde_json::from_value(receipt)
        .map_err(|e| format!("invalid snapshot: not a pool snapshot receipt: {e}"))?;
    check_figures(&snapshot).map_err(|e| format!("invalid snapshot: {e}"))?;
    println!(
        "valid: snapshot {} of pool {} ({}) signed by {}: assets {} msat (on-chain {} msat in {} outputs, provable; channels {} msat in {}, operator-attested), liabilities {} msat over {} leaves, booked {} msat, drift {} msat",
        snapshot.snapshot_seq,
        snapshot.pool_id,
        verified.receipt_id,
        verified.signer,
        snapshot.assets.total_msats,
        snapshot.assets.onchain.total_msats,
        snapshot.assets.onchain.utxos.len(),
        snapshot.assets.lightning.total_msats,
        snapshot.assets.lightning.channels.len(),
        snapshot.liabilities.total_msats,
        snapshot.liabilities.leaf_count,
        snapshot.booked_msats,
        snapshot.drift_msats,
    );
    if let Some(proof) = proof {
        let proof: InclusionProofResponse = serde_json::from_value(read_json(&proof)?)
            .map_err(|e| format!("invalid proof: {e}"))?;
        check_proof(&snapshot, &verified.receipt_id, &proof)
            .map_err(|e| format!("invalid proof: {e}"))?;
    }
    Ok(())
}

fn read_json(file: &Path) -> Result<Value, String> {
    let text = if file.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin()).map_err(|e| format!("reading stdin: {e}"))?
    } else {
        std::fs::read_to_string(file).map_err(|e| format!("reading {}: {e}", file.display()))?
    };
    serde_json::from_str(&text).map_err(|e| format!("{} is not JSON: {e}", file.display()))
}

fn equal(what: &str, stated: u64, computed: u64) -> Result<(), String> {
    if stated == computed {
        Ok(())
    } else {
        Err(format!(
            "{what} is {stated} msat, its parts sum to {computed}"
        ))
    }
}

fn sum(values: impl IntoIterator<Item = u64>) -> Result<u64, String> {
    values
        .into_iter()
        .try_fold(0u64, |total, v| total.checked_add(v))
        .ok_or_else(|| "a sum overflows".to_owned())
}

/// The snapshot's figures add up: each total is the sum of its parts, the drift is the
/// assets less the books, and the pool owes its LPs no more than its books hold.
fn check_figures(s: &PoolSnapshotReceipt) -> Result<(), String> {
    let onchain = &s.assets.onchain;
    let lightning = &s.assets.lightning;
    if onchain.attestation != "provable" || lightning.attestation != "operator_attested" {
        return Err("the rails' attestations are not `provable` and `operator_attested`".into());
    }
    let utxo_msats = sum(onchain
        .utxos
        .iter()
        .map(|u| u.value_sats.saturating_mul(1000)))?;
    equal(
        "assets.onchain.total_msats",
        onchain.total_msats,
        utxo_msats,
    )?;
    let channel_msats = sum(lightning.channels.iter().map(|ch| {
        ch.spendable_msats
            .saturating_add(ch.reserve_msats)
            .saturating_add(ch.htlcs_out_msats)
    }))?;
    equal(
        "assets.lightning.total_msats",
        lightning.total_msats,
        channel_msats,
    )?;
    equal(
        "assets.total_msats",
        s.assets.total_msats,
        sum([onchain.total_msats, lightning.total_msats])?,
    )?;
    for p in &s.partitions {
        if PartitionKind::parse(&p.partition_kind).is_none() {
            return Err(format!("unknown partition {:?}", p.partition_kind));
        }
        equal(
            &format!("partition {}'s assets and receivables", p.partition_kind),
            sum([p.assets_msats, p.receivables_msats])?,
            sum([p.nav_msats, p.pending_withdrawals_msats])?,
        )?;
        if p.lp_positions_msats > p.nav_msats {
            return Err(format!(
                "partition {} owes its LPs {} msat, more than its NAV {}",
                p.partition_kind, p.lp_positions_msats, p.nav_msats
            ));
        }
    }
    equal(
        "booked_msats",
        s.booked_msats,
        sum(s.partitions.iter().map(|p| p.assets_msats))?,
    )?;
    let l = &s.liabilities;
    equal(
        "liabilities.lp_positions_msats",
        l.lp_positions_msats,
        sum(s.partitions.iter().map(|p| p.lp_positions_msats))?,
    )?;
    equal(
        "liabilities.pending_withdrawals_msats",
        l.pending_withdrawals_msats,
        sum(s.partitions.iter().map(|p| p.pending_withdrawals_msats))?,
    )?;
    equal(
        "liabilities.total_msats",
        l.total_msats,
        sum([
            l.lp_positions_msats,
            l.pending_withdrawals_msats,
            l.reserved_envelopes_msats,
        ])?,
    )?;
    let drift = i128::from(s.assets.total_msats) - i128::from(s.booked_msats);
    if i128::from(s.drift_msats) != drift {
        return Err(format!(
            "drift_msats is {}, assets less booked is {drift}",
            s.drift_msats
        ));
    }
    Ok(())
}

fn hash(field: &str, hex: &str) -> Result<[u8; 32], String> {
    <[u8; 32]>::from_hex(hex).map_err(|e| format!("{field}: not 32 bytes of hex: {e}"))
}

/// Every leaf of `proof` hashes up to the snapshot's liabilities root and sum.
fn check_proof(
    s: &PoolSnapshotReceipt,
    receipt_id: &str,
    proof: &InclusionProofResponse,
) -> Result<(), String> {
    if proof.pool_id != s.pool_id
        || proof.snapshot_seq != s.snapshot_seq
        || proof.receipt_id != receipt_id
    {
        return Err(format!(
            "the proof is for snapshot {} of pool {} ({}), not this one",
            proof.snapshot_seq, proof.pool_id, proof.receipt_id
        ));
    }
    if proof.leaves.is_empty() {
        return Err("the proof has no leaves".into());
    }
    let root = SumNode {
        hash: hash("liabilities.merkle_root", &s.liabilities.merkle_root)?,
        sum_msat: s.liabilities.lp_positions_msats,
    };
    for l in &proof.leaves {
        let partition = PartitionKind::parse(&l.partition_kind)
            .ok_or_else(|| format!("unknown partition {:?}", l.partition_kind))?;
        let leaf = Leaf {
            lp_id: proof.lp_id.clone(),
            partition,
            units: l
                .units
                .parse()
                .map_err(|e| format!("units {:?}: {e}", l.units))?,
            value_msat: l.value_msats,
            salt: hash("salt", &l.salt)?,
        };
        let path = l
            .path
            .iter()
            .map(|step| {
                Ok(Step {
                    side: Side::parse(&step.side)
                        .ok_or_else(|| format!("side {:?} is not left or right", step.side))?,
                    sibling: SumNode {
                        hash: hash("path hash", &step.hash)?,
                        sum_msat: step.sum_msats,
                    },
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        verify_path(&leaf, &path, &root).map_err(|e| {
            format!(
                "LP {}'s {} leaf is not in the snapshot: {e}",
                proof.lp_id, l.partition_kind
            )
        })?;
        println!(
            "included: LP {} in {}: {} units worth {} msat, under root {} of {} msat",
            proof.lp_id,
            l.partition_kind,
            l.units,
            l.value_msats,
            s.liabilities.merkle_root,
            s.liabilities.lp_positions_msats
        );
    }
    Ok(())
}
