//! A callback that returns `Stop` (PROTOCOL.md §4.7): a normal stop sends
//! `phx_close` (the client does not rejoin), after the reply if it has one.

#[macro_use]
mod support;

use serde_json::json;
use support::*;

for_each_transport_and_vsn! {
    /// Vector `channel_stop_graceful`: no reply, then `phx_close` with the join_ref.
    async fn normal_stop_sends_phx_close(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.join("room:lobby", "3").await;
        c.send(json!(["3", "4", "room:lobby", "stop", {}])).await;
        c.expect(json!(["3", "3", "room:lobby", "phx_close", {}])).await;
        c.expect_heartbeat_next().await;
    }

    /// Vector `channel_stop_with_reply`: the reply first, then `phx_close`.
    async fn stop_with_reply_replies_then_closes(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.join("room:lobby", "3").await;
        c.send(json!(["3", "4", "room:lobby", "stop_reply", {}])).await;
        c.expect(json!(["3", "4", "room:lobby", "phx_reply", ok(json!({"bye": true}))])).await;
        c.expect(json!(["3", "3", "room:lobby", "phx_close", {}])).await;
    }

    /// A stop from `handle_info` closes the channel the same way.
    async fn stop_from_handle_info_sends_phx_close(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.join("room:lobby", "3").await;
        assert!(server.probe.handle("room:lobby").await.send(Cmd::Stop));
        c.expect(json!(["3", "3", "room:lobby", "phx_close", {}])).await;
    }

    /// A stopped channel is gone: its topic is unmatched and unsubscribed.
    async fn stopped_channel_is_gone(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.join("room:lobby", "3").await;
        c.send(json!(["3", "4", "room:lobby", "stop", {}])).await;
        c.send(json!(["3", "5", "room:lobby", "ping", {}])).await;
        c.expect(json!(["3", "3", "room:lobby", "phx_close", {}])).await;
        c.expect(json!([null, "5", "room:lobby", "phx_reply", error(json!({"reason": "unmatched topic"}))])).await;
        server.probe.terminated("room:lobby", json!("3")).await;
        server.pubsub.broadcast("room:lobby", "news", json!({})).unwrap();
        c.expect_heartbeat_next().await;
    }

    /// Messages queued behind the stopping push are answered as for a topic
    /// not joined, in order, after the `phx_close`.
    async fn messages_queued_behind_a_stop_are_unmatched(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.join("room:lobby", "3").await;
        c.send(json!(["3", "4", "room:lobby", "slow", {}])).await;
        server.probe.at_gate(1).await;
        c.send(json!(["3", "5", "room:lobby", "stop", {}])).await;
        c.send(json!(["3", "6", "room:lobby", "ping", {}])).await;
        c.send(json!(["3", "7", "room:lobby", "phx_leave", {}])).await;
        c.expect_heartbeat_next().await;
        server.probe.open_gate(1);
        c.expect(json!(["3", "4", "room:lobby", "phx_reply", ok(json!({"slow": "done"}))])).await;
        c.expect(json!(["3", "3", "room:lobby", "phx_close", {}])).await;
        c.expect(json!([null, "6", "room:lobby", "phx_reply", error(json!({"reason": "unmatched topic"}))])).await;
        c.expect(json!(["3", "7", "room:lobby", "phx_reply", ok(json!({}))])).await;
        c.expect_heartbeat_next().await;
    }
}
