//! The bytes of client messages received but not yet taken by their channels.
//!
//! A connection keeps reading while its channels work, so that heartbeats
//! are answered at once even when a channel is slow. What it reads for busy
//! channels waits in their mailboxes; this budget bounds that per connection:
//! past the high mark the connection stops reading (TCP pushes back on the
//! client) until the channels have caught up to the low mark.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::Notify;

/// Unprocessed input above which a connection stops reading.
pub(crate) const HIGH: usize = 8 << 20;
/// Unprocessed input at which it reads again.
pub(crate) const LOW: usize = 2 << 20;

/// What a waiting message costs: a decoded JSON value takes several times
/// the bytes of its text, plus the message's own allocations.
pub(crate) fn weight(frame_len: usize) -> usize {
    256 + 8 * frame_len
}

#[derive(Debug, Default)]
pub(crate) struct Budget {
    bytes: AtomicUsize,
    drained: Notify,
}

/// A message's share of the budget, given back when the message is dropped
/// (taken by its channel, answered as unmatched, or discarded with a dead channel).
#[derive(Debug)]
pub(crate) struct Ticket {
    budget: Arc<Budget>,
    bytes: usize,
}

impl Budget {
    pub(crate) fn charge(self: &Arc<Self>, bytes: usize) -> Ticket {
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
        Ticket { budget: self.clone(), bytes }
    }

    /// Whether reading should pause.
    pub(crate) fn exhausted(&self) -> bool {
        self.bytes.load(Ordering::Relaxed) >= HIGH
    }

    /// Waits until unprocessed input is back at the low mark.
    pub(crate) async fn recovered(&self) {
        loop {
            let notified = self.drained.notified();
            if self.bytes.load(Ordering::Acquire) <= LOW {
                return;
            }
            notified.await;
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let before = self.budget.bytes.fetch_sub(self.bytes, Ordering::AcqRel);
        if before > LOW && before - self.bytes <= LOW {
            self.budget.drained.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn pauses_at_the_high_mark_and_resumes_at_the_low_mark() {
        let b = Arc::new(Budget::default());
        let t1 = b.charge(HIGH - LOW);
        let t2 = b.charge(LOW);
        assert!(b.exhausted());
        let waiter = tokio::spawn({
            let b = b.clone();
            async move { b.recovered().await }
        });
        drop(t1);
        waiter.await.unwrap();
        assert!(!b.exhausted());
        drop(t2);
        assert_eq!(b.bytes.load(Ordering::Relaxed), 0);
    }
}
