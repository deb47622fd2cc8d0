//! Helpers shared by the integration tests: an Embercast server on
//! `127.0.0.1` with small test channels (restartable on the same port), a
//! scripted WebSocket peer for frames no correct server sends, and waiting
//! with a deadline.

// Each file under tests/ is its own crate and uses only some of these.
#![allow(dead_code, unused_macros)]

pub mod mock;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use embercast_client::{Backoff, Builder, Channel, ChannelState, ConnectionState, Socket};
use embercast_server::{
    Accept, Channel as ServerChannel, ChannelSocket, Drain, HandleResult, JoinError, JoinResult, Joined, Payload,
    Reject, Reply,
};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch, Semaphore};
use tokio::task::JoinHandle;

/// How long a test waits for any single event before failing.
pub const DEADLINE: Duration = Duration::from_secs(5);

/// Awaits `f`, failing the test if it takes longer than [`DEADLINE`].
pub async fn within<T>(what: &str, f: impl Future<Output = T>) -> T {
    match tokio::time::timeout(DEADLINE, f).await {
        Ok(v) => v,
        Err(_) => panic!("timed out waiting for {what}"),
    }
}

/// What the test channels record, shared by every connection of a server
/// (and across a restart, when the test passes it on).
pub struct Record {
    /// Successful connects.
    pub connects: AtomicUsize,
    /// Joins answered `ok`.
    pub joins: AtomicUsize,
    /// Joins received, refused ones included.
    pub join_attempts: watch::Sender<usize>,
    /// The auth tokens and `user` params connects carried.
    pub tokens: Mutex<Vec<(Option<String>, Option<String>)>>,
    /// `log` pushes' payloads, in the order the server handled them.
    pub log: Mutex<Vec<Value>>,
    /// Joins with `{"gated": true}` wait for a permit here.
    pub gate: Semaphore,
}

impl Default for Record {
    fn default() -> Self {
        Record {
            connects: AtomicUsize::new(0),
            joins: AtomicUsize::new(0),
            join_attempts: watch::Sender::new(0),
            tokens: Mutex::default(),
            log: Mutex::default(),
            gate: Semaphore::new(0),
        }
    }
}

/// `room:*`: joins unless the params say `{"fail": true}` (then `{"reason":
/// "refused"}`); replies to the join with `{"topic": topic}`. Events:
/// `ping` replies `ok` with its payload (bytes too), `fail` replies `error`,
/// `slow` never replies, `shout` broadcasts its payload as `shout`, `log`
/// records its payload then replies `ok`, `crash` panics (phx_error).
pub struct Room;

impl ServerChannel for Room {
    async fn join(topic: &str, payload: Payload, socket: &mut ChannelSocket) -> JoinResult<Self> {
        let record = socket.get::<Arc<Record>>().expect("the test server assigns its record").clone();
        record.join_attempts.send_modify(|n| *n += 1);
        let params = payload.as_json().cloned().unwrap_or(Value::Null);
        if params["gated"] == json!(true) {
            record.gate.acquire().await.expect("gate open").forget();
        }
        if params["fail"] == json!(true) {
            return Err(JoinError::reason("refused"));
        }
        record.joins.fetch_add(1, Ordering::SeqCst);
        Ok(Joined::new(Room).reply(json!({ "topic": topic })))
    }

    async fn handle_in(&mut self, event: &str, payload: Payload, socket: &mut ChannelSocket) -> HandleResult {
        match event {
            "ping" => Ok(Some(Reply::ok(payload))),
            "fail" => Ok(Some(Reply::error(json!({ "reason": "nope" })))),
            "slow" => Ok(None),
            "shout" => {
                socket.broadcast("shout", payload)?;
                Ok(Some(Reply::ok_empty()))
            }
            "log" => {
                let record = socket.get::<Arc<Record>>().expect("record");
                record.log.lock().unwrap().push(payload.as_json().cloned().unwrap_or(Value::Null));
                Ok(Some(Reply::ok_empty()))
            }
            "crash" => panic!("crash requested by the test"),
            other => Ok(Some(Reply::error(json!({ "reason": format!("unknown event {other}") })))),
        }
    }
}

/// `presence:*`: pushes `presence_state` `{"alice": {"metas": [{"phx_ref": "a1"}]}}`
/// on join; the `diff` event broadcasts its payload as `presence_diff`.
pub struct PresenceRoom;

impl ServerChannel for PresenceRoom {
    async fn join(_topic: &str, _payload: Payload, socket: &mut ChannelSocket) -> JoinResult<Self> {
        // Held until the join reply is written, as Phoenix apps push it after join.
        socket
            .push("presence_state", json!({"alice": {"metas": [{"phx_ref": "a1"}]}}))
            .map_err(|e| JoinError::reason(&e.to_string()))?;
        Ok(PresenceRoom.into())
    }

