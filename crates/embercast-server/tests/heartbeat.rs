//! Heartbeats (PROTOCOL.md §4.2 rule 1, §4.9): answered at once with a null
//! join_ref, whatever the channels of the connection are doing.

#[macro_use]
mod support;

use serde_json::json;
use support::*;

for_each_transport_and_vsn! {
    /// `[null, ref, "phoenix", "heartbeat", {}]` → `[null, ref, "phoenix", "phx_reply", ok {}]`.
    async fn heartbeat_is_answered_with_an_empty_ok(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.send(json!([null, "6", "phoenix", "heartbeat", {}])).await;
        c.expect(json!([null, "6", "phoenix", "phx_reply", ok(json!({}))])).await;
    }

    /// A heartbeat that carries a join_ref is still answered with a null one.
    async fn heartbeat_reply_never_carries_a_join_ref(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.join("room:lobby", "3").await;
        c.send(json!(["3", "7", "phoenix", "heartbeat", {"ignored": true}])).await;
        c.expect(json!([null, "7", "phoenix", "phx_reply", ok(json!({}))])).await;
    }

    /// While a `handle_in` is stuck, a heartbeat on the same connection is
    /// answered before the slow reply.
    async fn heartbeat_is_answered_while_a_handle_in_is_slow(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.join("room:lobby", "3").await;
        c.send(json!(["3", "4", "room:lobby", "slow", {}])).await;
        server.probe.at_gate(1).await;
        c.expect_heartbeat_next().await;
        server.probe.open_gate(1);
        c.expect(json!(["3", "4", "room:lobby", "phx_reply", ok(json!({"slow": "done"}))])).await;
    }

    /// While a `join` is stuck, heartbeats and other channels of the same
    /// connection are served.
    async fn heartbeat_is_answered_while_a_join_is_slow(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.send_join("room:slow", "3", json!({"slow": true})).await;
        server.probe.at_gate(1).await;
        c.expect_heartbeat_next().await;
        c.join("room:other", "5").await;
        server.probe.open_gate(1);
        c.expect(json!(["3", "3", "room:slow", "phx_reply", ok(json!({}))])).await;
    }

    /// Rule 1 comes first: a channel routed and joined on topic `phoenix`
    /// does not see heartbeats.
    async fn heartbeat_is_answered_even_with_a_channel_on_topic_phoenix(t: Transport, vsn: Vsn) {
        let server = start_with(|s| s.channel::<Room>("phoenix")).await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.join("phoenix", "3").await;
        c.send(json!(["3", "8", "phoenix", "heartbeat", {}])).await;
        c.expect(json!([null, "8", "phoenix", "phx_reply", ok(json!({}))])).await;
        // Other events on that topic do reach the channel.
        c.send(json!(["3", "9", "phoenix", "ping", {"x": 1}])).await;
        c.expect(json!(["3", "9", "phoenix", "phx_reply", ok(json!({"x": 1}))])).await;
    }

    /// Many heartbeats in a row are each answered, in order.
    async fn heartbeats_are_answered_in_order(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        for i in 0..50 {
            c.send(json!([null, format!("h{i}"), "phoenix", "heartbeat", {}])).await;
        }
        for i in 0..50 {
            c.expect(json!([null, format!("h{i}"), "phoenix", "phx_reply", ok(json!({}))])).await;
        }
    }
}
