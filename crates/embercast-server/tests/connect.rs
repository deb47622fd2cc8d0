//! Connecting (PROTOCOL.md §2.2–2.5, §2.8): the connect callback and what it
//! gets, refusals, `vsn` negotiation (over both transports), then the
//! WebSocket handshake: refusals as HTTP statuses before the upgrade, the
//! auth token subprotocol, and handshake errors. LongPoll's own answers are
//! in `tests/longpoll_sessions.rs`.

#[macro_use]
mod support;

use base64::Engine;
use serde_json::json;
use support::*;

fn ws_path(query: &str) -> String {
    format!("/socket/websocket?{query}")
}

for_each_transport! {
    /// The callback gets the decoded query parameters and the transport's name.
    async fn connect_gets_the_params(t: Transport) {
        let server = start().await;
        // Captured from phoenix.js 1.8.16 (PROTOCOL.md §2.2).
        let mut c = Client::connect_query(&server, t, "token=abc&user%5Bid%5D=7&vsn=2.0.0", Vsn::V2).await;
        c.expect_heartbeat_next().await;
        let info = server.probe.read(|s| s.connects[0].clone());
        assert_eq!(info.params.get("token"), Some("abc"));
        assert_eq!(info.params.get("user[id]"), Some("7"));
        assert_eq!(info.params.get("vsn"), Some("2.0.0"));
        let name = match t {
            Transport::WebSocket => "websocket",
            Transport::LongPoll => "longpoll",
        };
        assert_eq!(info.transport, name);
        assert_eq!(info.auth_token, None);
    }

    /// The callback sees the peer address, the request headers and the URI
    /// (over LongPoll: of the session-creating GET).
    async fn connect_info_has_peer_headers_and_uri(t: Transport) {
        let server = start().await;
        let headers = [("X-Custom", "42"), ("User-Agent", "embercast-tests"), ("traceparent", "00-abc-def-01")];
        let mut c = Client::connect_with(&server, t, "a=1&vsn=2.0.0", &headers, Vsn::V2).await;
        c.expect_heartbeat_next().await;
        let info = server.probe.read(|s| s.connects[0].clone());
        assert_eq!(info.peer_addr, Some(c.local_addr()));
        assert_eq!(info.headers.get("x-custom").map(|v| v.to_str().unwrap()), Some("42"));
        assert_eq!(info.headers.get("user-agent").map(|v| v.to_str().unwrap()), Some("embercast-tests"));
        assert_eq!(info.headers.get("traceparent").map(|v| v.to_str().unwrap()), Some("00-abc-def-01"));
        // The path the client asked for, mount included, even behind `Router::nest`.
        let path = match t {
            Transport::WebSocket => "/socket/websocket",
            Transport::LongPoll => "/socket/longpoll",
        };
        assert_eq!(info.uri.path(), path);
        assert_eq!(info.uri.query(), Some("a=1&vsn=2.0.0"));
        assert_eq!(server.probe.read(|s| s.connects.len()), 1, "connect runs once per connection");
    }

    /// A custom connect callback decides from the params.
    async fn custom_connect_callback_decides(t: Transport) {
        use embercast_server::{Accept, Reject};
        let server = start_with(|s| {
            s.connect(|info| async move {
                match info.params.get("token") {
                    Some("good") => Ok(Accept::new().assign(User("from-token".into()))),
                    _ => Err(Reject::forbidden()),
                }
            })
        })
        .await;
        assert_eq!(admission(&server, t, "token=bad&vsn=2.0.0", &[]).await, Err(403));
        let mut c = Client::connect_query(&server, t, "token=good&vsn=2.0.0", Vsn::V2).await;
        c.join("room:lobby", "3").await;
        c.send(json!(["3", "4", "room:lobby", "whoami", {}])).await;
        assert_eq!(c.recv_json().await[4]["response"]["user"], "from-token");
    }

    /// No `vsn` means V1, and so does `1.0.x`; `2.0.x` means V2.
    async fn vsn_selects_the_serializer(t: Transport) {
        let server = start().await;
        let cases = [
            ("", Vsn::V1),
            ("vsn=1.0.0", Vsn::V1),
            ("vsn=1.0.5", Vsn::V1),
            ("vsn=2.0.0", Vsn::V2),
            ("vsn=2.0.3", Vsn::V2),
        ];
        for (query, vsn) in cases {
            let mut c = Client::connect_query(&server, t, query, vsn).await;
            // `recv_json` checks the frame's shape: an object for V1, an array for V2.
            c.expect_heartbeat_next().await;
            c.join("room:lobby", "3").await;
        }
    }

    /// A `vsn` that is not a version of a serializer we have, or not a
    /// string, is refused (WebSocket: HTTP 403; LongPoll: `{"status":403}`)
    /// before `connect` runs.
    async fn unsupported_vsn_is_refused_with_403(t: Transport) {
        let server = start().await;
        for query in [
            "vsn=3.0.0",
            "vsn=0.9.0",
            "vsn=abc",
            "vsn=",
            "vsn=2",
            "vsn=2.0",
            "vsn=123.1.1",
            "vsn[]=2.0.0",
            "vsn[x]=1.0.0",
            "vsn=2.0.0&vsn[]=2.0.0",
        ] {
            assert_eq!(admission(&server, t, query, &[]).await, Err(403), "{query}");
        }
        assert!(server.probe.read(|s| s.connects.is_empty()), "connect never ran");
    }

    /// A refusing connect leaves nothing behind: no socket id subscription,
    /// and the next connect is admitted.
    async fn refused_connect_leaves_nothing_behind(t: Transport) {
        let server = start().await;
        assert_eq!(admission(&server, t, "reject=403&socket_id=user:1&vsn=2.0.0", &[]).await, Err(403));
        assert_eq!(server.pubsub.subscriber_count("user:1"), 0, "no socket id subscription");
        let mut c = Client::connect(&server, t, Vsn::V2).await;
        c.expect_heartbeat_next().await;
        assert_eq!(server.probe.read(|s| s.connects.len()), 2);
    }
}

