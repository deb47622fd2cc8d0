//! The [`Channel`] trait and the values its callbacks return.

use std::any::Any;
use std::future::Future;

use embercast_protocol::{Broadcast, Payload};

use crate::context::ChannelSocket;
use crate::pubsub::PubSubError;

/// One joined topic on one connection: the server side of `channel.join()`.
///
/// The type itself is the channel's state: `join` builds it, later callbacks
/// get `&mut self`. Every callback runs in the channel's own task, one at a
/// time, in the order messages arrived. A panic in any callback is contained:
/// a panicking `join` answers `{"reason":"join crashed"}`, a panicking
/// `handle_in`/`handle_info`/`handle_out` sends `phx_error` for this channel
/// only, and the client rejoins.
pub trait Channel: Sized + Send + 'static {
    /// Events that go through [`Channel::handle_out`] instead of being written
    /// straight to the client (Phoenix's `intercept`). Each intercepted
    /// broadcast costs one encoding per subscriber instead of one per serializer.
    const INTERCEPT: &'static [&'static str] = &[];

    /// Decides whether the client may join `topic` and builds the channel.
    ///
    /// `payload` is untrusted client input. Pushes and broadcasts made here are
    /// held until the join reply is written and the channel is subscribed, so
    /// the client sees the reply first (the "after join" idiom needs no extra message).
    fn join(topic: &str, payload: Payload, socket: &mut ChannelSocket)
        -> impl Future<Output = JoinResult<Self>> + Send;

    /// Handles an event pushed by the client. `payload` is untrusted input.
    ///
    /// Return `Ok(Some(reply))` to answer the push, `Ok(None)` to answer later
    /// (see [`ChannelSocket::reply_handle`]) or never, `Err(Stop)` to close the channel.
    fn handle_in(
        &mut self,
        event: &str,
        payload: Payload,
        socket: &mut ChannelSocket,
    ) -> impl Future<Output = HandleResult> + Send;

    /// Handles a message sent to this channel from server code, or a broadcast
    /// on a topic it subscribed to with [`ChannelSocket::subscribe`].
    fn handle_info(&mut self, info: Info, socket: &mut ChannelSocket) -> impl Future<Output = InfoResult> + Send {
        let _ = socket;
        async move {
            tracing::debug!(?info, "unhandled info message");
            Ok(())
        }
    }

    /// Handles an intercepted broadcast (see [`Channel::INTERCEPT`]). The
    /// default pushes it to the client unchanged.
    fn handle_out(
        &mut self,
        event: &str,
        payload: Payload,
        socket: &mut ChannelSocket,
    ) -> impl Future<Output = InfoResult> + Send {
        let r = socket.push(event, payload);
        async move { r.map_err(Stop::from) }
    }

    /// Runs when the channel ends without crashing: the client left, the
    /// connection closed, or a callback returned [`Stop`]. Pushes made here may
    /// still reach the client.
    fn terminate(&mut self, reason: Terminate, socket: &mut ChannelSocket) -> impl Future<Output = ()> + Send {
        let _ = (reason, socket);
        async {}
    }
}

/// What `join` returns.
pub type JoinResult<C> = Result<Joined<C>, JoinError>;
/// What `handle_in` returns.
pub type HandleResult = Result<Option<Reply>, Stop>;
/// What `handle_info` and `handle_out` return.
pub type InfoResult = Result<(), Stop>;

/// A successful join: the channel's state and the reply payload (default `{}`).
#[derive(Debug)]
pub struct Joined<C> {
    pub(crate) channel: C,
    pub(crate) reply: Payload,
}

impl<C> Joined<C> {
    /// Joins with `channel` as the state and an empty reply.
    pub fn new(channel: C) -> Self {
        Joined { channel, reply: Payload::empty() }
    }

    /// Sets the join reply's response (e.g. `{"history": [...]}`).
    pub fn reply(mut self, response: impl Into<Payload>) -> Self {
        self.reply = response.into();
        self
    }
}

