//! The client the scenarios use, over either transport.
//!
//! Tests write frames in V2 array form, `[join_ref, ref, topic, event,
//! payload]`; on a V1 connection [`Client::send`] turns them into V1 objects and
//! [`Client::recv_json`] turns received V1 objects back into that array form
//! (with a null join_ref, after checking V1 never sent one), so one scenario
//! runs unchanged over both versions.
//!
//! Over [`Transport::WebSocket`] a frame is a WebSocket message
//! ([`WsClient`]); over [`Transport::LongPoll`] frames are sent as ndjson
//! POST lines and received from polls ([`LpClient`]). Where the transports
//! differ by design, the difference is in one place here:
//!
//! | scenario step | WebSocket | LongPoll |
//! |---|---|---|
//! | `expect_close(code)` | a close frame with `code` | a poll answers 410 (no close codes) |
//! | `go_silent()` | nothing to do: this client sends nothing unasked | stop polling |
//! | a binary frame from the server | `Received::Binary` | never: see `tests/binary_policy.rs` |

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{json, Value};

use super::http::Response;
use super::longpoll::LpClient;
use super::ws::WsClient;
use super::{Server, DEADLINE};

/// The protocol version a client speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Vsn {
    /// `vsn=1.0.0`: JSON objects.
    V1,
    /// `vsn=2.0.0`: JSON arrays and binary frames.
    V2,
}

impl Vsn {
    /// The query string that asks for this version.
    pub fn query(self) -> &'static str {
        match self {
            Vsn::V1 => "vsn=1.0.0",
            Vsn::V2 => "vsn=2.0.0",
        }
    }
}

/// How the client reaches the socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// `<mount>/websocket`.
    WebSocket,
    /// `<mount>/longpoll`.
    LongPoll,
}

/// A frame (or the end of the connection) as the client received it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Received {
    /// A text frame; over LongPoll, one element of a poll's `messages`.
    Text(String),
    /// A binary frame (WebSocket only).
    Binary(Vec<u8>),
    /// A close frame and its code, if it had one (WebSocket only).
    Close(Option<u16>),
    /// The server hung up.
    Eof,
    /// A poll was answered 410: the session is gone (LongPoll only).
    SessionGone,
    /// A poll was answered with another status, e.g. 403 (LongPoll only).
    PollStatus(u64),
    /// An answer broke PROTOCOL.md §7.1 (LongPoll only).
    Broken(String),
}

enum Conn {
    Ws(WsClient),
    Lp(LpClient),
}

/// One connection to the test server: a WebSocket or a LongPoll session.
pub struct Client {
    pub vsn: Vsn,
    pub transport: Transport,
    conn: Conn,
    heartbeats: u64,
}

impl Client {
    /// Connects to the test server's socket with this transport and version.
    pub async fn connect(server: &Server, transport: Transport, vsn: Vsn) -> Client {
        Client::connect_query(server, transport, vsn.query(), vsn).await
    }

    /// Connects with the query string `query` (which must select `vsn`).
    pub async fn connect_query(server: &Server, transport: Transport, query: &str, vsn: Vsn) -> Client {
        Client::connect_with(server, transport, query, &[], vsn).await
    }

    /// Connects with the query string `query` and extra request headers
    /// (over LongPoll, sent with every poll).
    pub async fn connect_with(
        server: &Server,
        transport: Transport,
        query: &str,
        headers: &[(&str, &str)],
        vsn: Vsn,
    ) -> Client {
        let conn = match transport {
            Transport::WebSocket => Conn::Ws(WsClient::connect(server.addr, query, headers).await),
            Transport::LongPoll => Conn::Lp(LpClient::connect(server.addr, query, headers).await),
        };
        Client { vsn, transport, conn, heartbeats: 0 }
    }

    /// A WebSocket client, for tests of WebSocket-only behaviour.
    pub async fn connect_ws(server: &Server, vsn: Vsn) -> Client {
        Client::connect(server, Transport::WebSocket, vsn).await
    }

    /// The WebSocket client for an answered upgrade; panics unless it was `101`.
    pub fn upgraded(res: Response, vsn: Vsn) -> Client {
        Client::from_ws(WsClient::upgraded(res), vsn)
    }

    pub fn from_ws(ws: WsClient, vsn: Vsn) -> Client {
        Client { vsn, transport: Transport::WebSocket, conn: Conn::Ws(ws), heartbeats: 0 }
    }

    pub fn from_lp(lp: LpClient, vsn: Vsn) -> Client {
        Client { vsn, transport: Transport::LongPoll, conn: Conn::Lp(lp), heartbeats: 0 }
    }

