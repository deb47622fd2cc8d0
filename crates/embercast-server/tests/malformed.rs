//! Frames that do not decode (PROTOCOL.md §3.5): dropped, and the
//! connection and its channels carry on (proved by the heartbeat reply being
//! the very next frame), over both transports. Text that is not UTF-8 breaks
//! the WebSocket protocol itself and closes with 1007.

#[macro_use]
mod support;

use embercast_ws::OpCode;
use serde_json::json;
use support::*;

/// Text frames no version decodes.
const BAD_TEXT: &[&str] = &["not json", "", "{", "[\"3\",\"4\",\"room:lobby\",\"ping\"", "null", "42", "\"a string\""];

for_each_transport_and_vsn! {
    /// Garbage text is dropped; the connection and its channel stay.
    async fn text_that_is_not_a_message_is_dropped(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.join("room:lobby", "3").await;
        for bad in BAD_TEXT {
            match t {
                Transport::WebSocket => c.send_text(bad).await,
                // An ndjson line that is not JSON is read as base64 (and
                // refused with 400 if it is not: tests/longpoll_limits.rs);
                // a body of another type is one text frame, whatever it holds.
                Transport::LongPoll => {
                    let answer = c.lp().post(Some("application/json"), bad.as_bytes()).await;
                    assert_eq!(answer, json!({"status": 200}), "{bad:?}");
                }
            }
        }
        c.expect_heartbeat_next().await;
        c.send(json!(["3", "4", "room:lobby", "ping", {}])).await;
        c.expect(json!(["3", "4", "room:lobby", "phx_reply", ok(json!({}))])).await;
    }

    /// Binary garbage is dropped (V2: unknown kind, truncated header, lengths
    /// past the end; V1: not JSON).
    async fn binary_garbage_is_dropped(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.join("room:lobby", "3").await;
        let bad: [&[u8]; 6] =
            [&[], &[9, 1, 1, 1, 1, b'a'], &[0], &[0, 1, 1], &[0, 200, 200, 200, 200, b'x'], &[1, 1, 1, 10, 2]];
        for b in bad {
            c.send_binary(b).await;
        }
        c.send_binary(&[0xff, 0xfe, 0x00]).await;
        c.expect_heartbeat_next().await;
        c.send(json!(["3", "4", "room:lobby", "ping", {}])).await;
        c.expect(json!(["3", "4", "room:lobby", "phx_reply", ok(json!({}))])).await;
    }
}

for_each_vsn! {
    /// Text that is not UTF-8 violates RFC 6455: close 1007, not 1000.
    async fn websocket_text_that_is_not_utf8_closes_with_1007(vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect_ws(&server, vsn).await;
        c.expect_heartbeat_next().await;
        c.ws().send_frame(OpCode::Text, b"[\"\xff\"]").await;
        c.expect_close(1007).await;
    }

    /// LongPoll has no framing rule to break: a line that is not UTF-8 is a
    /// frame that does not decode, dropped like any other; the session stays.
    async fn longpoll_line_that_is_not_utf8_is_dropped(vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, Transport::LongPoll, vsn).await;
        c.join("room:lobby", "3").await;
        let answer = c.lp().post(Some("application/x-ndjson"), b"[\"\xff\"]\n{\"\xfe\":1}").await;
        assert_eq!(answer, json!({"status": 200}));
        c.expect_heartbeat_next().await;
    }
}

for_each_transport! {
    /// V2 shapes that are JSON but not a message: wrong arity, wrong types, an object.
    async fn v2_wrong_shapes_are_dropped(t: Transport) {
        let server = start().await;
        let mut c = Client::connect(&server, t, Vsn::V2).await;
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
    async fn v1_wrong_shapes_are_dropped(t: Transport) {
        let server = start().await;
        let mut c = Client::connect(&server, t, Vsn::V1).await;
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

    /// V1 reads binary frames (LongPoll: base64 lines) as JSON text (V1 has
    /// no binary encoding).
    async fn v1_binary_frame_is_read_as_json(t: Transport) {
        let server = start().await;
        let mut c = Client::connect(&server, t, Vsn::V1).await;
        let hb = json!({"topic": "phoenix", "event": "heartbeat", "payload": {}, "ref": "1"});
        c.send_binary(hb.to_string().as_bytes()).await;
        c.expect(json!([null, "1", "phoenix", "phx_reply", ok(json!({}))])).await;
    }
}
