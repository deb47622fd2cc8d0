//! A raw WebSocket client over `tokio::net::TcpStream`: the HTTP upgrade is
//! written by hand, frames are masked as a client must, and received bytes are
//! decoded with embercast-ws in the client role.

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;

use embercast_ws::frame::{self, OpCode};
use embercast_ws::{Decoder, Message as WsMessage, Role};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::client::Received;
use super::http::{request, request_on, upgrade_request, Response};

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

/// One WebSocket connection to the test server, at the frame level.
pub struct WsClient {
    stream: TcpStream,
    decoder: Decoder,
    inbox: VecDeque<Received>,
    eof: bool,
}

impl WsClient {
    /// Upgrades `/socket/websocket?<query>` with extra request headers.
    pub async fn connect(addr: SocketAddr, query: &str, headers: &[(&str, &str)]) -> WsClient {
        WsClient::upgraded(request(addr, &upgrade_request(&format!("/socket/websocket?{query}"), headers)).await)
    }

    /// Connects with a small TCP receive buffer, so that a client that stops
    /// reading backs the server up quickly.
    pub async fn connect_with_recv_buffer(addr: SocketAddr, query: &str, bytes: u32) -> WsClient {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket.set_recv_buffer_size(bytes).expect("SO_RCVBUF");
        let stream = socket.connect(addr).await.expect("connect to the test server");
        stream.set_nodelay(true).expect("TCP_NODELAY");
        WsClient::upgraded(request_on(stream, &upgrade_request(&format!("/socket/websocket?{query}"), &[])).await)
    }

    /// The client for an answered upgrade; panics unless it was `101`.
    pub fn upgraded(res: Response) -> WsClient {
        assert_eq!(res.status, 101, "upgrade refused: {:?} {:?}", res.headers, String::from_utf8_lossy(&res.body));
        let (stream, leftover) = res.into_parts();
        let mut c =
            WsClient { stream, decoder: Decoder::new(Role::Client, 64 << 20), inbox: VecDeque::new(), eof: false };
        c.decode(&leftover);
        c
    }

    /// The client's own address (what the server sees as the peer).
    pub fn local_addr(&self) -> SocketAddr {
        self.stream.local_addr().expect("local address")
    }

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

    /// Starts the closing handshake with `code`.
    pub async fn close(&mut self, code: u16) {
        let _ = self.try_send_raw(&client_frame(OpCode::Close, true, &code.to_be_bytes())).await;
    }

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

    /// The next frame, waiting as long as it takes. Cancel-safe: a read that
    /// is cut short has consumed nothing.
    pub async fn next(&mut self) -> Received {
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
}
