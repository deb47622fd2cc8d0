//! Helpers shared by the integration tests: a server on `127.0.0.1:0` serving
//! both transports, a client that speaks V1 or V2 over WebSocket or LongPoll,
//! test channels, and a probe that lets a test wait for server-side events
//! instead of sleeping.

// Each file under tests/ is its own crate and uses only some of these.
#![allow(dead_code, unused_imports, unused_macros)]

pub mod channels;
pub mod client;
pub mod http;
pub mod longpoll;
pub mod probe;
pub mod ws;

use std::net::SocketAddr;
use std::time::Duration;

use axum::serve::ListenerExt;
use embercast_server::{Accept, ConnectInfo, Drain, LongPoll, PubSub, Reject, Socket};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use channels::{AuthToken, Cmd, Intercepting, Room, User};
pub use client::{binary_push, encode, normalize, to_v1, Client, Received, Transport, Vsn};
pub use http::{http_request, request, request_on, upgrade_request};
pub use longpoll::{base64_line, lp_json, lp_path, lp_raw, lp_request, new_session_token, LpClient, Poll, RawSession};
pub use probe::Probe;
pub use ws::{client_frame, WsClient};

/// How long a test waits for any single event before failing.
pub const DEADLINE: Duration = Duration::from_secs(5);

/// The LongPoll window of the test server: how long a poll is held when
/// nothing is queued. Tests of the window itself configure their own.
pub const LP_WINDOW: Duration = Duration::from_secs(1);

/// How long a test server's LongPoll session lives without a poll. Ample
/// for a client that polls without pause (so a loaded machine does not end
/// sessions by accident), short enough for tests that wait for it.
pub const LP_SESSION_TIMEOUT: Duration = Duration::from_secs(2);

/// The LongPoll settings every test server starts with; tests that need
/// others pass their own to `Socket::longpoll`, which replaces these.
pub fn lp_config() -> LongPoll {
    LongPoll::new().window(LP_WINDOW).session_timeout(LP_SESSION_TIMEOUT)
}

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
/// checks, another connect callback, a shared PubSub, LongPoll settings).
///
/// Both transports are served: `/socket/websocket` and `/socket/longpoll`
/// (with [`lp_config`]). Routes: `room:*` → [`Room`], `intercept:*` →
/// [`Intercepting`]. The default connect callback records its
/// [`ConnectInfo`] in the probe and reads these query parameters:
/// `reject=403|429` refuses, `socket_id=…` sets the socket id, `user=…`
/// assigns a [`User`]; an auth token is assigned as [`AuthToken`].
pub async fn start_with(configure: impl FnOnce(Socket) -> Socket) -> Server {
    let probe = Probe::default();
    let recorder = probe.clone();
    let socket = Socket::new()
        .assign(probe.clone())
        .channel::<Room>("room:*")
        .channel::<Intercepting>("intercept:*")
        .longpoll(lp_config())
        .connect(move |info| {
            let probe = recorder.clone();
            async move { default_connect(&probe, info) }
        });
    serve(configure(socket), probe).await
}

/// Serves `socket` at `/socket` on `127.0.0.1:0`. `probe` is what the test
/// waits on; the socket should `assign` it if its channels record into it.
pub async fn serve(socket: Socket, probe: Probe) -> Server {
    init_tracing();
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

/// The test server's connect callback (see [`start_with`]).
pub fn default_connect(probe: &Probe, info: ConnectInfo) -> Result<Accept, Reject> {
    probe.update(|s| s.connects.push(info.clone()));
    match info.params.get("reject") {
        Some("429") => return Err(Reject::status(::http::StatusCode::TOO_MANY_REQUESTS)),
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
/// `<name>::v2` (for behaviour of one transport):
///
/// ```ignore
/// for_each_vsn! {
///     /// What the scenario pins.
///     async fn text_over_the_limit_closes_with_1009(vsn: Vsn) { ... }
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

/// Runs one scenario over every transport × protocol version, as tests
/// `<name>::ws_v1`, `<name>::ws_v2`, `<name>::lp_v1` and `<name>::lp_v2`
/// (FAULT-KINDS.md "drift between paths": one definition, every path):
///
/// ```ignore
/// for_each_transport_and_vsn! {
///     /// What the scenario pins.
///     async fn heartbeat_is_answered(t: Transport, vsn: Vsn) { ... }
/// }
/// ```
macro_rules! for_each_transport_and_vsn {
    ($($(#[$meta:meta])* async fn $name:ident($t:ident: Transport, $vsn:ident: Vsn) $body:block)*) => {$(
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn scenario($t: Transport, $vsn: Vsn) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn ws_v1() {
                scenario(Transport::WebSocket, Vsn::V1).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn ws_v2() {
                scenario(Transport::WebSocket, Vsn::V2).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn lp_v1() {
                scenario(Transport::LongPoll, Vsn::V1).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn lp_v2() {
                scenario(Transport::LongPoll, Vsn::V2).await
            }
        }
    )*};
}

/// Runs one scenario once per transport, as tests `<name>::ws` and
/// `<name>::lp` (for behaviour of one protocol version):
///
/// ```ignore
/// for_each_transport! {
///     async fn v2_wrong_shapes_are_dropped(t: Transport) { ... }
/// }
/// ```
macro_rules! for_each_transport {
    ($($(#[$meta:meta])* async fn $name:ident($t:ident: Transport) $body:block)*) => {$(
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn scenario($t: Transport) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn ws() {
                scenario(Transport::WebSocket).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn lp() {
                scenario(Transport::LongPoll).await
            }
        }
    )*};
}

/// Sends a connect request (WebSocket: the upgrade; LongPoll: the
/// session-creating GET) and says whether it was admitted. A refusal carries
/// the status the transport answers with: WebSocket the HTTP status (403,
/// or what `Reject::status` chose), LongPoll the JSON `status` (always 403,
/// PROTOCOL.md §2.4).
pub async fn admission(server: &Server, t: Transport, query: &str, headers: &[(&str, &str)]) -> Result<(), u16> {
    match t {
        Transport::WebSocket => {
            let res = request(server.addr, &upgrade_request(&format!("/socket/websocket?{query}"), headers)).await;
            match res.status {
                101 => Ok(()),
                status => {
                    assert!(res.body.is_empty() || status == 400, "a refusal has an empty body");
                    Err(status)
                }
            }
        }
        Transport::LongPoll => {
            let body = lp_request(server.addr, "GET", &lp_path(query, None), headers, b"").await;
            match body["status"].as_u64() {
                Some(410) => {
                    new_session_token(&body);
                    Ok(())
                }
                Some(status) => {
                    assert_eq!(body, serde_json::json!({"status": status}), "a refusal is the status alone");
                    Err(status as u16)
                }
                None => unreachable!("lp_request checked the status"),
            }
        }
    }
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
