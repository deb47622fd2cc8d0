//! The opening handshake (RFC 6455 §4.2), as pure functions over `http` types.

use base64::Engine;
use http::{header, HeaderMap, Method};
use sha1::{Digest, Sha1};

const GUID: &[u8] = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// Why a request is not a valid WebSocket upgrade; answered with HTTP 400.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HandshakeError {
    /// The method is not GET.
    NotGet,
    /// `Upgrade: websocket` is missing.
    NoUpgradeHeader,
    /// `Connection: upgrade` is missing.
    NoConnectionUpgrade,
    /// `Sec-WebSocket-Version` is not 13.
    UnsupportedVersion,
    /// `Sec-WebSocket-Key` is missing or not 16 base64-encoded bytes.
    BadKey,
}

impl std::fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            HandshakeError::NotGet => "WebSocket upgrades must use GET",
            HandshakeError::NoUpgradeHeader => "missing header: upgrade: websocket",
            HandshakeError::NoConnectionUpgrade => "missing header: connection: upgrade",
            HandshakeError::UnsupportedVersion => "unsupported sec-websocket-version, expected 13",
            HandshakeError::BadKey => "missing or invalid sec-websocket-key",
        })
    }
}

impl std::error::Error for HandshakeError {}

/// Checks an upgrade request and returns its `Sec-WebSocket-Key`.
pub fn check_request<'a>(method: &Method, headers: &'a HeaderMap) -> Result<&'a [u8], HandshakeError> {
    if method != Method::GET {
        return Err(HandshakeError::NotGet);
    }
    if !has_token(headers, header::UPGRADE, "websocket") {
        return Err(HandshakeError::NoUpgradeHeader);
    }
    if !has_token(headers, header::CONNECTION, "upgrade") {
        return Err(HandshakeError::NoConnectionUpgrade);
    }
    if headers.get(header::SEC_WEBSOCKET_VERSION).map(|v| v.as_bytes()) != Some(b"13") {
        return Err(HandshakeError::UnsupportedVersion);
    }
    let key = headers.get(header::SEC_WEBSOCKET_KEY).ok_or(HandshakeError::BadKey)?.as_bytes();
    match base64::engine::general_purpose::STANDARD.decode(key) {
        Ok(raw) if raw.len() == 16 => Ok(key),
        _ => Err(HandshakeError::BadKey),
    }
}

/// The `Sec-WebSocket-Accept` value for a key.
pub fn accept_key(key: &[u8]) -> String {
    let mut sha = Sha1::new();
    sha.update(key);
    sha.update(GUID);
    base64::engine::general_purpose::STANDARD.encode(sha.finalize())
}

/// The subprotocols a client offered, in order, trimmed.
pub fn offered_protocols(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|p| !p.is_empty())
}

/// A client's upgrade request head for `GET target` on `host` with `key`,
/// offering `protocols` (a `Sec-WebSocket-Protocol` value) if given; ends
/// with the blank line.
pub fn client_request(target: &str, host: &str, key: &str, protocols: Option<&str>) -> String {
    let mut head = format!(
        "GET {target} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
    );
    if let Some(protocols) = protocols {
        head.push_str(&format!("Sec-WebSocket-Protocol: {protocols}\r\n"));
    }
    head.push_str("\r\n");
    head
}

/// Checks a server's answer to [`client_request`] (its head, with or without
/// the blank line): status 101 and the `Sec-WebSocket-Accept` of `key`.
/// Returns the subprotocol the server chose, if any; `Err` says what is wrong.
pub fn check_response<'a>(head: &'a str, key: &str) -> Result<Option<&'a str>, String> {
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap_or_default();
    if !status.starts_with("HTTP/1.1 101 ") && status != "HTTP/1.1 101" {
        return Err(format!("upgrade answered {status:?}"));
    }
    let headers: Vec<(&str, &str)> =
        lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim(), v.trim())).collect();
    let header = |name: &str| headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| *v);
    if header("sec-websocket-accept") != Some(accept_key(key.as_bytes()).as_str()) {
        return Err("missing or wrong sec-websocket-accept".into());
    }
    Ok(header("sec-websocket-protocol"))
}

fn has_token(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_example_accept_key() {
        assert_eq!(accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    }

    #[test]
    fn client_side_request_and_response() {
        let key = "dGhlIHNhbXBsZSBub25jZQ==";
        let req = client_request("/socket/websocket?vsn=2.0.0", "h:1", key, Some("phoenix, x"));
        assert!(req.starts_with("GET /socket/websocket?vsn=2.0.0 HTTP/1.1\r\nHost: h:1\r\n"), "{req}");
        assert!(req.ends_with("Sec-WebSocket-Protocol: phoenix, x\r\n\r\n"), "{req}");
        assert!(!client_request("/", "h", key, None).contains("Protocol"));
        let ok = "HTTP/1.1 101 Switching Protocols\r\nsec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
        assert_eq!(check_response(ok, key), Ok(None));
        let chosen = ok.replace("\r\n\r\n", "\r\nSec-WebSocket-Protocol: phoenix\r\n\r\n");
        assert_eq!(check_response(&chosen, key), Ok(Some("phoenix")));
        assert!(check_response("HTTP/1.1 403 Forbidden\r\n\r\n", key).unwrap_err().contains("403"));
        assert!(check_response(ok, "other").is_err());
    }

    #[test]
    fn request_checks() {
        let mut h = HeaderMap::new();
        h.insert(header::UPGRADE, "WebSocket".parse().unwrap());
        h.insert(header::CONNECTION, "keep-alive, Upgrade".parse().unwrap());
        h.insert(header::SEC_WEBSOCKET_VERSION, "13".parse().unwrap());
        h.insert(header::SEC_WEBSOCKET_KEY, "dGhlIHNhbXBsZSBub25jZQ==".parse().unwrap());
        assert!(check_request(&Method::GET, &h).is_ok());
        assert_eq!(check_request(&Method::POST, &h), Err(HandshakeError::NotGet));
        let mut bad = h.clone();
        bad.insert(header::SEC_WEBSOCKET_KEY, "short".parse().unwrap());
        assert_eq!(check_request(&Method::GET, &bad), Err(HandshakeError::BadKey));
        let mut bad = h.clone();
        bad.insert(header::SEC_WEBSOCKET_VERSION, "8".parse().unwrap());
        assert_eq!(check_request(&Method::GET, &bad), Err(HandshakeError::UnsupportedVersion));
        let mut bad = h;
        bad.remove(header::UPGRADE);
        assert_eq!(check_request(&Method::GET, &bad), Err(HandshakeError::NoUpgradeHeader));
    }
}
