//! A bare LSPS peer for the tests: a Lightning peer (LDK's `PeerManager` over
//! lightning-net-tokio, no channels, no gossip) whose only messages are LSPS ones — type
//! 37913, a JSON-RPC 2.0 text (bLIP-50, LSPS0). It lets a test ask what sluice's LSP
//! answers on the wire, including requests no LSPS client library would send.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bitcoin::secp256k1::PublicKey;
use lightning::ln::msgs::{DecodeError, Init, LightningError};
use lightning::ln::peer_handler::{
    CustomMessageHandler, ErroringMessageHandler, IgnoringMessageHandler, MessageHandler,
    PeerManager,
};
use lightning::ln::wire::{CustomMessageReader, Type};
use lightning::sign::{KeysManager, NodeSigner};
use lightning::types::features::{InitFeatures, NodeFeatures};
use lightning::util::logger::{Logger, Record};
use lightning::util::ser::{LengthLimitedRead, Writeable, Writer};
use lightning_net_tokio::SocketDescriptor;

use super::WAIT;

/// The Lightning message type of LSPS messages.
const LSPS_MESSAGE_TYPE: u16 = 37913;

/// An LSPS message: its JSON text is the whole message body.
#[derive(Debug)]
pub struct LspsText(pub String);

impl Type for LspsText {
    fn type_id(&self) -> u16 {
        LSPS_MESSAGE_TYPE
    }
}

impl Writeable for LspsText {
    fn write<W: Writer>(&self, w: &mut W) -> Result<(), lightning::io::Error> {
        w.write_all(self.0.as_bytes())
    }
}

/// Sends queued LSPS texts and keeps the ones received.
#[derive(Default)]
struct LspsWire {
    outgoing: Mutex<Vec<(PublicKey, LspsText)>>,
    received: Mutex<Vec<String>>,
}

impl CustomMessageReader for LspsWire {
    type CustomMessage = LspsText;

    fn read<R: LengthLimitedRead>(
        &self,
        message_type: u16,
        buffer: &mut R,
    ) -> Result<Option<LspsText>, DecodeError> {
        if message_type != LSPS_MESSAGE_TYPE {
            return Ok(None);
        }
        let mut bytes = vec![0; buffer.remaining_bytes() as usize];
        buffer
            .read_exact(&mut bytes)
            .map_err(|_| DecodeError::ShortRead)?;
        let text = String::from_utf8(bytes).map_err(|_| DecodeError::InvalidValue)?;
        Ok(Some(LspsText(text)))
    }
}

impl CustomMessageHandler for LspsWire {
    fn handle_custom_message(
        &self,
        msg: LspsText,
        _sender_node_id: PublicKey,
    ) -> Result<(), LightningError> {
        self.received.lock().unwrap().push(msg.0);
        Ok(())
    }

    fn get_and_clear_pending_msg(&self) -> Vec<(PublicKey, LspsText)> {
        std::mem::take(&mut *self.outgoing.lock().unwrap())
    }

    fn peer_disconnected(&self, _their_node_id: PublicKey) {}

    fn peer_connected(
        &self,
        _their_node_id: PublicKey,
        _msg: &Init,
        _inbound: bool,
    ) -> Result<(), ()> {
        Ok(())
    }

    fn provided_node_features(&self) -> NodeFeatures {
        NodeFeatures::empty()
    }

    fn provided_init_features(&self, _their_node_id: PublicKey) -> InitFeatures {
        InitFeatures::empty()
    }
}

/// LDK's log lines are not needed here.
struct Quiet;

impl Logger for Quiet {
    fn log(&self, _record: Record) {}
}

type BarePeerManager = PeerManager<
    SocketDescriptor,
    Arc<ErroringMessageHandler>,
    Arc<IgnoringMessageHandler>,
    Arc<IgnoringMessageHandler>,
    Arc<Quiet>,
    Arc<LspsWire>,
    Arc<KeysManager>,
    Arc<IgnoringMessageHandler>,
>;

