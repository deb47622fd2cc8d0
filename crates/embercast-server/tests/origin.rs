//! Origin checking (PROTOCOL.md §2.6), the same for both transports: off by
//! default; when on, exact hosts and `*.domain` wildcards are allowed,
//! host-less origins (`null`, `file://`) are refused (WebSocket: HTTP 403;
//! LongPoll: `{"status":403}`), and a request without `Origin` passes.
//! LongPoll also checks POST and OPTIONS: `tests/longpoll_http.rs`.

#[macro_use]
mod support;

use embercast_server::CheckOrigin;
use support::*;

async fn admitted(server: &Server, t: Transport, origin: Option<&str>) -> Result<(), u16> {
    let headers: Vec<(&str, &str)> = origin.map(|o| ("Origin", o)).into_iter().collect();
    admission(server, t, "vsn=2.0.0", &headers).await
}

async fn checking_server() -> Server {
    start_with(|s| s.check_origin(CheckOrigin::allow(["//app.test", "*.example.com"]))).await
}

for_each_transport! {
    async fn exact_host_is_allowed_whatever_the_scheme_and_port(t: Transport) {
        let server = checking_server().await;
        for origin in ["https://app.test", "http://app.test:4000", "https://APP.test"] {
            assert_eq!(admitted(&server, t, Some(origin)).await, Ok(()), "{origin}");
        }
        for origin in ["https://other.test", "https://sub.app.test", "https://app.test.evil.net"] {
            assert_eq!(admitted(&server, t, Some(origin)).await, Err(403), "{origin}");
        }
    }

    async fn wildcard_allows_the_domain_and_its_subdomains_only(t: Transport) {
        let server = checking_server().await;
        for origin in ["https://example.com", "https://a.example.com", "http://a.b.example.com:8080"] {
            assert_eq!(admitted(&server, t, Some(origin)).await, Ok(()), "{origin}");
        }
        for origin in ["https://evilexample.com", "https://example.com.evil.net", "https://example.co"] {
            assert_eq!(admitted(&server, t, Some(origin)).await, Err(403), "{origin}");
        }
    }

    async fn hostless_origins_are_refused_when_checking(t: Transport) {
        let server = checking_server().await;
        for origin in ["null", "file://", "file:///home/me/index.html", ""] {
            assert_eq!(admitted(&server, t, Some(origin)).await, Err(403), "{origin:?}");
        }
    }

    /// A refused origin is refused before `connect` runs.
    async fn refused_origin_never_reaches_connect(t: Transport) {
        let server = checking_server().await;
        assert_eq!(admitted(&server, t, Some("https://evil.test")).await, Err(403));
        assert!(server.probe.read(|s| s.connects.is_empty()));
    }

    /// Non-browser clients send no `Origin`; they are not checked.
    async fn request_without_origin_is_allowed(t: Transport) {
        let server = checking_server().await;
        assert_eq!(admitted(&server, t, None).await, Ok(()));
    }

    /// Checking is off unless configured.
    async fn origin_checking_is_off_by_default(t: Transport) {
        let server = start().await;
        for origin in ["https://anything.test", "null", "file://"] {
            assert_eq!(admitted(&server, t, Some(origin)).await, Ok(()), "{origin}");
        }
    }
}
