//! The node's on-chain wallet: a BDK wallet (BIP84 P2WPKH) derived from the node seed,
//! persisted in the store, synced from the chain backend with bdk_bitcoind_rpc.
//!
//! It funds channel opens, receives sweeps (as LDK's change destination), pays for fee
//! bumps of anchor channels' transactions (as LDK's wallet source) and answers address
//! and balance requests.

pub mod actor;
mod persist;

use std::sync::{Mutex, MutexGuard};

use bdk_bitcoind_rpc::bitcoincore_rpc::{Auth, Client};
use bdk_bitcoind_rpc::Emitter;
use bdk_wallet::chain::Merge;
use bdk_wallet::{Balance, ChangeSet, KeychainKind, PersistedWallet, SignOptions, Wallet};
use bitcoin::absolute::LockTime;
use bitcoin::bip32::Xpriv;
use bitcoin::hashes::Hash;
use bitcoin::{Address, Amount, FeeRate, Network, Psbt, ScriptBuf, Transaction, WPubkeyHash};
use lightning::events::bump_transaction::sync::WalletSourceSync;
use lightning::events::bump_transaction::Utxo;
use lightning::sign::ChangeDestinationSourceSync;
use sluice_storage::Store;

pub use persist::StorePersister;

use crate::chain::RpcEndpoint;
use crate::NodeError;

/// An output the wallet received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalletOutput {
    /// Where it is.
    pub outpoint: bitcoin::OutPoint,
    /// How much.
    pub value: Amount,
    /// The height of the block that confirmed it, if one did.
    pub confirmed_at: Option<u32>,
    /// Whether it is a coinbase output (spendable only after 100 confirmations).
    pub coinbase: bool,
}

/// A confirmed transaction that spent the wallet's coins, and the fee it paid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaidFee {
    /// The transaction.
    pub txid: bitcoin::Txid,
    /// Its fee.
    pub fee: Amount,
    /// The height of the block that confirmed it.
    pub confirmed_height: u32,
}

/// The wallet and its persister, locked together.
struct Inner {
    wallet: PersistedWallet<StorePersister>,
    persister: StorePersister,
    /// Changes taken from the wallet whose write failed; written with the next ones.
    unwritten: ChangeSet,
}

/// The on-chain wallet.
pub struct OnchainWallet {
    inner: Mutex<Inner>,
    store: Store,
    rpc: Client,
}

/// Confirmations a coinbase output needs before it can be spent (consensus).
const COINBASE_MATURITY: u32 = 100;

/// `output` as the wallet's callers see it.
fn wallet_output(
    wallet: &PersistedWallet<StorePersister>,
    output: &bdk_wallet::LocalOutput,
) -> WalletOutput {
    WalletOutput {
        outpoint: output.outpoint,
        value: output.txout.value,
        confirmed_at: match output.chain_position {
            bdk_wallet::chain::ChainPosition::Confirmed { anchor, .. } => {
                Some(anchor.block_id.height)
            }
            bdk_wallet::chain::ChainPosition::Unconfirmed { .. } => None,
        },
        coinbase: wallet
            .get_tx(output.outpoint.txid)
            .is_some_and(|tx| tx.tx_node.tx.is_coinbase()),
    }
}

fn wallet_error(e: impl std::fmt::Display) -> NodeError {
    NodeError::Wallet(e.to_string())
}

