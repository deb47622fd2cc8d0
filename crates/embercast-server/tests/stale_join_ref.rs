//! Stale join_refs (PROTOCOL.md §4.2 rules 5–7): a message whose non-null
//! join_ref is not the live instance's is dropped silently; a null join_ref
//! goes to the live instance.

#[macro_use]
mod support;

use serde_json::json;
use support::*;

for_each_transport_and_vsn! {
    /// Vector `event_with_stale_join_ref_ignored`: no reply, no broadcast.
    async fn push_with_a_stale_join_ref_is_dropped_silently(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.join("room:lobby", "3").await;
        c.send(json!(["1", "4", "room:lobby", "broadcast", {"event": "new_msg", "payload": {"body": "stale"}}])).await;
        c.expect_heartbeat_next().await;
        // The channel is still there for the live join_ref.
        c.send(json!(["3", "5", "room:lobby", "ping", {}])).await;
        c.expect(json!(["3", "5", "room:lobby", "phx_reply", ok(json!({}))])).await;
    }

    /// Vector `event_with_null_join_ref_accepted`: the reply carries the
    /// channel's join_ref.
    async fn push_with_a_null_join_ref_goes_to_the_live_instance(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.join("room:lobby", "3").await;
        c.send(json!([null, "4", "room:lobby", "broadcast", {"event": "new_msg", "payload": {"body": "hi"}}])).await;
        c.expect(json!([null, null, "room:lobby", "new_msg", {"body": "hi"}])).await;
        c.expect(json!(["3", "4", "room:lobby", "phx_reply", ok(json!({}))])).await;
    }

    /// Vector `leave_stale_join_ref_ignored`: no reply, the channel stays joined.
    async fn leave_with_a_stale_join_ref_is_ignored(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.join("room:lobby", "3").await;
        c.send(json!(["1", "8", "room:lobby", "phx_leave", {}])).await;
        c.expect_heartbeat_next().await;
        c.send(json!(["3", "9", "room:lobby", "ping", {}])).await;
        c.expect(json!(["3", "9", "room:lobby", "phx_reply", ok(json!({}))])).await;
    }

    /// join_refs compare with their JSON type: the number 3 is not "3".
    async fn join_ref_of_another_json_type_is_stale(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.join("room:lobby", "3").await;
        c.send(json!([3, "4", "room:lobby", "ping", {}])).await;
        c.expect_heartbeat_next().await;
    }

    /// After a duplicate join, the first instance's join_ref is stale.
    async fn join_ref_of_a_replaced_instance_is_stale(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.join("room:lobby", "3").await;
        c.send(json!(["5", "5", "room:lobby", "phx_join", {}])).await;
        c.expect(json!(["5", "5", "room:lobby", "phx_reply", ok(json!({}))])).await;
        c.expect(json!(["3", "3", "room:lobby", "phx_close", {}])).await;
        c.send(json!(["3", "6", "room:lobby", "phx_leave", {}])).await;
        c.send(json!(["3", "7", "room:lobby", "ping", {}])).await;
        c.expect_heartbeat_next().await;
        c.send(json!(["5", "8", "room:lobby", "ping", {}])).await;
        c.expect(json!(["5", "8", "room:lobby", "phx_reply", ok(json!({}))])).await;
    }
}
