//! Persistence of LDK's channel state: channel monitors and the channel manager commit
//! together, so a crash at any instant leaves a store LDK can resume from without
//! force-closing a channel.
//!
//! LDK refuses two stored states (lightning 0.2.7, `ChannelManager::read`):
//! - a manager *behind* a monitor (the monitor holds an update the manager never saw):
//!   the channel is force-closed as "stale manager";
//! - a monitor behind a manager, unless the manager lists the missing updates as
//!   in flight (it then replays them).
//!
//! LDK's synchronous persisters write each monitor update before the manager, so a crash
//! (SIGKILL, power loss) between the two writes force-closes the channel. Here every
//! monitor write is instead handed to one writer thread and reported to LDK as
//! `InProgress`, which keeps LDK from sending the messages that depend on it. The writer
//! takes every queued monitor write, *then* serialises the channel manager — which thus
//! knows every update those writes hold, as done or in flight — and commits all of it in
//! one atomic, fsynced batch. Only then does it tell the chain monitor that the updates
//! completed. The stored manager therefore never lags the stored monitors, and one fsync
//! covers the updates of every channel that changed meanwhile (group commit).
//!
//! The stored layout is that of LDK's `MonitorUpdatingPersister` (full monitors with its
//! sentinel prefix, numbered updates beside them), so the node reads its monitors back
//! with LDK's own reader.

mod encode;
mod kv;
mod monitors;
mod order;
mod queue;
mod writer;

pub use kv::LdkStore;
pub use monitors::{MonitorPersister, FULL_MONITOR_EVERY};
pub use queue::PersistQueue;
pub use writer::{PersistWriter, WriterParts};