/// A bare LSPS peer connected to one LSP.
pub struct LspsPeer {
    /// Runs the connection; dropping it closes the connection.
    _runtime: tokio::runtime::Runtime,
    peer_manager: Arc<BarePeerManager>,
    wire: Arc<LspsWire>,
    lsp: PublicKey,
    node_id: PublicKey,
}

impl LspsPeer {
    /// Connects to the LSP `lsp` at `addr` with a fresh node key.
    pub fn connect(lsp: PublicKey, addr: SocketAddr) -> LspsPeer {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap();
        let mut seed = [0u8; 32];
        seed[..16].copy_from_slice(&now.as_nanos().to_be_bytes());
        LspsPeer::connect_as(&seed, lsp, addr)
    }

    /// Connects with the node key of an LDK `KeysManager` seeded with `seed` (so it can
    /// speak for a wallet whose seed it knows, while that wallet is offline).
    pub fn connect_as(seed: &[u8; 32], lsp: PublicKey, addr: SocketAddr) -> LspsPeer {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap();
        let keys = Arc::new(KeysManager::new(
            seed,
            now.as_secs(),
            now.subsec_nanos(),
            true,
        ));
        let mut ephemeral = [0u8; 32];
        ephemeral[..16].copy_from_slice(&now.as_nanos().to_be_bytes());
        let node_id = keys.get_node_id(lightning::sign::Recipient::Node).unwrap();
        let wire = Arc::new(LspsWire::default());
        let handlers = MessageHandler {
            chan_handler: Arc::new(ErroringMessageHandler::new()),
            route_handler: Arc::new(IgnoringMessageHandler {}),
            onion_message_handler: Arc::new(IgnoringMessageHandler {}),
            custom_message_handler: Arc::clone(&wire),
            send_only_message_handler: Arc::new(IgnoringMessageHandler {}),
        };
        let peer_manager = Arc::new(BarePeerManager::new(
            handlers,
            now.as_secs() as u32,
            &ephemeral,
            Arc::new(Quiet),
            keys,
        ));
        let connection = runtime
            .block_on(lightning_net_tokio::connect_outbound(
                Arc::clone(&peer_manager),
                lsp,
                addr,
            ))
            .expect("the LSP accepts the connection");
        runtime.spawn(connection);
        let peer = LspsPeer {
            _runtime: runtime,
            peer_manager,
            wire,
            lsp,
            node_id,
        };
        peer.until("the handshake", || {
            peer.peer_manager.peer_by_node_id(&peer.lsp).map(|_| ())
        });
        peer
    }

    /// The peer's node id.
    pub fn node_id(&self) -> PublicKey {
        self.node_id
    }

    /// Sends `request` (a JSON text) and returns the next LSPS message received, parsed.
    pub fn request(&self, request: &str) -> serde_json::Value {
        self.wire
            .outgoing
            .lock()
            .unwrap()
            .push((self.lsp, LspsText(request.to_owned())));
        let text = self.until("an answer", || {
            let mut received = self.wire.received.lock().unwrap();
            (!received.is_empty()).then(|| received.remove(0))
        });
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
    }

    /// Whether anything arrives within `quiet` after `request` is sent.
    pub fn unanswered(&self, request: &str, quiet: Duration) -> bool {
        self.wire
            .outgoing
            .lock()
            .unwrap()
            .push((self.lsp, LspsText(request.to_owned())));
        let until = Instant::now() + quiet;
        while Instant::now() < until {
            self.pump();
            if !self.wire.received.lock().unwrap().is_empty() {
                return false;
            }
        }
        true
    }

    /// Has LDK send what is queued (lightning-net-tokio reads on the runtime's thread).
    fn pump(&self) {
        self.peer_manager.process_events();
        std::thread::sleep(Duration::from_millis(10));
    }

    fn until<T>(&self, what: &str, mut done: impl FnMut() -> Option<T>) -> T {
        let until = Instant::now() + WAIT;
        loop {
            self.pump();
            if let Some(value) = done() {
                return value;
            }
            assert!(Instant::now() < until, "{what} within {WAIT:?}");
        }
    }
}
