//! The logical message model (PROTOCOL.md §3.1), independent of any encoding.

use std::fmt;

use bytes::Bytes;
use serde_json::Value;

/// Reserved event names and the heartbeat topic (PROTOCOL.md §4.1).
pub mod event {
    /// A client asks to join a topic.
    pub const JOIN: &str = "phx_join";
    /// A client leaves a topic.
    pub const LEAVE: &str = "phx_leave";
    /// A reply to a client message (carries `status` and `response`).
    pub const REPLY: &str = "phx_reply";
    /// The server reports that a channel crashed; the client rejoins.
    pub const ERROR: &str = "phx_error";
    /// The server closed a channel for good; the client does not rejoin.
    pub const CLOSE: &str = "phx_close";
    /// The topic heartbeats are sent on.
    pub const HEARTBEAT_TOPIC: &str = "phoenix";
    /// The heartbeat event.
    pub const HEARTBEAT: &str = "heartbeat";
}

/// A `ref` or `join_ref` value.
///
/// The official client sends decimal strings, but other clients send numbers.
/// A ref is opaque to the server: it is echoed with the JSON type it arrived
/// with, and two refs are equal only if both type and value are equal (`1` is
/// not `"1"`), as in Phoenix.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Ref {
    /// A JSON string ref, the official client's kind.
    String(String),
    /// A JSON number ref.
    Number(serde_json::Number),
}

impl Ref {
    /// The ref as text, as written into a binary frame (numbers are stringified).
    pub fn as_text(&self) -> std::borrow::Cow<'_, str> {
        match self {
            Ref::String(s) => std::borrow::Cow::Borrowed(s),
            Ref::Number(n) => std::borrow::Cow::Owned(n.to_string()),
        }
    }
}

impl fmt::Display for Ref {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_text())
    }
}

impl From<&str> for Ref {
    fn from(s: &str) -> Self {
        Ref::String(s.to_owned())
    }
}

impl From<String> for Ref {
    fn from(s: String) -> Self {
        Ref::String(s)
    }
}

impl From<u64> for Ref {
    fn from(n: u64) -> Self {
        Ref::Number(n.into())
    }
}

/// A message payload: a JSON value, or raw bytes (V2 binary frames only).
#[derive(Clone, Debug, PartialEq)]
pub enum Payload {
    /// Any JSON value. V2 pushes and broadcasts require an object.
    Json(Value),
    /// Raw bytes, carried in V2 binary frames.
    Binary(Bytes),
}

impl Payload {
    /// The empty JSON object `{}`, Phoenix's default reply payload.
    pub fn empty() -> Self {
        Payload::Json(Value::Object(Default::default()))
    }

    /// The JSON value, if this is a JSON payload.
    pub fn as_json(&self) -> Option<&Value> {
        match self {
            Payload::Json(v) => Some(v),
            Payload::Binary(_) => None,
        }
    }

    /// The bytes, if this is a binary payload.
    pub fn as_binary(&self) -> Option<&Bytes> {
        match self {
            Payload::Binary(b) => Some(b),
            Payload::Json(_) => None,
        }
    }

    /// Whether this is a binary payload.
    pub fn is_binary(&self) -> bool {
        matches!(self, Payload::Binary(_))
    }
}

impl Default for Payload {
    fn default() -> Self {
        Payload::empty()
    }
}

impl From<Value> for Payload {
    fn from(v: Value) -> Self {
        Payload::Json(v)
    }
}

impl From<Bytes> for Payload {
    fn from(b: Bytes) -> Self {
        Payload::Binary(b)
    }
}

impl From<Vec<u8>> for Payload {
    fn from(b: Vec<u8>) -> Self {
        Payload::Binary(b.into())
    }
}

/// A message: what a client sends, and what a server pushes (`ref` null).
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    /// The ref of the `phx_join` that created the channel instance, or null.
    pub join_ref: Option<Ref>,
    /// The client's ref for this message, echoed in the reply; null on pushes.
    pub r#ref: Option<Ref>,
    /// The topic, e.g. `room:lobby`.
    pub topic: String,
    /// The event name.
    pub event: String,
    /// The payload.
    pub payload: Payload,
}

impl Message {
    /// Whether this is a `phx_join`.
    pub fn is_join(&self) -> bool {
        self.event == event::JOIN
    }

    /// Whether this is a `phx_leave`.
    pub fn is_leave(&self) -> bool {
        self.event == event::LEAVE
    }

    /// Whether this is a heartbeat (topic `phoenix`, event `heartbeat`).
    pub fn is_heartbeat(&self) -> bool {
        self.topic == event::HEARTBEAT_TOPIC && self.event == event::HEARTBEAT
    }
}

/// A reply to a client message; always encoded with event `phx_reply`.
#[derive(Clone, Debug, PartialEq)]
pub struct Reply {
    /// The join_ref of the channel instance (null for heartbeats and unmatched topics).
    pub join_ref: Option<Ref>,
    /// The ref of the message being answered.
    pub r#ref: Option<Ref>,
    /// The topic of the message being answered.
    pub topic: String,
    /// The status, conventionally `ok` or `error`.
    pub status: String,
    /// The response: any JSON value, or bytes (V2 binary reply).
    pub payload: Payload,
}

/// A broadcast to every subscriber of a topic: no refs.
#[derive(Clone, Debug, PartialEq)]
pub struct Broadcast {
    /// The topic.
    pub topic: String,
    /// The event name.
    pub event: String,
    /// The payload; V2 requires a JSON object or bytes.
    pub payload: Payload,
}

/// What a client receives: a reply to one of its messages, or anything else.
#[derive(Clone, Debug, PartialEq)]
pub enum ServerMessage {
    /// A `phx_reply`, with its status and response taken apart.
    Reply(Reply),
    /// A push, a broadcast (both refs null), `phx_error` or `phx_close`; also a
    /// text `phx_reply` whose payload has no string `status`, passed on as is.
    Message(Message),
}

/// The two kinds of WebSocket data frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FrameKind {
    /// A UTF-8 text frame (JSON).
    Text,
    /// A binary frame.
    Binary,
}

/// A frame as received, borrowed from the transport's buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    /// A text frame's bytes (expected to be UTF-8 JSON).
    Text(&'a [u8]),
    /// A binary frame's bytes.
    Binary(&'a [u8]),
}
