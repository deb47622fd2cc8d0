//! The socket's task: the only owner of the connection and of every channel's
//! state. One task per socket, no task per channel, no timer per push: the
//! task sleeps until the earliest deadline of all (heartbeat, join and push
//! timeouts, rejoins), which it finds by scanning, as a connection has few
//! channels and fewer pending pushes.

mod chan;
mod inbound;
mod outbound;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use embercast_protocol::Payload;
use embercast_ws::{CloseCode, Connection, Message as WsMessage, ReadOutcome};
use serde_json::json;
use tokio::net::TcpStream;
use tokio::sync::{oneshot, watch};
use tokio::time::{Instant, Sleep};

use crate::backoff::Rng;
use crate::channel::ChannelState;
use crate::command::{Command, CommandRx};
use crate::options::Options;
use crate::socket::ConnectionState;
use crate::transport;

use chan::Chan;

/// How long a clean close waits for the server's close frame.
const CLOSE_LINGER: Duration = Duration::from_secs(1);
/// How long a connection given up on (heartbeat timeout) may take to send
/// our close frame before it is dropped.
const ABANDON_LINGER: Duration = Duration::from_millis(100);

enum Heartbeat {
    Off,
    /// The next heartbeat is due then.
    Idle(Instant),
    /// A heartbeat with this ref is unanswered; the connection is given up then.
    Pending {
        r#ref: u64,
        deadline: Instant,
    },
}

/// What the task does next.
enum Flow {
    /// Carry on.
    Continue,
    /// The connection was lost (or never opened): reconnect after backoff.
    Lost,
    /// Disconnect was asked for (with someone to tell), or every handle is gone.
    Stop(Option<oneshot::Sender<()>>),
}

pub(crate) struct Driver {
    options: Arc<Options>,
    cmds: CommandRx,
    state: watch::Sender<ConnectionState>,
    conn: Option<Connection<TcpStream>>,
    /// Messages read but not yet handled; kept to reuse its allocation.
    inbox: Vec<WsMessage>,
    channels: Vec<Chan>,
    last_ref: u64,
    heartbeat: Heartbeat,
    reconnect_tries: u32,
    rng: Rng,
    /// One timer for everything, set to the earliest deadline before each
    /// wait; boxed so it is not part of the task's future.
    timer: Pin<Box<Sleep>>,
}

impl Driver {
    pub(crate) fn new(options: Arc<Options>, cmds: CommandRx, state: watch::Sender<ConnectionState>) -> Self {
        Driver {
            options,
            cmds,
            state,
            conn: None,
            inbox: Vec::new(),
            channels: Vec::new(),
            last_ref: 0,
            heartbeat: Heartbeat::Off,
            reconnect_tries: 0,
            rng: Rng::new(),
            timer: Box::pin(tokio::time::sleep(Duration::ZERO)),
        }
    }

    pub(crate) async fn run(mut self) {
        let done = loop {
            if self.reconnect_tries > 0 {
                self.set_state(ConnectionState::Closed);
                let delay = self.options.reconnect.delay(self.reconnect_tries, self.rng.next_f64());
                if let Err(done) = self.serve_until(Box::pin(tokio::time::sleep(delay))).await {
                    break done;
                }
            }
            match self.open().await {
                Err(done) => break done,
                Ok(false) => self.reconnect_tries += 1,
                Ok(true) => {
                    self.reconnect_tries = 0;
                    match self.session().await {
                        Flow::Stop(done) => break done,
                        Flow::Lost | Flow::Continue => self.reconnect_tries += 1,
                    }
                }
            }
        };
        Box::pin(self.shutdown(done)).await;
    }

