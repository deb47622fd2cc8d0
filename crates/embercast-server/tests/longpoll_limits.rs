//! LongPoll limits, each with a clear JSON answer (FAULT-KINDS.md
//! "unbounded resource"): more than 100 lines in a POST, a body over
//! `max_body_bytes` or a line over `max_frame_size` → 413; a line that is
//! neither JSON nor base64 → 400; a POST whose lines wait longer than the
//! window for a stuck channel → 408; more than `max_sessions` → 503. A
//! refused POST dispatches none of its lines, and the session carries on.

#[macro_use]
mod support;

use std::time::{Duration, Instant};

use embercast_server::Socket;
use serde_json::json;
use support::*;

fn seq_line(vsn: Vsn, n: i64) -> String {
    encode(vsn, &json!(["3", format!("{n}"), "room:lobby", "seq", {"n": n}]))
}

/// Proves that no earlier POST dispatched anything: 100 `seq` pushes are
/// then answered, and they are all the channel ever handled.
async fn expect_only_these_dispatched(server: &Server, c: &mut Client) {
    let vsn = c.vsn;
    let lines: Vec<String> = (0..100).map(|n| seq_line(vsn, n)).collect();
    assert_eq!(c.lp().post_lines(&lines).await, 200);
    for n in 0..100 {
        c.expect(json!(["3", format!("{n}"), "room:lobby", "phx_reply", ok(json!({"n": n}))])).await;
    }
    let handled: Vec<i64> = server.probe.read(|s| s.seq.iter().map(|(_, n)| *n).collect());
    assert_eq!(handled, (0..100).collect::<Vec<_>>());
}

/// A valid ping line of exactly `len` bytes.
fn ping_of_len(vsn: Vsn, len: usize) -> String {
    let frame = |pad: &str| encode(vsn, &json!(["3", "4", "room:lobby", "ping", {"pad": pad}]));
    let text = frame(&"x".repeat(len - frame("").len()));
    assert_eq!(text.len(), len);
    text
}

for_each_vsn! {
    /// 101 lines → 413 and none of them is dispatched; 100 lines, with
    /// blank lines around them (which do not count), are fine.
    async fn more_than_100_lines_is_413(vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, Transport::LongPoll, vsn).await;
        c.join("room:lobby", "3").await;
        let lines: Vec<String> = (0..101).map(|n| seq_line(vsn, n)).collect();
        assert_eq!(c.lp().post_lines(&lines).await, 413);
        let mut padded = vec![String::new(), " ".into()];
        padded.extend((100..200).map(|n| seq_line(vsn, n)));
        padded.extend([String::new(), "\r".into(), String::new()]);
        assert_eq!(c.lp().post_lines(&padded).await, 200);
        for n in 100..200 {
            c.expect(json!(["3", format!("{n}"), "room:lobby", "phx_reply", ok(json!({"n": n}))])).await;
        }
        let handled: Vec<i64> = server.probe.read(|s| s.seq.iter().map(|(_, n)| *n).collect());
        assert_eq!(handled, (100..200).collect::<Vec<_>>(), "the refused POST dispatched nothing");
    }

    /// A line that is neither JSON (`[` or `{`) nor base64 → 400; none of
    /// the POST's lines is dispatched, not even those before it.
    async fn a_line_that_is_neither_json_nor_base64_is_400(vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, Transport::LongPoll, vsn).await;
        c.join("room:lobby", "3").await;
        for bad in ["not base64!", "AAE", "AAEB=", "%%%%", "\"a string\"", "42"] {
            let lines = [seq_line(vsn, 1000), bad.to_owned(), seq_line(vsn, 1001)];
            assert_eq!(c.lp().post_lines(&lines).await, 400, "{bad:?}");
        }
        expect_only_these_dispatched(&server, &mut c).await;
    }

    /// A line over `max_frame_size` (as text, or once base64-decoded) →
    /// 413; a line of exactly the limit is dispatched. Without the ndjson
    /// content type the limit applies to the whole body.
    async fn a_line_over_the_frame_size_is_413(vsn: Vsn) {
        const LIMIT: usize = 1024;
        let server = start_with(|s| s.max_frame_size(LIMIT)).await;
        let mut c = Client::connect(&server, Transport::LongPoll, vsn).await;
        c.join("room:lobby", "3").await;
        assert_eq!(c.lp().post_lines(&[ping_of_len(vsn, LIMIT + 1)]).await, 413);
        let big = ping_of_len(vsn, LIMIT + 1);
        assert_eq!(c.lp().post(Some("application/json"), big.as_bytes()).await, json!({"status": 413}));
        let binary = binary_push("3", "4", "room:lobby", "ping", &vec![7; LIMIT + 1 - 21]);
        assert_eq!(binary.len(), LIMIT + 1);
        assert_eq!(c.lp().post_lines(&[base64_line(&binary)]).await, 413);

        assert_eq!(c.lp().post_lines(&[ping_of_len(vsn, LIMIT)]).await, 200);
        let reply = c.recv_json().await;
        assert_eq!((reply[1].as_str(), reply[4]["status"].as_str()), (Some("4"), Some("ok")));
        let at_limit = ping_of_len(vsn, LIMIT);
        assert_eq!(c.lp().post(Some("application/json"), at_limit.as_bytes()).await, json!({"status": 200}));
        let reply = c.recv_json().await;
        assert_eq!((reply[1].as_str(), reply[4]["status"].as_str()), (Some("4"), Some("ok")));
        c.expect_heartbeat_next().await;
    }
}

