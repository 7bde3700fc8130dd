//! Proves that LDK's own [`MonitorUpdatingPersister`] round-trips *real* `ChannelMonitor`s and
//! `ChannelMonitorUpdate`s through a [`KVStoreSync`] implementation.
//!
//! Two in-process LDK nodes (no networking, no bitcoind) open a channel by exchanging messages by
//! hand, "mine" the funding transaction into a fake regtest chain and then make a series of real
//! payments A -> B. Every monitor write goes through a `MonitorUpdatingPersister` configured with
//! `maximum_pending_updates = 3`, so the store sees both differential updates (under
//! `monitor_updates/<monitor name>/<update id>`) and periodic full-monitor consolidations (under
//! `monitors/<monitor name>`).
//!
//! While the payments run, and again after a simulated restart (all LDK objects and the store are
//! dropped, then the store is reopened at the same path), the test checks that:
//!
//! * the full monitor in the store lags the live monitor and the gap is covered by exactly the
//!   pending update keys (so the updates, not only full monitors, are what carries the state);
//! * consolidation happened repeatedly, and after a clean close the superseded update keys are
//!   gone;
//! * `read_all_channel_monitors_with_updates` rebuilds, for each node, exactly one monitor that is
//!   equivalent to the live one: same latest update id, balances, holder commitment transaction,
//!   watched outputs and best block, and the same encoding up to `HashMap` order (see
//!   [`Fingerprint`] for why the bytes themselves cannot be compared);
//! * the channel balances (ChannelManager capacities and ChainMonitor claimable balances) reflect
//!   the amounts paid.
//!
//! The harness, [`roundtrip`], is generic over the store; each `#[test]` plugs in one store.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};

use bitcoin::absolute::LockTime;
use bitcoin::block::{Header, Version as BlockVersion};
use bitcoin::blockdata::constants::genesis_block;
use bitcoin::hashes::Hash;
use bitcoin::secp256k1::PublicKey;
use bitcoin::transaction::Version;
use bitcoin::{
    Amount, BlockHash, CompactTarget, Network, OutPoint, ScriptBuf, Sequence, Transaction, TxIn,
    TxMerkleNode, TxOut, Txid, Witness,
};
use lightning::chain::chaininterface::{BroadcasterInterface, ConfirmationTarget, FeeEstimator};
use lightning::chain::chainmonitor::ChainMonitor;
use lightning::chain::channelmonitor::{Balance, ChannelMonitor};
use lightning::chain::{BestBlock, Confirm, Filter};
use lightning::events::{Event, EventsProvider};
use lightning::ln::channelmanager::{
    ChainParameters, ChannelManager, PaymentId, RecipientOnionFields, Retry,
    SimpleArcChannelManager,
};
use lightning::ln::msgs::{BaseMessageHandler, ChannelMessageHandler, Init, MessageSendEvent};
use lightning::ln::types::ChannelId;
use lightning::onion_message::messenger::DefaultMessageRouter;
use lightning::routing::gossip::NetworkGraph;
use lightning::routing::router::{DefaultRouter, PaymentParameters, RouteParameters};
use lightning::routing::scoring::{
    ProbabilisticScorer, ProbabilisticScoringDecayParameters, ProbabilisticScoringFeeParameters,
};
use lightning::sign::{InMemorySigner, KeysManager, NodeSigner};
use lightning::util::config::UserConfig;
use lightning::util::logger::{Level, Logger, Record};
use lightning::util::persist::{
    KVStoreSync, MonitorUpdatingPersister, CHANNEL_MONITOR_PERSISTENCE_PRIMARY_NAMESPACE,
    CHANNEL_MONITOR_PERSISTENCE_SECONDARY_NAMESPACE,
    CHANNEL_MONITOR_UPDATE_PERSISTENCE_PRIMARY_NAMESPACE,
    MONITOR_UPDATING_PERSISTER_PREPEND_SENTINEL,
};
use lightning::util::ser::{ReadableArgs, Writeable};
use lightning_persister::fs_store::FilesystemStore;

