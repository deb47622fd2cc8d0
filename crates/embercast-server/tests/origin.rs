//! Origin checking (PROTOCOL.md §2.6): off by default; when on, exact hosts
//! and `*.domain` wildcards are allowed, host-less origins (`null`,
//! `file://`) are refused with 403, and a request without `Origin` passes.

#[macro_use]
mod support;

use embercast_server::CheckOrigin;
use support::*;

async fn status(server: &Server, origin: Option<&str>) -> u16 {
    let headers: Vec<(&str, &str)> = origin.map(|o| ("Origin", o)).into_iter().collect();
    request(server.addr, &upgrade_request("/socket/websocket?vsn=2.0.0", &headers)).await.status
}

async fn checking_server() -> Server {
    start_with(|s| s.check_origin(CheckOrigin::allow(["//app.test", "*.example.com"]))).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exact_host_is_allowed_whatever_the_scheme_and_port() {
    let server = checking_server().await;
    for origin in ["https://app.test", "http://app.test:4000", "https://APP.test"] {
        assert_eq!(status(&server, Some(origin)).await, 101, "{origin}");
    }
    for origin in ["https://other.test", "https://sub.app.test", "https://app.test.evil.net"] {
        assert_eq!(status(&server, Some(origin)).await, 403, "{origin}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wildcard_allows_the_domain_and_its_subdomains_only() {
    let server = checking_server().await;
    for origin in ["https://example.com", "https://a.example.com", "http://a.b.example.com:8080"] {
        assert_eq!(status(&server, Some(origin)).await, 101, "{origin}");
    }
    for origin in ["https://evilexample.com", "https://example.com.evil.net", "https://example.co"] {
        assert_eq!(status(&server, Some(origin)).await, 403, "{origin}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostless_origins_are_refused_when_checking() {
    let server = checking_server().await;
    for origin in ["null", "file://", "file:///home/me/index.html", ""] {
        assert_eq!(status(&server, Some(origin)).await, 403, "{origin:?}");
    }
}

/// A refused origin is refused before `connect` runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_origin_never_reaches_connect() {
    let server = checking_server().await;
    assert_eq!(status(&server, Some("https://evil.test")).await, 403);
    assert!(server.probe.read(|s| s.connects.is_empty()));
}

/// Non-browser clients send no `Origin`; they are not checked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_without_origin_is_allowed() {
    let server = checking_server().await;
    assert_eq!(status(&server, None).await, 101);
}

/// Checking is off unless configured.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn origin_checking_is_off_by_default() {
    let server = start().await;
    for origin in ["https://anything.test", "null", "file://"] {
        assert_eq!(status(&server, Some(origin)).await, 101, "{origin}");
    }
}
