//! `handle_in` results (PROTOCOL.md §5.4, §5.5): ok/error replies with any
//! JSON value, no reply, and replies sent later through a `ReplyHandle`, over
//! both transports. Replies of bytes, on every path: `tests/binary_policy.rs`.

#[macro_use]
mod support;

use embercast_server::Reply;
use serde_json::json;
use support::*;

for_each_transport_and_vsn! {
    /// The response of an ok or error reply can be any JSON value.
    async fn replies_carry_any_json_value(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.join("room:lobby", "3").await;
        let values = [
            json!({}),
            json!({"a": {"b": [1, 2.5, "x"]}}),
            json!([1, 2]),
            json!("text"),
            json!(42),
            json!(null),
            json!(true),
        ];
        for (i, v) in values.iter().enumerate() {
            let r = format!("ok{i}");
            c.send(json!(["3", r, "room:lobby", "ping", v])).await;
            c.expect(json!(["3", r, "room:lobby", "phx_reply", ok(v.clone())])).await;
            let r = format!("err{i}");
            c.send(json!(["3", r, "room:lobby", "reply_error", v])).await;
            c.expect(json!(["3", r, "room:lobby", "phx_reply", error(v.clone())])).await;
        }
    }

    /// Vector `event_reply_error_with_payload`.
    async fn error_reply_with_a_payload(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.join("room:lobby", "3").await;
        let errors = json!({"errors": {"body": ["can't be blank"]}});
        c.send(json!(["3", "4", "room:lobby", "reply_error", errors])).await;
        c.expect(json!(["3", "4", "room:lobby", "phx_reply", error(errors)])).await;
    }

    /// `Reply::ok_empty()` and any other status string.
    async fn empty_and_custom_status_replies(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.join("room:lobby", "3").await;
        c.send(json!(["3", "4", "room:lobby", "reply_empty", {"ignored": 1}])).await;
        c.expect(json!(["3", "4", "room:lobby", "phx_reply", ok(json!({}))])).await;
        c.send(json!(["3", "5", "room:lobby", "reply_status", {"status": "pending", "response": {"eta": 5}}])).await;
        c.expect(json!(["3", "5", "room:lobby", "phx_reply", {"response": {"eta": 5}, "status": "pending"}])).await;
    }

    /// Vector `event_noreply`: nothing is sent. The channel handles messages
    /// in order, so the reply to the next push being the next frame proves it.
    async fn noreply_sends_nothing(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.join("room:lobby", "3").await;
        c.send(json!(["3", "4", "room:lobby", "noreply", {}])).await;
        c.send(json!(["3", "5", "room:lobby", "ping", {}])).await;
        c.expect(json!(["3", "5", "room:lobby", "phx_reply", ok(json!({}))])).await;
        c.expect_heartbeat_next().await;
    }

    /// Vector `async_reply`: the reply sent later through the handle carries
    /// the channel's join_ref and the push's ref; other replies may come first.
    async fn async_reply_through_a_reply_handle(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.join("room:lobby", "3").await;
        c.send(json!(["3", "4", "room:lobby", "async", {"ref": "4"}])).await;
        c.send(json!(["3", "5", "room:lobby", "ping", {}])).await;
        c.expect(json!(["3", "5", "room:lobby", "phx_reply", ok(json!({}))])).await;
        let handle = server.probe.wait_for("a reply handle", |s| s.reply_handles.first().map(|(_, h)| h.clone())).await;
        // From another task, as an app would.
        tokio::spawn(async move { handle.reply(Reply::ok(json!({"result": 42}))) }).await.unwrap();
        c.expect(json!(["3", "4", "room:lobby", "phx_reply", ok(json!({"result": 42}))])).await;
    }

    /// A reply handle outlives the connection harmlessly.
    async fn reply_handle_after_the_connection_closed_is_a_no_op(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.join("room:lobby", "3").await;
        c.send(json!(["3", "4", "room:lobby", "async", {"ref": "4"}])).await;
        let handle = server.probe.wait_for("a reply handle", |s| s.reply_handles.first().map(|(_, h)| h.clone())).await;
        drop(c);
        server.probe.terminated("room:lobby", json!("3")).await;
        handle.reply(Reply::ok(json!({"late": true})));
        // The server still serves other connections.
        let mut c = Client::connect(&server, t, vsn).await;
        c.expect_heartbeat_next().await;
    }
}

/// WebSocket V2, end to end: a binary push from the client (kind 0),
/// echoed back by the channel, is a binary reply (kind 1).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_push_echoed_back_is_a_binary_reply_on_websocket_v2() {
    let server = start().await;
    let mut c = Client::connect_ws(&server, Vsn::V2).await;
    c.join("room:lobby", "3").await;
    c.send_binary(&binary_push("3", "5", "room:lobby", "ping", &[0xde, 0xad, 0x00, 0xff])).await;
    assert_eq!(c.recv_binary().await, hex("01 01 01 0a 02 33 35 72 6f 6f 6d 3a 6c 6f 62 62 79 6f 6b de ad 00 ff"));
    // Also with an empty payload.
    c.send_binary(&binary_push("3", "6", "room:lobby", "ping", &[])).await;
    assert_eq!(c.recv_binary().await, hex("01 01 01 0a 02 33 36 72 6f 6f 6d 3a 6c 6f 62 62 79 6f 6b"));
}
