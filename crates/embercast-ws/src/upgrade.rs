//! Glue between a hyper HTTP upgrade and a [`Connection`](crate::Connection).

use http::{header, HeaderValue, Response, StatusCode};
use hyper::upgrade::{OnUpgrade, Upgraded};
use hyper_util::rt::TokioIo;

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

/// Waits for hyper to finish the upgrade and returns the stream, ready for a
/// [`Connection`](crate::Connection).
pub async fn upgraded(on_upgrade: OnUpgrade) -> Result<TokioIo<Upgraded>, hyper::Error> {
    on_upgrade.await.map(TokioIo::new)
}
