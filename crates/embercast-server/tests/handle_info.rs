//! `handle_info` (PROTOCOL.md §5.9): messages from other tasks through a
//! `ChannelHandle`, from the channel itself, and broadcasts on extra
//! subscriptions; pushes made there carry the live join_ref and a null ref.

#[macro_use]
mod support;

use embercast_server::Payload;
use serde_json::json;
use support::*;

for_each_transport_and_vsn! {
    /// A message sent from another task is pushed as `[join_ref, null, topic, event, payload]`.
    async fn message_from_another_task_is_pushed_with_the_join_ref(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.join("room:lobby", "3").await;
        let handle = server.probe.handle("room:lobby").await;
        let sent = tokio::spawn(async move { handle.send(Cmd::Push("news".into(), json!({"n": 1}).into())) });
        assert!(sent.await.unwrap());
        c.expect(json!(["3", null, "room:lobby", "news", {"n": 1}])).await;
    }

    /// Pushes use the join_ref of the instance they come from: after a
    /// rejoin, the new one.
    async fn pushes_carry_the_live_join_ref(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.join("room:lobby", "3").await;
        c.send(json!(["3", "4", "room:lobby", "phx_leave", {}])).await;
        c.expect(json!(["3", "4", "room:lobby", "phx_reply", ok(json!({}))])).await;
        c.expect(json!(["3", "3", "room:lobby", "phx_close", {}])).await;
        c.join("room:lobby", "7").await;
        let handle = server.probe.wait_for("the second join", |s| {
            s.joins.iter().find(|j| j.join_ref == json!("7")).map(|j| j.handle.clone())
        })
        .await;
        assert!(handle.send(Cmd::Push("news".into(), json!({}).into())));
        c.expect(json!(["7", null, "room:lobby", "news", {}])).await;
    }

    /// A handle to a channel that has ended reports it.
    async fn handle_to_an_ended_channel_returns_false(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.join("room:lobby", "3").await;
        let handle = server.probe.handle("room:lobby").await;
        c.send(json!(["3", "4", "room:lobby", "phx_leave", {}])).await;
        server.probe.terminated("room:lobby", json!("3")).await;
        assert!(!handle.send(Cmd::Push("late".into(), Payload::empty())));
        c.expect(json!(["3", "4", "room:lobby", "phx_reply", ok(json!({}))])).await;
        c.expect(json!(["3", "3", "room:lobby", "phx_close", {}])).await;
        c.expect_heartbeat_next().await;
    }

    /// `send_self` from `join` is handled after the join reply (the
    /// "after join" idiom).
    async fn send_self_in_join_is_handled_after_the_reply(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.send_join("room:lobby", "3", json!({"send_self": true})).await;
        c.expect(json!(["3", "3", "room:lobby", "phx_reply", ok(json!({}))])).await;
        c.expect(json!(["3", null, "room:lobby", "after_join", {"from": "handle_info"}])).await;
    }

    /// Broadcasts on a topic the channel subscribed to arrive in
    /// `handle_info` (not by the fastlane), so the channel's push carries its join_ref.
    async fn broadcasts_on_an_extra_subscription_reach_handle_info(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.join("room:lobby", "3").await;
        c.send(json!(["3", "4", "room:lobby", "subscribe", {"topic": "product:1"}])).await;
        c.expect(json!(["3", "4", "room:lobby", "phx_reply", ok(json!({}))])).await;
        server.pubsub.broadcast("product:1", "price", json!({"eur": 3})).unwrap();
        c.expect(json!(["3", null, "room:lobby", "relayed:price", {"eur": 3}])).await;
    }

    /// Messages from one task are handled in the order sent.
    async fn messages_from_one_task_are_handled_in_order(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.join("room:lobby", "3").await;
        let handle = server.probe.handle("room:lobby").await;
        for n in 0..100 {
            assert!(handle.send(Cmd::Push("n".into(), json!({"n": n}).into())));
        }
        for n in 0..100 {
            c.expect(json!(["3", null, "room:lobby", "n", {"n": n}])).await;
        }
    }
}

for_each_transport_and_vsn! {
    /// A push handle used from another task pushes with the channel's
    /// join_ref, and a pre-serialized payload arrives exactly like the object.
    async fn a_push_handle_pushes_from_another_task(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.join("room:lobby", "3").await;
        c.send(json!(["3", "4", "room:lobby", "push_handle", {"k": "v", "n": [1, 2]}])).await;
        c.expect(json!(["3", null, "room:lobby", "from_handle", {"k": "v", "n": [1, 2]}])).await;
        c.expect(json!(["3", null, "room:lobby", "from_text", {"k": "v", "n": [1, 2]}])).await;
    }
}
