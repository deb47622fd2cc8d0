//! A small unbounded FIFO with one async receiver.
//!
//! tokio's channels allocate a block of slots up front; with one mailbox per
//! joined channel and tens of thousands of connections that dominates memory.
//! This queue allocates only while it holds messages.

use std::collections::VecDeque;

use parking_lot::Mutex;
use tokio::sync::Notify;

#[derive(Debug)]
pub(crate) struct Mailbox<T> {
    state: Mutex<State<T>>,
    /// Wakes the receiver when a message arrives or the mailbox closes.
    ready: Notify,
}

#[derive(Debug)]
struct State<T> {
    queue: VecDeque<T>,
    closed: bool,
}

impl<T> Mailbox<T> {
    pub(crate) fn new() -> Self {
        Mailbox { state: Mutex::new(State { queue: VecDeque::new(), closed: false }), ready: Notify::new() }
    }

    /// Queues a message; returns the queue length, or the message back if closed.
    pub(crate) fn push(&self, msg: T) -> Result<usize, T> {
        let mut s = self.state.lock();
        if s.closed {
            return Err(msg);
        }
        s.queue.push_back(msg);
        let len = s.queue.len();
        drop(s);
        self.ready.notify_one();
        Ok(len)
    }

    /// Waits for the next message; `None` once closed and empty.
    pub(crate) async fn recv(&self) -> Option<T> {
        loop {
            {
                let mut s = self.state.lock();
                if let Some(m) = s.queue.pop_front() {
                    if s.queue.is_empty() && s.queue.capacity() > 16 {
                        s.queue = VecDeque::new();
                    }
                    return Some(m);
                }
                if s.closed {
                    return None;
                }
            }
            self.ready.notified().await;
        }
    }

    /// Closes the mailbox and returns what was still queued.
    pub(crate) fn close(&self) -> VecDeque<T> {
        let mut s = self.state.lock();
        s.closed = true;
        let rest = std::mem::take(&mut s.queue);
        drop(s);
        self.ready.notify_one();
        rest
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.state.lock().closed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn delivers_in_order_then_reports_closed() {
        let m = Mailbox::new();
        m.push(1).unwrap();
        m.push(2).unwrap();
        assert_eq!(m.recv().await, Some(1));
        assert_eq!(m.close().into_iter().collect::<Vec<_>>(), vec![2]);
        assert_eq!(m.push(3), Err(3));
        assert_eq!(m.recv().await, None);
    }

    #[tokio::test]
    async fn receiver_wakes_for_a_later_push() {
        let m = std::sync::Arc::new(Mailbox::new());
        let r = tokio::spawn({
            let m = m.clone();
            async move { m.recv().await }
        });
        tokio::task::yield_now().await;
        m.push("x").unwrap();
        assert_eq!(r.await.unwrap(), Some("x"));
    }
}
