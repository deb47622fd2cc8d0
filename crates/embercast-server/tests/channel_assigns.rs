//! A channel instance's own assigns ([`ChannelSocket::assign`]) live exactly
//! as long as the instance: every way a channel can end drops them. Presence
//! relies on this to untrack a channel's presences, so each kind of ending is
//! covered. And [`ChannelSocket::after_join`] runs after the join reply.

#[macro_use]
mod support;

use serde_json::json;
use support::*;

for_each_transport_and_vsn! {
    /// `phx_leave`.
    async fn leave_drops_the_channel_assigns(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.send_join("room:a", "3", json!({"guard": true})).await;
        c.expect(json!(["3", "3", "room:a", "phx_reply", ok(json!({}))])).await;
        c.send(json!(["3", "4", "room:a", "phx_leave", {}])).await;
        server.probe.dropped("room:a", json!("3")).await;
    }

    /// A stop returned from `handle_in`, normal or with an error.
    async fn stop_drops_the_channel_assigns(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.send_join("room:a", "3", json!({"guard": true})).await;
        c.send_join("room:b", "5", json!({"guard": true})).await;
        c.send(json!(["3", "4", "room:a", "stop", {}])).await;
        c.send(json!(["5", "6", "room:b", "stop_error", {}])).await;
        server.probe.dropped("room:a", json!("3")).await;
        server.probe.dropped("room:b", json!("5")).await;
    }

    /// A panic in a callback.
    async fn crash_drops_the_channel_assigns(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.send_join("room:a", "3", json!({"guard": true})).await;
        c.send(json!(["3", "4", "room:a", "boom", {}])).await;
        server.probe.dropped("room:a", json!("3")).await;
    }

    /// The connection going away (WebSocket close / LongPoll session timeout).
    async fn connection_end_drops_every_channels_assigns(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.send_join("room:a", "3", json!({"guard": true})).await;
        c.expect(json!(["3", "3", "room:a", "phx_reply", ok(json!({}))])).await;
        c.send_join("room:b", "5", json!({"guard": true})).await;
        c.expect(json!(["5", "5", "room:b", "phx_reply", ok(json!({}))])).await;
        drop(c);
        server.probe.dropped("room:a", json!("3")).await;
        server.probe.dropped("room:b", json!("5")).await;
    }

    /// A second join of the same topic replaces the instance.
    async fn duplicate_join_drops_the_replaced_instances_assigns(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.send_join("room:a", "3", json!({"guard": true})).await;
        c.expect(json!(["3", "3", "room:a", "phx_reply", ok(json!({}))])).await;
        c.send_join("room:a", "5", json!({"guard": true})).await;
        c.expect(json!(["5", "5", "room:a", "phx_reply", ok(json!({}))])).await;
        server.probe.dropped("room:a", json!("3")).await;
        assert!(!server.probe.read(|s| s.dropped.iter().any(|(_, j)| *j == json!("5"))));
    }

    /// A join that assigns and then refuses leaves nothing behind.
    async fn refused_join_drops_what_it_assigned(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.send_join("room:a", "3", json!({"guard": true, "refuse": {"reason": "no"}})).await;
        c.expect(json!(["3", "3", "room:a", "phx_reply", {"status": "error", "response": {"reason": "no"}}])).await;
        server.probe.dropped("room:a", json!("3")).await;
    }

    /// `after_join` runs behind the join reply, so what it pushes follows it.
    async fn after_join_runs_after_the_join_reply(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.send_join("room:a", "3", json!({"after_join_push": {"n": 1}})).await;
        c.expect(json!(["3", "3", "room:a", "phx_reply", ok(json!({}))])).await;
        c.expect(json!(["3", null, "room:a", "after_join_push", {"n": 1}])).await;
    }

    /// `after_join` of a refused join never runs.
    async fn after_join_of_a_refused_join_never_runs(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.send_join("room:a", "3", json!({"after_join_push": {"n": 1}, "refuse": {}})).await;
        c.expect(json!(["3", "3", "room:a", "phx_reply", {"status": "error", "response": {}}])).await;
        c.expect_heartbeat_next().await;
    }

    /// A panic in `after_join` crashes that channel only: the join was
    /// answered, so the client gets `phx_error`; the connection and its other
    /// channels carry on, and the instance's assigns are dropped.
    async fn panic_in_after_join_crashes_only_that_channel(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.join("room:b", "5").await;
        c.send_join("room:a", "3", json!({"after_join_panic": true, "guard": true})).await;
        c.expect(json!(["3", "3", "room:a", "phx_reply", ok(json!({}))])).await;
        c.expect(json!(["3", "3", "room:a", "phx_error", {"reason": "channel_crash"}])).await;
        server.probe.dropped("room:a", json!("3")).await;
        c.send(json!(["5", "6", "room:b", "ping", {"still": "here"}])).await;
        c.expect(json!(["5", "6", "room:b", "phx_reply", ok(json!({"still": "here"}))])).await;
        c.send(json!(["3", "7", "room:a", "ping", {}])).await;
        c.expect(json!([null, "7", "room:a", "phx_reply", {"status": "error", "response": {"reason": "unmatched topic"}}])).await;
    }
}
