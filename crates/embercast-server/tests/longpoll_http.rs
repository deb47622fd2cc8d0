//! LongPoll at the HTTP level (PROTOCOL.md §7.1–7.2, §2.6): every answer
//! is HTTP 200 with a JSON body and the same three headers; CORS preflights
//! are answered with the requested headers echoed; the origin is checked on
//! every request, GET, POST and OPTIONS alike, before anything else.

#[macro_use]
mod support;

use embercast_server::CheckOrigin;
use serde_json::json;
use support::*;

const EVIL: (&str, &str) = ("Origin", "https://evil.test");
const GOOD: (&str, &str) = ("Origin", "https://app.test");

async fn checking_server() -> Server {
    start_with(|s| s.check_origin(CheckOrigin::allow(["//app.test"]))).await
}

/// A refused origin is `{"status":403}` for a GET that would open a
/// session, a GET that would poll, a POST and an OPTIONS preflight; a
/// refused request reaches neither `connect` nor the session, which carries on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_origin_is_403_for_get_post_and_options() {
    let server = checking_server().await;
    // Vector `origin_rejected`.
    let body =
        lp_request(server.addr, "GET", "/socket/longpoll?vsn=2.0.0", &[("origin", "http://notallowed.com")], b"").await;
    assert_eq!(body, json!({"status": 403}));
    assert!(server.probe.read(|s| s.connects.is_empty()), "refused before connect");

    let lp = LpClient::connect(server.addr, "vsn=2.0.0", &[GOOD]).await;
    let mut c = Client::from_lp(lp, Vsn::V2);
    c.join("room:lobby", "3").await;
    let path = c.lp().path();
    let ndjson = ("Content-Type", "application/x-ndjson");
    let ping = br#"["3","4","room:lobby","seq",{"n":4}]"#;
    assert_eq!(lp_request(server.addr, "GET", &path, &[EVIL], b"").await, json!({"status": 403}), "poll");
    assert_eq!(lp_request(server.addr, "POST", &path, &[EVIL, ndjson], ping).await, json!({"status": 403}), "POST");
    let preflight = lp_raw(
        server.addr,
        "OPTIONS",
        "/socket/longpoll",
        &[EVIL, ("Access-Control-Request-Headers", "content-type")],
        b"",
    )
    .await;
    assert_eq!(lp_json(&preflight), json!({"status": 403}), "OPTIONS");
    for origin in ["null", "file://", ""] {
        let body = lp_request(server.addr, "POST", &path, &[("Origin", origin), ndjson], ping).await;
        assert_eq!(body, json!({"status": 403}), "{origin:?}");
    }
    assert!(server.probe.read(|s| s.seq.is_empty()), "no refused POST reached the channel");
    assert_eq!(server.probe.read(|s| s.connects.len()), 1);

    // The session carries on, for its own origin and for requests without one.
    assert_eq!(lp_request(server.addr, "POST", &path, &[GOOD, ndjson], ping).await, json!({"status": 200}));
    c.expect(json!(["3", "4", "room:lobby", "phx_reply", ok(json!({"n": 4}))])).await;
    assert_eq!(lp_request(server.addr, "POST", &path, &[ndjson], ping).await, json!({"status": 200}));
    c.expect(json!(["3", "4", "room:lobby", "phx_reply", ok(json!({"n": 4}))])).await;
    let preflight = lp_raw(server.addr, "OPTIONS", "/socket/longpoll", &[GOOD], b"").await;
    assert_eq!(preflight.status, 200);
}

/// Vector `preflight`: HTTP 200, empty body, the requested headers echoed,
/// the methods and a max age; several request-header lines are joined.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn options_preflight_echoes_the_requested_headers() {
    let server = start().await;
    let res = lp_raw(
        server.addr,
        "OPTIONS",
        "/socket/longpoll",
        &[("access-control-request-headers", "content-type, x-phoenix-authtoken")],
        b"",
    )
    .await;
    assert_eq!(res.status, 200);
    assert!(res.body.is_empty(), "{:?}", String::from_utf8_lossy(&res.body));
    assert_eq!(res.header("access-control-allow-origin"), Some("*"));
    assert_eq!(res.header("access-control-allow-headers"), Some("content-type, x-phoenix-authtoken"));
    assert_eq!(res.header("access-control-allow-methods"), Some("get, post, options"));
    assert_eq!(res.header("access-control-max-age"), Some("3600"));

    let res = lp_raw(
        server.addr,
        "OPTIONS",
        "/socket/longpoll?vsn=2.0.0",
        &[
            ("Access-Control-Request-Headers", "content-type"),
            ("Access-Control-Request-Headers", "x-phoenix-longpoll-token"),
            ("Access-Control-Request-Method", "POST"),
        ],
        b"",
    )
    .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("access-control-allow-headers"), Some("content-type, x-phoenix-longpoll-token"));
    assert!(server.probe.read(|s| s.connects.is_empty()), "a preflight opens no session");
}

/// Every kind of answer is HTTP 200, JSON, with `content-type:
/// application/json; charset=utf-8`, `cache-control: no-store` and
/// `access-control-allow-origin: *` (each request below goes through
/// `lp_json`, which checks exactly that).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_is_json_with_the_longpoll_headers() {
    let window = std::time::Duration::from_millis(100);
    let server = start_with(|s| s.longpoll(lp_config().window(window).max_sessions(2).max_body_bytes(1024))).await;
    let ndjson = ("Content-Type", "application/x-ndjson");
    let s = RawSession::open(server.addr, "vsn=2.0.0", &[]).await; // 410 with a token
                                                                   // (method, path, headers, body, the status the answer must carry)
    type Case<'a> = (&'a str, String, Vec<(&'a str, &'a str)>, Vec<u8>, u64);
    let cases: Vec<Case> = vec![
        ("GET", s.path(), vec![], vec![], 204),
        ("POST", s.path(), vec![ndjson], br#"[null,"1","phoenix","heartbeat",{}]"#.to_vec(), 200),
        ("GET", s.path(), vec![], vec![], 200),
        ("POST", lp_path("vsn=2.0.0", Some("nope")), vec![ndjson], b"[]".to_vec(), 410),
        ("POST", s.path(), vec![ndjson], b"not base64!".to_vec(), 400),
        ("POST", s.path(), vec![ndjson], vec![b'['; 2048], 413),
        ("GET", "/socket/longpoll?vsn=9.9.9".into(), vec![], vec![], 403),
        ("GET", "/socket/longpoll?vsn=2.0.0".into(), vec![], vec![], 410),
        ("GET", "/socket/longpoll?vsn=2.0.0".into(), vec![], vec![], 503),
        ("PUT", s.path(), vec![], b"{}".to_vec(), 405),
    ];
    for (method, path, headers, body, status) in cases {
        let answer = lp_request(server.addr, method, &path, &headers, &body).await;
        assert_eq!(answer["status"], status, "{method} {path}: {answer}");
    }
}

/// Methods other than GET, POST and OPTIONS get a JSON answer too:
/// `{"status":405}` (Phoenix answers 400 with an empty body; a client that
/// reads every answer as JSON is better served by JSON).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_methods_get_a_json_405() {
    let server = start().await;
    let s = RawSession::open(server.addr, "vsn=2.0.0", &[]).await;
    for method in ["PUT", "DELETE", "PATCH"] {
        for path in ["/socket/longpoll".to_owned(), s.path()] {
            let answer = lp_request(server.addr, method, &path, &[], b"").await;
            assert_eq!(answer, json!({"status": 405}), "{method} {path}");
        }
    }
    assert_eq!(server.probe.read(|st| st.connects.len()), 1);
}
