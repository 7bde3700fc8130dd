//! [`SendWindow`]: how many outgoing payments may be in flight at once.
//!
//! Every new commitment carries a signature for each HTLC in it (BOLT 3), so the cost of
//! one commitment round grows with the HTLCs in flight. Admitting every payment at once
//! lets that run away when payments arrive near the node's capacity: a round covering
//! more HTLCs takes longer, more payments arrive meanwhile, and the next round is larger
//! still. The window keeps rounds bounded: a payment beyond it waits for a slot, FIFO,
//! before LDK sees it, and its slot frees when it settles.
//!
//! The window shapes sends; it must not stop them. Payments can stay in flight for hours
//! (HTLCs held by a peer that went away resolve only when it returns or on chain), and
//! 64 of them must not block every later payment: a send that waits
//! [`DEFAULT_MAX_WAIT`] without a slot goes ahead without one.
//!
//! Payments still in flight across a restart hold no slot.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Outgoing payments in flight at once by default: enough to batch many HTLCs per
/// commitment, well under the 483 a channel accepts.
pub const DEFAULT_SEND_WINDOW: usize = 64;
/// How long a send waits for a slot by default before it goes ahead without one: far
/// longer than a slot takes to free under load (a few hundred ms), far shorter than a
/// stuck payment can hold one.
pub const DEFAULT_MAX_WAIT: Duration = Duration::from_secs(1);

/// Slots for outgoing payments in flight, held per payment id.
pub struct SendWindow {
    slots: Arc<Semaphore>,
    max_wait: Duration,
    held: Mutex<HashMap<String, OwnedSemaphorePermit>>,
}

impl SendWindow {
    /// A window of `size` slots (at least one); a send waits at most `max_wait` for one.
    pub fn new(size: usize, max_wait: Duration) -> SendWindow {
        SendWindow {
            slots: Arc::new(Semaphore::new(size.max(1))),
            max_wait,
            held: Mutex::new(HashMap::new()),
        }
    }

    fn held(&self) -> MutexGuard<'_, HashMap<String, OwnedSemaphorePermit>> {
        // A panic while holding this lock cannot leave the map half-changed.
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits for a slot for `payment_id` (returning at once if it holds one), or for the
    /// longest wait, after which the payment goes ahead without a slot.
    pub async fn enter(&self, payment_id: &str) {
        if self.held().contains_key(payment_id) {
            return;
        }
        let waiting = Instant::now();
        let acquired =
            tokio::time::timeout(self.max_wait, Arc::clone(&self.slots).acquire_owned()).await;
        metrics::histogram!("sluice_send_window_wait_seconds")
            .record(waiting.elapsed().as_secs_f64());
        // The semaphore is never closed, so acquiring fails only by timing out.
        let Ok(Ok(permit)) = acquired else {
            metrics::counter!("sluice_send_window_overflows_total").increment(1);
            return;
        };
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
        let window = Arc::new(SendWindow::new(2, Duration::from_secs(60)));
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

    /// Payments holding every slot (stuck behind a peer that went away, say) delay a
    /// later send by the longest wait, not until they resolve.
    #[tokio::test]
    async fn a_send_goes_ahead_without_a_slot_after_the_longest_wait() {
        let window = SendWindow::new(1, Duration::from_millis(100));
        window.enter("stuck").await;
        tokio::time::timeout(Duration::from_secs(5), window.enter("next"))
            .await
            .expect("the send went ahead");
        // It holds no slot: only the stuck payment does.
        assert_eq!(window.in_flight(), 1);
        window.leave("next");
        assert_eq!(window.in_flight(), 1);
        window.leave("stuck");
        window.enter("later").await;
        assert_eq!(window.in_flight(), 1);
    }
}
