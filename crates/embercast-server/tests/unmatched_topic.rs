//! Unmatched topics (PROTOCOL.md §4.2 rule 9, §4.3 step 1): a join to an
//! unrouted topic, or a push to a topic without a channel, gets an error reply
//! `{"reason":"unmatched topic"}` with a **null** join_ref.

#[macro_use]
mod support;

use serde_json::json;
use support::*;

fn unmatched(r#ref: &str, topic: &str) -> serde_json::Value {
    json!([null, r#ref, topic, "phx_reply", error(json!({"reason": "unmatched topic"}))])
}

for_each_transport_and_vsn! {
    /// A join to a topic no route matches; the join_ref is not echoed.
    async fn join_to_an_unrouted_topic_is_unmatched(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.send(json!(["3", "3", "nope:1", "phx_join", {}])).await;
        c.expect(unmatched("3", "nope:1")).await;
        // A route is a prefix match: "room" alone is not "room:*".
        c.send(json!(["4", "4", "room", "phx_join", {}])).await;
        c.expect(unmatched("4", "room")).await;
    }

    /// A push to a routed topic that was never joined.
    async fn push_to_an_unjoined_topic_is_unmatched(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.send(json!(["3", "4", "room:other", "new_msg", {"body": "hi"}])).await;
        c.expect(unmatched("4", "room:other")).await;
    }

    /// A push to a topic no route matches.
    async fn push_to_an_unrouted_topic_is_unmatched(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.send(json!([null, "4", "nope:1", "anything", {}])).await;
        c.expect(unmatched("4", "nope:1")).await;
    }

    /// After a leave the topic is unmatched again (vector `event_after_leave`).
    async fn push_after_leave_is_unmatched(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.join("room:lobby", "3").await;
        c.send(json!(["3", "4", "room:lobby", "phx_leave", {}])).await;
        c.expect(json!(["3", "4", "room:lobby", "phx_reply", ok(json!({}))])).await;
        c.expect(json!(["3", "3", "room:lobby", "phx_close", {}])).await;
        c.send(json!(["3", "5", "room:lobby", "new_msg", {}])).await;
        c.expect(unmatched("5", "room:lobby")).await;
    }

    /// After a crash the topic is unmatched until the client rejoins.
    async fn push_after_crash_is_unmatched(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.join("room:lobby", "3").await;
        c.send(json!(["3", "4", "room:lobby", "boom", {}])).await;
        c.expect(json!(["3", "3", "room:lobby", "phx_error", {"reason": "channel_crash"}])).await;
        c.send(json!(["3", "5", "room:lobby", "ping", {}])).await;
        c.expect(unmatched("5", "room:lobby")).await;
    }

    /// An unmatched push does not disturb the connection.
    async fn unmatched_topic_keeps_the_connection(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.send(json!(["3", "3", "nope:1", "phx_join", {}])).await;
        c.expect(unmatched("3", "nope:1")).await;
        c.join("room:lobby", "5").await;
        c.expect_heartbeat_next().await;
    }
}
