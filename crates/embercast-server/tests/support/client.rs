//! A raw WebSocket client over `tokio::net::TcpStream`: the HTTP upgrade is
//! written by hand, frames are masked as a client must, and received bytes are
//! decoded with embercast-ws in the client role.
//!
//! Tests write frames in V2 array form, `[join_ref, ref, topic, event,
//! payload]`; on a V1 connection [`Client::send`] turns them into V1 objects and
//! [`Client::recv_json`] turns received V1 objects back into that array form
//! (with a null join_ref, after checking V1 never sent one), so one scenario
//! runs unchanged over both versions.

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use embercast_ws::frame::{self, OpCode};
use embercast_ws::{Decoder, Message as WsMessage, Role};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

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

/// A frame (or the end of the stream) as the client received it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Received {
    Text(String),
    Binary(Vec<u8>),
    /// A close frame and its code, if it had one.
    Close(Option<u16>),
    /// The server hung up.
    Eof,
}

/// The server's answer to an HTTP request.
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    stream: TcpStream,
    /// Bytes read past the response head (the first WebSocket frames).
    leftover: Vec<u8>,
}

impl Response {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The connection, to send another request on it (keep-alive).
    pub fn into_stream(self) -> TcpStream {
        self.stream
    }
}

/// A request for `<path_and_query>` with the WebSocket upgrade headers and `extra` headers.
pub fn upgrade_request(path_and_query: &str, extra: &[(&str, &str)]) -> String {
    let mut req = format!(
        "GET {path_and_query} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
    );
    for (k, v) in extra {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req
}

/// Sends `request` (a complete HTTP/1.1 request head) on a new connection and reads the answer.
pub async fn request(addr: SocketAddr, request: &str) -> Response {
    let stream = TcpStream::connect(addr).await.expect("connect to the test server");
    stream.set_nodelay(true).expect("TCP_NODELAY");
    request_on(stream, request).await
}

/// Sends `request` on an open connection and reads the answer.
pub async fn request_on(mut stream: TcpStream, request: &str) -> Response {
    stream.write_all(request.as_bytes()).await.expect("write the request");
    let read = async {
        let mut buf = Vec::new();
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let mut chunk = [0u8; 4096];
            let n = stream.read(&mut chunk).await.expect("read the response");
            assert!(n > 0, "server hung up before answering: {:?}", String::from_utf8_lossy(&buf));
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8(buf[..head_end].to_vec()).expect("response head is text");
        let mut lines = head.split("\r\n");
        let status_line = lines.next().expect("status line");
        let status = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
        let headers: Vec<(String, String)> = lines
            .filter(|l| !l.is_empty())
            .map(|l| {
                let (k, v) = l.split_once(':').unwrap_or_else(|| panic!("bad header line {l:?}"));
                (k.trim().to_owned(), v.trim().to_owned())
            })
            .collect();
        let mut rest = buf[head_end..].to_vec();
        let mut body = Vec::new();
        if status != 101 {
            let len: usize = headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                .map_or(0, |(_, v)| v.parse().expect("content-length is a number"));
            while rest.len() < len {
                let mut chunk = [0u8; 4096];
                let n = stream.read(&mut chunk).await.expect("read the body");
                assert!(n > 0, "server hung up in the middle of the body");
                rest.extend_from_slice(&chunk[..n]);
            }
            body = rest.drain(..len).collect();
        }
        Response { status, headers, body, stream, leftover: rest }
    };
    tokio::time::timeout(DEADLINE, read).await.unwrap_or_else(|_| panic!("no HTTP response within {DEADLINE:?}"))
}

/// Frames a client message: FIN set unless `fin` is false, payload masked.
pub fn client_frame(opcode: OpCode, fin: bool, payload: &[u8]) -> Vec<u8> {
    let mask = frame::random_mask();
    let mut out = Vec::with_capacity(frame::MAX_HEADER_LEN + payload.len());
    frame::write_header(&mut out, opcode, payload.len(), Some(mask));
    if !fin {
        out[0] &= 0x7f;
    }
    let start = out.len();
    out.extend_from_slice(payload);
    frame::apply_mask(&mut out[start..], mask, 0);
    out
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

/// One WebSocket connection to the test server.
pub struct Client {
    pub vsn: Vsn,
    stream: TcpStream,
    decoder: Decoder,
    inbox: VecDeque<Received>,
    heartbeats: u64,
    eof: bool,
}

impl Client {
    /// Connects to the test server's socket with this version.
    pub async fn connect(server: &Server, vsn: Vsn) -> Client {
        Client::connect_query(server, vsn.query(), vsn).await
    }

    /// Connects with the query string `query` (which must select `vsn`).
    pub async fn connect_query(server: &Server, query: &str, vsn: Vsn) -> Client {
        Client::connect_with(server, query, &[], vsn).await
    }

    /// Connects with the query string `query` and extra request headers.
    pub async fn connect_with(server: &Server, query: &str, headers: &[(&str, &str)], vsn: Vsn) -> Client {
        let res = request(server.addr, &upgrade_request(&format!("/socket/websocket?{query}"), headers)).await;
        Client::upgraded(res, vsn)
    }

    /// Connects with a small TCP receive buffer, so that a client that stops
    /// reading backs the server up quickly.
    pub async fn connect_with_recv_buffer(server: &Server, vsn: Vsn, bytes: u32) -> Client {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket.set_recv_buffer_size(bytes).expect("SO_RCVBUF");
        let stream = socket.connect(server.addr).await.expect("connect to the test server");
        stream.set_nodelay(true).expect("TCP_NODELAY");
        let res = request_on(stream, &upgrade_request(&format!("/socket/websocket?{}", vsn.query()), &[])).await;
        Client::upgraded(res, vsn)
    }

    /// The client for an answered upgrade; panics unless it was `101`.
    pub fn upgraded(res: Response, vsn: Vsn) -> Client {
        assert_eq!(res.status, 101, "upgrade refused: {:?} {:?}", res.headers, String::from_utf8_lossy(&res.body));
        let mut c = Client {
            vsn,
            stream: res.stream,
            decoder: Decoder::new(Role::Client, 64 << 20),
            inbox: VecDeque::new(),
            heartbeats: 0,
            eof: false,
        };
        c.decode(&res.leftover);
        c
    }

    /// The client's own address (what the server sees as the peer).
    pub fn local_addr(&self) -> SocketAddr {
        self.stream.local_addr().expect("local address")
    }

    // ---- sending ----------------------------------------------------------

    /// Writes raw bytes; an error means the server is gone.
    pub async fn try_send_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes).await
    }

    /// Writes raw bytes (already framed).
    pub async fn send_raw(&mut self, bytes: &[u8]) {
        self.try_send_raw(bytes).await.expect("write to the server");
    }

    /// Sends one masked, final frame.
    pub async fn send_frame(&mut self, opcode: OpCode, payload: &[u8]) {
        self.send_raw(&client_frame(opcode, true, payload)).await;
    }

    /// Sends a text frame.
    pub async fn send_text(&mut self, text: &str) {
        self.send_frame(OpCode::Text, text.as_bytes()).await;
    }

    /// Sends a binary frame.
    pub async fn send_binary(&mut self, data: &[u8]) {
        self.send_frame(OpCode::Binary, data).await;
    }

    /// Sends a message given in V2 array form, encoded for this client's version.
    pub async fn send(&mut self, frame: Value) {
        let text = match self.vsn {
            Vsn::V2 => frame.to_string(),
            Vsn::V1 => to_v1(&frame).to_string(),
        };
        self.send_text(&text).await;
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

    /// Starts the closing handshake with `code`.
    pub async fn close(&mut self, code: u16) {
        let _ = self.try_send_raw(&client_frame(OpCode::Close, true, &code.to_be_bytes())).await;
    }

    // ---- receiving --------------------------------------------------------

    fn decode(&mut self, bytes: &[u8]) {
        let mut pongs = Vec::new();
        let inbox = &mut self.inbox;
        self.decoder
            .decode(bytes, |m| match m {
                WsMessage::Text(t) => {
                    inbox.push_back(Received::Text(String::from_utf8(t.to_vec()).expect("decoder checked UTF-8")))
                }
                WsMessage::Binary(b) => inbox.push_back(Received::Binary(b.to_vec())),
                WsMessage::Close(f) => inbox.push_back(Received::Close(f.map(|f| f.code.0))),
                WsMessage::Ping(p) => pongs.push(p),
                WsMessage::Pong(_) => {}
            })
            .unwrap_or_else(|e| panic!("the server broke the WebSocket protocol: {e}"));
        assert!(pongs.is_empty(), "the server is not expected to ping");
    }

    /// The next frame, waiting as long as it takes.
    async fn next(&mut self) -> Received {
        loop {
            if let Some(r) = self.inbox.pop_front() {
                return r;
            }
            if self.eof {
                return Received::Eof;
            }
            let mut buf = [0u8; 16 * 1024];
            match self.stream.read(&mut buf).await {
                Ok(0) | Err(_) => self.eof = true,
                Ok(n) => self.decode(&buf[..n]),
            }
        }
    }

    /// The next frame, or `None` if none arrives within `d`.
    pub async fn recv_within(&mut self, d: Duration) -> Option<Received> {
        // Cancel-safe: a read that is cut short has consumed nothing.
        tokio::time::timeout(d, self.next()).await.ok()
    }

    /// The next frame; fails the test if none arrives within [`DEADLINE`].
    pub async fn recv(&mut self) -> Received {
        self.recv_within(DEADLINE)
            .await
            .unwrap_or_else(|| panic!("{:?} client: no frame within {DEADLINE:?}", self.vsn))
    }

    /// The next frame as a JSON message in V2 array form (see the module doc).
    pub async fn recv_json(&mut self) -> Value {
        match self.recv().await {
            Received::Text(t) => self.normalize(&t),
            other => panic!("{:?} client: expected a text frame, got {other:?}", self.vsn),
        }
    }

    /// The next frame, which must be binary.
    pub async fn recv_binary(&mut self) -> Vec<u8> {
        match self.recv().await {
            Received::Binary(b) => b,
            Received::Text(t) => panic!("{:?} client: expected a binary frame, got text {t}", self.vsn),
            other => panic!("{:?} client: expected a binary frame, got {other:?}", self.vsn),
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
        assert_eq!(got, expected, "{:?} client received an unexpected frame", self.vsn);
    }

    /// Checks that the next frame is a close frame with `code`, then answers it.
    pub async fn expect_close(&mut self, code: u16) {
        match self.recv().await {
            Received::Close(got) => assert_eq!(got, Some(code), "{:?} client: wrong close code", self.vsn),
            other => panic!("{:?} client: expected close code {code}, got {other:?}", self.vsn),
        }
        self.close(code).await;
    }

    /// Checks that nothing arrives for `ms` milliseconds. Prefer
    /// [`Client::expect_heartbeat_next`], which proves the same thing without waiting.
    pub async fn expect_no_frame_within(&mut self, ms: u64) {
        if let Some(r) = self.recv_within(Duration::from_millis(ms)).await {
            panic!("{:?} client: expected silence for {ms} ms, got {r:?}", self.vsn);
        }
    }

    /// Turns a received text frame into V2 array form.
    fn normalize(&self, text: &str) -> Value {
        let v: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("server sent invalid JSON ({e}): {text}"));
        match self.vsn {
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
}
