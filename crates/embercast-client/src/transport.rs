//! Opening the WebSocket: TCP connect, then the HTTP/1.1 upgrade by hand
//! (a full HTTP client would cost more memory per connection than the rest
//! of the client together).

use std::fmt;
use std::io;
use std::net::SocketAddr;

use base64::Engine;
use embercast_ws::{handshake, Connection, Role};
use tokio::io::AsyncReadExt;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpSocket, TcpStream};

use crate::backoff::Rng;
use crate::options::Options;

/// A 101 response head larger than this is not one a server would send.
const MAX_RESPONSE_HEAD: usize = 8 * 1024;
/// What phoenix.js puts before the base64 of its `authToken` (PROTOCOL.md §2.5).
const AUTH_TOKEN_PREFIX: &str = "base64url.bearer.phx.";

/// Why a connection attempt failed; logged, then retried with backoff.
#[derive(Debug)]
pub(crate) enum OpenError {
    Io(io::Error),
    /// The server answered the upgrade with something else than a valid 101.
    Refused(String),
    Timeout,
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpenError::Io(e) => write!(f, "{e}"),
            OpenError::Refused(why) => write!(f, "upgrade refused: {why}"),
            OpenError::Timeout => f.write_str("timed out"),
        }
    }
}

impl From<io::Error> for OpenError {
    fn from(e: io::Error) -> Self {
        OpenError::Io(e)
    }
}

/// Connects and upgrades, within the socket's timeout.
pub(crate) async fn open(options: &Options, rng: &mut Rng) -> Result<Connection<TcpStream>, OpenError> {
    let attempt = async {
        let stream = tcp_connect(options).await?;
        upgrade(stream, options, rng).await
    };
    match tokio::time::timeout(options.timeout, attempt).await {
        Ok(result) => result,
        Err(_) => Err(OpenError::Timeout),
    }
}

async fn tcp_connect(options: &Options) -> Result<TcpStream, OpenError> {
    let mut last = None;
    for addr in tokio::net::lookup_host(&options.endpoint.authority).await? {
        match connect_from(addr, options).await {
            Ok(stream) => return Ok(stream),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no address")).into())
}

async fn connect_from(addr: SocketAddr, options: &Options) -> io::Result<TcpStream> {
    let socket = if addr.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
    if let Some(local) = options.local_addr {
        socket.bind(SocketAddr::new(local, 0))?;
    }
    let stream = socket.connect(addr).await?;
    // Heartbeats and replies are small frames; Nagle would hold them back.
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// The upgrade request's head.
fn request(options: &Options, key: &str) -> String {
    let target = options.endpoint.request_target(&options.params, options.serializer.vsn());
    // Despite its name, phoenix.js uses the standard alphabet, unpadded.
    let protocols = options.auth_token.as_ref().map(|token| {
        format!("phoenix, {AUTH_TOKEN_PREFIX}{}", base64::engine::general_purpose::STANDARD_NO_PAD.encode(token))
    });
    handshake::client_request(&target, &options.endpoint.host, key, protocols.as_deref())
}

async fn upgrade(mut stream: TcpStream, options: &Options, rng: &mut Rng) -> Result<Connection<TcpStream>, OpenError> {
    let mut raw_key = [0u8; 16];
    raw_key[..8].copy_from_slice(&rng.next_u64().to_ne_bytes());
    raw_key[8..].copy_from_slice(&rng.next_u64().to_ne_bytes());
    let key = base64::engine::general_purpose::STANDARD.encode(raw_key);
    stream.write_all(request(options, &key).as_bytes()).await?;
    let head = read_head(&mut stream).await?;
    check_response(&head, &key, options.auth_token.is_some()).map_err(OpenError::Refused)?;
    Ok(Connection::new(stream, Role::Client, options.max_message_size))
}

/// Reads the response head and not one byte more: a server may send frames
/// right after the 101, and `Connection` must be the one to read them. Bytes
/// are peeked, and only the head is consumed.
async fn read_head(stream: &mut TcpStream) -> Result<Vec<u8>, OpenError> {
    let mut head = Vec::with_capacity(256);
    let mut peeked = [0u8; 1024];
    loop {
        let n = stream.peek(&mut peeked).await?;
        if n == 0 {
            return Err(OpenError::Refused("closed during the upgrade".into()));
        }
        // The blank line may straddle what was consumed and what is peeked.
        let from = head.len().saturating_sub(3);
        let mut window = head[from..].to_vec();
        window.extend_from_slice(&peeked[..n]);
        let take = match window.windows(4).position(|w| w == b"\r\n\r\n") {
            Some(pos) => pos + 4 - (head.len() - from),
            None => n,
        };
        let start = head.len();
        head.resize(start + take, 0);
        stream.read_exact(&mut head[start..]).await?;
        if head.ends_with(b"\r\n\r\n") {
            return Ok(head);
        }
        if head.len() > MAX_RESPONSE_HEAD {
            return Err(OpenError::Refused("response head too large".into()));
        }
    }
}

/// Checks the status, the accept key and, when an auth token was offered,
/// that the server chose the `phoenix` subprotocol (a browser aborts otherwise).
fn check_response(head: &[u8], key: &str, offered_protocols: bool) -> Result<(), String> {
    let text = std::str::from_utf8(head).map_err(|_| "response head is not UTF-8".to_owned())?;
    match (offered_protocols, handshake::check_response(text, key)?) {
        (true, Some("phoenix")) | (false, None) => Ok(()),
        (true, other) => Err(format!("subprotocol {other:?} chosen, expected \"phoenix\"")),
        (false, Some(p)) => Err(format!("subprotocol {p:?} chosen, none offered")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::endpoint::Endpoint;

    fn options() -> Options {
        let mut o = crate::Socket::builder("ws://h:4000/socket").into_options();
        o.endpoint = Endpoint::parse("ws://h:4000/socket").unwrap();
        o
    }

    #[test]
    fn request_carries_params_vsn_and_the_token_subprotocol() {
        let mut o = options();
        o.params.push(("token".into(), "abc".into()));
        o.auth_token = Some("s3cret?".into());
        let head = request(&o, "dGhlIHNhbXBsZSBub25jZQ==");
        assert!(head.starts_with("GET /socket/websocket?token=abc&vsn=2.0.0 HTTP/1.1\r\nHost: h:4000\r\n"), "{head}");
        // btoa("s3cret?") is "czNjcmV0Pw==": standard alphabet, padding removed.
        assert!(head.contains("\r\nSec-WebSocket-Protocol: phoenix, base64url.bearer.phx.czNjcmV0Pw\r\n"), "{head}");
        assert!(head.ends_with("\r\n\r\n"));
        assert!(!request(&options(), "k").contains("Protocol"));
    }

    #[test]
    fn response_checks() {
        let key = "dGhlIHNhbXBsZSBub25jZQ==";
        let ok = "HTTP/1.1 101 Switching Protocols\r\nsec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
        assert_eq!(check_response(ok.as_bytes(), key, false), Ok(()));
        assert!(check_response(ok.as_bytes(), key, true).is_err(), "auth token offered, phoenix not chosen");
        let chosen = ok.replace("\r\n\r\n", "\r\nSec-WebSocket-Protocol: phoenix\r\n\r\n");
        assert_eq!(check_response(chosen.as_bytes(), key, true), Ok(()));
        assert!(check_response(b"HTTP/1.1 403 Forbidden\r\n\r\n", key, false).unwrap_err().contains("403"));
        assert!(check_response(ok.replace("s3pP", "xxxx").as_bytes(), key, false).is_err());
    }
}
