//! `phx_leave` (PROTOCOL.md §4.5, §4.2 rule 8): an ok reply, then
//! `phx_close`; a leave of a topic not joined is answered ok alone.

#[macro_use]
mod support;

use embercast_server::Terminate;
use serde_json::json;
use support::*;

for_each_transport_and_vsn! {
    /// Vector `leave_joined`: reply with the channel's join_ref and the
    /// leave's ref, then `phx_close` with the join_ref in both ref fields.
    async fn leave_replies_ok_then_phx_close(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.join("room:lobby", "3").await;
        c.send(json!(["3", "8", "room:lobby", "phx_leave", {}])).await;
        c.expect(json!(["3", "8", "room:lobby", "phx_reply", ok(json!({}))])).await;
        c.expect(json!(["3", "3", "room:lobby", "phx_close", {}])).await;
        assert_eq!(server.probe.terminated("room:lobby", json!("3")).await, Terminate::Left);
    }

    /// Vector `leave_with_null_join_ref`.
    async fn leave_with_a_null_join_ref_leaves_the_live_instance(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.join("room:lobby", "3").await;
        c.send(json!([null, "8", "room:lobby", "phx_leave", {}])).await;
        c.expect(json!(["3", "8", "room:lobby", "phx_reply", ok(json!({}))])).await;
        c.expect(json!(["3", "3", "room:lobby", "phx_close", {}])).await;
    }

    /// Vector `leave_unjoined_topic`: ok reply echoing the join_ref, no `phx_close`.
    async fn leave_of_a_topic_not_joined_replies_ok_only(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.send(json!(["9", "10", "room:x", "phx_leave", {}])).await;
        c.expect(json!(["9", "10", "room:x", "phx_reply", ok(json!({}))])).await;
        c.expect_heartbeat_next().await;
        // Same for a topic no route matches.
        c.send(json!(["9", "11", "nope:x", "phx_leave", {}])).await;
        c.expect(json!(["9", "11", "nope:x", "phx_reply", ok(json!({}))])).await;
        c.expect_heartbeat_next().await;
    }

    /// A second leave sent right behind the first is answered as a leave of a
    /// topic not joined; only one `phx_close` is sent.
    async fn second_leave_is_answered_as_unjoined(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.join("room:lobby", "3").await;
        c.send(json!(["3", "8", "room:lobby", "phx_leave", {}])).await;
        c.send(json!(["3", "9", "room:lobby", "phx_leave", {}])).await;
        c.expect(json!(["3", "8", "room:lobby", "phx_reply", ok(json!({}))])).await;
        c.expect(json!(["3", "3", "room:lobby", "phx_close", {}])).await;
        c.expect(json!(["3", "9", "room:lobby", "phx_reply", ok(json!({}))])).await;
        c.expect_heartbeat_next().await;
    }

    /// Once the channel has left, broadcasts on its topic no longer reach the client.
    async fn left_channel_no_longer_receives_broadcasts(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.join("room:lobby", "3").await;
        c.send(json!(["3", "8", "room:lobby", "phx_leave", {}])).await;
        c.expect(json!(["3", "8", "room:lobby", "phx_reply", ok(json!({}))])).await;
        c.expect(json!(["3", "3", "room:lobby", "phx_close", {}])).await;
        server.probe.terminated("room:lobby", json!("3")).await;
        server.pubsub.broadcast("room:lobby", "news", json!({})).unwrap();
        c.expect_heartbeat_next().await;
    }

    /// Leaving one topic leaves the others joined.
    async fn leave_affects_only_its_topic(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.join("room:a", "3").await;
        c.join("room:b", "5").await;
        c.send(json!(["3", "6", "room:a", "phx_leave", {}])).await;
        c.expect(json!(["3", "6", "room:a", "phx_reply", ok(json!({}))])).await;
        c.expect(json!(["3", "3", "room:a", "phx_close", {}])).await;
        c.send(json!(["5", "7", "room:b", "ping", {}])).await;
        c.expect(json!(["5", "7", "room:b", "phx_reply", ok(json!({}))])).await;
    }
}
