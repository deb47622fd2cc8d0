//! Bytes from the server (PROTOCOL.md §3.4) travel only in V2 binary frames
//! over WebSocket. On every other path (V1, or LongPoll, whose messages are
//! JSON strings) the policy is one answer per case, decided in one place:
//!
//! | case | WebSocket V2 | WebSocket V1, LongPoll V1 and V2 |
//! |---|---|---|
//! | `handle_in` replies bytes (also later, through a `ReplyHandle`) | kind-1 binary frame | error reply `{"reason":"binary payloads need vsn 2.0.0 over WebSocket"}` |
//! | `join` replies bytes | kind-1 binary frame | `ok` reply with an empty response (the join still succeeds) |
//! | the channel pushes bytes | kind-0 binary frame | `PushError` to the channel: `is_binary_over_text` (LongPoll V2), `is_encode` (V1) |
//! | bytes are broadcast | kind-2 binary frame | skipped for that client; later broadcasts still arrive |
//!
//! Bytes *from* the client reach the channel on both transports (LongPoll:
//! base64 ndjson lines).

#[macro_use]
mod support;

use bytes::Bytes;
use embercast_server::{Payload, Reply};
use serde_json::{json, Value};
use support::*;

const REASON: &str = "binary payloads need vsn 2.0.0 over WebSocket";

fn carries_bytes(t: Transport, vsn: Vsn) -> bool {
    t == Transport::WebSocket && vsn == Vsn::V2
}