/// A body over `max_body_bytes` → 413, whether a little over or far over
/// (the server answers without reading it all); a body of exactly the
/// limit is dispatched; the session carries on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_over_the_cap_is_413() {
    const CAP: usize = 64 * 1024;
    let server = start_with(|s| s.longpoll(lp_config().max_body_bytes(CAP))).await;
    let mut c = Client::connect(&server, Transport::LongPoll, Vsn::V2).await;
    c.join("room:lobby", "3").await;
    let at_cap = ping_of_len(Vsn::V2, CAP);
    assert_eq!(c.lp().post(Some("application/x-ndjson"), at_cap.as_bytes()).await, json!({"status": 200}));
    assert_eq!(c.recv_json().await[4]["status"], "ok");
    let over = ping_of_len(Vsn::V2, CAP + 1);
    assert_eq!(c.lp().post(Some("application/x-ndjson"), over.as_bytes()).await, json!({"status": 413}));
    assert_eq!(c.lp().post(Some("application/json"), over.as_bytes()).await, json!({"status": 413}));
    let far_over = "\n".repeat(8 << 20);
    assert_eq!(c.lp().post(Some("application/x-ndjson"), far_over.as_bytes()).await, json!({"status": 413}));
    c.expect_heartbeat_next().await;
}

/// Vector `dispatch_timeout`: while a channel is stuck, a POST whose lines
/// would take its unprocessed input past the budget (1 MiB) waits for it,
/// and answers `{"status":408}` once the window has passed; the lines after
/// that point are not dispatched, nor is anything POSTed while the budget
/// is spent. What was dispatched is handled once the channel moves again,
/// and the session carries on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_stuck_behind_a_slow_channel_past_the_window_is_408() {
    let window = Duration::from_millis(300);
    let server = start_with(|s| s.longpoll(lp_config().window(window))).await;
    let mut c = Client::connect(&server, Transport::LongPoll, Vsn::V2).await;
    c.join("room:lobby", "3").await;
    c.send(json!(["3", "slow", "room:lobby", "slow", {}])).await;
    server.probe.at_gate(1).await;
    // Four lines of 400 kB: after three, 1.2 MB waits for the stuck channel.
    let pad = "x".repeat(400_000);
    let lines: Vec<String> =
        (0..4).map(|n| json!(["3", format!("{n}"), "room:lobby", "seq", {"n": n, "pad": pad}]).to_string()).collect();
    let started = Instant::now();
    assert_eq!(c.lp().post_lines(&lines).await, 408);
    assert!(started.elapsed() >= window - Duration::from_millis(10), "answered after {:?}", started.elapsed());
    // Until the channel catches up the session takes no more input (as a
    // WebSocket stops reading): the next POST waits, and times out, too.
    let heartbeat = json!([null, "waits", "phoenix", "heartbeat", {}]).to_string();
    assert_eq!(c.lp().post_lines(&[heartbeat]).await, 408);
    server.probe.open_gate(1);
    c.expect(json!(["3", "slow", "room:lobby", "phx_reply", ok(json!({"slow": "done"}))])).await;
    for n in 0..3 {
        let reply = c.recv_json().await;
        assert_eq!((&reply[1], &reply[4]["response"]["n"]), (&json!(format!("{n}")), &json!(n)));
    }
    c.expect_heartbeat_next().await;
    let handled: Vec<i64> = server.probe.read(|s| s.seq.iter().map(|(_, n)| *n).collect());
    assert_eq!(handled, [0, 1, 2], "the line after the timeout was not dispatched");
}

