//! A scripted WebSocket server speaking V2 by hand, for what a correct
//! server never sends (stale join_refs) or never fails to send (heartbeat
//! replies).

use std::collections::VecDeque;
use std::net::SocketAddr;

use embercast_protocol::{Frame, Message, Serializer};
use embercast_ws::{handshake, Connection, Message as WsMessage, OpCode, ReadOutcome, Role};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::within;

pub struct Mock {
    listener: TcpListener,
    pub addr: SocketAddr,
}

impl Mock {
    pub async fn bind() -> Mock {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the mock");
        let addr = listener.local_addr().expect("local address");
        Mock { listener, addr }
    }

    pub fn url(&self) -> String {
        format!("ws://{}/socket", self.addr)
    }

    /// Accepts one connection and answers its upgrade with 101.
    pub async fn accept(&self) -> MockConn {
        within("a connection to the mock", async {
            let (mut stream, _) = self.listener.accept().await.expect("accept");
            let mut head = Vec::new();
            while !head.ends_with(b"\r\n\r\n") {
                let mut byte = [0u8];
                stream.read_exact(&mut byte).await.expect("request head");
                head.push(byte[0]);
            }
            let head = String::from_utf8(head).expect("UTF-8 head");
            let key = head
                .lines()
                .filter_map(|l| l.split_once(':'))
                .find(|(k, _)| k.eq_ignore_ascii_case("sec-websocket-key"))
                .map(|(_, v)| v.trim().to_owned())
                .expect("a key");
            let response = format!(
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                 Sec-WebSocket-Accept: {}\r\n\r\n",
                handshake::accept_key(key.as_bytes())
            );
            stream.write_all(response.as_bytes()).await.expect("101");
            MockConn { conn: Connection::new(stream, Role::Server, 1 << 20), received: VecDeque::new(), head }
        })
        .await
    }
}

pub struct MockConn {
    conn: Connection<TcpStream>,
    received: VecDeque<Message>,
    /// The upgrade request's head.
    pub head: String,
}

impl MockConn {
    /// The next message from the client; `None` once it closed.
    pub async fn recv(&mut self) -> Option<Message> {
        within("a message from the client", async {
            let mut out = Vec::new();
            loop {
                if let Some(m) = self.received.pop_front() {
                    return Some(m);
                }
                match self.conn.drive(true, &mut out).await {
                    Ok(ReadOutcome::Open) => {}
                    _ => return None,
                }
                for m in out.drain(..) {
                    let decoded = match &m {
                        WsMessage::Text(t) => Serializer::V2.decode_client(Frame::Text(t)),
                        WsMessage::Binary(b) => Serializer::V2.decode_client(Frame::Binary(b)),
                        _ => continue,
                    };
                    self.received.push_back(decoded.expect("the client sends valid V2"));
                }
            }
        })
        .await
    }

    /// The next message that is not a heartbeat.
    pub async fn recv_non_heartbeat(&mut self) -> Message {
        loop {
            let m = self.recv().await.expect("client still connected");
            if !m.is_heartbeat() {
                return m;
            }
        }
    }

    /// Sends a V2 text frame and waits until it is written.
    pub async fn send(&mut self, frame: Value) {
        self.conn.queue_frame(OpCode::Text, frame.to_string().as_bytes());
        within("a frame to be written", self.conn.flush()).await.expect("write");
    }
}
