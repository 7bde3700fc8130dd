//! Pool proof snapshots as NIP-78 application data (kind 30078): the pool's liabilities
//! root and totals at a sequence number, with a pointer to the receipt that records
//! them, so anyone can hold the node to a published snapshot.

use nostr::{Event, Keys, Tag};
use serde_json::json;

use crate::check;
use crate::error::NostrError;
use crate::kinds::POOL_SNAPSHOT;
use crate::sign::{custom, sign};

/// The `schema` value of a pool snapshot's content.
pub const SNAPSHOT_SCHEMA: &str = "openagents.liquidity.pool_snapshot.v1";

/// A pool proof snapshot as the node recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotFacts {
    /// The pool.
    pub pool_id: String,
    /// The snapshot's sequence number within the pool.
    pub seq: u64,
    /// The snapshot hash (the liabilities root), hex.
    pub root_hash: String,
    /// The pool's liabilities, msat.
    pub liabilities_msat: u64,
    /// The pool's assets, msat.
    pub assets_msat: u64,
    /// The receipt recording the snapshot.
    pub receipt_id: String,
    /// The receipt's canonical digest, 64 hex.
    pub receipt_sha256: String,
    /// When the snapshot was taken, Unix seconds.
    pub created_at: u64,
}

/// The snapshot's `d` identifier: `sluice/pool_snapshot/{pool_id}/{seq}`.
///
/// One addressable event per snapshot, so a later snapshot never replaces an earlier one.
pub fn snapshot_identifier(pool_id: &str, seq: u64) -> String {
    format!("sluice/pool_snapshot/{pool_id}/{seq}")
}

/// Builds the kind-30078 pool snapshot.
///
/// Tags: `d` ([`snapshot_identifier`]), `x` (the root hash), `receipt` (receipt id and
/// digest), `t pool_snapshot`. Content: `schema` ([`SNAPSHOT_SCHEMA`]), `pool_id`, `seq`,
/// `root_hash`, `liabilities_msat`, `assets_msat`, `receipt_id`, `receipt_sha256`.
pub fn pool_snapshot(keys: &Keys, facts: &SnapshotFacts) -> Result<Event, NostrError> {
    let pool_id = check::id("pool_id", &facts.pool_id)?;
    if pool_id.contains('/') {
        return Err(NostrError::Build(format!(
            "pool_id contains '/': {pool_id:?}"
        )));
    }
    let root_hash = check::hex("root_hash", &facts.root_hash, 64)?;
    let receipt_id = check::id("receipt_id", &facts.receipt_id)?;
    let receipt_sha256 = check::hex("receipt_sha256", &facts.receipt_sha256, 64)?;
    let tags = vec![
        Tag::identifier(snapshot_identifier(pool_id, facts.seq)),
        custom("x", [root_hash.as_str()]),
        custom("receipt", [receipt_id, receipt_sha256.as_str()]),
        custom("t", ["pool_snapshot"]),
    ];
    let content = json!({
        "schema": SNAPSHOT_SCHEMA,
        "pool_id": pool_id,
        "seq": facts.seq,
        "root_hash": root_hash,
        "liabilities_msat": facts.liabilities_msat,
        "assets_msat": facts.assets_msat,
        "receipt_id": receipt_id,
        "receipt_sha256": receipt_sha256,
    });
    sign(keys, POOL_SNAPSHOT, &content, tags, facts.created_at)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::credit::tests::{check_common, content, node, owned, tags};

    fn facts() -> SnapshotFacts {
        SnapshotFacts {
            pool_id: "pool-a".into(),
            seq: 7,
            root_hash: "11".repeat(32),
            liabilities_msat: 9_000_000,
            assets_msat: 12_000_000,
            receipt_id: "rcpt-snap-7".into(),
            receipt_sha256: "22".repeat(32),
            created_at: 1_700_000_100,
        }
    }

    #[test]
    fn snapshot_event() {
        let keys = node();
        let facts = facts();
        let event = pool_snapshot(&keys, &facts).unwrap();
        check_common(&event, &keys, 30078, facts.created_at);
        assert_eq!(
            crate::read::d_tag(&event),
            Some("sluice/pool_snapshot/pool-a/7")
        );
        let (root, digest) = ("11".repeat(32), "22".repeat(32));
        assert_eq!(
            tags(&event),
            owned(&[
                &["d", "sluice/pool_snapshot/pool-a/7"],
                &["x", &root],
                &["receipt", "rcpt-snap-7", &digest],
                &["t", "pool_snapshot"],
            ])
        );
        assert_eq!(
            content(&event),
            json!({"schema": "openagents.liquidity.pool_snapshot.v1", "pool_id": "pool-a",
                   "seq": 7, "root_hash": root, "liabilities_msat": 9_000_000,
                   "assets_msat": 12_000_000, "receipt_id": "rcpt-snap-7",
                   "receipt_sha256": digest})
        );
        assert_eq!(pool_snapshot(&keys, &facts).unwrap().id, event.id);
    }

    #[test]
    fn bad_snapshot_facts_are_errors() {
        let keys = node();
        for (bad, field) in [
            (
                SnapshotFacts {
                    root_hash: "nothex".into(),
                    ..facts()
                },
                "root_hash",
            ),
            (
                SnapshotFacts {
                    receipt_sha256: "11".into(),
                    ..facts()
                },
                "receipt_sha256",
            ),
            (
                SnapshotFacts {
                    pool_id: "a/b".into(),
                    ..facts()
                },
                "pool_id",
            ),
            (
                SnapshotFacts {
                    receipt_id: String::new(),
                    ..facts()
                },
                "receipt_id",
            ),
        ] {
            let err = pool_snapshot(&keys, &bad).unwrap_err();
            assert!(err.to_string().contains(field), "{field}: {err}");
        }
    }
}
