//! Frames that do not decode (PROTOCOL.md §3.5): dropped, and the
//! connection and its channels carry on (proved by the heartbeat reply being
//! the very next frame). Text that is not UTF-8 breaks the WebSocket protocol
//! itself and closes with 1007.

#[macro_use]
mod support;

use embercast_ws::OpCode;
use serde_json::json;
use support::*;

/// Text frames no version decodes.
const BAD_TEXT: &[&str] = &["not json", "", "{", "[\"3\",\"4\",\"room:lobby\",\"ping\"", "null", "42", "\"a string\""];

for_each_vsn! {
    /// Garbage text is dropped; the connection and its channel stay.
    async fn text_that_is_not_a_message_is_dropped(vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, vsn).await;
        c.join("room:lobby", "3").await;
        for bad in BAD_TEXT {
            c.send_text(bad).await;
        }
        c.expect_heartbeat_next().await;
        c.send(json!(["3", "4", "room:lobby", "ping", {}])).await;
        c.expect(json!(["3", "4", "room:lobby", "phx_reply", ok(json!({}))])).await;
    }

    /// Binary garbage is dropped (V2: unknown kind, truncated header, lengths
    /// past the end; V1: not JSON).
    async fn binary_garbage_is_dropped(vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, vsn).await;
        c.join("room:lobby", "3").await;
        let bad: [&[u8]; 6] = [&[], &[9, 1, 1, 1, 1, b'a'], &[0], &[0, 1, 1], &[0, 200, 200, 200, 200, b'x'], &[1, 1, 1, 10, 2]];
        for b in bad {
            c.send_binary(b).await;
        }
        c.send_binary(&[0xff, 0xfe, 0x00]).await;
        c.expect_heartbeat_next().await;
        c.send(json!(["3", "4", "room:lobby", "ping", {}])).await;
        c.expect(json!(["3", "4", "room:lobby", "phx_reply", ok(json!({}))])).await;
    }

    /// Text that is not UTF-8 violates RFC 6455: close 1007, not 1000.
    async fn text_that_is_not_utf8_closes_with_1007(vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, vsn).await;
        c.expect_heartbeat_next().await;
        c.send_frame(OpCode::Text, b"[\"\xff\"]").await;
        c.expect_close(1007).await;
    }
}

/// V2 shapes that are JSON but not a message: wrong arity, wrong types, an object.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v2_wrong_shapes_are_dropped() {
    let server = start().await;
    let mut c = Client::connect(&server, Vsn::V2).await;
    c.join("room:lobby", "3").await;
    for bad in [
        json!([]),
        json!(["3", "4", "room:lobby", "ping"]),
        json!(["3", "4", 7, "ping", {}]),
        json!(["3", "4", "room:lobby", null, {}]),
        json!([["3"], "4", "room:lobby", "ping", {}]),
        json!({"topic": "room:lobby", "event": "ping", "payload": {}, "ref": "4", "join_ref": "3"}),
    ] {
        c.send_text(&bad.to_string()).await;
    }
    c.expect_heartbeat_next().await;
    // Extra trailing elements are ignored (PROTOCOL.md §3.3).
    c.send_text(&json!(["3", "5", "room:lobby", "ping", {"a": 1}, "extra"]).to_string()).await;
    c.expect(json!(["3", "5", "room:lobby", "phx_reply", ok(json!({"a": 1}))])).await;
}

/// V1 shapes that are JSON but not a message: an array, a missing key, wrong types.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v1_wrong_shapes_are_dropped() {
    let server = start().await;
    let mut c = Client::connect(&server, Vsn::V1).await;
    c.join("room:lobby", "3").await;
    for bad in [
        json!(["3", "4", "room:lobby", "ping", {}]),
        json!({"topic": "room:lobby", "event": "ping", "payload": {}}),
        json!({"topic": "room:lobby", "event": "ping", "ref": "4"}),
        json!({"topic": 1, "event": "ping", "payload": {}, "ref": "4"}),
    ] {
        c.send_text(&bad.to_string()).await;
    }
    c.expect_heartbeat_next().await;
    // join_ref is optional in V1.
    c.send_text(&json!({"topic": "room:lobby", "event": "ping", "payload": {}, "ref": "5"}).to_string()).await;
    c.expect(json!(["3", "5", "room:lobby", "phx_reply", ok(json!({}))])).await;
}

/// V1 reads binary frames as JSON text (V1 has no binary encoding).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v1_binary_frame_is_read_as_json() {
    let server = start().await;
    let mut c = Client::connect(&server, Vsn::V1).await;
    let hb = json!({"topic": "phoenix", "event": "heartbeat", "payload": {}, "ref": "1"});
    c.send_binary(hb.to_string().as_bytes()).await;
    c.expect(json!([null, "1", "phoenix", "phx_reply", ok(json!({}))])).await;
}
