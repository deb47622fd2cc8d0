//! Joining: the reply as a `Result`, rejoin after a refused join, leave, and
//! what the connect request carries (params, auth token).

#[macro_use]
mod support;

use std::sync::atomic::Ordering;

use embercast_client::{ChannelError, ChannelState, ConnectionState, Payload, Serializer};
use serde_json::json;
use support::{channel_state, client, joined, socket_state, within, TestServer};

for_each_vsn! {
    async fn join_ok_resolves_to_the_response(vsn: Serializer) {
        let server = TestServer::start().await;
        let socket = client(&server.url()).vsn(vsn).connect().unwrap();
        let room = socket.channel("room:lobby", json!({}));
        assert_eq!(room.state(), ChannelState::Closed);
        let reply = within("the join reply", room.join()).await;
        assert_eq!(reply, Ok(Payload::Json(json!({"topic": "room:lobby"}))));
        assert_eq!(room.state(), ChannelState::Joined);
        assert_eq!(socket.state(), ConnectionState::Open);
    }
}

#[tokio::test]
async fn join_error_is_a_reply_error_and_the_channel_keeps_rejoining() {
    let server = TestServer::start().await;
    let socket = client(&server.url()).connect().unwrap();
    let room = socket.channel("room:closed", json!({"fail": true}));
    let reply = within("the join reply", room.join()).await;
    assert_eq!(reply, Err(ChannelError::Reply(Payload::Json(json!({"reason": "refused"})))));
    // phoenix.js retries a refused join with backoff.
    let mut attempts = server.record.join_attempts.subscribe();
    within("two rejoins", attempts.wait_for(|n| *n >= 3)).await.unwrap();
    assert_eq!(server.record.joins.load(Ordering::SeqCst), 0);
    within("the leave", room.leave()).await.unwrap();
    assert_eq!(room.state(), ChannelState::Closed);
}

#[tokio::test]
async fn joining_twice_is_refused_and_leave_closes_the_channel() {
    let server = TestServer::start().await;
    let (_socket, room) = joined(client(&server.url()), "room:twice").await;
    assert_eq!(within("the second join", room.join()).await, Err(ChannelError::AlreadyJoined));
    let mut events = room.on("anything");
    within("the leave reply", room.leave()).await.expect("leave acknowledged");
    channel_state(&room, ChannelState::Closed).await;
    assert_eq!(within("the stream to end", events.recv()).await, None);
    assert_eq!(within("a push after leave", room.push("ping", json!({}))).await, Err(ChannelError::Closed));
}

#[tokio::test]
async fn params_and_auth_token_reach_connect() {
    let server = TestServer::start().await;
    let socket = client(&server.url()).param("user", "bob & alice").auth_token("s3cret?token").connect().unwrap();
    socket_state(&socket, ConnectionState::Open).await;
    let seen = server.record.tokens.lock().unwrap().clone();
    assert_eq!(seen, [(Some("s3cret?token".to_owned()), Some("bob & alice".to_owned()))]);
}

#[tokio::test]
async fn a_refused_connect_is_retried_and_disconnect_stops_it() {
    let server = TestServer::start().await;
    let socket = client(&server.url()).param("reject", "1").connect().unwrap();
    let mut states = socket.state_changes();
    within("the refusal", states.wait_for(|s| *s == ConnectionState::Closed)).await.unwrap();
    within("the retry", states.wait_for(|s| *s == ConnectionState::Connecting)).await.unwrap();
    within("the disconnect", socket.disconnect()).await;
    assert_eq!(socket.state(), ConnectionState::Disconnected);
    assert_eq!(server.record.connects.load(Ordering::SeqCst), 0);
}
