//! The message size limit on WebSocket (PROTOCOL.md §4.10): a text or binary
//! message over `max_frame_size` closes the connection with 1009, whether it
//! comes in one frame or in fragments; up to the limit is fine. Over
//! LongPoll the same limit applies per ndjson line, answered with
//! `{"status":413}`: `tests/longpoll_limits.rs`.

#[macro_use]
mod support;

use embercast_server::Terminate;
use embercast_ws::OpCode;
use serde_json::json;
use support::*;

const LIMIT: usize = 1024;

/// A valid message of exactly `len` bytes: a ping on `room:lobby` with padding.
fn ping_of_len(vsn: Vsn, len: usize) -> String {
    let frame = |pad: &str| json!(["3", "4", "room:lobby", "ping", {"pad": pad}]);
    let encode = |v: serde_json::Value| if vsn == Vsn::V1 { to_v1(&v).to_string() } else { v.to_string() };
    let base = encode(frame("")).len();
    let text = encode(frame(&"x".repeat(len - base)));
    assert_eq!(text.len(), len);
    text
}

for_each_vsn! {
    /// 2 KiB of text over a 1 KiB limit → close 1009; the channels terminate.
    async fn text_message_over_the_limit_closes_with_1009(vsn: Vsn) {
        let server = start_with(|s| s.max_frame_size(LIMIT)).await;
        let mut c = Client::connect_ws(&server, vsn).await;
        c.join("room:lobby", "3").await;
        c.send_text(&ping_of_len(vsn, 2048)).await;
        c.expect_close(1009).await;
        assert_eq!(server.probe.terminated("room:lobby", json!("3")).await, Terminate::Closed);
    }

    /// A client still writing a 4 MiB message when the server gives up on it
    /// receives the 1009 close frame, not a connection reset: the server
    /// drains what the client sends instead of closing on unread data.
    async fn oversized_message_still_being_sent_gets_a_clean_1009(vsn: Vsn) {
        let server = start_with(|s| s.max_frame_size(LIMIT)).await;
        let mut c = Client::connect_ws(&server, vsn).await;
        let frame = client_frame(OpCode::Binary, true, &vec![7; 4 << 20]);
        c.ws().try_send_raw(&frame).await.expect("the server keeps reading until the client is done");
        c.expect_close(1009).await;
    }

    /// A message of exactly the limit is accepted.
    async fn text_message_at_the_limit_is_accepted(vsn: Vsn) {
        let server = start_with(|s| s.max_frame_size(LIMIT)).await;
        let mut c = Client::connect_ws(&server, vsn).await;
        c.join("room:lobby", "3").await;
        c.send_text(&ping_of_len(vsn, LIMIT)).await;
        let reply = c.recv_json().await;
        assert_eq!((reply[1].as_str(), reply[4]["status"].as_str()), (Some("4"), Some("ok")));
        c.send_text(&ping_of_len(vsn, LIMIT + 1)).await;
        c.expect_close(1009).await;
    }

    /// 2 KiB of binary → close 1009.
    async fn binary_message_over_the_limit_closes_with_1009(vsn: Vsn) {
        let server = start_with(|s| s.max_frame_size(LIMIT)).await;
        let mut c = Client::connect_ws(&server, vsn).await;
        c.join("room:lobby", "3").await;
        c.send_binary(&binary_push("3", "4", "room:lobby", "ping", &[7; 2048])).await;
        c.expect_close(1009).await;
    }

    /// Fragments add up: two 600-byte fragments of one message → close 1009.
    async fn fragmented_message_over_the_limit_closes_with_1009(vsn: Vsn) {
        let server = start_with(|s| s.max_frame_size(LIMIT)).await;
        let mut c = Client::connect_ws(&server, vsn).await;
        c.expect_heartbeat_next().await;
        let text = ping_of_len(vsn, 1200);
        let (a, b) = text.as_bytes().split_at(600);
        c.ws().send_raw(&client_frame(OpCode::Text, false, a)).await;
        c.ws().send_raw(&client_frame(OpCode::Continuation, true, b)).await;
        c.expect_close(1009).await;
    }

    /// Fragments under the limit make one message.
    async fn fragmented_message_under_the_limit_is_one_message(vsn: Vsn) {
        let server = start_with(|s| s.max_frame_size(LIMIT)).await;
        let mut c = Client::connect_ws(&server, vsn).await;
        c.join("room:lobby", "3").await;
        let text = ping_of_len(vsn, 900);
        let (a, b) = text.as_bytes().split_at(450);
        c.ws().send_raw(&client_frame(OpCode::Text, false, a)).await;
        c.ws().send_raw(&client_frame(OpCode::Continuation, true, b)).await;
        let reply = c.recv_json().await;
        assert_eq!((reply[1].as_str(), reply[4]["status"].as_str()), (Some("4"), Some("ok")));
    }
}

/// The default limit is 1 MiB: a message of 1 MiB is accepted, one byte more is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_limit_is_one_mebibyte() {
    let server = start().await;
    let mut c = Client::connect_ws(&server, Vsn::V2).await;
    c.join("room:lobby", "3").await;
    c.send_text(&ping_of_len(Vsn::V2, 1 << 20)).await;
    let reply = c.recv_json().await;
    assert_eq!(reply[4]["status"], "ok");
    // Refused from the header alone: the body need not be sent.
    let mut header = Vec::new();
    embercast_ws::frame::write_header(&mut header, OpCode::Text, (1 << 20) + 1, Some([1, 2, 3, 4]));
    c.ws().send_raw(&header).await;
    c.expect_close(1009).await;
}
