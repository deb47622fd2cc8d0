//! Binary payloads: V2 binary frames both ways; V1 refuses them locally.

mod support;

use embercast_client::{ChannelError, Payload, Serializer};
use serde_json::json;
use support::{client, joined, within, TestServer};

#[tokio::test]
async fn binary_payload_round_trip_v2() {
    let server = TestServer::start().await;
    let (_socket, room) = joined(client(&server.url()).vsn(Serializer::V2), "room:bin").await;
    let bytes: Vec<u8> = (0..=255u8).chain([0, 0, 255]).collect();
    let reply = within("the echo", room.push("ping", bytes.clone())).await;
    assert_eq!(reply, Ok(Payload::Binary(bytes.into())));
}

#[tokio::test]
async fn binary_broadcast_reaches_another_client_v2() {
    let server = TestServer::start().await;
    let sender = client(&server.url()).connect().unwrap();
    let receiver = client(&server.url()).connect().unwrap();
    let a = sender.channel("room:binb", json!({}));
    let b = receiver.channel("room:binb", json!({}));
    let mut shouts = b.on("shout");
    within("join a", a.join()).await.unwrap();
    within("join b", b.join()).await.unwrap();
    within("the shout", a.push("shout", vec![1u8, 2, 3])).await.unwrap();
    let got = within("the broadcast", shouts.recv()).await.expect("an event");
    assert_eq!(got.payload, Payload::Binary(vec![1u8, 2, 3].into()));
}

#[tokio::test]
async fn binary_over_v1_fails_without_sending() {
    let server = TestServer::start().await;
    let (_socket, room) = joined(client(&server.url()).vsn(Serializer::V1), "room:v1bin").await;
    let reply = within("the refusal", room.push("ping", vec![1u8])).await;
    assert!(matches!(reply, Err(ChannelError::Encode(ref e)) if e.is_binary_unsupported()), "{reply:?}");
    assert_eq!(within("a JSON ping", room.push("ping", json!({"ok": 1}))).await, Ok(Payload::Json(json!({"ok": 1}))));
}