    /// One connection attempt; `Ok(true)` when `self.conn` is open.
    async fn open(&mut self) -> Result<bool, Option<oneshot::Sender<()>>> {
        self.set_state(ConnectionState::Connecting);
        let (options, mut rng) = (self.options.clone(), Rng::new());
        // Boxed: the connect future is large and lives only while connecting,
        // so it must not enlarge the task of every open connection.
        let opening = Box::pin(async move { transport::open(&options, &mut rng).await });
        match self.serve_until(opening).await? {
            Ok(conn) => {
                self.conn = Some(conn);
                Ok(true)
            }
            Err(e) => {
                tracing::debug!(endpoint = %self.options.endpoint.host, error = %e, "connect failed");
                Ok(false)
            }
        }
    }

    /// Serves commands and timers while there is no connection, until `until`
    /// completes; `Err` when the socket is to stop.
    async fn serve_until<T>(
        &mut self,
        until: impl Future<Output = T> + Unpin,
    ) -> Result<T, Option<oneshot::Sender<()>>> {
        let mut until = until;
        loop {
            let armed = self.arm_timer();
            tokio::select! {
                out = &mut until => return Ok(out),
                cmd = self.cmds.recv() => {
                    if let Flow::Stop(done) = self.command(cmd) {
                        return Err(done);
                    }
                }
                _ = &mut self.timer, if armed => {
                    // Without a connection no heartbeat is pending, so timers cannot lose it.
                    let _ = self.fire_timers();
                }
            }
        }
    }

    /// Runs an open connection until it is lost or the socket is to stop.
    async fn session(&mut self) -> Flow {
        let now = Instant::now();
        self.heartbeat = match self.options.heartbeat_interval {
            Some(every) => Heartbeat::Idle(now + every),
            None => Heartbeat::Off,
        };
        self.set_state(ConnectionState::Open);
        self.rejoin_all();
        loop {
            let armed = self.arm_timer();
            let conn = self.conn.as_mut().expect("a session has a connection");
            let flow = tokio::select! {
                read = conn.drive(true, &mut self.inbox) => match read {
                    Ok(ReadOutcome::Open) => {
                        self.handle_inbox();
                        None
                    }
                    Ok(outcome) => Some(self.connection_lost(&format!("{outcome:?}"))),
                    Err(e) => Some(self.connection_lost(&e.to_string())),
                },
                cmd = self.cmds.recv() => match self.command(cmd) {
                    Flow::Continue => None,
                    stop => Some(stop),
                },
                _ = &mut self.timer, if armed => match self.fire_timers() {
                    Flow::Lost => Some(Box::pin(self.heartbeat_timeout()).await),
                    _ => None,
                },
            };
            if let Some(flow) = flow {
                return flow;
            }
        }
    }

    /// phoenix.js closes the socket itself (code 1000, "heartbeat timeout")
    /// and reconnects, because a silent connection may be dead without the
    /// OS knowing it for minutes.
    async fn heartbeat_timeout(&mut self) -> Flow {
        if let Some(mut conn) = self.conn.take() {
            conn.queue_close(CloseCode::NORMAL, "heartbeat timeout");
            let _ = tokio::time::timeout(ABANDON_LINGER, conn.flush()).await;
        }
        self.connection_lost("heartbeat timeout")
    }

    /// Forgets the connection; channels that were joined or joining are
    /// errored (and rejoin once reconnected), as in phoenix.js.
    fn connection_lost(&mut self, why: &str) -> Flow {
        tracing::debug!(endpoint = %self.options.endpoint.host, why, "connection lost");
        self.conn = None;
        self.heartbeat = Heartbeat::Off;
        let reason = if why == "heartbeat timeout" { "heartbeat_timeout" } else { "connection_closed" };
        let mut leaving = Vec::new();
        for (i, c) in self.channels.iter_mut().enumerate() {
            c.join_deadline = None;
            c.rejoin_at = None;
            match c.state() {
                ChannelState::Joined | ChannelState::Joining if c.join_requested => {
                    c.set_state(ChannelState::Errored);
                    c.deliver("phx_error", Payload::Json(json!({ "source": "transport", "reason": reason })));
                }
                ChannelState::Leaving => leaving.push(i),
                _ => {}
            }
        }
        for i in leaving.into_iter().rev() {
            self.channels.remove(i).close();
        }
        Flow::Lost
    }

