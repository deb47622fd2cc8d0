//! The per-connection queue of outgoing frames.
//!
//! Everything a connection sends goes through its outbox, in one order:
//! replies and pushes from its channels, and broadcast frames that PubSub
//! hands over already encoded (the fastlane). The transport drains the whole
//! queue at once and writes it in as few syscalls as it can.

use std::collections::VecDeque;

use embercast_protocol::{EncodeError, EncodedFrame, Message, Reply, Serializer};
use parking_lot::Mutex;
use tokio::sync::Notify;

/// Why the server ends a connection. [`crate::wire`] maps each to a close code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloseReason {
    /// A `disconnect` broadcast on the socket id.
    Disconnect,
    /// Nothing was received for the idle timeout.
    IdleTimeout,
    /// The client did not read its frames fast enough and the queue overflowed.
    SlowConsumer,
    /// The server is shutting down.
    Shutdown,
}

#[derive(Debug)]
pub(crate) struct Outbox {
    serializer: Serializer,
    max_bytes: usize,
    state: Mutex<State>,
    notify: Notify,
}

#[derive(Debug, Default)]
struct State {
    frames: VecDeque<EncodedFrame>,
    bytes: usize,
    close: Option<CloseReason>,
    /// The transport is gone; frames are dropped.
    dead: bool,
}

/// What the transport takes from the outbox in one go.
#[derive(Debug, Default)]
pub(crate) struct Drained {
    pub(crate) frames: VecDeque<EncodedFrame>,
    pub(crate) close: Option<CloseReason>,
}

impl Outbox {
    pub(crate) fn new(serializer: Serializer, max_bytes: usize) -> Self {
        Outbox { serializer, max_bytes, state: Mutex::new(State::default()), notify: Notify::new() }
    }

    pub(crate) fn serializer(&self) -> Serializer {
        self.serializer
    }

    /// Queues an encoded frame. A connection whose queue is over its byte limit
    /// is closed rather than allowed to grow without bound.
    pub(crate) fn push_frame(&self, frame: EncodedFrame) {
        let mut s = self.state.lock();
        if s.dead || s.close.is_some() {
            return;
        }
        if s.bytes + frame.data.len() > self.max_bytes && !s.frames.is_empty() {
            tracing::warn!(queued_bytes = s.bytes, "client is not reading; closing the connection");
            s.close = Some(CloseReason::SlowConsumer);
            s.frames.clear();
            s.bytes = 0;
        } else {
            s.bytes += frame.data.len();
            s.frames.push_back(frame);
        }
        drop(s);
        self.notify.notify_one();
    }

    /// Encodes and queues a push (or `phx_close` / `phx_error`).
    pub(crate) fn push_message(&self, msg: &Message) -> Result<(), EncodeError> {
        let frame = self.serializer.encode_push(msg)?;
        self.push_frame(frame);
        Ok(())
    }

    /// Encodes and queues a reply.
    pub(crate) fn push_reply(&self, reply: &Reply) -> Result<(), EncodeError> {
        let frame = self.serializer.encode_reply(reply)?;
        self.push_frame(frame);
        Ok(())
    }

    /// Asks the transport to close the connection after what is queued.
    pub(crate) fn close(&self, reason: CloseReason) {
        let mut s = self.state.lock();
        if s.close.is_none() && !s.dead {
            s.close = Some(reason);
        }
        drop(s);
        self.notify.notify_one();
    }

    /// The close request, if any, leaving the queued frames in place.
    pub(crate) fn close_reason(&self) -> Option<CloseReason> {
        self.state.lock().close
    }

    /// Takes everything queued (and the close request, if any).
    pub(crate) fn drain(&self) -> Drained {
        let mut s = self.state.lock();
        s.bytes = 0;
        Drained { frames: std::mem::take(&mut s.frames), close: s.close }
    }

    /// Waits until something is queued or a close is requested.
    pub(crate) async fn ready(&self) {
        self.notify.notified().await
    }

    /// Marks the transport gone: later frames are dropped.
    pub(crate) fn kill(&self) {
        let mut s = self.state.lock();
        s.dead = true;
        s.frames = VecDeque::new();
        s.bytes = 0;
    }
}
