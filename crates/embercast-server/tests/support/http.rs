//! Raw HTTP/1.1 over `tokio::net::TcpStream`: requests are written by hand and
//! answers are read by `Content-Length`, so a test sees exactly the status,
//! headers and body bytes the server sent. Used for WebSocket upgrades and for
//! every LongPoll request.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::DEADLINE;

/// The server's answer to an HTTP request.
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    stream: TcpStream,
    /// Bytes read past the response (the first WebSocket frames after a 101).
    pub(crate) leftover: Vec<u8>,
}

impl Response {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The body as JSON; fails the test if it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!("HTTP {} body is not JSON ({e}): {:?}", self.status, String::from_utf8_lossy(&self.body))
        })
    }

    /// Whether the server may take another request on this connection.
    pub fn keeps_alive(&self) -> bool {
        !self.header("connection").is_some_and(|v| v.eq_ignore_ascii_case("close"))
    }

    /// The connection, to send another request on it (keep-alive).
    pub fn into_stream(self) -> TcpStream {
        self.stream
    }

    pub(crate) fn into_parts(self) -> (TcpStream, Vec<u8>) {
        (self.stream, self.leftover)
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

/// A complete request: `method path`, `Host`, `extra` headers, and a body
/// with its `Content-Length` (none for a body-less GET, as browsers send it).
pub fn http_request(method: &str, path_and_query: &str, extra: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut head = format!("{method} {path_and_query} HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    for (k, v) in extra {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() || method == "POST" {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    out.extend_from_slice(body);
    out
}

/// Opens a TCP connection to the test server.
pub async fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).await.expect("connect to the test server");
    stream.set_nodelay(true).expect("TCP_NODELAY");
    stream
}

/// Sends `request` (a complete HTTP/1.1 request head) on a new connection and reads the answer.
pub async fn request(addr: SocketAddr, request: &str) -> Response {
    request_on(connect(addr).await, request).await
}

/// Sends `request` on an open connection and reads the answer.
pub async fn request_on(stream: TcpStream, request: &str) -> Response {
    exchange(stream, request.as_bytes(), DEADLINE).await.unwrap_or_else(|e| panic!("HTTP request failed: {e}"))
}

/// Writes `request` and reads one answer within `timeout`. A `HEAD`
/// request's answer has no body, whatever its `Content-Length` says.
///
/// Writing and reading run together: a server may answer before it has
/// read the whole request (a body over its limit) and stop reading, and
/// that answer is what the test wants to see.
pub async fn exchange(mut stream: TcpStream, request: &[u8], timeout: Duration) -> io::Result<Response> {
    let head_only = request.starts_with(b"HEAD ");
    let exchange = async {
        let (mut rd, mut wr) = stream.split();
        let write = wr.write_all(request);
        let read = read_response(&mut rd, head_only);
        tokio::pin!(write, read);
        let mut write_error = None;
        let mut writing = true;
        let parsed = loop {
            tokio::select! {
                w = &mut write, if writing => {
                    writing = false;
                    write_error = w.err();
                }
                r = &mut read => break r,
            }
        };
        match parsed {
            Ok((status, headers, body, leftover)) => Ok((status, headers, body, leftover)),
            Err(e) => Err(write_error.unwrap_or(e)),
        }
    };
    let (status, headers, body, leftover) = tokio::time::timeout(timeout, exchange).await.unwrap_or_else(|_| {
        Err(io::Error::new(io::ErrorKind::TimedOut, format!("no HTTP response within {timeout:?}")))
    })?;
    Ok(Response { status, headers, body, stream, leftover })
}

type Parsed = (u16, Vec<(String, String)>, Vec<u8>, Vec<u8>);

async fn read_response(stream: &mut (impl AsyncRead + Unpin), head_only: bool) -> io::Result<Parsed> {
    let mut buf = Vec::new();
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("server hung up before answering: {:?}", String::from_utf8_lossy(&buf)),
            ));
        }
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
    assert!(
        !headers.iter().any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked")),
        "every answer of this server has a Content-Length: {headers:?}"
    );
    let mut rest = buf[head_end..].to_vec();
    let mut body = Vec::new();
    if status != 101 && !head_only {
        let len: usize = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .map_or(0, |(_, v)| v.parse().expect("content-length is a number"));
        while rest.len() < len {
            let mut chunk = [0u8; 4096];
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "server hung up in the middle of the body"));
            }
            rest.extend_from_slice(&chunk[..n]);
        }
        body = rest.drain(..len).collect();
    }
    Ok((status, headers, body, rest))
}