impl OnchainWallet {
    /// Opens the wallet kept in `store` (creating it on first start) for the keys derived
    /// from `seed`, syncing later through `endpoint`.
    pub fn open(
        store: Store,
        seed: &[u8; 32],
        network: Network,
        endpoint: &RpcEndpoint,
    ) -> Result<Self, NodeError> {
        let xprv = Xpriv::new_master(network, seed).map_err(wallet_error)?;
        let coin = if network == Network::Bitcoin { 0 } else { 1 };
        let external = format!("wpkh({xprv}/84'/{coin}'/0'/0/*)");
        let internal = format!("wpkh({xprv}/84'/{coin}'/0'/1/*)");
        let mut persister = StorePersister::new(store.clone());
        let loaded = Wallet::load()
            .descriptor(KeychainKind::External, Some(external.clone()))
            .descriptor(KeychainKind::Internal, Some(internal.clone()))
            .extract_keys()
            .check_network(network)
            .load_wallet(&mut persister)
            .map_err(wallet_error)?;
        let wallet = match loaded {
            Some(wallet) => wallet,
            None => Wallet::create(external, internal)
                .network(network)
                .create_wallet(&mut persister)
                .map_err(wallet_error)?,
        };
        let url = format!("http://{}:{}", endpoint.host, endpoint.port);
        let auth = Auth::UserPass(endpoint.user.clone(), endpoint.password.clone());
        let rpc = Client::new(&url, auth).map_err(wallet_error)?;
        Ok(OnchainWallet {
            inner: Mutex::new(Inner {
                wallet,
                persister,
                unwritten: ChangeSet::default(),
            }),
            store,
            rpc,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes the changes staged in the wallet durably, releasing `inner` before the fsync
    /// so that other callers (balances, LDK's fee-bump signing) do not wait on the disk.
    /// Returns once this caller's changes are on disk, so an address handed out after it is
    /// never handed out again after a crash.
    fn persist(&self, mut inner: MutexGuard<'_, Inner>) -> Result<(), NodeError> {
        let mut changeset = std::mem::take(&mut inner.unwritten);
        if let Some(staged) = inner.wallet.take_staged() {
            changeset.merge(staged);
        }
        if changeset.is_empty() {
            return Ok(());
        }
        let record = match inner.persister.record(&changeset) {
            Ok(record) => record,
            Err(e) => {
                inner.unwritten = changeset;
                return Err(NodeError::Store(e));
            }
        };
        drop(inner);
        StorePersister::write(&self.store, &record).map_err(|e| {
            // Kept for the next write (under a later key: change sets merge, so their
            // order only matters for a block replaced in a reorg, which the next sync
            // writes again).
            self.lock().unwritten.merge(changeset);
            NodeError::Store(e)
        })
    }

    /// A new receive address (revealed and persisted, so it is never handed out twice).
    pub fn new_address(&self) -> Result<Address, NodeError> {
        let mut inner = self.lock();
        let address = inner
            .wallet
            .reveal_next_address(KeychainKind::External)
            .address;
        self.persist(inner)?;
        Ok(address)
    }

    /// Current balances.
    pub fn balance(&self) -> Balance {
        self.lock().wallet.balance()
    }

    /// Every output the wallet ever received to `script` (spent ones too: a deposit
    /// swept into a channel before it was credited still counts), with the height of the
    /// block that confirmed it.
    pub fn outputs_to(&self, script: &bitcoin::Script) -> Vec<WalletOutput> {
        let inner = self.lock();
        inner
            .wallet
            .list_output()
            .filter(|output| output.txout.script_pubkey.as_script() == script)
            .map(|output| wallet_output(&inner.wallet, &output))
            .collect()
    }

    /// The wallet's unspent outputs that count in its balance: confirmed or unconfirmed,
    /// but no coinbase output before it matures (it cannot be spent yet).
    pub fn unspent(&self) -> Vec<WalletOutput> {
        let inner = self.lock();
        let tip = inner.wallet.latest_checkpoint().height();
        inner
            .wallet
            .list_unspent()
            .map(|output| wallet_output(&inner.wallet, &output))
            .filter(|output| match (output.coinbase, output.confirmed_at) {
                (false, _) => true,
                (true, Some(height)) => {
                    tip.saturating_sub(height).saturating_add(1) >= COINBASE_MATURITY
                }
                (true, None) => false,
            })
            .collect()
    }

    /// Every confirmed transaction that spent the wallet's coins (channel opens, fee
    /// bumps) with the fee it paid. A transaction whose inputs the wallet cannot all
    /// value (one it only received from) is left out: its fee was someone else's.
    pub fn fees_paid(&self) -> Vec<PaidFee> {
        let inner = self.lock();
        inner
            .wallet
            .transactions()
            .filter_map(|tx| {
                let bdk_wallet::chain::ChainPosition::Confirmed { anchor, .. } = tx.chain_position
                else {
                    return None;
                };
                let (sent, _) = inner.wallet.sent_and_received(&tx.tx_node.tx);
                if sent == Amount::ZERO {
                    return None;
                }
                let fee = inner.wallet.calculate_fee(&tx.tx_node.tx).ok()?;
                Some(PaidFee {
                    txid: tx.tx_node.txid,
                    fee,
                    confirmed_height: anchor.block_id.height,
                })
            })
            .collect()
    }

    /// Builds and signs a transaction paying `amount` to `script` at `fee_rate`, final
    /// from `lock_time` on; the change goes back to the wallet. Not broadcast.
    pub fn build_payment(
        &self,
        script: ScriptBuf,
        amount: Amount,
        fee_rate: FeeRate,
        lock_time: LockTime,
    ) -> Result<Transaction, NodeError> {
        let mut inner = self.lock();
        let available = inner.wallet.balance().trusted_spendable();
        let mut builder = inner.wallet.build_tx();
        builder
            .add_recipient(script, amount)
            .fee_rate(fee_rate)
            .nlocktime(lock_time);
        let psbt = builder.finish().map_err(|e| match e {
            bdk_wallet::error::CreateTxError::CoinSelection(_) => NodeError::InsufficientFunds {
                needed_sat: amount.to_sat(),
                available_sat: available.to_sat(),
            },
            other => wallet_error(other),
        })?;
        self.sign_and_record(inner, psbt)
    }

    /// Builds and signs one transaction paying each `(script, amount)` of `outputs` at
    /// `fee_rate` from confirmed coins, replaceable by fee (BIP125, BDK's default
    /// sequence); the change goes back to the wallet. Recorded as unconfirmed so its
    /// coins are not chosen again; not broadcast.
    pub fn build_batch(
        &self,
        outputs: &[(ScriptBuf, Amount)],
        fee_rate: FeeRate,
    ) -> Result<Transaction, NodeError> {
        let mut inner = self.lock();
        let available = inner.wallet.balance().trusted_spendable();
        let needed = outputs
            .iter()
            .map(|(_, amount)| amount.to_sat())
            .fold(0u64, u64::saturating_add);
        let mut builder = inner.wallet.build_tx();
        for (script, amount) in outputs {
            builder.add_recipient(script.clone(), *amount);
        }
        // Confirmed coins only: a batch never hangs on another unconfirmed transaction
        // (one a crash left unbroadcast would leave it unconfirmable).
        builder.fee_rate(fee_rate).exclude_unconfirmed();
        let psbt = builder.finish().map_err(|e| match e {
            bdk_wallet::error::CreateTxError::CoinSelection(_) => NodeError::InsufficientFunds {
                needed_sat: needed,
                available_sat: available.to_sat(),
            },
            other => wallet_error(other),
        })?;
        self.sign_and_record(inner, psbt)
    }

    /// Builds and signs a replacement of `tx` (one of the wallet's, unconfirmed) paying
    /// `fee_rate`: the same outputs, the change paying the rise. Not broadcast.
    pub fn bump_fee(&self, tx: &Transaction, fee_rate: FeeRate) -> Result<Transaction, NodeError> {
        let mut inner = self.lock();
        // A transaction the wallet let go of (evicted from its view of the mempool) is
        // put back first: it is still the one to replace.
        inner
            .wallet
            .apply_unconfirmed_txs([(tx.clone(), crate::clock::since_epoch().as_secs())]);
        let mut builder = inner
            .wallet
            .build_fee_bump(tx.compute_txid())
            .map_err(wallet_error)?;
        builder.fee_rate(fee_rate);
        let psbt = builder.finish().map_err(wallet_error)?;
        self.sign_and_record(inner, psbt)
    }

    /// Signs `psbt`, records the transaction as unconfirmed (so its coins are not chosen
    /// twice) and persists the wallet.
    fn sign_and_record(
        &self,
        mut inner: MutexGuard<'_, Inner>,
        mut psbt: Psbt,
    ) -> Result<Transaction, NodeError> {
        let finalized = inner
            .wallet
            .sign(&mut psbt, SignOptions::default())
            .map_err(wallet_error)?;
        if !finalized {
            return Err(NodeError::Wallet(
                "the wallet could not sign its own transaction".into(),
            ));
        }
        let tx = psbt.extract_tx().map_err(wallet_error)?;
        inner
            .wallet
            .apply_unconfirmed_txs([(tx.clone(), crate::clock::since_epoch().as_secs())]);
        self.persist(inner)?;
        Ok(tx)
    }

    /// Whether `script` is one of the wallet's.
    pub fn is_mine(&self, script: &bitcoin::Script) -> bool {
        self.lock().wallet.is_mine(script.to_owned())
    }

    /// The fee `tx` pays, if the wallet knows every coin it spends.
    pub fn fee_of(&self, tx: &Transaction) -> Option<Amount> {
        self.lock().wallet.calculate_fee(tx).ok()
    }

    /// Where `txid` stands in the wallet's view of the chain: `None` if unknown or no
    /// longer in it (replaced, evicted), `Some(None)` unconfirmed, `Some(Some(height))`
    /// confirmed in the block at `height`.
    pub fn tx_status(&self, txid: bitcoin::Txid) -> Option<Option<u32>> {
        let inner = self.lock();
        let tx = inner.wallet.get_tx(txid)?;
        Some(match tx.chain_position {
            bdk_wallet::chain::ChainPosition::Confirmed { anchor, .. } => {
                Some(anchor.block_id.height)
            }
            bdk_wallet::chain::ChainPosition::Unconfirmed { .. } => None,
        })
    }

    /// Brings the wallet to the chain's tip and mempool. Blocking: call from a blocking
    /// thread.
    pub fn sync(&self) -> Result<(), NodeError> {
        let (checkpoint, unconfirmed) = {
            let inner = self.lock();
            let unconfirmed: Vec<_> = inner
                .wallet
                .transactions()
                .filter(|tx| tx.chain_position.is_unconfirmed())
                .map(|tx| tx.tx_node.tx.clone())
                .collect();
            (inner.wallet.latest_checkpoint(), unconfirmed)
        };
        let mut emitter = Emitter::new(&self.rpc, checkpoint, 0, unconfirmed);
        while let Some(event) = emitter.next_block().map_err(wallet_error)? {
            let mut inner = self.lock();
            inner
                .wallet
                .apply_block_connected_to(&event.block, event.block_height(), event.connected_to())
                .map_err(wallet_error)?;
            self.persist(inner)?;
        }
        let mempool = emitter.mempool().map_err(wallet_error)?;
        let mut inner = self.lock();
        inner.wallet.apply_evicted_txs(mempool.evicted);
        inner.wallet.apply_unconfirmed_txs(mempool.update);
        self.persist(inner)
    }

    /// The height of the block the wallet has synced to.
    pub fn synced_height(&self) -> u32 {
        self.lock().wallet.latest_checkpoint().height()
    }
}

impl OnchainWallet {
    /// A fresh change script (revealed and persisted).
    fn change_script(&self) -> Result<ScriptBuf, ()> {
        let mut inner = self.lock();
        let script = inner
            .wallet
            .reveal_next_address(KeychainKind::Internal)
            .address
            .script_pubkey();
        self.persist(inner)
            .map_err(|e| tracing::error!(error = %e, "persisting the wallet failed"))?;
        Ok(script)
    }
}

impl ChangeDestinationSourceSync for OnchainWallet {
    fn get_change_destination_script(&self) -> Result<ScriptBuf, ()> {
        self.change_script()
    }
}

/// LDK spends these to pay for anchor channels' fee bumps (CPFP of a commitment, HTLC
/// claims). Only confirmed outputs are offered, as LDK asks.
impl WalletSourceSync for OnchainWallet {
    fn list_confirmed_utxos(&self) -> Result<Vec<Utxo>, ()> {
        let inner = self.lock();
        Ok(inner
            .wallet
            .list_unspent()
            .filter(|utxo| utxo.chain_position.is_confirmed())
            .filter_map(|utxo| {
                let script = &utxo.txout.script_pubkey;
                // The wallet is BIP84: every output is P2WPKH (OP_0 <20-byte hash>).
                let hash = script
                    .is_p2wpkh()
                    .then(|| WPubkeyHash::from_slice(&script.as_bytes()[2..22]).ok())
                    .flatten()?;
                Some(Utxo::new_v0_p2wpkh(utxo.outpoint, utxo.txout.value, &hash))
            })
            .collect())
    }

    fn get_change_script(&self) -> Result<ScriptBuf, ()> {
        self.change_script()
    }

    fn sign_psbt(&self, mut psbt: Psbt) -> Result<Transaction, ()> {
        let inner = self.lock();
        // LDK gives each wallet input its spent output (witness_utxo), not the whole
        // previous transaction; the outputs are the wallet's own, listed above.
        let options = SignOptions {
            trust_witness_utxo: true,
            ..SignOptions::default()
        };
        // Only the wallet's inputs get signed and finalised here; LDK signs its own.
        inner
            .wallet
            .sign(&mut psbt, options)
            .map_err(|e| tracing::error!(error = %e, "signing a fee bump failed"))?;
        // LDK's coin selection keeps the inputs it chose locked; the wallet learns of the
        // spend from the mempool on its next sync.
        Ok(psbt.extract_tx_unchecked_fee_rate())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::sync::Arc;

    use sluice_storage::{Store, StoreConfig};

    use super::*;

    fn open(dir: &std::path::Path) -> OnchainWallet {
        let store = Store::open(dir, StoreConfig::default()).expect("store opens");
        // Nothing here talks to the chain: the client only connects when called.
        let endpoint = RpcEndpoint {
            host: "127.0.0.1".into(),
            port: 9,
            user: "u".into(),
            password: "p".into(),
        };
        OnchainWallet::open(store, &[7; 32], Network::Regtest, &endpoint).expect("wallet opens")
    }

    /// Addresses revealed by concurrent callers (who write their changes after releasing the
    /// lock, in any order) are all durable: after a reopen none is handed out again.
    #[test]
    fn concurrent_addresses_survive_a_reopen() {
        let dir = tempfile::tempdir().expect("temp dir");
        let wallet = Arc::new(open(dir.path()));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let wallet = Arc::clone(&wallet);
                std::thread::spawn(move || {
                    (0..25)
                        .map(|_| wallet.new_address().expect("address"))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut given = HashSet::new();
        for thread in threads {
            for address in thread.join().expect("thread") {
                assert!(given.insert(address), "an address was handed out twice");
            }
        }
        assert_eq!(given.len(), 200);
        drop(wallet);

        let reopened = open(dir.path());
        for _ in 0..10 {
            let address = reopened.new_address().expect("address");
            assert!(!given.contains(&address), "{address} handed out again");
        }
    }
}