impl<C: Channel> From<C> for Joined<C> {
    fn from(channel: C) -> Self {
        Joined::new(channel)
    }
}

/// A refused join; its response is sent with status `error`.
#[derive(Debug, Clone)]
pub struct JoinError {
    pub(crate) response: Payload,
}

impl JoinError {
    /// Refuses with this response, e.g. `json!({"reason": "unauthorized"})`.
    pub fn new(response: impl Into<Payload>) -> Self {
        JoinError { response: response.into() }
    }

    /// Refuses with `{"reason": reason}`.
    pub fn reason(reason: &str) -> Self {
        JoinError::new(serde_json::json!({ "reason": reason }))
    }
}

/// A reply to a client push: a status (`ok`, `error`, or any other string) and a response.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub(crate) status: String,
    pub(crate) response: Payload,
}

impl Reply {
    /// Status `ok` with this response.
    pub fn ok(response: impl Into<Payload>) -> Self {
        Reply::status("ok", response)
    }

    /// Status `ok` with the response `{}`.
    pub fn ok_empty() -> Self {
        Reply::ok(Payload::empty())
    }

    /// Status `error` with this response.
    pub fn error(response: impl Into<Payload>) -> Self {
        Reply::status("error", response)
    }

    /// Any status with this response.
    pub fn status(status: &str, response: impl Into<Payload>) -> Self {
        Reply { status: status.to_owned(), response: response.into() }
    }
}

/// Ends the channel from a callback.
///
/// A *normal* stop sends `phx_close` (the client does not rejoin); an *error*
/// stop is a crash: `phx_error`, and the client rejoins.
#[derive(Debug, Clone)]
pub struct Stop {
    pub(crate) reason: StopReason,
    pub(crate) reply: Option<Box<Reply>>,
}

/// Why a channel stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
    /// A deliberate end (Phoenix's `:normal`, `:shutdown`, `{:shutdown, _}`).
    Normal,
    /// A failure, reported to the client as a crash.
    Error(String),
}

impl Stop {
    /// A deliberate stop: `phx_close`.
    pub fn normal() -> Self {
        Stop { reason: StopReason::Normal, reply: None }
    }

    /// A failure: `phx_error`, and the client rejoins.
    pub fn error(reason: impl Into<String>) -> Self {
        Stop { reason: StopReason::Error(reason.into()), reply: None }
    }

    /// Sends `reply` to the push being handled before stopping.
    pub fn with_reply(mut self, reply: Reply) -> Self {
        self.reply = Some(Box::new(reply));
        self
    }
}

impl From<PubSubError> for Stop {
    fn from(e: PubSubError) -> Self {
        Stop::error(e.to_string())
    }
}

impl From<crate::outbox::PushError> for Stop {
    fn from(e: crate::outbox::PushError) -> Self {
        Stop::error(e.to_string())
    }
}

/// Why `terminate` runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Terminate {
    /// The client left (`phx_leave`).
    Left,
    /// The connection closed (client gone, idle timeout, `disconnect`).
    Closed,
    /// A callback returned [`Stop::normal`].
    Stopped,
    /// A callback returned [`Stop::error`].
    Error(String),
}

/// A message for [`Channel::handle_info`].
#[derive(Debug)]
pub enum Info {
    /// A broadcast on a topic the channel subscribed to with [`ChannelSocket::subscribe`].
    Broadcast(Broadcast),
    /// A value sent with [`ChannelHandle::send`](crate::ChannelHandle::send) or
    /// [`ChannelSocket::send_self`].
    Message(Box<dyn Any + Send>),
}

impl Info {
    /// The message as a `T`, if it is one.
    pub fn downcast<T: 'static>(self) -> Result<T, Info> {
        match self {
            Info::Message(m) => m.downcast::<T>().map(|b| *b).map_err(Info::Message),
            other => Err(other),
        }
    }
}
