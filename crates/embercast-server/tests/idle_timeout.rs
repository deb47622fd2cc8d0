//! Idle connections (PROTOCOL.md §4.9, §7.6): a connection that shows no sign
//! of life for the timeout is ended (WebSocket: close code 1001, never 1000,
//! so the client reconnects; LongPoll: its session ends, the next poll
//! answers 410) and its channels terminate. A sign of life is any frame on
//! a WebSocket (`Socket::idle_timeout`) and a poll on LongPoll
//! (`LongPoll::session_timeout`; POSTs do not count, see
//! `tests/longpoll_lifetime.rs`).

#[macro_use]
mod support;

use std::time::{Duration, Instant};

use embercast_server::{Socket, Terminate};
use embercast_ws::OpCode;
use serde_json::json;
use support::*;

const IDLE: Duration = Duration::from_millis(200);
/// Longer than `IDLE`: a polling client must send its next poll within it
/// even on a loaded machine. Shorter than the test server's window, so a
/// poll held for the whole window must count as a sign of life (it does
/// since 9807e2e; before, such a session ended in the middle of its poll).
const LP_IDLE: Duration = Duration::from_millis(500);

fn idle_limits(s: Socket) -> Socket {
    s.idle_timeout(IDLE).longpoll(lp_config().session_timeout(LP_IDLE))
}

fn idle(t: Transport) -> Duration {
    match t {
        Transport::WebSocket => IDLE,
        Transport::LongPoll => LP_IDLE,
    }
}

for_each_transport_and_vsn! {
    /// A silent client is ended once the timeout has passed, and its
    /// channels terminate.
    async fn silent_client_is_closed_and_its_channels_terminate(t: Transport, vsn: Vsn) {
        let server = start_with(idle_limits).await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.join("room:lobby", "3").await;
        let last_sign_of_life = Instant::now();
        c.go_silent();
        assert_eq!(server.probe.terminated("room:lobby", json!("3")).await, Terminate::Closed);
        let waited = last_sign_of_life.elapsed();
        assert!(waited >= idle(t) - Duration::from_millis(20), "ended after {waited:?}, before the timeout");
        c.expect_close(1001).await;
    }

    /// A client that keeps showing signs of life stays connected well past
    /// the timeout, and is ended once it goes quiet. WebSocket: a heartbeat
    /// every 50 ms. LongPoll: its polls, each held for the whole window
    /// (longer than the timeout) and answered 204.
    async fn live_client_stays_connected(t: Transport, vsn: Vsn) {
        let server = start_with(idle_limits).await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.join("room:lobby", "3").await;
        match t {
            Transport::WebSocket => {
                let start = Instant::now();
                let mut tick = tokio::time::interval(Duration::from_millis(50));
                while start.elapsed() < IDLE * 3 {
                    tick.tick().await;
                    c.expect_heartbeat_next().await;
                }
            }
            Transport::LongPoll => {
                assert!(LP_WINDOW > LP_IDLE);
                let before = c.lp().polls().len();
                c.lp().polls_answered(before + 3).await;
                let held = &c.lp().polls()[before..];
                assert!(held.iter().skip(1).all(|p| p.status == 204), "polls held for the window: {held:?}");
            }
        }
        c.expect_heartbeat_next().await;
        assert!(server.probe.terminations("room:lobby").is_empty());
        c.go_silent();
        assert_eq!(server.probe.terminated("room:lobby", json!("3")).await, Terminate::Closed);
        c.expect_close(1001).await;
    }
}

for_each_vsn! {
    /// On a WebSocket any frame resets the timer, not only heartbeats:
    /// channel pushes and WebSocket pings count too.
    async fn any_websocket_frame_resets_the_timer(vsn: Vsn) {
        let server = start_with(idle_limits).await;
        let mut c = Client::connect_ws(&server, vsn).await;
        c.join("room:lobby", "3").await;
        let start = Instant::now();
        let mut tick = tokio::time::interval(Duration::from_millis(50));
        let mut n = 0;
        while start.elapsed() < IDLE * 3 {
            tick.tick().await;
            if n % 2 == 0 {
                c.send(json!(["3", "noreply", "room:lobby", "noreply", {}])).await;
            } else {
                c.ws().send_frame(OpCode::Ping, b"hi").await;
            }
            n += 1;
        }
        // Still connected (the client drops the pongs it got).
        c.expect_heartbeat_next().await;
    }
}