/// Full monitors are written every `MAX_PENDING_UPDATES` update ids; the rest are differential.
const MAX_PENDING_UPDATES: u64 = 3;
/// A fixed "now", so that the run is deterministic (LDK only uses it for invoice expiry here).
const T0: u64 = 1_700_000_000;
const CHANNEL_SAT: u64 = 1_000_000;
/// Payments made before we start looking for a final state with pending updates on both nodes.
const MIN_PAYMENTS: u64 = 10;
const MAX_PAYMENTS: u64 = 30;
/// The fee rate every estimate returns (the floor LDK accepts); both nodes use the same one.
const FEERATE_SAT_PER_KW: u32 = 253;

// ---------------------------------------------------------------------------------------------
// Tests: one per store.
// ---------------------------------------------------------------------------------------------

#[test]
fn filesystem_store_roundtrips_monitor_updates() {
    roundtrip(|path: &Path| Arc::new(FilesystemStore::new(path.to_path_buf())));
}

#[test]
fn sluice_store_roundtrips_monitor_updates() {
    roundtrip(|path: &Path| {
        Arc::new(sluice_storage::Store::open(path, sluice_storage::StoreConfig::default()).unwrap())
    });
}

// ---------------------------------------------------------------------------------------------
// The harness.
// ---------------------------------------------------------------------------------------------

