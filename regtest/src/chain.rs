//! The chain state: every block seen, the active chain, the UTXO set and the mempool.
//!
//! Blocks are fully validated when they are connected to the active chain (proof of
//! work, merkle root, witness commitment, BIP34 height, coinbase amount, every
//! transaction's inputs, amounts, finality, sequence locks and scripts). The best chain
//! is the valid chain with the most work, ties going to the block seen first, as in
//! Bitcoin Core; `invalidate` and `reconsider` move blocks in and out of that choice.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use bitcoin::blockdata::constants::genesis_block;
use bitcoin::blockdata::script::Builder;
use bitcoin::secp256k1::{Secp256k1, VerifyOnly};
use bitcoin::{Amount, Block, BlockHash, Network, OutPoint, Transaction, TxOut, Txid, Wtxid};

use super::blockstore::BlockStore;
use super::fees::FeeEstimator;
use super::mempool::Mempool;
use super::params::{
    block_subsidy, pow_bits, COINBASE_MATURITY, MAX_BLOCK_WEIGHT, MEDIAN_TIME_SPAN,
};
use super::validation::{
    check_transaction, is_final, sequence_locks_ok, verify_scripts, CoinAge, ScriptRules,
};
use super::RegtestError;

/// An unspent output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Coin {
    /// The output.
    pub output: TxOut,
    /// Height of the block that created it.
    pub height: u32,
    /// Whether it is a coinbase output (subject to maturity).
    pub coinbase: bool,
}

/// Whether a known block may be part of the best chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockStatus {
    /// Not known to be invalid.
    Valid,
    /// Invalidated by `invalidateblock`, or failed validation.
    Failed,
    /// Descends from a failed block.
    FailedChild,
}

/// One block of the block tree.
#[derive(Clone, Debug)]
pub struct BlockEntry {
    /// The block.
    pub block: Arc<Block>,
    /// Its height.
    pub height: u32,
    /// Total work of the chain ending here (regtest blocks are worth 2 each).
    pub chainwork: u128,
    /// Validity.
    pub status: BlockStatus,
    /// Median time past including this block.
    pub median_time: u32,
    /// Arrival order; the earlier of two equal-work tips wins.
    sequence: u64,
}

/// The chain, the coins and the mempool, guarded by one lock in `RegtestChain`.
pub struct ChainState {
    pub(super) index: HashMap<BlockHash, BlockEntry>,
    pub(super) active: Vec<BlockHash>,
    pub(super) utxos: HashMap<OutPoint, Coin>,
    /// Coins each active block's transactions spent (per non-coinbase transaction, per
    /// input), to undo the block on a reorg and to show fees and prevouts.
    undo: HashMap<BlockHash, Vec<Vec<(OutPoint, Coin)>>>,
    /// Where each active-chain transaction is: block and position.
    pub(super) tx_index: HashMap<Txid, (BlockHash, usize)>,
    pub(super) mempool: Mempool,
    pub(super) fees: FeeEstimator,
    /// Transactions whose scripts were verified on mempool entry.
    pub(super) verified: HashSet<Wtxid>,
    pub(super) secp: Secp256k1<VerifyOnly>,
    store: Option<BlockStore>,
    next_sequence: u64,
}

/// What connecting one block changes, computed before anything is changed.
struct ConnectPlan {
    /// Coins spent, per non-coinbase transaction and input (the block's undo data).
    spent: Vec<Vec<(OutPoint, Coin)>>,
    /// Of those, the ones taken from the UTXO set.
    from_utxos: HashSet<OutPoint>,
    /// Coins the block creates and does not spend itself.
    created: HashMap<OutPoint, Coin>,
}

