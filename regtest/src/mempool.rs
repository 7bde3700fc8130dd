//! The mempool: unconfirmed transactions, the outputs they spend, and the graph between
//! them. Acceptance rules live with the chain state (`accept.rs`), which owns the UTXO
//! set they are checked against.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use bitcoin::{Amount, OutPoint, Transaction, TxOut, Txid, Wtxid};

/// One unconfirmed transaction.
#[derive(Clone, Debug)]
pub struct MempoolEntry {
    /// The transaction.
    pub tx: Arc<Transaction>,
    /// Its id.
    pub txid: Txid,
    /// Its witness id.
    pub wtxid: Wtxid,
    /// Inputs minus outputs.
    pub fee: Amount,
    /// Virtual size.
    pub vsize: u64,
    /// Weight units.
    pub weight: u64,
    /// When it entered the mempool (Unix seconds).
    pub time: u64,
    /// The chain height when it entered.
    pub height: u32,
    /// Entry order, for deterministic listings and mining.
    pub sequence: u64,
}

/// The set of unconfirmed transactions.
#[derive(Default)]
pub struct Mempool {
    entries: HashMap<Txid, MempoolEntry>,
    /// Which mempool transaction spends each outpoint.
    spenders: HashMap<OutPoint, Txid>,
    next_sequence: u64,
}

impl Mempool {
    /// Number of transactions.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the mempool is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entry of `txid`, if unconfirmed.
    pub fn get(&self, txid: &Txid) -> Option<&MempoolEntry> {
        self.entries.get(txid)
    }

    /// Whether `txid` is in the mempool.
    pub fn contains(&self, txid: &Txid) -> bool {
        self.entries.contains_key(txid)
    }

    /// The mempool transaction spending `outpoint`, if any.
    pub fn spender(&self, outpoint: &OutPoint) -> Option<Txid> {
        self.spenders.get(outpoint).copied()
    }

    /// The output `outpoint` of a mempool transaction, if it exists.
    pub fn output(&self, outpoint: &OutPoint) -> Option<&TxOut> {
        self.entries
            .get(&outpoint.txid)?
            .tx
            .output
            .get(outpoint.vout as usize)
    }

    /// Entries in the order they arrived.
    pub fn entries(&self) -> Vec<&MempoolEntry> {
        let mut entries: Vec<_> = self.entries.values().collect();
        entries.sort_by_key(|e| e.sequence);
        entries
    }

    /// Total virtual size and fees.
    pub fn totals(&self) -> (u64, Amount) {
        self.entries
            .values()
            .fold((0, Amount::ZERO), |(size, fee), e| {
                (size + e.vsize, fee + e.fee)
            })
    }

    /// In-mempool parents of `txid`.
    pub fn parents(&self, txid: &Txid) -> BTreeSet<Txid> {
        let Some(entry) = self.entries.get(txid) else {
            return BTreeSet::new();
        };
        entry
            .tx
            .input
            .iter()
            .map(|input| input.previous_output.txid)
            .filter(|parent| self.entries.contains_key(parent))
            .collect()
    }

    /// In-mempool children of `txid`.
    pub fn children(&self, txid: &Txid) -> BTreeSet<Txid> {
        let Some(entry) = self.entries.get(txid) else {
            return BTreeSet::new();
        };
        (0..entry.tx.output.len() as u32)
            .filter_map(|vout| self.spenders.get(&OutPoint { txid: *txid, vout }).copied())
            .collect()
    }

    /// `txid` and all its in-mempool ancestors.
    pub fn ancestors(&self, txid: &Txid) -> HashSet<Txid> {
        self.closure(txid, |t| self.parents(t))
    }

    /// `txid` and all its in-mempool descendants.
    pub fn descendants(&self, txid: &Txid) -> HashSet<Txid> {
        self.closure(txid, |t| self.children(t))
    }

    fn closure(&self, start: &Txid, next: impl Fn(&Txid) -> BTreeSet<Txid>) -> HashSet<Txid> {
        let mut seen = HashSet::new();
        let mut stack = vec![*start];
        while let Some(txid) = stack.pop() {
            if self.entries.contains_key(&txid) && seen.insert(txid) {
                stack.extend(next(&txid));
            }
        }
        seen
    }

    /// Adds a checked entry (its sequence number is assigned here).
    pub fn insert(&mut self, mut entry: MempoolEntry) {
        entry.sequence = self.next_sequence;
        self.next_sequence += 1;
        for input in &entry.tx.input {
            self.spenders.insert(input.previous_output, entry.txid);
        }
        self.entries.insert(entry.txid, entry);
    }

    /// Removes `txid` and every descendant; returns what was removed.
    pub fn remove_with_descendants(&mut self, txid: &Txid) -> Vec<MempoolEntry> {
        let doomed = self.descendants(txid);
        doomed.iter().filter_map(|t| self.remove_one(t)).collect()
    }

    fn remove_one(&mut self, txid: &Txid) -> Option<MempoolEntry> {
        let entry = self.entries.remove(txid)?;
        for input in &entry.tx.input {
            if self.spenders.get(&input.previous_output) == Some(txid) {
                self.spenders.remove(&input.previous_output);
            }
        }
        Some(entry)
    }

    /// Removes the transactions a newly connected block confirmed, and every mempool
    /// transaction that conflicts with it (with their descendants). Returns the
    /// confirmed entries, for fee estimation.
    pub fn remove_for_block(&mut self, txs: &[Transaction]) -> Vec<MempoolEntry> {
        let mut confirmed = Vec::new();
        for tx in txs {
            let txid = tx.compute_txid();
            if let Some(entry) = self.remove_one(&txid) {
                confirmed.push(entry);
            }
            for input in &tx.input {
                if let Some(conflict) = self.spender(&input.previous_output) {
                    self.remove_with_descendants(&conflict);
                }
            }
        }
        confirmed
    }

    /// Empties the mempool, returning its transactions in arrival order.
    pub fn drain(&mut self) -> Vec<Arc<Transaction>> {
        let txs = self
            .entries()
            .into_iter()
            .map(|e| Arc::clone(&e.tx))
            .collect();
        self.entries.clear();
        self.spenders.clear();
        txs
    }
}
