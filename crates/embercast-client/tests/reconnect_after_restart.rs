//! A server restart mid-session: the client reconnects and rejoins by
//! itself, and pushes made while it was away go out once rejoined.

mod support;

use std::sync::atomic::Ordering;
use std::sync::Arc;

use embercast_client::{ChannelState, ConnectionState, Payload};
use serde_json::json;
use support::{channel_state, client, socket_state, within, TestServer};

#[tokio::test]
async fn client_reconnects_and_rejoins_after_a_server_restart() {
    let first = TestServer::start().await;
    let port = first.addr.port();
    let socket = client(&first.url()).connect().unwrap();
    let room = socket.channel("room:restart", json!({}));
    let mut errors = room.on("phx_error");
    within("the join", room.join()).await.unwrap();
    assert_eq!(within("a ping", room.push("ping", json!({"n": 1}))).await, Ok(Payload::Json(json!({"n": 1}))));

    first.shut_down().await;
    socket_state(&socket, ConnectionState::Closed).await;
    let error = within("the local phx_error", errors.recv()).await.unwrap();
    assert_eq!(error.payload, Payload::Json(json!({"source": "transport", "reason": "connection_closed"})));
    assert_eq!(room.state(), ChannelState::Errored);
    // Made while the server is down: held until the channel is joined again.
    let held = room.push("ping", json!({"n": 2}));

    let second = TestServer::start_on(port, Arc::default(), |s| s).await;
    socket_state(&socket, ConnectionState::Open).await;
    channel_state(&room, ChannelState::Joined).await;
    assert_eq!(within("the held push", held).await, Ok(Payload::Json(json!({"n": 2}))));
    assert_eq!(second.record.connects.load(Ordering::SeqCst), 1);
    assert_eq!(second.record.joins.load(Ordering::SeqCst), 1);

    // And the new server's broadcasts reach it.
    let other = client(&second.url()).connect().unwrap();
    let peer = other.channel("room:restart", json!({}));
    let mut shouts = room.on("shout");
    within("the peer's join", peer.join()).await.unwrap();
    within("the shout", peer.push("shout", json!({"after": "restart"}))).await.unwrap();
    let got = within("the broadcast", shouts.recv()).await.unwrap();
    assert_eq!(got.payload, Payload::Json(json!({"after": "restart"})));
}
