//! A channel the server reports crashed (`phx_error`) rejoins by itself with
//! a new join_ref; the crashed join's unanswered push times out.

mod support;

use std::sync::atomic::Ordering;
use std::time::Duration;

use embercast_client::{ChannelError, ChannelState, Payload};
use serde_json::json;
use support::{channel_state, client, within, TestServer};

#[tokio::test]
async fn channel_rejoins_after_a_crash() {
    let server = TestServer::start().await;
    let socket = client(&server.url()).connect().unwrap();
    let room = socket.channel("room:crash", json!({}));
    let mut errors = room.on("phx_error");
    within("the join", room.join()).await.unwrap();
    let crash = room.push_with_timeout("crash", json!({}), Duration::from_millis(300));
    let error = within("phx_error", errors.recv()).await.unwrap();
    assert_eq!(error.payload, Payload::Json(json!({"reason": "channel_crash"})));
    // Its reply would carry the crashed join's join_ref: it never comes.
    assert_eq!(within("the crashed push", crash).await, Err(ChannelError::Timeout));
    channel_state(&room, ChannelState::Joined).await;
    assert_eq!(server.record.joins.load(Ordering::SeqCst), 2);
    assert_eq!(within("a ping", room.push("ping", json!({}))).await, Ok(Payload::Json(json!({}))));
    let mut pongs = room.events();
    within("a shout", room.push("shout", json!({}))).await.unwrap();
    let event = within("the shout back", pongs.recv()).await.unwrap();
    assert_ne!(event.join_ref, error.join_ref, "the rejoin has a new join_ref");
}
