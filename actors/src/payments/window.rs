//! [`SendWindow`]: how many outgoing payments may be in flight at once.
//!
//! Every new commitment carries a signature for each HTLC in it (BOLT 3), so the cost of
//! one commitment round grows with the HTLCs in flight. Admitting every payment at once
//! lets that run away when payments arrive near the node's capacity: a round covering
//! more HTLCs takes longer, more payments arrive meanwhile, and the next round is larger
//! still. The window keeps rounds bounded: a payment beyond it waits for a slot, FIFO,
//! before LDK sees it, and its slot frees when it settles.
//!
//! Payments still in flight across a restart hold no slot; the window only shapes new
//! sends.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Outgoing payments in flight at once by default: enough to batch many HTLCs per
/// commitment, well under the 483 a channel accepts.
pub const DEFAULT_SEND_WINDOW: usize = 64;

/// Slots for outgoing payments in flight, held per payment id.
pub struct SendWindow {
    slots: Arc<Semaphore>,
    held: Mutex<HashMap<String, OwnedSemaphorePermit>>,
}

impl SendWindow {
    /// A window of `size` slots (at least one).
    pub fn new(size: usize) -> SendWindow {
        SendWindow {
            slots: Arc::new(Semaphore::new(size.max(1))),
            held: Mutex::new(HashMap::new()),
        }
    }

    fn held(&self) -> MutexGuard<'_, HashMap<String, OwnedSemaphorePermit>> {
        // A panic while holding this lock cannot leave the map half-changed.
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits for a slot for `payment_id` (returning at once if it holds one).
    pub async fn enter(&self, payment_id: &str) {
        if self.held().contains_key(payment_id) {
            return;
        }
        let waiting = Instant::now();
        // The semaphore is never closed, so acquiring only fails if it were.
        let Ok(permit) = Arc::clone(&self.slots).acquire_owned().await else {
            return;
        };
        metrics::histogram!("sluice_send_window_wait_seconds")
            .record(waiting.elapsed().as_secs_f64());
        let mut held = self.held();
        held.insert(payment_id.to_owned(), permit);
        metrics::gauge!("sluice_send_window_in_flight").set(held.len() as f64);
    }

    /// Frees the slot of `payment_id`, if it holds one.
    pub fn leave(&self, payment_id: &str) {
        let mut held = self.held();
        if held.remove(payment_id).is_some() {
            metrics::gauge!("sluice_send_window_in_flight").set(held.len() as f64);
        }
    }

    /// Payments holding a slot.
    pub fn in_flight(&self) -> usize {
        self.held().len()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn a_payment_past_the_window_waits_for_a_slot_to_free() {
        let window = Arc::new(SendWindow::new(2));
        window.enter("a").await;
        window.enter("b").await;
        // Entering again with a slot already held does not take a second one.
        window.enter("a").await;
        assert_eq!(window.in_flight(), 2);

        let waiting = tokio::spawn({
            let window = Arc::clone(&window);
            async move { window.enter("c").await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            !waiting.is_finished(),
            "a third payment entered a window of two"
        );

        // Leaving an unknown payment, or twice, frees nothing.
        window.leave("unknown");
        window.leave("a");
        window.leave("a");
        tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("the waiting payment entered once a slot freed")
            .expect("the task");
        assert_eq!(window.in_flight(), 2);
        window.leave("b");
        window.leave("c");
        assert_eq!(window.in_flight(), 0);
    }
}