    /// The WebSocket underneath, for frame-level steps; fails on LongPoll.
    pub fn ws(&mut self) -> &mut WsClient {
        match &mut self.conn {
            Conn::Ws(ws) => ws,
            Conn::Lp(_) => panic!("a WebSocket-only step on a LongPoll client"),
        }
    }

    /// The LongPoll session underneath; fails on WebSocket.
    pub fn lp(&mut self) -> &mut LpClient {
        match &mut self.conn {
            Conn::Lp(lp) => lp,
            Conn::Ws(_) => panic!("a LongPoll-only step on a WebSocket client"),
        }
    }

    /// The client's own address (what `connect` sees as the peer).
    pub fn local_addr(&self) -> SocketAddr {
        match &self.conn {
            Conn::Ws(ws) => ws.local_addr(),
            Conn::Lp(lp) => lp.local_addr(),
        }
    }

    // ---- sending ----------------------------------------------------------

    /// Sends a text frame (LongPoll: one ndjson line, answered `{"status":200}`).
    pub async fn send_text(&mut self, text: &str) {
        match &mut self.conn {
            Conn::Ws(ws) => ws.send_frame(embercast_ws::OpCode::Text, text.as_bytes()).await,
            Conn::Lp(lp) => lp.send_text(text).await,
        }
    }

    /// Sends a binary frame (LongPoll: one base64 ndjson line).
    pub async fn send_binary(&mut self, data: &[u8]) {
        match &mut self.conn {
            Conn::Ws(ws) => ws.send_frame(embercast_ws::OpCode::Binary, data).await,
            Conn::Lp(lp) => lp.send_binary(data).await,
        }
    }

    /// Sends a message given in V2 array form, encoded for this client's version.
    pub async fn send(&mut self, frame: Value) {
        let text = encode(self.vsn, &frame);
        self.send_text(&text).await;
    }

    /// Sends many messages in order. LongPoll batches them as phoenix.js
    /// does: POSTs of at most 100 lines, one after another.
    pub async fn send_all(&mut self, frames: impl IntoIterator<Item = Value>) {
        let texts: Vec<String> = frames.into_iter().map(|f| encode(self.vsn, &f)).collect();
        match &mut self.conn {
            Conn::Ws(ws) => {
                for t in texts {
                    ws.send_frame(embercast_ws::OpCode::Text, t.as_bytes()).await;
                }
            }
            Conn::Lp(lp) => {
                for batch in texts.chunks(100) {
                    lp.send_lines(batch).await;
                }
            }
        }
    }

    /// Sends `[join_ref, join_ref, topic, "phx_join", payload]`.
    pub async fn send_join(&mut self, topic: &str, join_ref: &str, payload: Value) {
        self.send(json!([join_ref, join_ref, topic, "phx_join", payload])).await;
    }

    /// Joins `topic` with `{}` and checks the `ok` reply.
    pub async fn join(&mut self, topic: &str, join_ref: &str) {
        self.send_join(topic, join_ref, json!({})).await;
        self.expect(json!([join_ref, join_ref, topic, "phx_reply", {"response": {}, "status": "ok"}])).await;
    }

