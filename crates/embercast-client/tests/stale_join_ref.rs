//! Messages carrying another join's join_ref are dropped (phoenix.js
//! `isMember`); broadcasts (no join_ref) are delivered. A correct server never
//! sends a stale join_ref on purpose, so a scripted peer does.

mod support;

use embercast_client::{ChannelState, Payload};
use serde_json::json;
use support::mock::Mock;
use support::{client, within};

#[tokio::test]
async fn messages_for_a_stale_join_ref_are_ignored() {
    let mock = Mock::bind().await;
    let socket = client(&mock.url()).connect().unwrap();
    let room = socket.channel("room:x", json!({"a": 1}));
    let mut events = room.events();
    let join = room.join();
    let mut conn = mock.accept().await;
    let msg = conn.recv_non_heartbeat().await;
    assert_eq!((msg.topic.as_str(), msg.event.as_str()), ("room:x", "phx_join"));
    assert_eq!(msg.join_ref, msg.r#ref, "a join's join_ref is its ref");
    assert_eq!(msg.payload, Payload::Json(json!({"a": 1})));
    let join_ref = json!(msg.join_ref.as_ref().unwrap().to_string());
    conn.send(json!([join_ref, join_ref, "room:x", "phx_reply", {"status": "ok", "response": {}}])).await;
    within("the join", join).await.unwrap();

    // A push's reply with a stale join_ref must not resolve it.
    let push = room.push("p", json!({}));
    let p = conn.recv_non_heartbeat().await;
    assert_eq!(json!(p.join_ref.as_ref().unwrap().to_string()), join_ref, "pushes carry the live join_ref");
    let push_ref = json!(p.r#ref.as_ref().unwrap().to_string());
    conn.send(json!(["999", push_ref, "room:x", "phx_reply", {"status": "ok", "response": {"from": "stale"}}])).await;
    conn.send(json!(["999", null, "room:x", "stale", {}])).await;
    conn.send(json!(["999", "999", "room:x", "phx_error", {"reason": "channel_crash"}])).await;
    conn.send(json!(["999", "999", "room:x", "phx_close", {}])).await;
    conn.send(json!([join_ref, push_ref, "room:x", "phx_reply", {"status": "ok", "response": {"from": "live"}}])).await;
    conn.send(json!([join_ref, null, "room:x", "fresh", {}])).await;
    conn.send(json!([null, null, "room:x", "bcast", {}])).await;

    assert_eq!(within("the push reply", push).await, Ok(Payload::Json(json!({"from": "live"}))));
    // Frames are handled in order: had the stale ones been delivered, they
    // would come first.
    assert_eq!(within("an event", events.recv()).await.unwrap().event, "fresh");
    assert_eq!(within("an event", events.recv()).await.unwrap().event, "bcast");
    assert_eq!(room.state(), ChannelState::Joined, "the stale phx_error and phx_close were ignored");
}
