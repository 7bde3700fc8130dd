//! Block assembly and mining: a coinbase with the BIP34 height, the subsidy plus fees
//! and a witness commitment (always present, as in Core's templates), a merkle root,
//! and a nonce ground until the header meets the regtest target.

use std::collections::{HashMap, HashSet};

use bitcoin::block::{Header, Version};
use bitcoin::blockdata::opcodes::all::OP_PUSHBYTES_0;
use bitcoin::blockdata::script::Builder;
use bitcoin::hashes::Hash;
use bitcoin::transaction::Version as TxVersion;
use bitcoin::{
    absolute, Amount, Block, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxMerkleNode, TxOut,
    Weight, Witness,
};

use super::chain::{now_secs, BlockStatus, ChainState};
use super::params::{
    block_subsidy, pow_bits, BLOCK_VERSION, COINBASE_RESERVED_WEIGHT, MAX_BLOCK_WEIGHT,
};

/// Why a block could not be built.
#[derive(Debug, thiserror::Error)]
pub enum MineError {
    /// A transaction given for the block is invalid there.
    #[error("{0}")]
    InvalidBlock(String),
    /// Persisting the block failed.
    #[error(transparent)]
    Store(#[from] super::RegtestError),
}

/// The witness commitment output's script prefix: OP_RETURN, push 36, `aa21a9ed`.
const WITNESS_COMMITMENT_HEADER: [u8; 6] = [0x6a, 0x24, 0xaa, 0x21, 0xa9, 0xed];

impl ChainState {
    /// Mines one block paying `script`, holding the mempool's transactions (by fee rate,
    /// parents first, up to the weight limit), and connects it.
    pub fn mine_from_mempool(&mut self, script: &ScriptBuf) -> Result<Block, MineError> {
        let txs = self.select_mempool();
        let fees = txs
            .iter()
            .filter_map(|tx| self.mempool.get(&tx.compute_txid()))
            .map(|e| e.fee)
            .sum();
        let block = self.assemble(script, txs, fees);
        self.connect_mined(block)
    }

    /// Mines one block paying `script` with exactly `txs`, in that order. With `submit`
    /// false the block is only checked, not added.
    pub fn mine_exactly(
        &mut self,
        script: &ScriptBuf,
        txs: Vec<Transaction>,
        submit: bool,
    ) -> Result<Block, MineError> {
        let fees = self.fees_of(&txs)?;
        let block = self.assemble(script, txs, fees);
        if !submit {
            self.test_block_validity(&block)
                .map_err(MineError::InvalidBlock)?;
            return Ok(block);
        }
        self.connect_mined(block)
    }

    fn connect_mined(&mut self, block: Block) -> Result<Block, MineError> {
        match self.submit_block(block.clone())? {
            Ok(()) => Ok(block),
            Err(reason) => Err(MineError::InvalidBlock(reason)),
        }
    }

    /// Fees of `txs` spending confirmed coins or outputs of earlier `txs`.
    fn fees_of(&self, txs: &[Transaction]) -> Result<Amount, MineError> {
        let mut created: HashMap<OutPoint, Amount> = HashMap::new();
        let mut fees = Amount::ZERO;
        for tx in txs {
            let mut value_in = Amount::ZERO;
            for input in &tx.input {
                let value = created
                    .remove(&input.previous_output)
                    .or_else(|| self.coin(&input.previous_output).map(|c| c.output.value))
                    .ok_or_else(|| {
                        MineError::InvalidBlock("bad-txns-inputs-missingorspent".into())
                    })?;
                value_in += value;
            }
            let value_out: Amount = tx.output.iter().map(|o| o.value).sum();
            fees += value_in
                .checked_sub(value_out)
                .ok_or_else(|| MineError::InvalidBlock("bad-txns-in-belowout".into()))?;
            let txid = tx.compute_txid();
            for (vout, output) in tx.output.iter().enumerate() {
                created.insert(
                    OutPoint {
                        txid,
                        vout: vout as u32,
                    },
                    output.value,
                );
            }
        }
        Ok(fees)
    }

    /// Mempool transactions for the next block: highest fee rate first, a transaction
    /// only after its in-mempool parents, within the block weight.
    fn select_mempool(&self) -> Vec<Transaction> {
        let mut candidates = self.mempool.entries();
        candidates.sort_by(|a, b| {
            (b.fee.to_sat() * a.vsize)
                .cmp(&(a.fee.to_sat() * b.vsize))
                .then(a.sequence.cmp(&b.sequence))
        });
        let budget = MAX_BLOCK_WEIGHT - COINBASE_RESERVED_WEIGHT;
        let mut weight = Weight::ZERO;
        let mut chosen: Vec<Transaction> = Vec::new();
        let mut included = HashSet::new();
        let mut progress = true;
        while progress {
            progress = false;
            for entry in &candidates {
                if included.contains(&entry.txid) {
                    continue;
                }
                let parents_in = entry.tx.input.iter().all(|input| {
                    !self.mempool.contains(&input.previous_output.txid)
                        || included.contains(&input.previous_output.txid)
                });
                let fits = weight + Weight::from_wu(entry.weight) <= budget;
                if parents_in && fits {
                    weight += Weight::from_wu(entry.weight);
                    included.insert(entry.txid);
                    chosen.push((*entry.tx).clone());
                    progress = true;
                }
            }
        }
        chosen
    }

    /// Builds and grinds the block on top of the tip.
    fn assemble(&self, script: &ScriptBuf, txs: Vec<Transaction>, fees: Amount) -> Block {
        let height = self.height() + 1;
        let time = (now_secs() as u32).max(self.tip_median_time() + 1);
        let coinbase = Transaction {
            version: TxVersion::TWO,
            lock_time: absolute::LockTime::from_consensus(height - 1),
            input: vec![TxIn {
                previous_output: OutPoint::null(),
                script_sig: Builder::new()
                    .push_int(i64::from(height))
                    .push_opcode(OP_PUSHBYTES_0)
                    .into_script(),
                sequence: Sequence::ENABLE_LOCKTIME_NO_RBF,
                witness: Witness::from_slice(&[[0u8; 32]]),
            }],
            output: vec![TxOut {
                value: block_subsidy(height) + fees,
                script_pubkey: script.clone(),
            }],
        };
        let mut block = Block {
            header: Header {
                version: Version::from_consensus(BLOCK_VERSION),
                prev_blockhash: self.tip(),
                merkle_root: TxMerkleNode::all_zeros(),
                time,
                bits: pow_bits(),
                nonce: 0,
            },
            txdata: std::iter::once(coinbase).chain(txs).collect(),
        };
        if let Some(witness_root) = block.witness_root() {
            let commitment = Block::compute_witness_commitment(&witness_root, &[0u8; 32]);
            let mut script = WITNESS_COMMITMENT_HEADER.to_vec();
            script.extend_from_slice(commitment.as_byte_array());
            block.txdata[0].output.push(TxOut {
                value: Amount::ZERO,
                script_pubkey: ScriptBuf::from_bytes(script),
            });
        }
        if let Some(root) = block.compute_merkle_root() {
            block.header.merkle_root = root;
        }
        let target = block.header.target();
        loop {
            while block.header.validate_pow(target).is_err() {
                block.header.nonce = block.header.nonce.wrapping_add(1);
            }
            // Mining again right after `invalidateblock` would rebuild the very block that
            // was invalidated (same second, same transactions); move the time on instead.
            if !self
                .entry(&block.block_hash())
                .is_some_and(|e| e.status != BlockStatus::Valid)
            {
                return block;
            }
            block.header.time += 1;
        }
    }
}
