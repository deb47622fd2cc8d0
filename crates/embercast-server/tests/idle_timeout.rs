//! The server idle timeout (PROTOCOL.md §4.9): a connection that sends
//! nothing for the timeout is closed with 1001 (never 1000: the client must
//! reconnect); any frame resets the timer.

#[macro_use]
mod support;

use std::time::{Duration, Instant};

use embercast_server::Terminate;
use embercast_ws::OpCode;
use serde_json::json;
use support::*;

const IDLE: Duration = Duration::from_millis(200);

for_each_vsn! {
    /// A silent client is closed with 1001 once the timeout has passed, and
    /// its channels terminate.
    async fn silent_client_is_closed_with_1001(vsn: Vsn) {
        let server = start_with(|s| s.idle_timeout(IDLE)).await;
        let mut c = Client::connect(&server, vsn).await;
        c.join("room:lobby", "3").await;
        let last_sent = Instant::now();
        c.expect_close(1001).await;
        let waited = last_sent.elapsed();
        assert!(waited >= IDLE - Duration::from_millis(20), "closed after {waited:?}, before the timeout");
        assert_eq!(server.probe.terminated("room:lobby", json!("3")).await, Terminate::Closed);
    }

    /// A client heartbeating every 50 ms stays connected well past the timeout.
    async fn heartbeating_client_stays_connected(vsn: Vsn) {
        let server = start_with(|s| s.idle_timeout(IDLE)).await;
        let mut c = Client::connect(&server, vsn).await;
        let start = Instant::now();
        let mut tick = tokio::time::interval(Duration::from_millis(50));
        while start.elapsed() < IDLE * 3 {
            tick.tick().await;
            c.expect_heartbeat_next().await;
        }
        // It is closed once it goes quiet.
        c.expect_close(1001).await;
    }

    /// Any frame resets the timer, not only heartbeats: channel pushes and
    /// WebSocket pings count too.
    async fn any_frame_resets_the_timer(vsn: Vsn) {
        let server = start_with(|s| s.idle_timeout(IDLE)).await;
        let mut c = Client::connect(&server, vsn).await;
        c.join("room:lobby", "3").await;
        let start = Instant::now();
        let mut tick = tokio::time::interval(Duration::from_millis(50));
        let mut n = 0;
        while start.elapsed() < IDLE * 3 {
            tick.tick().await;
            if n % 2 == 0 {
                c.send(json!(["3", "noreply", "room:lobby", "noreply", {}])).await;
            } else {
                c.send_frame(OpCode::Ping, b"hi").await;
            }
            n += 1;
        }
        // Still connected (the client drops the pongs it got).
        c.expect_heartbeat_next().await;
    }
}
