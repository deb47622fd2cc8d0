//! The per-connection queue of outgoing frames.
//!
//! Everything a connection sends goes through its outbox, in one order:
//! replies and pushes from its channels, and broadcast frames that PubSub
//! hands over already encoded (the fastlane). The transport drains the whole
//! queue at once and writes it in as few syscalls as it can.

use std::collections::VecDeque;

use embercast_protocol::{EncodeError, EncodedFrame, FrameKind, Message, Reply, Serializer};
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

/// A push that could not be sent to this client.
#[derive(Debug, Clone)]
pub struct PushError(PushErrorKind);

#[derive(Debug, Clone)]
enum PushErrorKind {
    Encode(EncodeError),
    BinaryOverText,
}

impl PushError {
    /// The payload cannot be encoded with the client's serializer (a V2 push
    /// that is not a JSON object, bytes for V1, a header field over 255 bytes).
    pub fn is_encode(&self) -> bool {
        matches!(self.0, PushErrorKind::Encode(_))
    }

    /// Bytes for a client whose transport only carries text (LongPoll).
    pub fn is_binary_over_text(&self) -> bool {
        matches!(self.0, PushErrorKind::BinaryOverText)
    }
}

impl std::fmt::Display for PushError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            PushErrorKind::Encode(e) => write!(f, "push failed: {e}"),
            PushErrorKind::BinaryOverText => f.write_str("push failed: this client's transport cannot carry bytes"),
        }
    }
}

impl std::error::Error for PushError {}

#[derive(Debug)]
pub(crate) struct Outbox {
    serializer: Serializer,
    /// Whether the transport carries binary frames (WebSocket) or only text (LongPoll).
    binary: bool,
    max_bytes: usize,
    state: Mutex<State>,
    notify: Notify,
    /// Wakes everyone watching for a close request (LongPoll's session keeper).
    closing: Notify,
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
    pub(crate) fn new(serializer: Serializer, binary: bool, max_bytes: usize) -> Self {
        Outbox {
            serializer,
            binary,
            max_bytes,
            state: Mutex::new(State::default()),
            notify: Notify::new(),
            closing: Notify::new(),
        }
    }

    pub(crate) fn serializer(&self) -> Serializer {
        self.serializer
    }

    /// Queues an encoded frame. A connection whose queue is over its byte limit
    /// is closed rather than allowed to grow without bound.
    ///
    /// A binary frame for a text-only transport is skipped: LongPoll clients
    /// hand every message to their JSON decoder, so bytes would break them.
    pub(crate) fn push_frame(&self, frame: EncodedFrame) {
        if !self.binary && frame.kind == FrameKind::Binary {
            tracing::debug!("binary frame skipped for a client whose transport carries only text");
            return;
        }
        let mut s = self.state.lock();
        if s.dead || s.close.is_some() {
            return;
        }
        if s.bytes + frame.data.len() > self.max_bytes && !s.frames.is_empty() {
            tracing::warn!(queued_bytes = s.bytes, "client is not reading; closing the connection");
            s.close = Some(CloseReason::SlowConsumer);
            s.frames.clear();
            s.bytes = 0;
            self.closing.notify_waiters();
        } else {
            s.bytes += frame.data.len();
            s.frames.push_back(frame);
        }
        drop(s);
        self.notify.notify_one();
    }

    /// Whether this client can receive `payload` at all: bytes need V2 over WebSocket.
    pub(crate) fn can_carry(&self, payload: &embercast_protocol::Payload) -> bool {
        !payload.is_binary() || (self.binary && self.serializer == Serializer::V2)
    }

    /// Encodes a push for this client, refusing what it cannot receive.
    pub(crate) fn encode_push(&self, msg: &Message) -> Result<EncodedFrame, PushError> {
        let frame = self.serializer.encode_push(msg).map_err(|e| PushError(PushErrorKind::Encode(e)))?;
        if !self.binary && frame.kind == FrameKind::Binary {
            return Err(PushError(PushErrorKind::BinaryOverText));
        }
        Ok(frame)
    }

    /// Encodes and queues a push (or `phx_close` / `phx_error`).
    pub(crate) fn push_message(&self, msg: &Message) -> Result<(), PushError> {
        let frame = self.encode_push(msg)?;
        self.push_frame(frame);
        Ok(())
    }

    /// Encodes and queues a reply. A response this client cannot receive
    /// (bytes on V1 or LongPoll) becomes an error reply saying so, so the
    /// push is still answered exactly once.
    pub(crate) fn push_reply(&self, reply: &Reply) {
        let frame = match self.serializer.encode_reply(reply) {
            Ok(f) if self.binary || f.kind == FrameKind::Text => f,
            result => {
                let error = result.err();
                tracing::warn!(topic = %reply.topic, ?error, "reply cannot be sent to this client; answering with an error");
                let too_long = error.is_some_and(|e| e.is_field_too_long());
                let fallback = crate::wire::reply_not_encodable(
                    reply.join_ref.clone(),
                    reply.r#ref.clone(),
                    &reply.topic,
                    too_long,
                );
                self.serializer.encode_reply(&fallback).expect("a JSON error reply always encodes")
            }
        };
        self.push_frame(frame);
    }

    /// Asks the transport to close the connection after what is queued.
    pub(crate) fn close(&self, reason: CloseReason) {
        let mut s = self.state.lock();
        if s.close.is_none() && !s.dead {
            s.close = Some(reason);
        }
        drop(s);
        self.notify.notify_one();
        self.closing.notify_waiters();
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

    /// Waits until a close is requested.
    pub(crate) async fn close_requested(&self) -> CloseReason {
        loop {
            let notified = self.closing.notified();
            if let Some(reason) = self.close_reason() {
                return reason;
            }
            notified.await;
        }
    }

    /// Marks the transport gone: later frames are dropped.
    pub(crate) fn kill(&self) {
        let mut s = self.state.lock();
        s.dead = true;
        s.frames = VecDeque::new();
        s.bytes = 0;
    }
}
