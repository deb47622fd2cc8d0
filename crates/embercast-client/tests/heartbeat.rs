//! Heartbeats keep an idle connection open; an unanswered heartbeat makes
//! the client close and reconnect, as phoenix.js does.

mod support;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use embercast_client::{ChannelState, ConnectionState, Payload};
use serde_json::json;
use support::mock::Mock;
use support::{channel_state, client, socket_state, within, TestServer};

const IDLE_TIMEOUT: Duration = Duration::from_millis(300);

async fn idle_server() -> TestServer {
    TestServer::start_on(0, Arc::default(), |s| s.idle_timeout(IDLE_TIMEOUT)).await
}

#[tokio::test]
async fn heartbeats_keep_the_connection_alive() {
    let server = idle_server().await;
    let socket = client(&server.url()).heartbeat_interval(Some(Duration::from_millis(100))).connect().unwrap();
    socket_state(&socket, ConnectionState::Open).await;
    let mut states = socket.state_changes();
    states.borrow_and_update();
    // Four idle timeouts with nothing but heartbeats: the state must not move.
    let quiet = tokio::time::timeout(IDLE_TIMEOUT * 4, states.changed()).await;
    assert!(quiet.is_err(), "the connection changed state: {:?}", socket.state());
    let room = socket.channel("room:alive", json!({}));
    within("the join", room.join()).await.unwrap();
    assert_eq!(server.record.connects.load(Ordering::SeqCst), 1, "never reconnected");
}

/// The control for the test above: without heartbeats the same server drops
/// the connection, so the test above measures something.
#[tokio::test]
async fn without_heartbeats_the_server_drops_the_connection() {
    let server = idle_server().await;
    let socket = client(&server.url()).heartbeat_interval(None).connect().unwrap();
    socket_state(&socket, ConnectionState::Open).await;
    socket_state(&socket, ConnectionState::Closed).await;
    socket_state(&socket, ConnectionState::Open).await;
    assert_eq!(server.record.connects.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn an_unanswered_heartbeat_closes_and_reconnects_and_channels_rejoin() {
    let mock = Mock::bind().await;
    let socket = client(&mock.url()).heartbeat_interval(Some(Duration::from_millis(100))).connect().unwrap();
    let room = socket.channel("room:hb", json!({}));
    let mut errors = room.on("phx_error");
    let join = room.join();
    let mut first = mock.accept().await;
    let msg = first.recv().await.expect("the join");
    assert_eq!(msg.event, "phx_join");
    let join_ref = json!(msg.join_ref.as_ref().unwrap().to_string());
    first.send(json!([join_ref, join_ref, "room:hb", "phx_reply", {"status": "ok", "response": {}}])).await;
    within("the join", join).await.unwrap();

    let beat = first.recv().await.expect("a heartbeat");
    assert!(beat.is_heartbeat() && beat.join_ref.is_none(), "{beat:?}");
    // No reply: the client gives up on this connection within one more interval.
    assert!(first.recv().await.is_none(), "the client closes the connection");
    let error = within("the local phx_error", errors.recv()).await.unwrap();
    assert_eq!(error.payload, Payload::Json(json!({"source": "transport", "reason": "heartbeat_timeout"})));

    let mut second = mock.accept().await;
    let rejoin = second.recv_non_heartbeat().await;
    assert_eq!((rejoin.topic.as_str(), rejoin.event.as_str()), ("room:hb", "phx_join"));
    assert_ne!(json!(rejoin.join_ref.as_ref().unwrap().to_string()), join_ref, "a rejoin has a new join_ref");
    let rejoin_ref = json!(rejoin.join_ref.as_ref().unwrap().to_string());
    second.send(json!([rejoin_ref, rejoin_ref, "room:hb", "phx_reply", {"status": "ok", "response": {}}])).await;
    channel_state(&room, ChannelState::Joined).await;
    // This time heartbeats are answered: the connection stays.
    let beat = second.recv().await.expect("a heartbeat");
    let beat_ref = json!(beat.r#ref.as_ref().unwrap().to_string());
    second.send(json!([null, beat_ref, "phoenix", "phx_reply", {"status": "ok", "response": {}}])).await;
    let next = second.recv().await.expect("the next heartbeat, on the same connection");
    assert!(next.is_heartbeat());
    assert_eq!(socket.state(), ConnectionState::Open);
}
