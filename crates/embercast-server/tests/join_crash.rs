//! A join callback that panics (PROTOCOL.md §4.3): error reply
//! `{"reason":"join crashed"}`, and nothing half-registered.

#[macro_use]
mod support;

use serde_json::json;
use support::*;

for_each_transport_and_vsn! {
    /// The reply echoes the join's refs and says "join crashed".
    async fn panicking_join_replies_join_crashed(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.send_join("room:lobby", "3", json!({"panic": true})).await;
        c.expect(json!(["3", "3", "room:lobby", "phx_reply", error(json!({"reason": "join crashed"}))])).await;
    }

    /// After a crashed join the topic has no channel, no subscription, and
    /// does not count against the channel limit; it can be joined again.
    async fn crashed_join_leaves_nothing_behind(t: Transport, vsn: Vsn) {
        let server = start_with(|s| s.max_channels(1)).await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.send_join("room:lobby", "3", json!({"panic": true})).await;
        c.expect(json!(["3", "3", "room:lobby", "phx_reply", error(json!({"reason": "join crashed"}))])).await;
        c.send(json!(["3", "4", "room:lobby", "ping", {}])).await;
        c.expect(json!([null, "4", "room:lobby", "phx_reply", error(json!({"reason": "unmatched topic"}))])).await;
        assert_eq!(server.pubsub.subscriber_count("room:lobby"), 0);
        server.pubsub.broadcast("room:lobby", "news", json!({})).unwrap();
        c.expect_heartbeat_next().await;
        // The only slot is free: another topic joins.
        c.join("room:other", "5").await;
        // The crashed instance never runs terminate.
        c.send(json!(["5", "6", "room:other", "phx_leave", {}])).await;
        c.expect(json!(["5", "6", "room:other", "phx_reply", ok(json!({}))])).await;
        server.probe.terminated("room:other", json!("5")).await;
        assert!(server.probe.terminations("room:lobby").is_empty());
    }

    /// The connection and its other channels carry on.
    async fn crashed_join_does_not_disturb_other_channels(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.join("room:a", "3").await;
        c.send_join("room:b", "5", json!({"panic": true})).await;
        c.expect(json!(["5", "5", "room:b", "phx_reply", error(json!({"reason": "join crashed"}))])).await;
        c.send(json!(["3", "6", "room:a", "ping", {}])).await;
        c.expect(json!(["3", "6", "room:a", "phx_reply", ok(json!({}))])).await;
    }
}
