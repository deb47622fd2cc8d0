//! [`Channel`]: the handle of one topic on a socket, with [`Push`] replies
//! and [`Events`] streams.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use embercast_protocol::{Payload, Ref};
use futures_util::Stream;
use tokio::sync::{mpsc, oneshot, watch};

use crate::command::{Command, CommandTx};
use crate::error::ChannelError;

/// A channel's state, as in phoenix.js.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChannelState {
    /// Not joined: never joined, left, or closed by the server. A channel that
    /// was left or closed stays closed.
    Closed,
    /// A join was sent (or will be once the socket is open) and is unanswered.
    Joining,
    /// The last join was answered `ok`.
    Joined,
    /// The join failed, timed out, the server reported a crash, or the
    /// connection was lost; a rejoin is scheduled.
    Errored,
    /// `leave` was sent and is unanswered.
    Leaving,
}

/// A message the server sent on a channel's topic: a push, a broadcast,
/// `phx_error` or `phx_close` (replies are not events: they answer a [`Push`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// The event name, e.g. `new_msg`.
    pub event: String,
    /// The payload: JSON, or bytes from a V2 binary frame.
    pub payload: Payload,
    /// The channel's join_ref when the event was delivered (what phoenix.js
    /// passes as a callback's third argument). It tells which join an event
    /// belongs to even for broadcasts, whose frames carry no join_ref.
    pub join_ref: Option<Ref>,
}

/// A join, push or leave in flight; await it for the reply.
///
/// The request is queued when the `Push` is created, so pushes go out in the
/// order they were made. Dropping it only discards the reply.
#[derive(Debug)]
#[must_use = "a Push resolves to the reply; drop it explicitly to ignore the reply"]
pub struct Push {
    rx: oneshot::Receiver<Result<Payload, ChannelError>>,
}

impl Future for Push {
    type Output = Result<Payload, ChannelError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // The sender is dropped only when the socket's task has ended.
        Pin::new(&mut self.rx).poll(cx).map(|r| r.unwrap_or(Err(ChannelError::Closed)))
    }
}

/// A stream of a channel's events; ends when the channel is closed or the
/// socket disconnected.
///
/// Events are queued until read, so a stream that is never read keeps every
/// event; drop it to unsubscribe.
#[derive(Debug)]
pub struct Events {
    rx: mpsc::UnboundedReceiver<Box<Event>>,
}

impl Events {
    /// The next event, or `None` once the channel is closed.
    pub async fn recv(&mut self) -> Option<Event> {
        self.rx.recv().await.map(|e| *e)
    }

    /// The next event if one is already queued.
    pub fn try_recv(&mut self) -> Option<Event> {
        self.rx.try_recv().ok().map(|e| *e)
    }
}

impl Stream for Events {
    type Item = Event;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        self.rx.poll_recv(cx).map(|e| e.map(|e| *e))
    }
}

/// One topic on a [`Socket`](crate::Socket), following phoenix.js's model:
///
/// * [`join`](Channel::join) joins, and the channel then rejoins by itself
///   (with backoff) after an error reply, a timeout, a server-side crash or a
///   reconnect, until [`leave`](Channel::leave) or a `phx_close` from the server;
/// * [`push`](Channel::push) sends an event and resolves to its reply; pushes
///   made while not joined wait (their timeout running) and go out in order
///   once joined;
/// * [`on`](Channel::on) and [`events`](Channel::events) stream what the
///   server sends; messages that carry another join's join_ref are dropped.
///
/// Handles are cheap to clone; all of them refer to the same channel.
#[derive(Clone, Debug)]
pub struct Channel {
    id: u64,
    topic: Arc<str>,
    cmds: CommandTx,
    state: watch::Receiver<ChannelState>,
    timeout: Duration,
}

impl Channel {
    pub(crate) fn new(
        id: u64,
        topic: Arc<str>,
        cmds: CommandTx,
        state: watch::Receiver<ChannelState>,
        timeout: Duration,
    ) -> Self {
        Channel { id, topic, cmds, state, timeout }
    }

    /// The topic.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The channel's state now.
    pub fn state(&self) -> ChannelState {
        *self.state.borrow()
    }

    /// A receiver that sees every state change, e.g. to wait for a rejoin
    /// with `wait_for(|s| *s == ChannelState::Joined)`.
    pub fn state_changes(&self) -> watch::Receiver<ChannelState> {
        self.state.clone()
    }

    /// Joins (once per channel). Resolves to the first join's reply: `Ok` with
    /// the server's response, or an error; after an error the channel keeps
    /// rejoining with backoff until [`leave`](Channel::leave).
    pub fn join(&self) -> Push {
        self.join_with_timeout(self.timeout)
    }

    /// [`join`](Channel::join) with its own reply timeout.
    pub fn join_with_timeout(&self, timeout: Duration) -> Push {
        self.request(|reply| Command::Join { id: self.id, timeout, reply })
    }

    /// Sends `event` with `payload` (JSON, or bytes over V2) and resolves to
    /// the reply: `Ok(response)` for `ok`, [`ChannelError::Reply`] for `error`,
    /// [`ChannelError::Timeout`] after the socket's timeout.
    pub fn push(&self, event: impl Into<String>, payload: impl Into<Payload>) -> Push {
        self.push_with_timeout(event, payload, self.timeout)
    }

    /// [`push`](Channel::push) with its own reply timeout.
    pub fn push_with_timeout(&self, event: impl Into<String>, payload: impl Into<Payload>, timeout: Duration) -> Push {
        let (event, payload) = (event.into(), payload.into());
        self.request(|reply| Command::Push { id: self.id, event, payload, timeout, reply })
    }

    /// Leaves: no more events, no rejoin. Resolves when the server
    /// acknowledged the leave, or at once when the channel was not joined.
    pub fn leave(&self) -> Push {
        self.request(|reply| Command::Leave { id: self.id, timeout: self.timeout, reply })
    }

    /// The events named `event`, in the order they arrived.
    pub fn on(&self, event: impl Into<String>) -> Events {
        self.subscribe(Some(event.into().into_boxed_str()))
    }

    /// Every event of this channel, in the order they arrived (what a
    /// [`Presence`](crate::Presence) needs: states and diffs in one order).
    pub fn events(&self) -> Events {
        self.subscribe(None)
    }

    fn subscribe(&self, event: Option<Box<str>>) -> Events {
        let (tx, rx) = mpsc::unbounded_channel();
        let _ = self.cmds.send(Box::new(Command::Subscribe { id: self.id, event, tx }));
        Events { rx }
    }

    fn request(&self, make: impl FnOnce(crate::command::ReplyTx) -> Command) -> Push {
        let (reply, rx) = oneshot::channel();
        // If the socket's task is gone the command is dropped with its sender,
        // and the Push resolves to `Closed`.
        let _ = self.cmds.send(Box::new(make(reply)));
        Push { rx }
    }
}