fn not_carried(r#ref: &str) -> Value {
    json!(["3", r#ref, "room:lobby", "phx_reply", error(json!({"reason": REASON}))])
}

for_each_transport_and_vsn! {
    /// A reply of bytes: a binary frame on WebSocket V2, else an error reply
    /// saying why; the push is answered exactly once and the channel stays.
    async fn binary_reply(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.join("room:lobby", "3").await;
        c.send(json!(["3", "5", "room:lobby", "reply_binary", {"bytes": [1, 2, 3, 3, 4]}])).await;
        if carries_bytes(t, vsn) {
            // The example of PROTOCOL.md §3.4.
            let expected = hex("01 01 01 0a 02 33 35 72 6f 6f 6d 3a 6c 6f 62 62 79 6f 6b 01 02 03 03 04");
            assert_eq!(c.recv_binary().await, expected);
        } else {
            c.expect(not_carried("5")).await;
        }
        c.send(json!(["3", "6", "room:lobby", "ping", {}])).await;
        c.expect(json!(["3", "6", "room:lobby", "phx_reply", ok(json!({}))])).await;
        c.expect_heartbeat_next().await;
    }

    /// The same for a reply sent later through a `ReplyHandle`.
    async fn binary_async_reply(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.join("room:lobby", "3").await;
        c.send(json!(["3", "4", "room:lobby", "async", {"ref": "4"}])).await;
        let handle = server.probe.wait_for("a reply handle", |s| s.reply_handles.first().map(|(_, h)| h.clone())).await;
        handle.reply(Reply::ok(Bytes::from_static(b"\x01\x02")));
        if carries_bytes(t, vsn) {
            assert_eq!(c.recv_binary().await, [&[1u8, 1, 1, 10, 2][..], b"34room:lobbyok", &[1, 2]].concat());
        } else {
            c.expect(not_carried("4")).await;
        }
        c.expect_heartbeat_next().await;
    }

    /// A join reply of bytes: a binary frame on WebSocket V2, else an empty
    /// `ok`: the join succeeded, and a reply the client cannot receive must
    /// not turn it into an error.
    async fn binary_join_reply(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.send_join("room:lobby", "3", json!({"reply_binary": [9, 8]})).await;
        if carries_bytes(t, vsn) {
            assert_eq!(c.recv_binary().await, [&[1u8, 1, 1, 10, 2][..], b"33room:lobbyok", &[9, 8]].concat());
        } else {
            c.expect(json!(["3", "3", "room:lobby", "phx_reply", ok(json!({}))])).await;
        }
        c.send(json!(["3", "4", "room:lobby", "ping", {}])).await;
        c.expect(json!(["3", "4", "room:lobby", "phx_reply", ok(json!({}))])).await;
    }

    /// A push of bytes: a binary frame on WebSocket V2; elsewhere the push
    /// fails in the channel with a `PushError` that says why, and nothing
    /// is sent (the test channel reports the error in its reply).
    async fn binary_push_from_the_channel(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.join("room:lobby", "3").await;
        c.send(json!(["3", "4", "room:lobby", "push_binary", {"event": "bin", "bytes": [0, 1]}])).await;
        if carries_bytes(t, vsn) {
            assert_eq!(c.recv_binary().await, hex("00 01 0a 03 33 72 6f 6f 6d 3a 6c 6f 62 62 79 62 69 6e 00 01"));
            c.expect(json!(["3", "4", "room:lobby", "phx_reply", ok(json!({}))])).await;
        } else {
            let reply = c.recv_json().await;
            assert_eq!((&reply[1], &reply[4]["status"]), (&json!("4"), &json!("error")), "{reply}");
            let e = &reply[4]["response"];
            // V1 cannot encode bytes at all; LongPoll V2 could, but cannot carry them.
            let (over_text, encode) = if vsn == Vsn::V1 { (false, true) } else { (true, false) };
            assert_eq!((&e["binary_over_text"], &e["encode"]), (&json!(over_text), &json!(encode)), "{reply}");
            assert!(e["reason"].as_str().is_some_and(|r| !r.is_empty()), "{reply}");
        }
        c.expect_heartbeat_next().await;
    }
}

/// A broadcast of bytes reaches WebSocket V2 subscribers as a kind-2 frame
/// and is skipped for the others (WebSocket V1, LongPoll V1 and V2), who
/// still get the broadcasts after it, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_broadcast_is_skipped_for_clients_that_cannot_carry_bytes() {
    let server = start().await;
    let mut clients = Vec::new();
    for t in [Transport::WebSocket, Transport::LongPoll] {
        for vsn in [Vsn::V1, Vsn::V2] {
            let mut c = Client::connect(&server, t, vsn).await;
            c.join("room:lobby", "3").await;
            clients.push(c);
        }
    }
    server.pubsub.broadcast("room:lobby", "before", json!({})).unwrap();
    server.pubsub.broadcast("room:lobby", "frame", Payload::Binary(hex("de ad be ef").into())).unwrap();
    server.pubsub.broadcast("room:lobby", "after", json!({})).unwrap();
    for c in &mut clients {
        c.expect(json!([null, null, "room:lobby", "before", {}])).await;
        if carries_bytes(c.transport, c.vsn) {
            assert_eq!(c.recv_binary().await, hex("02 0a 05 72 6f 6f 6d 3a 6c 6f 62 62 79 66 72 61 6d 65 de ad be ef"));
        }
        c.expect(json!([null, null, "room:lobby", "after", {}])).await;
        c.expect_heartbeat_next().await;
    }
}

for_each_transport! {
    /// A V2 binary push from the client (LongPoll: a base64 ndjson line)
    /// reaches `handle_in` as bytes, empty payload included.
    async fn binary_push_from_the_client_reaches_the_channel_as_bytes(t: Transport) {
        let server = start().await;
        let mut c = Client::connect(&server, t, Vsn::V2).await;
        c.join("room:lobby", "3").await;
        c.send_binary(&binary_push("3", "5", "room:lobby", "inspect", &[0xde, 0xad, 0x00, 0xff])).await;
        c.expect(json!(["3", "5", "room:lobby", "phx_reply", ok(json!({"bytes": [0xde, 0xad, 0x00, 0xff]}))])).await;
        c.send_binary(&binary_push("3", "6", "room:lobby", "inspect", &[])).await;
        c.expect(json!(["3", "6", "room:lobby", "phx_reply", ok(json!({"bytes": []}))])).await;
        // A JSON payload stays JSON.
        c.send(json!(["3", "7", "room:lobby", "inspect", {"a": 1}])).await;
        c.expect(json!(["3", "7", "room:lobby", "phx_reply", ok(json!({"json": {"a": 1}}))])).await;
    }
}
