//! The endpoint URL: `ws://host:port/socket` becomes a request to
//! `/socket/websocket?<params>&vsn=<vsn>` (PROTOCOL.md §6.3).

use std::fmt;

/// Why an endpoint URL cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointError(String);

impl fmt::Display for EndpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid endpoint: {}", self.0)
    }
}

impl std::error::Error for EndpointError {}

/// A parsed `ws://` endpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Endpoint {
    /// `host:port`, for name resolution.
    pub(crate) authority: String,
    /// The `Host` header: the authority as written.
    pub(crate) host: String,
    /// The mount path with `/websocket` appended.
    pub(crate) path: String,
}

impl Endpoint {
    /// Parses `ws://host[:port][/path]`. `wss://` is refused: this client has no TLS.
    pub(crate) fn parse(url: &str) -> Result<Self, EndpointError> {
        let rest = match url.split_once("://") {
            Some(("ws", rest)) => rest,
            Some(("wss", _)) => return Err(EndpointError("wss:// needs TLS, which this client does not have".into())),
            _ => return Err(EndpointError(format!("{url:?} does not start with ws://"))),
        };
        let (host, path) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
        if host.is_empty() {
            return Err(EndpointError(format!("{url:?} has no host")));
        }
        if path.contains('?') || path.contains('#') {
            return Err(EndpointError("put query parameters in `param`, not in the URL".into()));
        }
        let has_port = match host.rfind(':') {
            Some(i) => !host[i..].contains(']'),
            None => false,
        };
        let authority = if has_port { host.to_owned() } else { format!("{host}:80") };
        // phoenix.js appends the transport to the mount path.
        let path = format!("{}/websocket", path.trim_end_matches('/'));
        Ok(Endpoint { authority, host: host.to_owned(), path })
    }

    /// The request target: path, the user's params in order, then `vsn`.
    pub(crate) fn request_target(&self, params: &[(String, String)], vsn: &str) -> String {
        let mut target = self.path.clone();
        target.push('?');
        for (k, v) in params {
            encode_component(&mut target, k);
            target.push('=');
            encode_component(&mut target, v);
            target.push('&');
        }
        target.push_str("vsn=");
        encode_component(&mut target, vsn);
        target
    }
}

/// Percent-encodes like JavaScript's `encodeURIComponent`, as phoenix.js does.
fn encode_component(out: &mut String, s: &str) {
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_path_gets_the_transport() {
        let e = Endpoint::parse("ws://127.0.0.1:4000/socket").unwrap();
        assert_eq!(e.authority, "127.0.0.1:4000");
        assert_eq!(e.host, "127.0.0.1:4000");
        assert_eq!(e.path, "/socket/websocket");
        assert_eq!(Endpoint::parse("ws://example.com/socket/").unwrap().path, "/socket/websocket");
        let bare = Endpoint::parse("ws://example.com").unwrap();
        assert_eq!((bare.authority.as_str(), bare.path.as_str()), ("example.com:80", "/websocket"));
        assert_eq!(Endpoint::parse("ws://[::1]/s").unwrap().authority, "[::1]:80");
        assert_eq!(Endpoint::parse("ws://[::1]:9/s").unwrap().authority, "[::1]:9");
    }

    #[test]
    fn bad_urls_are_refused() {
        for url in ["http://x/socket", "wss://x/socket", "ws:///socket", "socket", "ws://x/s?token=1"] {
            assert!(Endpoint::parse(url).is_err(), "{url}");
        }
    }

    #[test]
    fn params_come_first_and_are_escaped_like_encode_uri_component() {
        let e = Endpoint::parse("ws://h/socket").unwrap();
        let params = [("token".to_owned(), "a b&c=d/é".to_owned()), ("user[id]".to_owned(), "7".to_owned())];
        assert_eq!(
            e.request_target(&params, "2.0.0"),
            "/socket/websocket?token=a%20b%26c%3Dd%2F%C3%A9&user%5Bid%5D=7&vsn=2.0.0"
        );
        assert_eq!(e.request_target(&[], "1.0.0"), "/socket/websocket?vsn=1.0.0");
    }
}