/// Runs the whole scenario against the store built by `make_store`. `make_store` is called once
/// per node before the payments and once more per node after the simulated restart, always with
/// the node's own directory; every handle it returned before is dropped before it is called again.
fn roundtrip<K: KVStoreSync + Send + Sync + 'static>(make_store: impl Fn(&Path) -> Arc<K>) {
    let dir_a = tempfile::tempdir().unwrap();
    let dir_b = tempfile::tempdir().unwrap();
    let (seed_a, seed_b) = ([0xa1; 32], [0xb2; 32]);

    let mut net = Net::new([
        Node::new(seed_a, make_store(dir_a.path())),
        Node::new(seed_b, make_store(dir_b.path())),
    ]);
    net.connect();
    let channel_id = net.open_channel(CHANNEL_SAT);

    let capacity_before = net.nodes[0].channel().outbound_capacity_msat;
    assert_eq!(
        net.nodes[1].channel().outbound_capacity_msat,
        0,
        "B starts with nothing"
    );

    // Pay until at least MIN_PAYMENTS are done *and* both stores hold pending updates that are
    // newer than their full monitor, so the final reload has to replay updates on both sides.
    let mut paid_msat = 0;
    let mut stats = [StoreStats::default(), StoreStats::default()];
    for i in 0..MAX_PAYMENTS {
        let amount_msat = (10_000 + 1_000 * i) * 1_000;
        net.pay(amount_msat);
        paid_msat += amount_msat;

        let mut all_pending = true;
        for (node, stats) in net.nodes.iter().zip(stats.iter_mut()) {
            let stored = StoredState::read(&*node.store, &node.keys, &node.monitor_key(channel_id));
            let live_id = node
                .chain_monitor
                .get_monitor(channel_id)
                .unwrap()
                .get_latest_update_id();
            stored.assert_covers(live_id);
            stats.record(&stored);
            all_pending &= !stored.pending_ids.is_empty();
        }
        if i + 1 >= MIN_PAYMENTS && all_pending {
            break;
        }
    }
    for stats in &stats {
        assert!(
            stats.max_pending > 0,
            "no differential update was ever stored"
        );
        assert!(
            stats.full_writes.len() >= 3,
            "too few consolidations: {:?}",
            stats.full_writes
        );
    }

    // Balances as seen by the live nodes.
    let capacity_after = net.nodes[0].channel().outbound_capacity_msat;
    assert_eq!(
        capacity_before - capacity_after,
        paid_msat,
        "A's outbound capacity"
    );
    let b_channel = net.nodes[1].channel();
    let b_reserve_msat = b_channel.unspendable_punishment_reserve.unwrap() * 1_000;
    assert_eq!(
        b_channel.outbound_capacity_msat,
        paid_msat - b_reserve_msat,
        "B's outbound capacity"
    );
    let paid_sat = paid_msat / 1_000;
    assert_eq!(
        claimable_sat(&net.nodes[1].balances()),
        paid_sat,
        "B's monitor balance"
    );
    let a_balances = net.nodes[0].balances();
    assert_eq!(
        claimable_sat(&a_balances) + commitment_fee_sat(&a_balances),
        CHANNEL_SAT - paid_sat,
        "A's monitor balance plus the commitment fee A pays as funder"
    );

    // Snapshot the live monitors, then "restart": drop every LDK object and the stores.
    let snapshots: Vec<Snapshot> = net.nodes.iter().map(|n| n.snapshot(channel_id)).collect();
    net.shut_down();

    for ((dir, seed), snapshot) in [(dir_a.path(), seed_a), (dir_b.path(), seed_b)]
        .into_iter()
        .zip(&snapshots)
    {
        let store = make_store(dir);
        let keys = Arc::new(KeysManager::new(&seed, T0, 0, true));

        // What is physically in the store: a stale full monitor plus the updates that bridge it.
        let stored = StoredState::read(&*store, &keys, &snapshot.monitor_key);
        stored.assert_covers(snapshot.latest_update_id);
        stored.assert_pruned();
        assert!(
            stored.full_update_id < snapshot.latest_update_id && !stored.pending_ids.is_empty(),
            "the reload must depend on stored updates: {stored:?}, live {}",
            snapshot.latest_update_id
        );

        // What LDK rebuilds from it.
        let persister = persister(Arc::clone(&store), Arc::clone(&keys));
        let mut monitors = persister.read_all_channel_monitors_with_updates().unwrap();
        assert_eq!(monitors.len(), 1, "exactly one monitor per node");
        let (_, monitor) = monitors.pop().unwrap();
        assert_eq!(monitor.channel_id(), channel_id);
        assert_eq!(monitor.persistence_key().to_string(), snapshot.monitor_key);
        assert_eq!(monitor.get_latest_update_id(), snapshot.latest_update_id);
        assert_eq!(monitor.get_claimable_balances(), snapshot.balances);
        assert_eq!(
            Fingerprint::of(&monitor, &keys),
            Fingerprint::of(&decode_monitor(&snapshot.encoded, &keys), &keys),
            "reloaded monitor differs from the live one"
        );
        assert_same_bytes_up_to_order(&monitor.encode(), &snapshot.encoded);

        // The reload is read-only: doing it again gives the same result.
        let again = persister.read_all_channel_monitors_with_updates().unwrap();
        assert_eq!(again.len(), 1);
        assert_eq!(
            Fingerprint::of(&again[0].1, &keys),
            Fingerprint::of(&monitor, &keys)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Comparing monitors.
// ---------------------------------------------------------------------------------------------

/// Everything observable about a `ChannelMonitor` through its public API.
///
/// Monitors cannot be compared by their encoding: `ChannelMonitor::write` walks `HashMap`s, whose
/// iteration order is randomised per map, so even decoding and re-encoding the *same* bytes gives
/// a different byte string (and `PartialEq` for monitors only exists behind `_test_utils`).
#[derive(Debug, PartialEq)]
struct Fingerprint {
    channel_id: ChannelId,
    funding_txo: lightning::chain::transaction::OutPoint,
    funding_script: ScriptBuf,
    counterparty: PublicKey,
    channel_type: lightning::types::features::ChannelTypeFeatures,
    latest_update_id: u64,
    best_block: BestBlock,
    balances: Vec<Balance>,
    outputs_to_watch: Vec<(Txid, Vec<(u32, ScriptBuf)>)>,
    relevant_txids: Vec<(Txid, u32, Option<BlockHash>)>,
    /// The latest holder commitment transaction(s), as (txid, outputs). The txid commits to the
    /// commitment number and every output, so it changes with every commitment update.
    holder_commitment: Vec<(Txid, Vec<TxOut>)>,
    encoded_len: usize,
}

impl Fingerprint {
    /// `keys` must be the owning node's (they re-derive the channel signer).
    fn of(monitor: &ChannelMonitor<InMemorySigner>, keys: &Arc<KeysManager>) -> Self {
        // Work on a private copy so that the broadcast leaves no trace on `monitor` itself.
        let copy = decode_monitor(&monitor.encode(), keys);
        let broadcaster = Arc::new(Broadcaster::default());
        copy.broadcast_latest_holder_commitment_txn(&broadcaster, &Arc::new(FixedFees), &logger());
        let holder_commitment = broadcaster
            .0
            .lock()
            .unwrap()
            .iter()
            .map(|tx| (tx.compute_txid(), tx.output.clone()))
            .collect();
        let mut outputs_to_watch = monitor.get_outputs_to_watch();
        outputs_to_watch.sort();
        Self {
            channel_id: monitor.channel_id(),
            funding_txo: monitor.get_funding_txo(),
            funding_script: monitor.get_funding_script(),
            counterparty: monitor.get_counterparty_node_id(),
            channel_type: monitor.channel_type_features(),
            latest_update_id: monitor.get_latest_update_id(),
            best_block: monitor.current_best_block(),
            balances: monitor.get_claimable_balances(),
            outputs_to_watch,
            relevant_txids: monitor.get_relevant_txids(),
            holder_commitment,
            encoded_len: monitor.serialized_length(),
        }
    }
}

fn decode_monitor(bytes: &[u8], keys: &Arc<KeysManager>) -> ChannelMonitor<InMemorySigner> {
    let (_, monitor) =
        <(BlockHash, ChannelMonitor<InMemorySigner>)>::read(&mut &bytes[..], (&**keys, &**keys))
            .unwrap();
    monitor
}

/// Two encodings of the same monitor hold the same bytes, in an order that may differ only where
/// `HashMap` entries are written (see [`Fingerprint`]).
fn assert_same_bytes_up_to_order(a: &[u8], b: &[u8]) {
    let histogram = |bytes: &[u8]| {
        let mut counts = [0usize; 256];
        bytes
            .iter()
            .for_each(|byte| counts[usize::from(*byte)] += 1);
        counts
    };
    assert_eq!(a.len(), b.len(), "encodings differ in length");
    assert!(histogram(a) == histogram(b), "encodings differ in content");
}

// ---------------------------------------------------------------------------------------------
// What is in the store.
// ---------------------------------------------------------------------------------------------

/// The raw monitor state of one channel in a store, read without LDK's update replay.
#[derive(Debug)]
struct StoredState {
    /// `get_latest_update_id` of the full monitor under `monitors/<key>`.
    full_update_id: u64,
    /// Update ids under `monitor_updates/<key>/` that are newer than the full monitor, sorted.
    pending_ids: Vec<u64>,
    /// Update ids under `monitor_updates/<key>/` the full monitor already contains.
    stale_ids: Vec<u64>,
}

impl StoredState {
    fn read<K: KVStoreSync + ?Sized>(
        store: &K,
        keys: &Arc<KeysManager>,
        monitor_key: &str,
    ) -> Self {
        let bytes = store
            .read(
                CHANNEL_MONITOR_PERSISTENCE_PRIMARY_NAMESPACE,
                CHANNEL_MONITOR_PERSISTENCE_SECONDARY_NAMESPACE,
                monitor_key,
            )
            .unwrap();
        let body = bytes
            .strip_prefix(MONITOR_UPDATING_PERSISTER_PREPEND_SENTINEL)
            .expect("a MonitorUpdatingPersister monitor starts with its sentinel");
        let full_update_id = decode_monitor(body, keys).get_latest_update_id();

        let mut ids: Vec<u64> = store
            .list(
                CHANNEL_MONITOR_UPDATE_PERSISTENCE_PRIMARY_NAMESPACE,
                monitor_key,
            )
            .unwrap()
            .iter()
            .map(|key| key.parse().expect("update keys are decimal update ids"))
            .collect();
        ids.sort_unstable();
        let (stale_ids, pending_ids) = ids.into_iter().partition(|id| *id <= full_update_id);
        Self {
            full_update_id,
            pending_ids,
            stale_ids,
        }
    }

    /// The full monitor plus the pending updates reach exactly `live_update_id`, with no gap and
    /// no more pending updates than the persister allows.
    fn assert_covers(&self, live_update_id: u64) {
        let expected: Vec<u64> = (self.full_update_id + 1..=live_update_id).collect();
        assert_eq!(
            self.pending_ids, expected,
            "pending updates do not bridge to the live monitor"
        );
        assert!(
            (self.pending_ids.len() as u64) < MAX_PENDING_UPDATES,
            "{self:?}"
        );
    }

    /// Nothing superseded is left behind. The persister prunes with `lazy` removes, which a
    /// store may apply after the call returns but must not lose on a clean close, so this is
    /// checked after the restart.
    fn assert_pruned(&self) {
        assert!(
            self.stale_ids.is_empty(),
            "consolidation left superseded updates: {self:?}"
        );
    }
}

/// What was observed in one node's store across the payments.
#[derive(Default)]
struct StoreStats {
    max_pending: usize,
    /// Distinct update ids at which a full monitor was seen in the store.
    full_writes: Vec<u64>,
}

impl StoreStats {
    fn record(&mut self, stored: &StoredState) {
        self.max_pending = self.max_pending.max(stored.pending_ids.len());
        if self.full_writes.last() != Some(&stored.full_update_id) {
            self.full_writes.push(stored.full_update_id);
        }
    }
}

/// The live monitor of one node, taken just before the restart.
struct Snapshot {
    monitor_key: String,
    latest_update_id: u64,
    encoded: Vec<u8>,
    balances: Vec<Balance>,
}

fn claimable_sat(balances: &[Balance]) -> u64 {
    balances
        .iter()
        .map(Balance::claimable_amount_satoshis)
        .sum()
}

fn commitment_fee_sat(balances: &[Balance]) -> u64 {
    balances
        .iter()
        .map(|balance| match balance {
            Balance::ClaimableOnChannelClose {
                balance_candidates, ..
            } => balance_candidates
                .last()
                .map_or(0, |c| c.transaction_fee_satoshis),
            _ => 0,
        })
        .sum()
}

// ---------------------------------------------------------------------------------------------
// Chain and logging stand-ins.
// ---------------------------------------------------------------------------------------------

struct FixedFees;

impl FeeEstimator for FixedFees {
    fn get_est_sat_per_1000_weight(&self, _: ConfirmationTarget) -> u32 {
        FEERATE_SAT_PER_KW
    }
}

/// Records broadcast transactions instead of sending them anywhere.
#[derive(Default)]
struct Broadcaster(Mutex<Vec<Transaction>>);

impl BroadcasterInterface for Broadcaster {
    fn broadcast_transactions(&self, txs: &[&Transaction]) {
        self.0
            .lock()
            .unwrap()
            .extend(txs.iter().map(|tx| (*tx).clone()));
    }
}

/// Prints warnings and errors (shown by the test harness only when a test fails).
struct TestLogger(&'static str);

impl Logger for TestLogger {
    fn log(&self, record: Record) {
        if record.level >= Level::Warn {
            eprintln!(
                "[{} {}] {}:{} {}",
                self.0, record.level, record.file, record.line, record.args
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// One LDK node.
// ---------------------------------------------------------------------------------------------

type Persister<K> = MonitorUpdatingPersister<
    Arc<K>,
    Arc<TestLogger>,
    Arc<KeysManager>,
    Arc<KeysManager>,
    Arc<Broadcaster>,
    Arc<FixedFees>,
>;
type Monitors<K> = ChainMonitor<
    InMemorySigner,
    Arc<dyn Filter + Send + Sync>,
    Arc<Broadcaster>,
    Arc<FixedFees>,
    Arc<TestLogger>,
    Arc<Persister<K>>,
    Arc<KeysManager>,
>;
type Manager<K> = SimpleArcChannelManager<Monitors<K>, Broadcaster, FixedFees, TestLogger>;

fn logger() -> Arc<TestLogger> {
    Arc::new(TestLogger("ldk"))
}

/// The persister under test. Its broadcaster and fee estimator are only used when replaying
/// updates on read, so each persister gets its own.
fn persister<K: KVStoreSync>(store: Arc<K>, keys: Arc<KeysManager>) -> Persister<K> {
    MonitorUpdatingPersister::new(
        store,
        logger(),
        MAX_PENDING_UPDATES,
        Arc::clone(&keys),
        keys,
        Arc::new(Broadcaster::default()),
        Arc::new(FixedFees),
    )
}

struct Node<K: KVStoreSync + Send + Sync + 'static> {
    store: Arc<K>,
    keys: Arc<KeysManager>,
    broadcaster: Arc<Broadcaster>,
    chain_monitor: Arc<Monitors<K>>,
    manager: Manager<K>,
}

impl<K: KVStoreSync + Send + Sync + 'static> Node<K> {
    fn new(seed: [u8; 32], store: Arc<K>) -> Self {
        let keys = Arc::new(KeysManager::new(&seed, T0, 0, true));
        let logger = logger();
        let fees = Arc::new(FixedFees);
        let broadcaster = Arc::new(Broadcaster::default());

        let persister = Arc::new(persister(Arc::clone(&store), Arc::clone(&keys)));
        let chain_monitor = Arc::new(ChainMonitor::new(
            None,
            Arc::clone(&broadcaster),
            Arc::clone(&logger),
            Arc::clone(&fees),
            persister,
            Arc::clone(&keys),
            keys.get_peer_storage_key(),
        ));

        let graph = Arc::new(NetworkGraph::new(Network::Regtest, Arc::clone(&logger)));
        let scorer = Arc::new(RwLock::new(ProbabilisticScorer::new(
            ProbabilisticScoringDecayParameters::default(),
            Arc::clone(&graph),
            Arc::clone(&logger),
        )));
        let router = Arc::new(DefaultRouter::new(
            Arc::clone(&graph),
            Arc::clone(&logger),
            Arc::clone(&keys),
            scorer,
            ProbabilisticScoringFeeParameters::default(),
        ));
        let message_router = Arc::new(DefaultMessageRouter::new(graph, Arc::clone(&keys)));

        let manager = ChannelManager::new(
            fees,
            Arc::clone(&chain_monitor),
            Arc::clone(&broadcaster),
            router,
            message_router,
            logger,
            Arc::clone(&keys),
            Arc::clone(&keys),
            Arc::clone(&keys),
            UserConfig::default(),
            ChainParameters {
                network: Network::Regtest,
                best_block: BestBlock::from_network(Network::Regtest),
            },
            T0 as u32,
        );
        Self {
            store,
            keys,
            broadcaster,
            chain_monitor,
            manager,
        }
    }

    fn id(&self) -> PublicKey {
        self.manager.get_our_node_id()
    }

    fn init(&self) -> Init {
        Init {
            features: self.manager.init_features(),
            networks: None,
            remote_network_address: None,
        }
    }

    /// The node's only channel.
    fn channel(&self) -> lightning::ln::channel_state::ChannelDetails {
        let mut channels = self.manager.list_channels();
        assert_eq!(channels.len(), 1);
        channels.pop().unwrap()
    }

    fn balances(&self) -> Vec<Balance> {
        self.chain_monitor.get_claimable_balances(&[])
    }

    fn monitor_key(&self, channel_id: ChannelId) -> String {
        self.chain_monitor
            .get_monitor(channel_id)
            .unwrap()
            .persistence_key()
            .to_string()
    }

    fn snapshot(&self, channel_id: ChannelId) -> Snapshot {
        assert_eq!(self.chain_monitor.list_monitors(), vec![channel_id]);
        let monitor = self.chain_monitor.get_monitor(channel_id).unwrap();
        Snapshot {
            monitor_key: monitor.persistence_key().to_string(),
            latest_update_id: monitor.get_latest_update_id(),
            encoded: monitor.encode(),
            balances: monitor.get_claimable_balances(),
        }
    }

    /// Hands a block to the ChannelManager and the ChainMonitor (both `chain::Confirm`).
    fn connect_block(&self, header: &Header, height: u32, txs: &[&Transaction]) {
        let txdata: Vec<(usize, &Transaction)> = txs.iter().copied().enumerate().collect();
        let listeners: [&dyn Confirm; 2] = [&self.manager, &*self.chain_monitor];
        for listener in listeners {
            if !txdata.is_empty() {
                listener.transactions_confirmed(header, &txdata, height);
            }
            listener.best_block_updated(header, height);
        }
    }

    /// Delivers one message `from` sent to this node.
    fn deliver(&self, from: PublicKey, event: MessageSendEvent) {
        let cm = &self.manager;
        let to_me = |node_id: &PublicKey| assert_eq!(*node_id, self.id(), "misrouted message");
        match event {
            MessageSendEvent::SendOpenChannel { node_id, msg } => {
                to_me(&node_id);
                cm.handle_open_channel(from, &msg);
            }
            MessageSendEvent::SendAcceptChannel { node_id, msg } => {
                to_me(&node_id);
                cm.handle_accept_channel(from, &msg);
            }
            MessageSendEvent::SendFundingCreated { node_id, msg } => {
                to_me(&node_id);
                cm.handle_funding_created(from, &msg);
            }
            MessageSendEvent::SendFundingSigned { node_id, msg } => {
                to_me(&node_id);
                cm.handle_funding_signed(from, &msg);
            }
            MessageSendEvent::SendChannelReady { node_id, msg } => {
                to_me(&node_id);
                cm.handle_channel_ready(from, &msg);
            }
            MessageSendEvent::SendChannelUpdate { node_id, msg } => {
                to_me(&node_id);
                cm.handle_channel_update(from, &msg);
            }
            MessageSendEvent::UpdateHTLCs {
                node_id,
                channel_id,
                updates,
            } => {
                to_me(&node_id);
                for msg in &updates.update_add_htlcs {
                    cm.handle_update_add_htlc(from, msg);
                }
                for msg in updates.update_fulfill_htlcs {
                    cm.handle_update_fulfill_htlc(from, msg);
                }
                for msg in &updates.update_fail_htlcs {
                    cm.handle_update_fail_htlc(from, msg);
                }
                for msg in &updates.update_fail_malformed_htlcs {
                    cm.handle_update_fail_malformed_htlc(from, msg);
                }
                if let Some(msg) = &updates.update_fee {
                    cm.handle_update_fee(from, msg);
                }
                let mut commitment_signed = updates.commitment_signed;
                if commitment_signed.len() > 1 {
                    cm.handle_commitment_signed_batch(from, channel_id, commitment_signed);
                } else if let Some(msg) = commitment_signed.pop() {
                    cm.handle_commitment_signed(from, &msg);
                }
            }
            MessageSendEvent::SendRevokeAndACK { node_id, msg } => {
                to_me(&node_id);
                cm.handle_revoke_and_ack(from, &msg);
            }
            other => panic!("unexpected message in this scenario: {other:?}"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Two nodes wired together by hand.
// ---------------------------------------------------------------------------------------------

struct Net<K: KVStoreSync + Send + Sync + 'static> {
    nodes: [Node<K>; 2],
    /// Headers of the fake chain, genesis first.
    headers: Vec<Header>,
    payments: u8,
}

impl<K: KVStoreSync + Send + Sync + 'static> Net<K> {
    fn new(nodes: [Node<K>; 2]) -> Self {
        Self {
            nodes,
            headers: vec![genesis_block(Network::Regtest).header],
            payments: 0,
        }
    }

    fn connect(&self) {
        let [a, b] = &self.nodes;
        a.manager.peer_connected(b.id(), &b.init(), false).unwrap();
        b.manager.peer_connected(a.id(), &a.init(), true).unwrap();
    }

    /// Opens an A -> B channel of `value_sat`, confirms it and waits until both sides can use it.
    fn open_channel(&mut self, value_sat: u64) -> ChannelId {
        let b_id = self.nodes[1].id();
        self.nodes[0]
            .manager
            .create_channel(b_id, value_sat, 0, 42, None, None)
            .unwrap();

        let events = self.pump();
        let (temporary_channel_id, script) = events
            .iter()
            .find_map(|(node, event)| match event {
                Event::FundingGenerationReady {
                    temporary_channel_id,
                    output_script,
                    channel_value_satoshis,
                    ..
                } if *node == 0 && *channel_value_satoshis == value_sat => {
                    Some((*temporary_channel_id, output_script.clone()))
                }
                _ => None,
            })
            .expect("A asks for a funding transaction");
        let funding_tx = funding_transaction(script, value_sat);
        self.nodes[0]
            .manager
            .funding_transaction_generated(temporary_channel_id, b_id, funding_tx.clone())
            .unwrap();
        self.pump();
        assert_eq!(
            *self.nodes[0].broadcaster.0.lock().unwrap(),
            vec![funding_tx.clone()],
            "A broadcasts the funding transaction once B signed"
        );

        // Both sides now have a ChannelMonitor; confirm the funding to the required depth.
        let depth = self.nodes[1]
            .channel()
            .confirmations_required
            .expect("B chose a depth");
        self.mine(&[&funding_tx]);
        for _ in 1..depth {
            self.mine(&[]);
        }
        let events = self.pump();
        for node in 0..2 {
            assert!(
                events
                    .iter()
                    .any(|(n, e)| *n == node && matches!(e, Event::ChannelReady { .. })),
                "node {node} did not see ChannelReady: {events:?}"
            );
            assert!(self.nodes[node].channel().is_usable);
        }
        let channel_id = self.nodes[0].channel().channel_id;
        assert_eq!(self.nodes[1].channel().channel_id, channel_id);
        channel_id
    }

    /// A pays B `amount_msat` over the channel and the HTLC is fully settled on both sides.
    fn pay(&mut self, amount_msat: u64) {
        let [a, b] = &self.nodes;
        let (payment_hash, payment_secret) = b
            .manager
            .create_inbound_payment(Some(amount_msat), 3600, None)
            .unwrap();
        self.payments += 1;
        let payment_id = PaymentId([self.payments; 32]);
        let route_params = RouteParameters::from_payment_params_and_value(
            PaymentParameters::from_node_id(b.id(), 40),
            amount_msat,
        );
        a.manager
            .send_payment(
                payment_hash,
                RecipientOnionFields::secret_only(payment_secret),
                payment_id,
                route_params,
                Retry::Attempts(0),
            )
            .unwrap();

        let events = self.pump();
        let sent = events.iter().any(|(node, event)| {
            *node == 0
                && matches!(event, Event::PaymentSent { payment_hash: h, payment_id: Some(id), .. }
                    if *h == payment_hash && *id == payment_id)
        });
        let claimed = events.iter().any(|(node, event)| {
            *node == 1
                && matches!(event, Event::PaymentClaimed { payment_hash: h, amount_msat: amt, .. }
                    if *h == payment_hash && *amt == amount_msat)
        });
        assert!(sent && claimed, "payment did not complete: {events:?}");
    }

    /// Appends a block containing `txs` and connects it to both nodes.
    fn mine(&mut self, txs: &[&Transaction]) {
        let prev = self.headers.last().unwrap();
        let height = self.headers.len() as u32;
        let header = Header {
            version: BlockVersion::TWO,
            prev_blockhash: prev.block_hash(),
            merkle_root: TxMerkleNode::all_zeros(),
            time: prev.time + 600,
            bits: CompactTarget::from_consensus(0x207f_ffff),
            nonce: height,
        };
        for node in &self.nodes {
            node.connect_block(&header, height, txs);
        }
        self.headers.push(header);
    }

    /// Delivers messages, forwards HTLCs and handles events on both nodes until nothing moves.
    /// Reacts to `PaymentClaimable` by claiming; returns every event seen, tagged by node index.
    fn pump(&self) -> Vec<(usize, Event)> {
        let mut seen = Vec::new();
        for _ in 0..100 {
            let mut progress = false;
            for (from, to) in [(0, 1), (1, 0)] {
                let (sender, receiver) = (&self.nodes[from], &self.nodes[to]);
                for message in sender.manager.get_and_clear_pending_msg_events() {
                    receiver.deliver(sender.id(), message);
                    progress = true;
                }
            }
            for (index, node) in self.nodes.iter().enumerate() {
                node.manager.process_pending_htlc_forwards();
                let events = Mutex::new(Vec::new());
                node.manager.process_pending_events(&|event: Event| {
                    events.lock().unwrap().push(event);
                    Ok(())
                });
                for event in events.into_inner().unwrap() {
                    progress = true;
                    if let Event::PaymentClaimable { purpose, .. } = &event {
                        node.manager
                            .claim_funds(purpose.preimage().expect("invoice preimage"));
                    }
                    seen.push((index, event));
                }
            }
            if !progress {
                return seen;
            }
        }
        panic!("nodes never went quiet; events so far: {seen:?}");
    }

    /// Drops every LDK object; asserts that nothing else still holds a store handle.
    fn shut_down(self) {
        for node in self.nodes {
            let store = Arc::clone(&node.store);
            drop(node);
            assert_eq!(
                Arc::strong_count(&store),
                1,
                "a store handle outlived its node"
            );
        }
    }
}

/// A funding transaction paying `value_sat` to `script`. Its input is made up: no chain ever
/// validates it, LDK only requires it to look signed (non-empty witness).
fn funding_transaction(script: ScriptBuf, value_sat: u64) -> Transaction {
    Transaction {
        version: Version::TWO,
        lock_time: LockTime::ZERO,
        input: vec![TxIn {
            previous_output: OutPoint {
                txid: Txid::from_byte_array([7; 32]),
                vout: 0,
            },
            script_sig: ScriptBuf::new(),
            sequence: Sequence::MAX,
            witness: Witness::from_slice(&[[1u8; 72]]),
        }],
        output: vec![TxOut {
            value: Amount::from_sat(value_sat),
            script_pubkey: script,
        }],
    }
}
