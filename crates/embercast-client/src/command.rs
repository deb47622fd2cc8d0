//! What the handles ask of the socket's task. Every handle talks to the task
//! through one queue, so requests are handled in the order they were made:
//! a subscription made before `join` sees every event of that join.

use std::sync::Arc;
use std::time::Duration;

use embercast_protocol::Payload;
use tokio::sync::{mpsc, oneshot, watch};

use crate::channel::{ChannelState, Event};
use crate::error::ChannelError;

/// The queue to the socket's task. Commands and events are boxed in their
/// queues: tokio allocates a queue's first block of 32 slots up front, and
/// with pointer-sized slots that block is ~300 bytes instead of ~4 KiB per
/// socket and per subscription.
pub(crate) type CommandTx = mpsc::UnboundedSender<Box<Command>>;
/// The socket task's end of that queue.
pub(crate) type CommandRx = mpsc::UnboundedReceiver<Box<Command>>;
/// Where a subscription's events go.
pub(crate) type EventTx = mpsc::UnboundedSender<Box<Event>>;

/// Where a reply goes.
pub(crate) type ReplyTx = oneshot::Sender<Result<Payload, ChannelError>>;

pub(crate) enum Command {
    /// A new channel object (not joined yet).
    Add {
        id: u64,
        topic: Arc<str>,
        params: Payload,
        state: watch::Sender<ChannelState>,
    },
    Join {
        id: u64,
        timeout: Duration,
        reply: ReplyTx,
    },
    Push {
        id: u64,
        event: String,
        payload: Payload,
        timeout: Duration,
        reply: ReplyTx,
    },
    Leave {
        id: u64,
        timeout: Duration,
        reply: ReplyTx,
    },
    /// Events named `event` (all events when `None`) go to `tx`.
    Subscribe {
        id: u64,
        event: Option<Box<str>>,
        tx: EventTx,
    },
    /// Close the connection for good; `done` fires once it is closed.
    Disconnect {
        done: oneshot::Sender<()>,
    },
}
