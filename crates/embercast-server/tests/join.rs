//! `phx_join` on a free topic (PROTOCOL.md §4.3): the reply echoes the join's
//! refs, carries the channel's response, and a refused join leaves nothing.

#[macro_use]
mod support;

use serde_json::json;
use support::*;

for_each_transport_and_vsn! {
    /// `{:ok, socket}` → `[jr, ref, topic, "phx_reply", ok {}]`.
    async fn join_ok_replies_with_an_empty_response(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.send(json!(["3", "3", "room:lobby", "phx_join", {"name": "bob"}])).await;
        c.expect(json!(["3", "3", "room:lobby", "phx_reply", ok(json!({}))])).await;
    }

    /// `{:ok, reply, socket}` → the reply is the response.
    async fn join_with_reply_sends_that_response(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.send_join("room:lobby", "3", json!({"reply": {"history": []}})).await;
        c.expect(json!(["3", "3", "room:lobby", "phx_reply", ok(json!({"history": []}))])).await;
    }

    /// The join reply echoes the join's own ref, which may differ from its join_ref.
    async fn join_reply_echoes_join_ref_and_ref_separately(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.send(json!(["3", "11", "room:lobby", "phx_join", {}])).await;
        c.expect(json!(["3", "11", "room:lobby", "phx_reply", ok(json!({}))])).await;
    }

    /// `{:error, reply}` → error reply with that response; no channel is left,
    /// so a push to the topic is answered "unmatched topic".
    async fn refused_join_replies_error_and_leaves_no_channel(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.send_join("room:secret", "3", json!({"refuse": {"reason": "unauthorized"}})).await;
        c.expect(json!(["3", "3", "room:secret", "phx_reply", error(json!({"reason": "unauthorized"}))])).await;
        c.send(json!(["3", "4", "room:secret", "ping", {}])).await;
        c.expect(json!([null, "4", "room:secret", "phx_reply", error(json!({"reason": "unmatched topic"}))])).await;
        assert_eq!(server.pubsub.subscriber_count("room:secret"), 0, "a refused join is not subscribed");
        // The topic can be joined again.
        c.join("room:secret", "5").await;
    }

    /// What a refused join pushed or broadcast is never sent.
    async fn refused_join_sends_nothing_it_pushed(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.send_join("room:lobby", "3", json!({"push_then_refuse": true})).await;
        c.expect(json!(["3", "3", "room:lobby", "phx_reply", error(json!({"reason": "refused after pushing"}))])).await;
        c.expect_heartbeat_next().await;
    }

    /// A message sent right behind the join (before its reply) is handled
    /// after the join, by the new channel.
    async fn message_sent_before_the_join_reply_reaches_the_channel(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.send(json!(["3", "3", "room:lobby", "phx_join", {}])).await;
        c.send(json!(["3", "4", "room:lobby", "ping", {"n": 1}])).await;
        c.expect(json!(["3", "3", "room:lobby", "phx_reply", ok(json!({}))])).await;
        c.expect(json!(["3", "4", "room:lobby", "phx_reply", ok(json!({"n": 1}))])).await;
    }

    /// A message sent right behind a join that is refused gets "unmatched topic".
    async fn message_sent_behind_a_refused_join_is_unmatched(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.send_join("room:secret", "3", json!({"refuse": {"reason": "no"}})).await;
        c.send(json!(["3", "4", "room:secret", "ping", {}])).await;
        c.expect(json!(["3", "3", "room:secret", "phx_reply", error(json!({"reason": "no"}))])).await;
        c.expect(json!([null, "4", "room:secret", "phx_reply", error(json!({"reason": "unmatched topic"}))])).await;
    }

    /// The channel sees the topic, its join_ref and the connection's assigns.
    async fn channel_sees_topic_join_ref_and_connect_assigns(t: Transport, vsn: Vsn) {
        let server = start().await;
        let query = format!("user=ann&socket_id=user_socket:1&{}", vsn.query());
        let mut c = Client::connect_query(&server, t, &query, vsn).await;
        c.join("room:lobby", "3").await;
        c.send(json!(["3", "4", "room:lobby", "whoami", {}])).await;
        c.expect(json!(["3", "4", "room:lobby", "phx_reply", ok(json!({
            "topic": "room:lobby", "join_ref": "3", "user": "ann", "auth_token": null, "socket_id": "user_socket:1"
        }))]))
        .await;
    }

    /// Several topics on one connection are independent channels.
    async fn several_topics_join_on_one_connection(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.join("room:a", "3").await;
        c.join("room:b", "5").await;
        c.send(json!(["5", "6", "room:b", "whoami", {}])).await;
        let reply = c.recv_json().await;
        assert_eq!(reply[4]["response"]["topic"], "room:b");
        assert_eq!(reply[4]["response"]["join_ref"], "5");
        c.send(json!(["3", "7", "room:a", "whoami", {}])).await;
        let reply = c.recv_json().await;
        assert_eq!(reply[4]["response"]["join_ref"], "3");
    }
}
