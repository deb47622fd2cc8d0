//! One Socket.IO 4 client connection over WebSocket, lean enough for tens of
//! thousands per process: no read buffer while idle (reads go to a stack
//! buffer once the socket is readable), frames built as they are sent.

use std::io;
use std::net::{IpAddr, SocketAddr};

use embercast_ws::frame::{self, OpCode};
use embercast_ws::{handshake, Decoder, Message, Role};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpSocket, TcpStream};

use super::socketio::{self, Packet};

/// Server messages in the bench are small events; anything larger is a bug.
const MAX_MESSAGE: usize = 1 << 20;
/// A 101 response head larger than this is not one a server would send.
const MAX_HEAD: usize = 8 * 1024;
/// The WebSocket key is a nonce against caching intermediaries, of which a
/// loopback benchmark has none; the RFC's sample key keeps each connect cheap.
const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// An open Socket.IO session, its default namespace connected.
pub struct SioConn {
    stream: TcpStream,
    decoder: Decoder,
}

fn invalid(why: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, why.into())
}

impl SioConn {
    /// Connects (from `source` when given), upgrades `GET <path>`, waits for
    /// the engine.io open packet, connects the default namespace and waits
    /// for its answer. The server puts the client in its room on connect.
    pub async fn open(server: SocketAddr, source: Option<IpAddr>, host: &str, path: &str) -> io::Result<SioConn> {
        let socket = if server.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
        if let Some(source) = source {
            socket.bind(SocketAddr::new(source, 0))?;
        }
        let stream = socket.connect(server).await?;
        stream.set_nodelay(true)?;
        let mut conn = SioConn { stream, decoder: Decoder::new(Role::Client, MAX_MESSAGE) };
        conn.stream.write_all(handshake::client_request(path, host, KEY, None).as_bytes()).await?;
        let mut packets = conn.read_head().await?;
        let mut connect_sent = false;
        loop {
            for packet in packets.drain(..) {
                match packet {
                    Packet::Open(_) if !connect_sent => {
                        conn.send(socketio::CONNECT).await?;
                        connect_sent = true;
                    }
                    Packet::Connect if connect_sent => return Ok(conn),
                    Packet::ConnectError(why) => return Err(invalid(format!("connect refused: {why}"))),
                    Packet::Close | Packet::Disconnect => return Err(invalid("closed while connecting")),
                    _ => {}
                }
            }
            if !conn.read(&mut packets).await? {
                return Err(invalid("closed while connecting"));
            }
        }
    }

    /// Reads the 101 response head; bytes after it are the first frames.
    async fn read_head(&mut self) -> io::Result<Vec<Packet>> {
        let mut head = Vec::with_capacity(256);
        loop {
            self.stream.readable().await?;
            let mut buf = [0u8; 2048];
            let n = match self.stream.try_read(&mut buf) {
                Ok(0) => return Err(invalid("closed during the upgrade")),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(e),
            };
            head.extend_from_slice(&buf[..n]);
            if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
                check_head(&head[..end])?;
                let mut packets = Vec::new();
                let _open = self.absorb(&head[end + 4..], &mut packets)?;
                return Ok(packets);
            }
            if head.len() > MAX_HEAD {
                return Err(invalid("response head too large"));
            }
        }
    }

    /// Waits for data and appends the packets it completes to `out`; answers
    /// the server's pings. Returns `false` once the connection is closed.
    pub async fn read(&mut self, out: &mut Vec<Packet>) -> io::Result<bool> {
        loop {
            self.stream.readable().await?;
            let mut buf = [0u8; 4096];
            let n = match self.stream.try_read(&mut buf) {
                Ok(0) => return Ok(false),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(e),
            };
            let before = out.len();
            let open = self.absorb(&buf[..n], out)?;
            // Pings are answered here so that callers only see what they act on.
            let pings = out[before..].iter().filter(|p| **p == Packet::Ping).count();
            out.retain(|p| *p != Packet::Ping);
            for _ in 0..pings {
                self.send(socketio::PONG).await?;
            }
            if !open || !out.is_empty() {
                return Ok(open);
            }
        }
    }

    /// Decodes bytes; `false` when the peer sent a WebSocket close.
    fn absorb(&mut self, bytes: &[u8], out: &mut Vec<Packet>) -> io::Result<bool> {
        let mut open = true;
        let mut error = None;
        self.decoder
            .decode(bytes, |m| match m {
                Message::Text(t) => match std::str::from_utf8(&t)
                    .map_err(|_| socketio::DecodeError("not UTF-8"))
                    .and_then(socketio::decode)
                {
                    Ok(p) => out.push(p),
                    Err(e) => error = Some(e.0),
                },
                Message::Close(_) => open = false,
                _ => {}
            })
            .map_err(|e| invalid(e.reason))?;
        match error {
            Some(why) => Err(invalid(why)),
            None => Ok(open),
        }
    }

    /// Sends one text message (masked, as a client must).
    pub async fn send(&mut self, text: &str) -> io::Result<()> {
        let mask = frame::random_mask();
        let mut out = Vec::with_capacity(14 + text.len());
        frame::write_header(&mut out, OpCode::Text, text.len(), Some(mask));
        let start = out.len();
        out.extend_from_slice(text.as_bytes());
        frame::apply_mask(&mut out[start..], mask, 0);
        self.stream.write_all(&out).await
    }
}

fn check_head(head: &[u8]) -> io::Result<()> {
    let text = std::str::from_utf8(head).map_err(|_| invalid("response head is not UTF-8"))?;
    handshake::check_response(text, KEY).map(drop).map_err(invalid)
}