    /// Handles a request from a handle; `None` means every handle is gone.
    fn command(&mut self, cmd: Option<Box<Command>>) -> Flow {
        let Some(cmd) = cmd else {
            return Flow::Stop(None);
        };
        match *cmd {
            Command::Add { id, topic, params, state } => self.channels.push(Chan::new(id, topic, params, state)),
            Command::Join { id, timeout, reply } => self.join(id, timeout, reply),
            Command::Push { id, event, payload, timeout, reply } => self.push(id, event, payload, timeout, reply),
            Command::Leave { id, timeout, reply } => self.leave(id, timeout, reply),
            Command::Subscribe { id, event, tx } => {
                // A channel already closed drops `tx`, which ends the stream.
                if let Some(c) = self.channels.iter_mut().find(|c| c.id == id) {
                    c.subscribe(event, tx);
                }
            }
            Command::Disconnect { done } => return Flow::Stop(Some(done)),
        }
        Flow::Continue
    }

    /// Fires what is due. Returns `Lost` when a heartbeat went unanswered.
    fn fire_timers(&mut self) -> Flow {
        let now = Instant::now();
        match self.heartbeat {
            Heartbeat::Pending { deadline, .. } if deadline <= now => return Flow::Lost,
            Heartbeat::Idle(at) if at <= now => self.send_heartbeat(now),
            _ => {}
        }
        let ids: Vec<u64> =
            self.channels.iter().filter(|c| c.next_deadline().is_some_and(|d| d <= now)).map(|c| c.id).collect();
        for id in ids {
            self.channel_timers(id, now);
        }
        Flow::Continue
    }

    fn next_deadline(&self) -> Option<Instant> {
        let beat = match self.heartbeat {
            Heartbeat::Off => None,
            Heartbeat::Idle(at) => Some(at),
            Heartbeat::Pending { deadline, .. } => Some(deadline),
        };
        self.channels.iter().filter_map(Chan::next_deadline).chain(beat).min()
    }

    /// Sets the timer to the earliest deadline; `false` when nothing is due.
    fn arm_timer(&mut self) -> bool {
        let Some(deadline) = self.next_deadline() else { return false };
        if self.timer.deadline() != deadline || self.timer.is_elapsed() {
            self.timer.as_mut().reset(deadline);
        }
        true
    }

    fn set_state(&self, state: ConnectionState) {
        self.state.send_if_modified(|s| std::mem::replace(s, state) != state);
    }

    fn index(&self, id: u64) -> Option<usize> {
        self.channels.iter().position(|c| c.id == id)
    }

    /// Closes the connection and every channel; the socket is finished.
    async fn shutdown(mut self, done: Option<oneshot::Sender<()>>) {
        if let Some(mut conn) = self.conn.take() {
            conn.queue_close(CloseCode::NORMAL, "");
            // Boxed, like every rarely taken path with timers: it would
            // otherwise enlarge the task of every connection.
            Box::pin(conn.finish(CLOSE_LINGER)).await;
        }
        for c in self.channels.drain(..) {
            c.close();
        }
        self.set_state(ConnectionState::Disconnected);
        if let Some(done) = done {
            let _ = done.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every open socket holds this future: a size regression multiplies by
    /// the number of connections a load generator keeps.
    #[tokio::test]
    async fn the_socket_task_stays_small() {
        let (_tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let (state, _) = watch::channel(ConnectionState::Connecting);
        let options = Arc::new(crate::Socket::builder("ws://h/s").into_options());
        let task = Driver::new(options, rx, state).run();
        let size = std::mem::size_of_val(&task);
        assert!(size <= 1024, "the socket's task is {size} bytes");
    }
}
