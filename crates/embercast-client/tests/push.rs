//! Pushes and their replies: ok, error, timeout, and pushes made before the
//! join completes.

#[macro_use]
mod support;

use std::sync::atomic::Ordering;
use std::time::Duration;

use embercast_client::{ChannelError, ChannelState, Payload, Serializer};
use serde_json::json;
use support::{client, joined, within, TestServer};

for_each_vsn! {
    async fn ok_and_error_replies_map_to_results(vsn: Serializer) {
        let server = TestServer::start().await;
        let (_socket, room) = joined(client(&server.url()).vsn(vsn), "room:replies").await;
        let ok = within("the ping reply", room.push("ping", json!({"n": 1}))).await;
        assert_eq!(ok, Ok(Payload::Json(json!({"n": 1}))));
        let error = within("the fail reply", room.push("fail", json!({}))).await;
        assert_eq!(error, Err(ChannelError::Reply(Payload::Json(json!({"reason": "nope"})))));
    }
}

#[tokio::test]
async fn an_unanswered_push_times_out_and_the_channel_carries_on() {
    let server = TestServer::start().await;
    let (_socket, room) = joined(client(&server.url()), "room:slow").await;
    let slow = room.push_with_timeout("slow", json!({}), Duration::from_millis(200));
    let started = tokio::time::Instant::now();
    assert_eq!(within("the timeout", slow).await, Err(ChannelError::Timeout));
    assert!(started.elapsed() >= Duration::from_millis(200), "timed out early: {:?}", started.elapsed());
    assert_eq!(within("a later ping", room.push("ping", json!({}))).await, Ok(Payload::Json(json!({}))));
}

#[tokio::test]
async fn pushes_made_before_the_join_completes_are_sent_after_it_in_order() {
    let server = TestServer::start().await;
    let socket = client(&server.url()).connect().unwrap();
    let room = socket.channel("room:gated", json!({"gated": true}));
    let early = room.push("log", json!({"n": 0}));
    let join = room.join();
    let pushes: Vec<_> = (1..=3).map(|n| room.push("log", json!({ "n": n }))).collect();
    // The server holds the join until the gate opens, so all four pushes
    // were made while the channel was joining.
    let mut states = room.state_changes();
    within("the join to be sent", states.wait_for(|s| *s == ChannelState::Joining)).await.unwrap();
    assert!(server.record.log.lock().unwrap().is_empty());
    server.record.gate.add_permits(1);
    within("the join", join).await.unwrap();
    within("the early push", early).await.unwrap();
    for p in pushes {
        within("a buffered push", p).await.unwrap();
    }
    let log = server.record.log.lock().unwrap().clone();
    assert_eq!(log, [json!({"n": 0}), json!({"n": 1}), json!({"n": 2}), json!({"n": 3})]);
    assert_eq!(server.record.joins.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_buffered_push_times_out_if_the_join_never_completes() {
    let server = TestServer::start().await;
    let socket = client(&server.url()).connect().unwrap();
    let room = socket.channel("room:never", json!({"gated": true}));
    let _join = room.join();
    let push = room.push_with_timeout("log", json!({}), Duration::from_millis(100));
    assert_eq!(within("the buffered push to time out", push).await, Err(ChannelError::Timeout));
    assert_eq!(room.state(), ChannelState::Joining);
}