/// The current Unix time in seconds.
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl ChainState {
    /// A chain holding only the regtest genesis block, not persisted.
    pub fn new_in_memory() -> Self {
        let genesis = genesis_block(Network::Regtest);
        let hash = genesis.block_hash();
        let entry = BlockEntry {
            median_time: genesis.header.time,
            block: Arc::new(genesis),
            height: 0,
            chainwork: 2,
            status: BlockStatus::Valid,
            sequence: 0,
        };
        // Genesis outputs are not spendable: they never enter the UTXO set.
        ChainState {
            index: HashMap::from([(hash, entry)]),
            active: vec![hash],
            utxos: HashMap::new(),
            undo: HashMap::new(),
            tx_index: HashMap::new(),
            mempool: Mempool::default(),
            fees: FeeEstimator::default(),
            verified: HashSet::new(),
            secp: Secp256k1::verification_only(),
            store: None,
            next_sequence: 1,
        }
    }

    /// Opens the chain persisted in `store`, replaying and re-validating its blocks.
    pub fn open(store: BlockStore) -> Result<Self, RegtestError> {
        let (blocks, invalid) = store.load()?;
        let mut state = ChainState::new_in_memory();
        for block in blocks {
            state.insert_block(block)?;
        }
        for hash in invalid {
            if state.index.contains_key(&hash) {
                state.mark_failed(&hash);
            }
        }
        state.activate_best_chain();
        state.store = Some(store);
        Ok(state)
    }

    /// The tip's hash.
    pub fn tip(&self) -> BlockHash {
        self.active[self.active.len() - 1]
    }

    /// The tip's height.
    pub fn height(&self) -> u32 {
        (self.active.len() - 1) as u32
    }

    /// The entry of the tip.
    pub fn tip_entry(&self) -> &BlockEntry {
        &self.index[&self.tip()]
    }

    /// A known block.
    pub fn entry(&self, hash: &BlockHash) -> Option<&BlockEntry> {
        self.index.get(hash)
    }

    /// The active block at `height`.
    pub fn hash_at(&self, height: u32) -> Option<BlockHash> {
        self.active.get(height as usize).copied()
    }

    /// Whether `hash` is on the active chain.
    pub fn is_active(&self, hash: &BlockHash) -> bool {
        self.index
            .get(hash)
            .is_some_and(|e| self.hash_at(e.height) == Some(*hash))
    }

    /// Confirmations of a block: -1 when it is not on the active chain.
    pub fn confirmations(&self, hash: &BlockHash) -> i64 {
        match self.index.get(hash) {
            Some(entry) if self.is_active(hash) => i64::from(self.height() - entry.height) + 1,
            _ => -1,
        }
    }

    /// The active child of an active block, if any.
    pub fn next_active(&self, hash: &BlockHash) -> Option<BlockHash> {
        let entry = self.index.get(hash)?;
        if !self.is_active(hash) {
            return None;
        }
        self.hash_at(entry.height + 1)
    }

    /// What an active block's non-coinbase transactions spent, per transaction and input.
    pub fn block_undo(&self, hash: &BlockHash) -> Option<&[Vec<(OutPoint, Coin)>]> {
        self.undo.get(hash).map(Vec::as_slice)
    }

    /// The unspent coin at `outpoint` in the active chain.
    pub fn coin(&self, outpoint: &OutPoint) -> Option<&Coin> {
        self.utxos.get(outpoint)
    }

    /// Median time past of an active block at `height`.
    fn median_time_at(&self, height: u32) -> u32 {
        self.hash_at(height)
            .map(|h| self.index[&h].median_time)
            .unwrap_or(0)
    }

    /// Median time past of the tip: the time-lock cutoff for the next block.
    pub fn tip_median_time(&self) -> u32 {
        self.tip_entry().median_time
    }

    /// Age data of a coin for BIP68.
    pub(super) fn coin_age(&self, coin_height: u32) -> CoinAge {
        CoinAge {
            height: coin_height,
            prev_median_time: self.median_time_at(coin_height.saturating_sub(1)),
        }
    }

    fn median_time_of(&self, block: &Block) -> u32 {
        let mut times = vec![block.header.time];
        let mut parent = self.index.get(&block.header.prev_blockhash);
        while let Some(entry) = parent {
            if times.len() == MEDIAN_TIME_SPAN {
                break;
            }
            times.push(entry.block.header.time);
            parent = self.index.get(&entry.block.header.prev_blockhash);
        }
        times.sort_unstable();
        times[times.len() / 2]
    }

    /// Adds a block to the tree (not to the active chain). Its parent must be known.
    fn insert_block(&mut self, block: Block) -> Result<BlockHash, RegtestError> {
        let hash = block.block_hash();
        if self.index.contains_key(&hash) {
            return Ok(hash);
        }
        let parent = self
            .index
            .get(&block.header.prev_blockhash)
            .ok_or(RegtestError::UnknownParent(block.header.prev_blockhash))?;
        let status = match parent.status {
            BlockStatus::Valid => BlockStatus::Valid,
            BlockStatus::Failed | BlockStatus::FailedChild => BlockStatus::FailedChild,
        };
        let entry = BlockEntry {
            height: parent.height + 1,
            chainwork: parent.chainwork + 2,
            status,
            median_time: self.median_time_of(&block),
            sequence: self.next_sequence,
            block: Arc::new(block),
        };
        self.next_sequence += 1;
        self.index.insert(hash, entry);
        Ok(hash)
    }

    /// Adds a new block (persisting it first) and makes the best chain active. Returns
    /// whether the block ended up valid; a block that fails validation stays known as
    /// failed, like Core's.
    pub fn submit_block(&mut self, block: Block) -> Result<Result<(), String>, RegtestError> {
        let hash = block.block_hash();
        if let Some(entry) = self.index.get(&hash) {
            return Ok(match entry.status {
                BlockStatus::Valid => Ok(()),
                _ => Err("duplicate-invalid".into()),
            });
        }
        if !self.index.contains_key(&block.header.prev_blockhash) {
            return Ok(Err("prev-blk-not-found".into()));
        }
        if let Some(store) = &mut self.store {
            store.append(&block)?;
        }
        self.insert_block(block)?;
        let failures = self.activate_best_chain();
        Ok(
            match failures.into_iter().find(|(failed, _)| *failed == hash) {
                Some((_, reason)) => Err(reason),
                None => Ok(()),
            },
        )
    }

    /// Checks that `block` would connect on top of the current tip, changing nothing.
    pub fn test_block_validity(&self, block: &Block) -> Result<(), String> {
        if block.header.prev_blockhash != self.tip() {
            return Err("inconclusive-not-best-prevblk".into());
        }
        self.plan_connect(block, self.height() + 1).map(|_| ())
    }

    /// Makes the valid block with the most work the tip, reorganising as needed.
    /// Returns the blocks that failed validation on the way, with reasons.
    pub(super) fn activate_best_chain(&mut self) -> Vec<(BlockHash, String)> {
        let mut failures = Vec::new();
        let mut disconnected: Vec<Transaction> = Vec::new();
        let mut reorged = false;
        loop {
            let best = self.best_candidate();
            if best == self.tip() {
                break;
            }
            // Walk back from `best` to the active chain.
            let mut path = Vec::new();
            let mut cursor = best;
            while !self.is_active(&cursor) {
                path.push(cursor);
                cursor = self.index[&cursor].block.header.prev_blockhash;
            }
            path.reverse();
            while self.tip() != cursor {
                reorged = true;
                disconnected.extend(self.disconnect_tip());
            }
            for hash in path {
                if let Err(reason) = self.connect(hash) {
                    tracing::warn!(%hash, %reason, "block failed validation");
                    self.mark_failed(&hash);
                    failures.push((hash, reason));
                    break;
                }
            }
        }
        if reorged {
            self.resubmit_after_reorg(disconnected);
        }
        failures
    }

    /// The valid block with the most work, the earliest seen among equals.
    fn best_candidate(&self) -> BlockHash {
        self.index
            .iter()
            .filter(|(_, e)| e.status == BlockStatus::Valid)
            .max_by(|(_, a), (_, b)| {
                a.chainwork
                    .cmp(&b.chainwork)
                    .then(b.sequence.cmp(&a.sequence))
            })
            .map(|(hash, _)| *hash)
            .unwrap_or_else(|| self.active[0])
    }

    /// Connects the block `hash`, a child of the tip.
    fn connect(&mut self, hash: BlockHash) -> Result<(), String> {
        let entry = &self.index[&hash];
        let (block, height) = (Arc::clone(&entry.block), entry.height);
        let plan = self.plan_connect(&block, height)?;
        for outpoint in &plan.from_utxos {
            self.utxos.remove(outpoint);
        }
        self.utxos.extend(plan.created);
        self.undo.insert(hash, plan.spent);
        for (position, tx) in block.txdata.iter().enumerate() {
            self.tx_index.insert(tx.compute_txid(), (hash, position));
        }
        self.active.push(hash);
        let confirmed = self.mempool.remove_for_block(&block.txdata);
        self.fees.record_block(height, &confirmed);
        for entry in confirmed {
            self.verified.remove(&entry.wtxid);
        }
        Ok(())
    }

    /// Disconnects the tip; returns its non-coinbase transactions.
    fn disconnect_tip(&mut self) -> Vec<Transaction> {
        let Some(hash) = self.active.pop() else {
            return Vec::new();
        };
        let block = Arc::clone(&self.index[&hash].block);
        let mut created = HashSet::new();
        for tx in &block.txdata {
            let txid = tx.compute_txid();
            for vout in 0..tx.output.len() as u32 {
                self.utxos.remove(&OutPoint { txid, vout });
            }
            self.tx_index.remove(&txid);
            created.insert(txid);
        }
        // Coins created and spent inside the block do not come back.
        for (outpoint, coin) in self
            .undo
            .remove(&hash)
            .unwrap_or_default()
            .into_iter()
            .flatten()
        {
            if !created.contains(&outpoint.txid) {
                self.utxos.insert(outpoint, coin);
            }
        }
        self.fees.forget_block(self.index[&hash].height);
        block.txdata.iter().skip(1).cloned().collect()
    }

    /// After a reorg, rebuilds the mempool from the disconnected transactions and the
    /// old mempool, keeping only what is still valid on the new chain.
    fn resubmit_after_reorg(&mut self, disconnected: Vec<Transaction>) {
        let previous = self.mempool.drain();
        self.verified.clear();
        let txs = disconnected
            .into_iter()
            .chain(previous.iter().map(|tx| (**tx).clone()));
        for tx in txs {
            if let Err(reason) = self.accept_to_mempool(tx, None) {
                tracing::debug!(
                    ?reason,
                    "transaction dropped from the mempool after a reorg"
                );
            }
        }
    }

    /// Marks `hash` failed and all its descendants failed-child.
    fn mark_failed(&mut self, hash: &BlockHash) {
        if let Some(entry) = self.index.get_mut(hash) {
            entry.status = BlockStatus::Failed;
        }
        for descendant in self.descendants(hash) {
            if let Some(entry) = self.index.get_mut(&descendant) {
                entry.status = BlockStatus::FailedChild;
            }
        }
    }

    /// Every block that descends from `hash` (not `hash` itself).
    fn descendants(&self, hash: &BlockHash) -> Vec<BlockHash> {
        let target = &self.index[hash];
        self.index
            .iter()
            .filter(|(_, e)| e.height > target.height)
            .filter(|(h, _)| self.ancestor_at(h, target.height) == Some(*hash))
            .map(|(h, _)| *h)
            .collect()
    }

    /// The ancestor of `hash` at `height`.
    fn ancestor_at(&self, hash: &BlockHash, height: u32) -> Option<BlockHash> {
        let mut cursor = *hash;
        loop {
            let entry = self.index.get(&cursor)?;
            if entry.height == height {
                return Some(cursor);
            }
            if entry.height < height {
                return None;
            }
            cursor = entry.block.header.prev_blockhash;
        }
    }

    /// `invalidateblock`: marks `hash` and its descendants invalid and moves the tip to
    /// the best remaining chain.
    pub fn invalidate(&mut self, hash: &BlockHash) -> Result<(), RegtestError> {
        let height = self
            .index
            .get(hash)
            .ok_or(RegtestError::UnknownBlock(*hash))?
            .height;
        if height == 0 {
            return Err(RegtestError::Refused(
                "cannot invalidate the genesis block".into(),
            ));
        }
        let mut disconnected = Vec::new();
        if self.is_active(hash) {
            while self.height() >= height {
                disconnected.extend(self.disconnect_tip());
            }
        }
        self.mark_failed(hash);
        // Transactions of the invalidated blocks go back to the mempool, as in Core.
        self.resubmit_after_reorg(disconnected);
        self.activate_best_chain();
        self.save_invalid()
    }

    /// `reconsiderblock`: clears the failure marks of `hash`, its ancestors and its
    /// descendants and moves to the best chain.
    pub fn reconsider(&mut self, hash: &BlockHash) -> Result<(), RegtestError> {
        let height = self
            .index
            .get(hash)
            .ok_or(RegtestError::UnknownBlock(*hash))?
            .height;
        let mut affected = self.descendants(hash);
        affected.extend((0..=height).filter_map(|h| self.ancestor_at(hash, h)));
        for block in affected {
            if let Some(entry) = self.index.get_mut(&block) {
                entry.status = BlockStatus::Valid;
            }
        }
        self.activate_best_chain();
        self.save_invalid()
    }

    fn save_invalid(&mut self) -> Result<(), RegtestError> {
        let failed: Vec<BlockHash> = self
            .index
            .iter()
            .filter(|(_, e)| e.status == BlockStatus::Failed)
            .map(|(h, _)| *h)
            .collect();
        match &mut self.store {
            Some(store) => store.save_invalid(&failed),
            None => Ok(()),
        }
    }

    /// Validates `block` as the next block at `height` on the active tip, computing the
    /// coin changes without applying them.
    fn plan_connect(&self, block: &Block, height: u32) -> Result<ConnectPlan, String> {
        let header = &block.header;
        let parent_median_time = self.tip_median_time();
        if header.bits != pow_bits() {
            return Err("bad-diffbits".into());
        }
        if header.validate_pow(header.target()).is_err() {
            return Err("high-hash".into());
        }
        if header.time <= parent_median_time {
            return Err("time-too-old".into());
        }
        if u64::from(header.time) > now_secs() + 2 * 60 * 60 {
            return Err("time-too-new".into());
        }
        let Some(coinbase) = block.txdata.first().filter(|tx| tx.is_coinbase()) else {
            return Err("bad-cb-missing".into());
        };
        if block.txdata.iter().skip(1).any(Transaction::is_coinbase) {
            return Err("bad-cb-multiple".into());
        }
        if !block.check_merkle_root() {
            return Err("bad-txnmrklroot".into());
        }
        if !block.check_witness_commitment() {
            return Err("bad-witness-merkle-match".into());
        }
        if block.weight() > MAX_BLOCK_WEIGHT {
            return Err("bad-blk-weight".into());
        }
        // BIP34, as Core checks it: the scriptSig starts with `CScript() << height`
        // (OP_1..OP_16 for small heights, which rust-bitcoin's parser does not accept).
        let expected = Builder::new().push_int(i64::from(height)).into_script();
        if !coinbase.input[0]
            .script_sig
            .as_bytes()
            .starts_with(expected.as_bytes())
        {
            return Err("bad-cb-height".into());
        }

        let mut plan = ConnectPlan {
            spent: Vec::new(),
            from_utxos: HashSet::new(),
            created: HashMap::new(),
        };
        let mut fees = Amount::ZERO;
        for tx in &block.txdata {
            check_transaction(tx)?;
            if !is_final(tx, height, parent_median_time) {
                return Err("bad-txns-nonfinal".into());
            }
            let txid = tx.compute_txid();
            if !tx.is_coinbase() {
                fees += self.spend_inputs(tx, height, parent_median_time, &mut plan)?;
            }
            for (vout, output) in tx.output.iter().enumerate() {
                let outpoint = OutPoint {
                    txid,
                    vout: vout as u32,
                };
                if self.utxos.contains_key(&outpoint) {
                    return Err("bad-txns-BIP30".into());
                }
                let coin = Coin {
                    output: output.clone(),
                    height,
                    coinbase: tx.is_coinbase(),
                };
                plan.created.insert(outpoint, coin);
            }
        }
        let claimed: Amount = coinbase.output.iter().map(|o| o.value).sum();
        if claimed > block_subsidy(height) + fees {
            return Err("bad-cb-amount".into());
        }
        Ok(plan)
    }

    /// Spends `tx`'s inputs in `plan`, checking them; returns the fee.
    fn spend_inputs(
        &self,
        tx: &Transaction,
        height: u32,
        parent_median_time: u32,
        plan: &mut ConnectPlan,
    ) -> Result<Amount, String> {
        let mut prevouts = Vec::with_capacity(tx.input.len());
        let mut ages = Vec::with_capacity(tx.input.len());
        let mut spent = Vec::with_capacity(tx.input.len());
        for input in &tx.input {
            let outpoint = input.previous_output;
            let coin = match plan.created.remove(&outpoint) {
                Some(coin) => coin,
                None => {
                    let coin = self
                        .utxos
                        .get(&outpoint)
                        .filter(|_| !plan.from_utxos.contains(&outpoint))
                        .ok_or("bad-txns-inputs-missingorspent")?
                        .clone();
                    plan.from_utxos.insert(outpoint);
                    coin
                }
            };
            spent.push((outpoint, coin.clone()));
            if coin.coinbase && height - coin.height < COINBASE_MATURITY {
                return Err(format!(
                    "bad-txns-premature-spend-of-coinbase, tried to spend coinbase at depth {}",
                    height - coin.height
                ));
            }
            ages.push(self.coin_age(coin.height));
            prevouts.push(coin.output);
        }
        plan.spent.push(spent);
        let value_in: Amount = prevouts.iter().map(|o| o.value).sum();
        let value_out: Amount = tx.output.iter().map(|o| o.value).sum();
        let fee = value_in
            .checked_sub(value_out)
            .ok_or("bad-txns-in-belowout")?;
        if !sequence_locks_ok(tx, &ages, height, parent_median_time) {
            return Err("bad-txns-nonfinal".into());
        }
        if !self.verified.contains(&tx.compute_wtxid()) {
            verify_scripts(&self.secp, tx, &prevouts, ScriptRules::Block).map_err(
                |(input, reason)| {
                    format!(
                        "mandatory-script-verify-flag-failed ({reason}), input {input} of {}",
                        tx.compute_txid()
                    )
                },
            )?;
        }
        Ok(fee)
    }
}
