//! Glue between a hyper HTTP upgrade and a [`Connection`](crate::Connection).

use bytes::Bytes;
use http::{header, HeaderValue, Response, StatusCode};
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// The `101 Switching Protocols` response for a checked request.
pub fn switching_protocols<B: Default>(key: &[u8], protocol: Option<&str>) -> Response<B> {
    let mut res = Response::new(B::default());
    *res.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = res.headers_mut();
    h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    h.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    let accept = crate::handshake::accept_key(key);
    h.insert(header::SEC_WEBSOCKET_ACCEPT, HeaderValue::from_str(&accept).expect("base64 is a valid header value"));
    if let Some(p) = protocol.and_then(|p| HeaderValue::from_str(p).ok()) {
        h.insert(header::SEC_WEBSOCKET_PROTOCOL, p);
    }
    res
}

/// Why an upgrade could not be turned into a TCP stream.
#[derive(Debug)]
pub enum UpgradeError {
    /// The HTTP connection failed before the upgrade completed.
    Hyper(hyper::Error),
    /// The server does not run over plain `TcpStream`s wrapped in `TokioIo`
    /// (as `axum::serve` does); other I/O types are not supported yet.
    UnsupportedIo,
}

impl std::fmt::Display for UpgradeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UpgradeError::Hyper(e) => write!(f, "upgrade failed: {e}"),
            UpgradeError::UnsupportedIo => f.write_str("upgraded connection is not a plain TcpStream"),
        }
    }
}

impl std::error::Error for UpgradeError {}

/// Waits for the upgrade and recovers the `TcpStream` and any bytes hyper
/// had already read past the request.
///
/// Embercast reads WebSocket connections by readiness (no per-connection read
/// buffer while idle), which needs the raw socket rather than hyper's
/// `Upgraded` stream.
pub async fn into_tcp(on_upgrade: OnUpgrade) -> Result<(TcpStream, Bytes), UpgradeError> {
    let upgraded = on_upgrade.await.map_err(UpgradeError::Hyper)?;
    match upgraded.downcast::<TokioIo<TcpStream>>() {
        Ok(parts) => Ok((parts.io.into_inner(), parts.read_buf)),
        Err(_) => Err(UpgradeError::UnsupportedIo),
    }
}
