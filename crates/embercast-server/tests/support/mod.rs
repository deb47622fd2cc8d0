//! Helpers shared by the integration tests: a server on `127.0.0.1:0`, a raw
//! WebSocket client that speaks V1 or V2, test channels, and a probe that lets
//! a test wait for server-side events instead of sleeping.

// Each file under tests/ is its own crate and uses only some of these.
#![allow(dead_code, unused_imports, unused_macros)]

pub mod channels;
pub mod client;
pub mod probe;

use std::net::SocketAddr;
use std::time::Duration;

use axum::serve::ListenerExt;
use embercast_server::{Accept, ConnectInfo, Drain, PubSub, Reject, Socket};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use channels::{AuthToken, Cmd, Intercepting, Room, User};
pub use client::{binary_push, client_frame, request, request_on, to_v1, upgrade_request, Client, Received, Vsn};
pub use probe::Probe;

/// How long a test waits for any single event before failing.
pub const DEADLINE: Duration = Duration::from_secs(5);

/// A test server; it stops when dropped.
pub struct Server {
    pub addr: SocketAddr,
    /// The socket's PubSub, to broadcast from outside a channel.
    pub pubsub: PubSub,
    pub probe: Probe,
    /// Closes every connection (graceful shutdown).
    pub drain: Drain,
    task: JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A server with the test channels and the default connect callback.
pub async fn start() -> Server {
    start_with(|s| s).await
}

/// Like [`start`], with `configure` applied to the socket (limits, origin
/// checks, another connect callback, a shared PubSub).
///
/// Routes: `room:*` → [`Room`], `intercept:*` → [`Intercepting`]. The default
/// connect callback records its [`ConnectInfo`] in the probe and reads these
/// query parameters: `reject=403|429` refuses, `socket_id=…` sets the socket
/// id, `user=…` assigns a [`User`]; an auth token is assigned as [`AuthToken`].
pub async fn start_with(configure: impl FnOnce(Socket) -> Socket) -> Server {
    init_tracing();
    let probe = Probe::default();
    let recorder = probe.clone();
    let socket =
        Socket::new().assign(probe.clone()).channel::<Room>("room:*").channel::<Intercepting>("intercept:*").connect(
            move |info| {
                let probe = recorder.clone();
                async move { default_connect(&probe, info) }
            },
        );
    let socket = configure(socket);
    let pubsub = socket.pubsub_handle();
    let drain = socket.drain_handle();
    let app = axum::Router::new().nest("/socket", socket.router());
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local address");
    // Without TCP_NODELAY two small frames written back to back wait ~40 ms
    // for a delayed ACK (Nagle); production servers want it off too.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let task = tokio::spawn(async move {
        axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await.expect("serve");
    });
    Server { addr, pubsub, probe, drain, task }
}

fn default_connect(probe: &Probe, info: ConnectInfo) -> Result<Accept, Reject> {
    probe.update(|s| s.connects.push(info.clone()));
    match info.params.get("reject") {
        Some("429") => return Err(Reject::status(http::StatusCode::TOO_MANY_REQUESTS)),
        Some(_) => return Err(Reject::forbidden()),
        None => {}
    }
    let mut accept = Accept::new();
    if let Some(id) = info.params.get("socket_id") {
        accept = accept.id(id);
    }
    if let Some(user) = info.params.get("user") {
        accept = accept.assign(User(user.to_owned()));
    }
    if let Some(token) = &info.auth_token {
        accept = accept.assign(AuthToken(token.clone()));
    }
    Ok(accept)
}

/// Logs to the test output when `RUST_LOG` is set.
fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

/// Runs one scenario once per protocol version, as tests `<name>::v1` and
/// `<name>::v2`:
///
/// ```ignore
/// for_each_vsn! {
///     /// What the scenario pins.
///     async fn heartbeat_is_answered(vsn: Vsn) { ... }
/// }
/// ```
macro_rules! for_each_vsn {
    ($($(#[$meta:meta])* async fn $name:ident($vsn:ident: Vsn) $body:block)*) => {$(
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn scenario($vsn: Vsn) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn v1() {
                scenario(Vsn::V1).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn v2() {
                scenario(Vsn::V2).await
            }
        }
    )*};
}

/// The `ok` reply payload with this response.
pub fn ok(response: serde_json::Value) -> serde_json::Value {
    serde_json::json!({"response": response, "status": "ok"})
}

/// The `error` reply payload with this response.
pub fn error(response: serde_json::Value) -> serde_json::Value {
    serde_json::json!({"response": response, "status": "error"})
}

/// Decodes hex with optional spaces, e.g. `"01 0a ff"`.
pub fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    digits
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).expect("ASCII"), 16).expect("hex digit"))
        .collect()
}
