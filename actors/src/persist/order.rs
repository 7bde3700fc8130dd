//! [`WholeWrites`]: the one order whole-monitor writes must keep. Storing a whole
//! monitor deletes the stored updates it already holds; storing, after it, an *older*
//! snapshot of the same monitor would bring back an earlier state with the updates in
//! between gone — a monitor behind its manager with nothing to replay, which LDK
//! refuses at its next update ("ChannelMonitorUpdates out of order").
//!
//! Snapshots are queued in the order LDK takes them while it holds the monitor's
//! pending-updates lock, but `ChainMonitor::archive_fully_resolved_channel_monitors`
//! (lightning 0.2.7) asks for a write without that lock, so its snapshot can be queued
//! after a newer one. The writer therefore never lets a monitor's stored update id go
//! back: a snapshot older than the last one it stored is skipped (the stored one holds
//! everything it does).

use std::collections::HashMap;

/// The update id of the last whole snapshot stored of each monitor, by this process.
#[derive(Debug, Default)]
pub(crate) struct WholeWrites {
    latest: HashMap<String, u64>,
}

impl WholeWrites {
    /// Whether a snapshot of `key` holding updates up to `latest_update_id` may be
    /// stored; if so it is recorded as the latest. A snapshot at the same id is newer
    /// chain data (chain sync writes keep the id) and is stored.
    pub(crate) fn admit(&mut self, key: &str, latest_update_id: u64) -> bool {
        match self.latest.get_mut(key) {
            Some(stored) if latest_update_id < *stored => false,
            Some(stored) => {
                *stored = latest_update_id;
                true
            }
            None => {
                self.latest.insert(key.to_owned(), latest_update_id);
                true
            }
        }
    }

    /// Forgets `key` (its monitor was archived).
    pub(crate) fn forget(&mut self, key: &str) {
        self.latest.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_older_snapshot_queued_after_a_newer_one_is_not_stored() {
        let mut writes = WholeWrites::default();
        assert!(writes.admit("m", 10));
        // The archive path's snapshot taken at 9, queued after the one at 10.
        assert!(!writes.admit("m", 9));
        assert!(writes.admit("m", 10), "newer chain data at the same id");
        assert!(writes.admit("m", 11));
        assert!(writes.admit("other", 3), "each monitor on its own");
        writes.forget("m");
        assert!(writes.admit("m", 1));
    }
}