    /// Sends a heartbeat with a fresh ref and returns that ref.
    pub async fn heartbeat(&mut self) -> Value {
        self.heartbeats += 1;
        let r#ref = json!(format!("hb{}", self.heartbeats));
        self.send(json!([null, r#ref, "phoenix", "heartbeat", {}])).await;
        r#ref
    }

    /// Proves that nothing was queued for this client before now: sends a
    /// heartbeat and checks that the very next frame is its reply.
    pub async fn expect_heartbeat_next(&mut self) {
        let r#ref = self.heartbeat().await;
        self.expect(json!([null, r#ref, "phoenix", "phx_reply", {"response": {}, "status": "ok"}])).await;
    }

    /// Stops showing signs of life: over LongPoll, stops polling (a WebSocket
    /// client of this suite sends nothing unless told to).
    pub fn go_silent(&mut self) {
        if let Conn::Lp(lp) = &mut self.conn {
            lp.stop_polling();
        }
    }

    // ---- receiving --------------------------------------------------------

    async fn next(&mut self) -> Received {
        match &mut self.conn {
            Conn::Ws(ws) => ws.next().await,
            Conn::Lp(lp) => lp.next().await,
        }
    }

    /// The next frame, or `None` if none arrives within `d`.
    pub async fn recv_within(&mut self, d: Duration) -> Option<Received> {
        // Cancel-safe: both transports queue what they received.
        tokio::time::timeout(d, self.next()).await.ok()
    }

    /// The next frame; fails the test if none arrives within [`DEADLINE`].
    pub async fn recv(&mut self) -> Received {
        self.recv_within(DEADLINE)
            .await
            .unwrap_or_else(|| panic!("{:?} {:?} client: no frame within {DEADLINE:?}", self.transport, self.vsn))
    }

    /// The next frame as a JSON message in V2 array form (see the module doc).
    pub async fn recv_json(&mut self) -> Value {
        match self.recv().await {
            Received::Text(t) => self.normalize(&t),
            other => panic!("{:?} {:?} client: expected a text frame, got {other:?}", self.transport, self.vsn),
        }
    }

    /// The next frame, which must be binary.
    pub async fn recv_binary(&mut self) -> Vec<u8> {
        match self.recv().await {
            Received::Binary(b) => b,
            other => panic!("{:?} {:?} client: expected a binary frame, got {other:?}", self.transport, self.vsn),
        }
    }

    /// Checks that the next frame is `expected` (V2 array form; on V1 the
    /// join_ref is not compared, since V1 never sends one).
    pub async fn expect(&mut self, expected: Value) {
        let got = self.recv_json().await;
        let mut expected = expected;
        if self.vsn == Vsn::V1 {
            expected[0] = Value::Null;
        }
        assert_eq!(got, expected, "{:?} {:?} client received an unexpected frame", self.transport, self.vsn);
    }

    /// Checks that the server ended the connection: over WebSocket the next
    /// frame is a close frame with `code` (answered); over LongPoll a poll
    /// answers 410 (LongPoll has no close codes; polling resumes if it was stopped).
    pub async fn expect_close(&mut self, code: u16) {
        if let Conn::Lp(lp) = &mut self.conn {
            lp.resume_polling();
        }
        let (transport, vsn) = (self.transport, self.vsn);
        match (self.recv().await, &mut self.conn) {
            (Received::Close(got), Conn::Ws(ws)) => {
                assert_eq!(got, Some(code), "{vsn:?} client: wrong close code");
                ws.close(code).await;
            }
            (Received::SessionGone, Conn::Lp(_)) => {}
            (other, _) => panic!("{transport:?} {vsn:?} client: expected the end (close code {code}), got {other:?}"),
        }
    }

    /// Checks that nothing arrives for `ms` milliseconds. Prefer
    /// [`Client::expect_heartbeat_next`], which proves the same thing without waiting.
    pub async fn expect_no_frame_within(&mut self, ms: u64) {
        if let Some(r) = self.recv_within(Duration::from_millis(ms)).await {
            panic!("{:?} {:?} client: expected silence for {ms} ms, got {r:?}", self.transport, self.vsn);
        }
    }

    /// Turns a received text frame into V2 array form.
    pub fn normalize(&self, text: &str) -> Value {
        normalize(self.vsn, text)
    }
}

/// A text frame of this version in V2 array form (see the module doc),
/// after checking its shape.
pub fn normalize(vsn: Vsn, text: &str) -> Value {
    let v: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("server sent invalid JSON ({e}): {text}"));
    match vsn {
        Vsn::V2 => {
            assert!(v.as_array().is_some_and(|a| a.len() == 5), "V2 frames are 5-element arrays: {text}");
            v
        }
        Vsn::V1 => {
            let obj = v.as_object().unwrap_or_else(|| panic!("V1 frames are objects: {text}"));
            let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
            keys.sort_unstable();
            assert_eq!(keys, ["event", "payload", "ref", "topic"], "V1 frames have exactly these keys: {text}");
            json!([null, obj["ref"], obj["topic"], obj["event"], obj["payload"]])
        }
    }
}

/// A message given in V2 array form, as text of this version.
pub fn encode(vsn: Vsn, frame: &Value) -> String {
    match vsn {
        Vsn::V2 => frame.to_string(),
        Vsn::V1 => to_v1(frame).to_string(),
    }
}

/// A V2 binary push as the client sends it (kind 0, with a ref field).
pub fn binary_push(join_ref: &str, r#ref: &str, topic: &str, event: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0, join_ref.len() as u8, r#ref.len() as u8, topic.len() as u8, event.len() as u8];
    for f in [join_ref, r#ref, topic, event] {
        out.extend_from_slice(f.as_bytes());
    }
    out.extend_from_slice(payload);
    out
}

/// A V2 array frame written as the V1 object a V1 client sends.
pub fn to_v1(frame: &Value) -> Value {
    let a = frame.as_array().filter(|a| a.len() == 5).unwrap_or_else(|| panic!("not a 5-element frame: {frame}"));
    json!({"join_ref": a[0], "ref": a[1], "topic": a[2], "event": a[3], "payload": a[4]})
}