/// phoenix.js's `authToken`: offered as `base64url.bearer.phx.<unpadded
/// standard base64>` next to `phoenix`; decoded for `connect`; the answer
/// selects `phoenix`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_token_subprotocol_is_decoded_and_phoenix_selected() {
    let server = start().await;
    let token = "?????>a";
    let b64 = base64::engine::general_purpose::STANDARD_NO_PAD.encode(token);
    assert!(b64.contains('+') && b64.contains('/'), "the token exercises the standard alphabet: {b64}");
    let offer = format!("phoenix, base64url.bearer.phx.{b64}");
    let res =
        request(server.addr, &upgrade_request(&ws_path("vsn=2.0.0"), &[("Sec-WebSocket-Protocol", &offer)])).await;
    assert_eq!(res.status, 101);
    assert_eq!(res.header("sec-websocket-protocol"), Some("phoenix"));
    let mut c = Client::upgraded(res, Vsn::V2);
    assert_eq!(server.probe.read(|s| s.connects[0].auth_token.clone()), Some(token.to_owned()));
    c.join("room:lobby", "3").await;
    c.send(json!(["3", "4", "room:lobby", "whoami", {}])).await;
    let reply = c.recv_json().await;
    assert_eq!(reply[4]["response"]["auth_token"], token);
}

/// Offering `phoenix` alone selects it; offering nothing gets no subprotocol header.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phoenix_subprotocol_is_selected_when_offered() {
    let server = start().await;
    let res =
        request(server.addr, &upgrade_request(&ws_path("vsn=2.0.0"), &[("Sec-WebSocket-Protocol", "phoenix")])).await;
    assert_eq!((res.status, res.header("sec-websocket-protocol")), (101, Some("phoenix")));
    let res =
        request(server.addr, &upgrade_request(&ws_path("vsn=2.0.0"), &[("Sec-WebSocket-Protocol", "chat, phoenix")]))
            .await;
    assert_eq!((res.status, res.header("sec-websocket-protocol")), (101, Some("phoenix")));
    let res = request(server.addr, &upgrade_request(&ws_path("vsn=2.0.0"), &[])).await;
    assert_eq!((res.status, res.header("sec-websocket-protocol")), (101, None));
}

/// Offering only subprotocols the server does not speak is refused (a
/// browser would abort a handshake that selects none of its offers), as is
/// an auth token that is not base64.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_subprotocol_or_bad_token_is_refused_with_403() {
    let server = start().await;
    for offer in ["chat", "chat, superchat", "base64url.bearer.phx.Pz8", "phoenix, base64url.bearer.phx.!!not base64!!"]
    {
        let res =
            request(server.addr, &upgrade_request(&ws_path("vsn=2.0.0"), &[("Sec-WebSocket-Protocol", offer)])).await;
        assert_eq!(res.status, 403, "offer {offer:?}");
    }
    assert!(server.probe.read(|s| s.connects.is_empty()), "refused before connect");
}

/// A refusing connect is a 403 with an empty body before the upgrade; the
/// TCP connection is left a plain HTTP one, usable for the next request.
/// (LongPoll: `tests/longpoll_sessions.rs`.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_connect_is_403_and_leaves_nothing_behind() {
    let server = start().await;
    let res = request(server.addr, &upgrade_request(&ws_path("reject=403&socket_id=user:1&vsn=2.0.0"), &[])).await;
    assert_eq!(res.status, 403);
    assert!(res.body.is_empty());
    assert_eq!(res.header("upgrade"), None);
    assert_eq!(server.pubsub.subscriber_count("user:1"), 0, "no socket id subscription");
    // Same TCP connection, next request: still HTTP, and this one upgrades.
    let res = request_on(res.into_stream(), &upgrade_request(&ws_path("vsn=2.0.0"), &[])).await;
    let mut c = Client::upgraded(res, Vsn::V2);
    c.expect_heartbeat_next().await;
    assert_eq!(server.probe.read(|s| s.connects.len()), 2);
}

/// `Reject::status` picks the HTTP status (Phoenix's `error_handler`); over
/// LongPoll the answer is `{"status":403}` whatever the reason
/// (`tests/longpoll_sessions.rs`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_connect_can_choose_its_status() {
    let server = start().await;
    let res = request(server.addr, &upgrade_request(&ws_path("reject=429&vsn=2.0.0"), &[])).await;
    assert_eq!(res.status, 429);
}

/// A request that is not a WebSocket upgrade gets 400 with a short reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_that_is_not_an_upgrade_is_400() {
    let server = start().await;
    let plain = "GET /socket/websocket?vsn=2.0.0 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    let res = request(server.addr, plain).await;
    assert_eq!(res.status, 400);
    assert!(!res.body.is_empty(), "a short reason");
    let post = upgrade_request("/socket/websocket?vsn=2.0.0", &[]).replacen("GET", "POST", 1);
    assert_eq!(request(server.addr, &post).await.status, 400);
    let no_key = upgrade_request("/socket/websocket?vsn=2.0.0", &[])
        .replace("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", "");
    assert_eq!(request(server.addr, &no_key).await.status, 400);
    assert!(server.probe.read(|s| s.connects.is_empty()));
}
