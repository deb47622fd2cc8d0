//! `handle_in` results (PROTOCOL.md §5.4, §5.5, §3.4): ok/error replies with
//! any JSON value or bytes, no reply, and replies sent later through a
//! `ReplyHandle`.

#[macro_use]
mod support;

use embercast_server::Reply;
use serde_json::json;
use support::*;

for_each_vsn! {
    /// The response of an ok or error reply can be any JSON value.
    async fn replies_carry_any_json_value(vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, vsn).await;
        c.join("room:lobby", "3").await;
        let values = [json!({}), json!({"a": {"b": [1, 2.5, "x"]}}), json!([1, 2]), json!("text"), json!(42), json!(null), json!(true)];
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
    async fn error_reply_with_a_payload(vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, vsn).await;
        c.join("room:lobby", "3").await;
        let errors = json!({"errors": {"body": ["can't be blank"]}});
        c.send(json!(["3", "4", "room:lobby", "reply_error", errors])).await;
        c.expect(json!(["3", "4", "room:lobby", "phx_reply", error(errors)])).await;
    }

    /// `Reply::ok_empty()` and any other status string.
    async fn empty_and_custom_status_replies(vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, vsn).await;
        c.join("room:lobby", "3").await;
        c.send(json!(["3", "4", "room:lobby", "reply_empty", {"ignored": 1}])).await;
        c.expect(json!(["3", "4", "room:lobby", "phx_reply", ok(json!({}))])).await;
        c.send(json!(["3", "5", "room:lobby", "reply_status", {"status": "pending", "response": {"eta": 5}}])).await;
        c.expect(json!(["3", "5", "room:lobby", "phx_reply", {"response": {"eta": 5}, "status": "pending"}])).await;
    }

    /// Vector `event_noreply`: nothing is sent. The channel handles messages
    /// in order, so the reply to the next push being the next frame proves it.
    async fn noreply_sends_nothing(vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, vsn).await;
        c.join("room:lobby", "3").await;
        c.send(json!(["3", "4", "room:lobby", "noreply", {}])).await;
        c.send(json!(["3", "5", "room:lobby", "ping", {}])).await;
        c.expect(json!(["3", "5", "room:lobby", "phx_reply", ok(json!({}))])).await;
        c.expect_heartbeat_next().await;
    }

    /// Vector `async_reply`: the reply sent later through the handle carries
    /// the channel's join_ref and the push's ref; other replies may come first.
    async fn async_reply_through_a_reply_handle(vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, vsn).await;
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
    async fn reply_handle_after_the_connection_closed_is_a_no_op(vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, vsn).await;
        c.join("room:lobby", "3").await;
        c.send(json!(["3", "4", "room:lobby", "async", {"ref": "4"}])).await;
        let handle = server.probe.wait_for("a reply handle", |s| s.reply_handles.first().map(|(_, h)| h.clone())).await;
        drop(c);
        server.probe.terminated("room:lobby", json!("3")).await;
        handle.reply(Reply::ok(json!({"late": true})));
        // The server still serves other connections.
        let mut c = Client::connect(&server, vsn).await;
        c.expect_heartbeat_next().await;
    }
}

/// V2: a reply whose response is bytes is a binary frame of kind 1:
/// `01 jr_len ref_len topic_len status_len | jr ref topic status payload`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_reply_is_a_kind_1_frame_on_v2() {
    let server = start().await;
    let mut c = Client::connect(&server, Vsn::V2).await;
    c.join("room:lobby", "3").await;
    c.send(json!(["3", "5", "room:lobby", "reply_binary", {"bytes": [1, 2, 3, 3, 4]}])).await;
    // The example of PROTOCOL.md §3.4.
    assert_eq!(c.recv_binary().await, hex("01 01 01 0a 02 33 35 72 6f 6f 6d 3a 6c 6f 62 62 79 6f 6b 01 02 03 03 04"));
    c.expect_heartbeat_next().await;
}

