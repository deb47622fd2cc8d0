//! [`Socket`]: the handle of one connection and its task.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use embercast_protocol::Payload;
use tokio::sync::{mpsc, oneshot, watch};

use crate::channel::{Channel, ChannelState};
use crate::command::{Command, CommandTx};
use crate::driver::Driver;
use crate::options::{Builder, Options};

/// Where a socket's connection stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConnectionState {
    /// Opening the TCP connection and upgrading it.
    Connecting,
    /// Connected: heartbeats run and channels are joined.
    Open,
    /// The connection was lost or could not be opened; a reconnect is
    /// scheduled with backoff.
    Closed,
    /// [`Socket::disconnect`] was called, or every handle was dropped. Final.
    Disconnected,
}

/// One Phoenix socket: a WebSocket connection that reconnects by itself,
/// multiplexing any number of [`Channel`]s.
///
/// The connection is owned by a single task; handles are cheap to clone and
/// only queue requests to it. The task ends (closing the connection) on
/// [`Socket::disconnect`] or once every `Socket` and `Channel` handle is gone.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use embercast_client::Socket;
/// use serde_json::json;
///
/// let socket = Socket::builder("ws://127.0.0.1:4000/socket").param("token", "abc").connect()?;
/// let room = socket.channel("room:lobby", json!({"name": "bob"}));
/// let mut messages = room.on("new_msg");
/// room.join().await?;
/// room.push("new_msg", json!({"body": "hi"})).await?;
/// while let Some(msg) = messages.recv().await {
///     println!("{:?}", msg.payload);
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Socket {
    cmds: CommandTx,
    state: watch::Receiver<ConnectionState>,
    timeout: Duration,
}

impl Socket {
    /// Settings for a socket mounted at `url`, e.g. `ws://127.0.0.1:4000/socket`
    /// (`/websocket` is appended, as phoenix.js does).
    pub fn builder(url: impl Into<String>) -> Builder {
        Builder::new(url.into())
    }

    pub(crate) fn start(options: Arc<Options>) -> Socket {
        let (cmds, rx) = mpsc::unbounded_channel();
        let (state_tx, state) = watch::channel(ConnectionState::Connecting);
        let timeout = options.timeout;
        tokio::spawn(Driver::new(options, rx, state_tx).run());
        Socket { cmds, state, timeout }
    }

    /// A channel on `topic`, joined with `params` (any JSON, usually an
    /// object) by [`Channel::join`]. Nothing is sent until then.
    pub fn channel(&self, topic: impl Into<String>, params: impl Into<Payload>) -> Channel {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let topic: Arc<str> = topic.into().into();
        let (state_tx, state) = watch::channel(ChannelState::Closed);
        let _ =
            self.cmds.send(Box::new(Command::Add { id, topic: topic.clone(), params: params.into(), state: state_tx }));
        Channel::new(id, topic, self.cmds.clone(), state, self.timeout)
    }

    /// The connection's state now.
    pub fn state(&self) -> ConnectionState {
        *self.state.borrow()
    }

    /// A receiver that sees every change of the connection's state, e.g. to
    /// wait for it to be open with `wait_for(|s| *s == ConnectionState::Open)`.
    pub fn state_changes(&self) -> watch::Receiver<ConnectionState> {
        self.state.clone()
    }

    /// Closes the connection for good (close code 1000) and closes every
    /// channel; pending replies fail with [`ChannelError::Closed`](crate::ChannelError::Closed).
    /// Returns once the connection is closed.
    pub async fn disconnect(&self) {
        let (done, closed) = oneshot::channel();
        if self.cmds.send(Box::new(Command::Disconnect { done })).is_ok() {
            let _ = closed.await;
        }
    }
}
