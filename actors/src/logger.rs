//! LDK's logger, bridged into `tracing`.

use lightning::util::logger::{Level, Logger, Record};

/// Forwards LDK log records to `tracing` under the `ldk` target, with the peer, channel
/// and payment hash as fields when LDK gives them.
#[derive(Clone, Copy, Debug, Default)]
pub struct LdkLogger;

impl Logger for LdkLogger {
    fn log(&self, record: Record) {
        let peer = record.peer_id.map(|p| p.to_string());
        let channel = record.channel_id.map(|c| c.to_string());
        let payment = record.payment_hash.map(|h| h.to_string());
        let (peer, channel, payment) = (peer.as_deref(), channel.as_deref(), payment.as_deref());
        let module = record.module_path;
        let args = &record.args;
        match record.level {
            Level::Gossip | Level::Trace => {
                tracing::trace!(target: "ldk", module, peer, channel, payment, "{args}")
            }
            Level::Debug => {
                tracing::debug!(target: "ldk", module, peer, channel, payment, "{args}")
            }
            Level::Info => tracing::info!(target: "ldk", module, peer, channel, payment, "{args}"),
            Level::Warn => tracing::warn!(target: "ldk", module, peer, channel, payment, "{args}"),
            Level::Error => {
                tracing::error!(target: "ldk", module, peer, channel, payment, "{args}")
            }
        }
    }
}
