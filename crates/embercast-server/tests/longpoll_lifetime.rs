//! How a LongPoll session ends (PROTOCOL.md §7.6, §2.9, §4.12): after the
//! session timeout without a poll (a poll held open counts as one, POSTs do
//! not), on `disconnect` for its socket id, or when the socket drains. An
//! ended session's channels terminate with `Closed`, its socket id
//! subscription goes, a poll held at that moment answers 410 at once, and
//! its token opens nothing but a new session.

#[macro_use]
mod support;

use std::time::{Duration, Instant};

use embercast_server::Terminate;
use serde_json::json;
use support::*;

const TIMEOUT: Duration = Duration::from_millis(300);

for_each_vsn! {
    /// No poll for the session timeout: the session ends, every channel
    /// terminates with `Closed`, the socket id subscription goes; its token
    /// then gets 410 on POST and a new session on GET.
    async fn session_timeout_ends_the_session_and_terminates_its_channels(vsn: Vsn) {
        let server = start_with(|s| s.longpoll(lp_config().session_timeout(TIMEOUT))).await;
        let query = format!("socket_id=user:9&{}", vsn.query());
        let mut c = Client::connect_query(&server, Transport::LongPoll, &query, vsn).await;
        c.join("room:a", "3").await;
        c.join("room:b", "5").await;
        assert_eq!(server.pubsub.subscriber_count("user:9"), 1);
        let token = c.lp().token();
        let path = c.lp().path();
        let stopped = Instant::now();
        c.go_silent();
        assert_eq!(server.probe.terminated("room:a", json!("3")).await, Terminate::Closed);
        assert_eq!(server.probe.terminated("room:b", json!("5")).await, Terminate::Closed);
        assert!(stopped.elapsed() >= TIMEOUT - Duration::from_millis(20), "ended after {:?}", stopped.elapsed());
        assert_eq!(server.pubsub.subscriber_count("user:9"), 0);
        assert_eq!(server.pubsub.subscriber_count("room:a"), 0);

        let heartbeat = br#"[null,"1","phoenix","heartbeat",{}]"#;
        assert_eq!(lp_request(server.addr, "POST", &path, &[], heartbeat).await, json!({"status": 410}));
        let body = lp_request(server.addr, "GET", &path, &[], b"").await;
        assert_ne!(new_session_token(&body), token);
    }

    /// POSTs are not signs of life (as in Phoenix): a client that keeps
    /// POSTing but never polls is ended after the session timeout.
    async fn posts_do_not_keep_a_session_alive(vsn: Vsn) {
        let server = start_with(|s| s.longpoll(lp_config().session_timeout(TIMEOUT))).await;
        let mut c = Client::connect(&server, Transport::LongPoll, vsn).await;
        c.join("room:a", "3").await;
        c.go_silent();
        let stopped = Instant::now();
        let heartbeat = encode(vsn, &json!([null, "1", "phoenix", "heartbeat", {}]));
        let mut tick = tokio::time::interval(Duration::from_millis(50));
        let ended_after = loop {
            tick.tick().await;
            match c.lp().post_lines(&[&heartbeat]).await {
                200 => assert!(stopped.elapsed() < DEADLINE, "still alive after {:?} of POSTs", stopped.elapsed()),
                410 => break stopped.elapsed(),
                other => panic!("POST answered {other}"),
            }
        };
        assert!(ended_after >= TIMEOUT - Duration::from_millis(20), "ended after {ended_after:?}");
        assert_eq!(server.probe.terminated("room:a", json!("3")).await, Terminate::Closed);
    }

    /// A poll held open is a sign of life however long the window: with a
    /// window longer than the session timeout, a client that waits in its
    /// polls keeps its session (regression test for 9807e2e).
    async fn a_held_poll_keeps_its_session_alive(vsn: Vsn) {
        let window = Duration::from_millis(800);
        let server = start_with(|s| s.longpoll(lp_config().window(window).session_timeout(TIMEOUT))).await;
        let s = RawSession::open(server.addr, vsn.query(), &[]).await;
        for _ in 0..2 {
            let started = Instant::now();
            assert_eq!(s.get().await, json!({"status": 204, "token": s.token, "messages": []}));
            assert!(started.elapsed() >= window - Duration::from_millis(10));
        }
        let heartbeat = encode(vsn, &json!([null, "1", "phoenix", "heartbeat", {}]));
        assert_eq!(s.post_lines(&[heartbeat]).await, json!({"status": 200}), "the session is alive");
        let reply = s.get_messages().await;
        assert!(reply[0].contains("phx_reply"), "{reply:?}");
    }

    /// `disconnect` on the socket id ends the session at once: a poll held
    /// open answers 410 right away (not at the end of its window), every
    /// channel terminates, and its token opens nothing.
    async fn disconnect_ends_the_session_and_its_held_poll_at_once(vsn: Vsn) {
        let server = start_with(|s| s.longpoll(lp_config().window(Duration::from_secs(30)))).await;
        let query = format!("socket_id=user:7&{}", vsn.query());
        let mut c = Client::connect_query(&server, Transport::LongPoll, &query, vsn).await;
        let query = "socket_id=user:8&vsn=2.0.0";
        let mut other = Client::connect_query(&server, Transport::LongPoll, query, Vsn::V2).await;
        c.join("room:a", "3").await;
        other.join("room:a", "3").await;
        let path = c.lp().path();
        let answered = c.lp().polls().len();
        let started = Instant::now();
        server.pubsub.broadcast("user:7", "disconnect", json!({})).unwrap();
        c.expect_close(1001).await;
        assert!(started.elapsed() < Duration::from_secs(3), "the held poll answered after {:?}", started.elapsed());
        assert_eq!(c.lp().polls()[answered], Poll { status: 410, messages: 0 }, "{:?}", c.lp().polls());
        assert_eq!(server.probe.terminated("room:a", json!("3")).await, Terminate::Closed);
        let heartbeat = br#"[null,"1","phoenix","heartbeat",{}]"#;
        assert_eq!(lp_request(server.addr, "POST", &path, &[], heartbeat).await, json!({"status": 410}));
        other.expect_heartbeat_next().await;
        assert_eq!(server.pubsub.subscriber_count("user:8"), 1);
    }
}

/// Draining ends every session at once: polls held open answer 410, every
/// channel terminates, and the drain completes; a session opened while
/// draining is ended as soon as it opens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drain_ends_every_session_and_its_held_poll_at_once() {
    let server = start_with(|s| s.longpoll(lp_config().window(Duration::from_secs(30)))).await;
    let mut a = Client::connect(&server, Transport::LongPoll, Vsn::V1).await;
    let mut b = Client::connect(&server, Transport::LongPoll, Vsn::V2).await;
    a.join("room:a", "3").await;
    b.join("room:b", "3").await;
    let started = Instant::now();
    server.drain.drain();
    a.expect_close(1012).await;
    b.expect_close(1012).await;
    assert!(started.elapsed() < Duration::from_secs(3), "held polls answered after {:?}", started.elapsed());
    assert_eq!(server.probe.terminated("room:a", json!("3")).await, Terminate::Closed);
    assert_eq!(server.probe.terminated("room:b", json!("3")).await, Terminate::Closed);
    assert!(server.drain.closed(DEADLINE).await, "every session is gone");

    let mut late = Client::connect(&server, Transport::LongPoll, Vsn::V2).await;
    late.expect_close(1012).await;
    assert!(server.drain.closed(DEADLINE).await);
}