/// Beyond `max_sessions`, opening a session answers `{"status":503}`
/// without running `connect` (a GET with a dead token too); the live
/// sessions carry on, and an ended session frees its slot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_sessions_is_503() {
    let server = start_with(|s| s.longpoll(lp_config().max_sessions(2))).await;
    let mut a = Client::connect_query(&server, Transport::LongPoll, "socket_id=a&vsn=2.0.0", Vsn::V2).await;
    let mut b = Client::connect(&server, Transport::LongPoll, Vsn::V2).await;
    assert_eq!(lp_request(server.addr, "GET", "/socket/longpoll?vsn=2.0.0", &[], b"").await, json!({"status": 503}));
    let dead = lp_path("vsn=2.0.0", Some("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
    assert_eq!(lp_request(server.addr, "GET", &dead, &[], b"").await, json!({"status": 503}));
    assert_eq!(server.probe.read(|s| s.connects.len()), 2, "connect did not run");
    a.expect_heartbeat_next().await;
    b.expect_heartbeat_next().await;

    // `a` stops polling (or its next poll, finding no session, would open
    // one in its place, as Phoenix does) and is disconnected: its slot is free.
    a.join("room:a", "1").await;
    a.go_silent();
    server.pubsub.broadcast("a", "disconnect", json!({})).unwrap();
    server.probe.terminated("room:a", json!("1")).await;
    new_session_token(&lp_request(server.addr, "GET", "/socket/longpoll?vsn=2.0.0", &[], b"").await);
    b.expect_heartbeat_next().await;
}

/// The cap holds while `connect` is slow (a database lookup): sessions
/// being opened count against it, so of 20 simultaneous first GETs with a
/// cap of 5, 5 reach `connect` and 15 are answered 503 at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_cap_holds_while_connect_is_slow() {
    let probe = Probe::default();
    let gate = probe.clone();
    let socket =
        Socket::new().channel::<Room>("room:*").assign(probe.clone()).longpoll(lp_config().max_sessions(5)).connect(
            move |info| {
                let probe = gate.clone();
                async move {
                    probe.pass_gate().await;
                    default_connect(&probe, info)
                }
            },
        );
    let server = serve(socket, probe).await;
    let mut gets = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let addr = server.addr;
        gets.spawn(async move { lp_request(addr, "GET", "/socket/longpoll?vsn=2.0.0", &[], b"").await });
    }
    for answered in 0..15 {
        let body = tokio::time::timeout(DEADLINE, gets.join_next())
            .await
            .unwrap_or_else(|_| {
                let waiting = server.probe.read(|s| s.at_gate);
                panic!("{answered} answered 503 while {waiting} sessions were being opened past the cap of 5")
            })
            .expect("a GET")
            .unwrap();
        assert_eq!(body, json!({"status": 503}));
    }
    assert_eq!(server.probe.read(|s| s.at_gate), 5);
    server.probe.open_gate(5);
    while let Some(body) = gets.join_next().await {
        new_session_token(&body.unwrap());
    }
    assert_eq!(lp_request(server.addr, "GET", "/socket/longpoll?vsn=2.0.0", &[], b"").await, json!({"status": 503}));
}
