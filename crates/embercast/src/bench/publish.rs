//! Publishing a broadcast: `POST` to the server's HTTP endpoint (Embercast's
//! `/api/broadcast`, the Socket.IO peer's `/broadcast`), or a push on a
//! Phoenix channel whose `handle_in` broadcasts it.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use embercast_client::{Channel, Socket};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::Proto;

/// Longest a publish may take before the run gives up on it.
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(10);

/// How broadcasts reach the server.
pub enum Publisher {
    /// One HTTP request per broadcast, each on a new connection.
    Http {
        server: SocketAddr,
        host: String,
        path: &'static str,
        proto: Proto,
        topic: String,
        event: String,
        /// Sent as `Authorization: Bearer <key>`.
        api_key: Option<String>,
    },
    /// A joined channel; each broadcast is a push of `event` with `{"body": payload}`.
    Channel { socket: Socket, channel: Channel, event: String },
}

impl Publisher {
    /// Joins the channel first for [`Publisher::Channel`].
    pub async fn channel(url: &str, topic: &str, event: &str) -> io::Result<Publisher> {
        let socket = Socket::builder(url).connect().map_err(|e| io::Error::other(e.to_string()))?;
        let channel = socket.channel(topic, json!({"name": "bench-publisher"}));
        channel.join().await.map_err(|e| io::Error::other(format!("publisher join: {e}")))?;
        Ok(Publisher::Channel { socket, channel, event: event.to_owned() })
    }

    /// Publishes one broadcast of `payload`.
    pub async fn publish(&self, payload: Value) -> io::Result<()> {
        match self {
            Publisher::Http { server, host, path, proto, topic, event, api_key } => {
                let body = match proto {
                    Proto::Phoenix => json!({ "topic": topic, "event": event, "payload": payload }),
                    Proto::Socketio => json!({ "event": event, "data": payload }),
                };
                let body = body.to_string();
                let post = post_json(*server, host, path, api_key.as_deref(), &body);
                let status = tokio::time::timeout(PUBLISH_TIMEOUT, post)
                    .await
                    .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "broadcast request timed out"))??;
                if (200..300).contains(&status) {
                    Ok(())
                } else {
                    Err(io::Error::other(format!("POST {path} answered {status}")))
                }
            }
            Publisher::Channel { channel, event, .. } => channel
                .push(event.as_str(), json!({ "body": payload }))
                .await
                .map(drop)
                .map_err(|e| io::Error::other(format!("publisher push: {e}"))),
        }
    }

    /// Closes the publisher's socket, if it has one.
    pub async fn close(self) {
        if let Publisher::Channel { socket, .. } = self {
            socket.disconnect().await;
        }
    }
}

/// `POST path` with a JSON body over HTTP/1.1 (`Connection: close`); the status code.
async fn post_json(server: SocketAddr, host: &str, path: &str, key: Option<&str>, body: &str) -> io::Result<u16> {
    let mut stream = TcpStream::connect(server).await?;
    stream.set_nodelay(true)?;
    let auth = key.map_or_else(String::new, |k| format!("Authorization: Bearer {k}\r\n"));
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         {auth}Connection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    status_code(&response).ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no HTTP status line"))
}

/// The status code of an HTTP/1.x response.
fn status_code(response: &[u8]) -> Option<u16> {
    let line = response.split(|&b| b == b'\r').next()?;
    let mut parts = std::str::from_utf8(line).ok()?.split(' ');
    parts.next().filter(|v| v.starts_with("HTTP/1."))?;
    parts.next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn status_codes() {
        assert_eq!(super::status_code(b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n"), Some(202));
        assert_eq!(super::status_code(b"HTTP/1.0 404 Not Found\r\n\r\n"), Some(404));
        assert_eq!(super::status_code(b"garbage"), None);
        assert_eq!(super::status_code(b""), None);
    }
}
