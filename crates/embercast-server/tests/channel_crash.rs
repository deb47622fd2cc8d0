//! A channel that crashes after joining (PROTOCOL.md §4.6): `phx_error`
//! `{"reason":"channel_crash"}` with the stored join_ref in both ref fields,
//! no reply to the push that crashed it, and no `terminate`.

#[macro_use]
mod support;

use serde_json::json;
use support::*;

fn crashed(join_ref: &str, topic: &str) -> serde_json::Value {
    json!([join_ref, join_ref, topic, "phx_error", {"reason": "channel_crash"}])
}

for_each_transport_and_vsn! {
    /// Vector `channel_crash`: a panic in `handle_in`.
    async fn panic_in_handle_in_sends_phx_error(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.join("room:lobby", "3").await;
        c.send(json!(["3", "4", "room:lobby", "boom", {}])).await;
        c.expect(crashed("3", "room:lobby")).await;
        c.expect_heartbeat_next().await;
    }

    /// A panic in `handle_info` (a message from another task).
    async fn panic_in_handle_info_sends_phx_error(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.join("room:lobby", "3").await;
        assert!(server.probe.handle("room:lobby").await.send(Cmd::Panic));
        c.expect(crashed("3", "room:lobby")).await;
    }

    /// A panic in `handle_out` (an intercepted broadcast).
    async fn panic_in_handle_out_sends_phx_error(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.join("intercept:lobby", "3").await;
        server.pubsub.broadcast("intercept:lobby", "boom_out", json!({})).unwrap();
        c.expect(crashed("3", "intercept:lobby")).await;
    }

    /// Vector `channel_stop_abnormal`: `Stop::error` is reported as a crash.
    async fn stop_with_an_error_sends_phx_error(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.join("room:lobby", "3").await;
        c.send(json!(["3", "4", "room:lobby", "stop_error", {}])).await;
        c.expect(crashed("3", "room:lobby")).await;
    }

    /// A crashed channel is unsubscribed and gone; the client rejoins with a new join_ref.
    async fn crashed_channel_can_be_rejoined(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.join("room:lobby", "3").await;
        c.send(json!(["3", "4", "room:lobby", "boom", {}])).await;
        c.expect(crashed("3", "room:lobby")).await;
        server.pubsub.broadcast("room:lobby", "news", json!({})).unwrap();
        c.expect_heartbeat_next().await;
        c.join("room:lobby", "5").await;
        c.send(json!(["5", "6", "room:lobby", "ping", {}])).await;
        c.expect(json!(["5", "6", "room:lobby", "phx_reply", ok(json!({}))])).await;
    }

    /// A crash does not run `terminate`; closing the connection afterwards
    /// runs it for the channels that are still alive only.
    async fn crash_does_not_run_terminate(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.join("room:crash", "3").await;
        c.join("room:alive", "5").await;
        c.send(json!(["3", "4", "room:crash", "boom", {}])).await;
        c.expect(crashed("3", "room:crash")).await;
        drop(c);
        server.probe.terminated("room:alive", json!("5")).await;
        assert!(server.probe.terminations("room:crash").is_empty(), "terminate ran for a crashed channel");
    }

    /// The join_ref in `phx_error` is the one the join carried, even when it
    /// differs from the join's ref.
    async fn phx_error_carries_the_stored_join_ref(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.send(json!(["3", "11", "room:lobby", "phx_join", {}])).await;
        c.expect(json!(["3", "11", "room:lobby", "phx_reply", ok(json!({}))])).await;
        c.send(json!(["3", "12", "room:lobby", "boom", {}])).await;
        c.expect(crashed("3", "room:lobby")).await;
    }
}