    async fn handle_in(&mut self, event: &str, payload: Payload, socket: &mut ChannelSocket) -> HandleResult {
        if event == "diff" {
            socket.broadcast("presence_diff", payload)?;
        }
        Ok(Some(Reply::ok_empty()))
    }
}

/// An in-process server with the test channels at `/socket`; stops when dropped.
pub struct TestServer {
    pub addr: SocketAddr,
    pub record: Arc<Record>,
    drain: Drain,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl TestServer {
    /// A server on a free port.
    pub async fn start() -> TestServer {
        Self::start_on(0, Arc::default(), |s| s).await
    }

    /// A server on `port` (0: any) recording into `record`, with `configure`
    /// applied to its socket (e.g. a short idle timeout).
    pub async fn start_on(
        port: u16,
        record: Arc<Record>,
        configure: impl FnOnce(embercast_server::Socket) -> embercast_server::Socket,
    ) -> TestServer {
        let recorder = record.clone();
        let socket = embercast_server::Socket::new()
            .assign(record.clone())
            .channel::<Room>("room:*")
            .channel::<PresenceRoom>("presence:*")
            .connect(move |info| {
                let record = recorder.clone();
                async move {
                    if info.params.get("reject").is_some() {
                        return Err(Reject::forbidden());
                    }
                    let user = info.params.get("user").map(str::to_owned);
                    record.tokens.lock().unwrap().push((info.auth_token.clone(), user));
                    record.connects.fetch_add(1, Ordering::SeqCst);
                    Ok(Accept::new())
                }
            });
        let socket = configure(socket);
        let drain = socket.drain_handle();
        let app = axum::Router::new().nest("/socket", socket.router());
        let listener = TcpListener::bind(("127.0.0.1", port)).await.expect("bind the test server");
        let addr = listener.local_addr().expect("local address");
        let (stop, stopped) = oneshot::channel::<()>();
        let server = embercast_server::Server::new(listener, app).shutdown_timeout(Duration::from_secs(1));
        let task = tokio::spawn(async move {
            server.run(async { stopped.await.unwrap_or(()) }).await.expect("serve");
        });
        TestServer { addr, record, drain, stop: Some(stop), task: Some(task) }
    }

    /// The URL a client connects to.
    pub fn url(&self) -> String {
        format!("ws://{}/socket", self.addr)
    }

    /// Closes every connection (code 1012) and stops listening; returns once
    /// the port is free.
    pub async fn shut_down(mut self) {
        self.drain.drain();
        assert!(self.drain.closed(DEADLINE).await, "connections still open after the drain");
        let _ = self.stop.take().expect("running").send(());
        within("the server to stop", self.task.take().expect("running")).await.expect("server task");
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

/// A client builder with test-sized backoffs: reconnects and rejoins come
/// within tens of milliseconds, so tests wait on events, not schedules.
pub fn client(url: &str) -> Builder {
    Socket::builder(url)
        .reconnect_backoff(Backoff::exponential(Duration::from_millis(10), Duration::from_millis(200)))
        .rejoin_backoff(Backoff::exponential(Duration::from_millis(20), Duration::from_millis(200)))
}

/// Connects with `builder` and joins `topic` with empty params.
pub async fn joined(builder: Builder, topic: &str) -> (Socket, Channel) {
    let socket = builder.connect().expect("a valid URL");
    let channel = socket.channel(topic, json!({}));
    within("the join", channel.join()).await.expect("joined");
    (socket, channel)
}

/// Runs one scenario once per protocol version, as tests `<name>::v1` and
/// `<name>::v2`.
macro_rules! for_each_vsn {
    ($(#[$meta:meta])* async fn $name:ident($vsn:ident: Serializer) $body:block) => {
        $(#[$meta])*
        mod $name {
            use super::*;

            async fn scenario($vsn: Serializer) $body

            #[tokio::test]
            async fn v1() {
                scenario(Serializer::V1).await
            }

            #[tokio::test]
            async fn v2() {
                scenario(Serializer::V2).await
            }
        }
    };
}

/// Waits until the socket reaches `state`.
pub async fn socket_state(socket: &Socket, state: ConnectionState) {
    let mut changes = socket.state_changes();
    within(&format!("socket {state:?}"), changes.wait_for(|s| *s == state)).await.expect("socket task alive");
}

/// Waits until the channel reaches `state`.
pub async fn channel_state(channel: &Channel, state: ChannelState) {
    let mut changes = channel.state_changes();
    within(&format!("channel {state:?}"), changes.wait_for(|s| *s == state)).await.expect("channel alive");
}