/// V2: a binary push from the client (kind 0) reaches `handle_in` as bytes;
/// echoed back, it becomes a binary reply.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_push_from_the_client_reaches_the_channel_as_bytes() {
    let server = start().await;
    let mut c = Client::connect(&server, Vsn::V2).await;
    c.join("room:lobby", "3").await;
    c.send_binary(&binary_push("3", "5", "room:lobby", "ping", &[0xde, 0xad, 0x00, 0xff])).await;
    assert_eq!(c.recv_binary().await, hex("01 01 01 0a 02 33 35 72 6f 6f 6d 3a 6c 6f 62 62 79 6f 6b de ad 00 ff"));
    // Also with an empty payload.
    c.send_binary(&binary_push("3", "6", "room:lobby", "ping", &[])).await;
    assert_eq!(c.recv_binary().await, hex("01 01 01 0a 02 33 36 72 6f 6f 6d 3a 6c 6f 62 62 79 6f 6b"));
}

/// V2: a binary push from the channel is a kind-0 frame without a ref field.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_push_from_the_channel_is_a_kind_0_frame_on_v2() {
    let server = start().await;
    let mut c = Client::connect(&server, Vsn::V2).await;
    c.join("room:lobby", "3").await;
    c.send(json!(["3", "4", "room:lobby", "push_binary", {"event": "bin", "bytes": [0, 1]}])).await;
    // The example of PROTOCOL.md §3.4.
    assert_eq!(c.recv_binary().await, hex("00 01 0a 03 33 72 6f 6f 6d 3a 6c 6f 62 62 79 62 69 6e 00 01"));
    c.expect(json!(["3", "4", "room:lobby", "phx_reply", ok(json!({}))])).await;
}

/// V1 cannot carry bytes: a binary reply becomes an error reply with a
/// reason, and the connection and channel stay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_reply_on_v1_becomes_an_error_reply() {
    let server = start().await;
    let mut c = Client::connect(&server, Vsn::V1).await;
    c.join("room:lobby", "3").await;
    c.send(json!(["3", "5", "room:lobby", "reply_binary", {"bytes": [1, 2, 3]}])).await;
    let reply = c.recv_json().await;
    assert_eq!(reply[1], "5");
    assert_eq!(reply[3], "phx_reply");
    assert_eq!(reply[4]["status"], "error");
    assert!(reply[4]["response"]["reason"].as_str().is_some_and(|r| !r.is_empty()), "{reply}");
    c.send(json!(["3", "6", "room:lobby", "ping", {}])).await;
    c.expect(json!(["3", "6", "room:lobby", "phx_reply", ok(json!({}))])).await;
}

/// V1 cannot carry bytes: the same goes for a reply sent through a handle.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_async_reply_on_v1_becomes_an_error_reply() {
    let server = start().await;
    let mut c = Client::connect(&server, Vsn::V1).await;
    c.join("room:lobby", "3").await;
    c.send(json!(["3", "4", "room:lobby", "async", {"ref": "4"}])).await;
    let handle = server.probe.wait_for("a reply handle", |s| s.reply_handles.first().map(|(_, h)| h.clone())).await;
    handle.reply(Reply::ok(bytes::Bytes::from_static(b"\x01\x02")));
    let reply = c.recv_json().await;
    assert_eq!((reply[1].as_str(), reply[4]["status"].as_str()), (Some("4"), Some("error")), "{reply}");
    c.expect_heartbeat_next().await;
}

/// V1 cannot carry bytes: a binary push is refused to the channel, which
/// can report it; nothing binary is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_push_on_v1_is_refused_to_the_channel() {
    let server = start().await;
    let mut c = Client::connect(&server, Vsn::V1).await;
    c.join("room:lobby", "3").await;
    c.send(json!(["3", "4", "room:lobby", "push_binary", {"event": "bin", "bytes": [0, 1]}])).await;
    let reply = c.recv_json().await;
    assert_eq!(reply[4]["status"], "error", "{reply}");
    c.expect_heartbeat_next().await;
}
