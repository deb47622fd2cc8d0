//! Broadcasts (PROTOCOL.md §5.7, §8.4): from a channel to every subscriber
//! (the sender included), `broadcast_from` without the sender, and from
//! server code through the `PubSub` handle; each client gets its own encoding.

#[macro_use]
mod support;

use embercast_server::{Broadcast, Payload};
use serde_json::json;
use support::*;

for_each_vsn! {
    /// A channel's broadcast reaches every subscriber of the topic, its own client included.
    async fn channel_broadcast_reaches_every_subscriber(vsn: Vsn) {
        let server = start().await;
        let mut a = Client::connect(&server, vsn).await;
        let mut b = Client::connect(&server, vsn).await;
        let mut elsewhere = Client::connect(&server, vsn).await;
        a.join("room:lobby", "3").await;
        b.join("room:lobby", "7").await;
        elsewhere.join("room:other", "3").await;
        a.send(json!(["3", "4", "room:lobby", "broadcast", {"event": "new_msg", "payload": {"body": "hi"}}])).await;
        a.expect(json!([null, null, "room:lobby", "new_msg", {"body": "hi"}])).await;
        a.expect(json!(["3", "4", "room:lobby", "phx_reply", ok(json!({}))])).await;
        b.expect(json!([null, null, "room:lobby", "new_msg", {"body": "hi"}])).await;
        elsewhere.expect_heartbeat_next().await;
    }

    /// `broadcast_from` skips the sending channel's client only.
    async fn broadcast_from_excludes_the_sender(vsn: Vsn) {
        let server = start().await;
        let mut a = Client::connect(&server, vsn).await;
        let mut b = Client::connect(&server, vsn).await;
        a.join("room:lobby", "3").await;
        b.join("room:lobby", "3").await;
        a.send(json!(["3", "4", "room:lobby", "broadcast_from", {"event": "typing", "payload": {"who": "a"}}])).await;
        a.expect(json!(["3", "4", "room:lobby", "phx_reply", ok(json!({}))])).await;
        b.expect(json!([null, null, "room:lobby", "typing", {"who": "a"}])).await;
        a.expect_heartbeat_next().await;
    }

    /// Server code broadcasts through the socket's `PubSub`.
    async fn pubsub_handle_broadcasts_from_outside_a_channel(vsn: Vsn) {
        let server = start().await;
        let mut a = Client::connect(&server, vsn).await;
        a.join("room:lobby", "3").await;
        let pubsub = server.pubsub.clone();
        tokio::spawn(async move { pubsub.broadcast("room:lobby", "news", json!({"from": "server"})).unwrap() })
            .await
            .unwrap();
        a.expect(json!([null, null, "room:lobby", "news", {"from": "server"}])).await;
        // A prepared Broadcast, and a local-only one.
        let b = Broadcast { topic: "room:lobby".into(), event: "local".into(), payload: json!({"n": 2}).into() };
        server.pubsub.local_broadcast(&b);
        a.expect(json!([null, null, "room:lobby", "local", {"n": 2}])).await;
    }

    /// Broadcast payloads must be JSON objects or bytes; other JSON is refused
    /// to the publisher and nothing is sent.
    async fn broadcast_of_a_non_object_is_refused(vsn: Vsn) {
        let server = start().await;
        let mut a = Client::connect(&server, vsn).await;
        a.join("room:lobby", "3").await;
        assert!(server.pubsub.broadcast("room:lobby", "bad", json!([1, 2])).is_err());
        assert!(server.pubsub.broadcast("room:lobby", "bad", json!("text")).is_err());
        a.expect_heartbeat_next().await;
    }
}

/// V1 and V2 clients on one topic each get the broadcast in their own encoding.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v1_and_v2_subscribers_each_get_their_own_encoding() {
    let server = start().await;
    let mut v1 = Client::connect(&server, Vsn::V1).await;
    let mut v2 = Client::connect(&server, Vsn::V2).await;
    v1.join("room:lobby", "3").await;
    v2.join("room:lobby", "3").await;
    server.pubsub.broadcast("room:lobby", "new_msg", json!({"body": "hi"})).unwrap();
    let Received::Text(t1) = v1.recv().await else { panic!("V1 gets text") };
    let Received::Text(t2) = v2.recv().await else { panic!("V2 gets text") };
    let j1: serde_json::Value = serde_json::from_str(&t1).unwrap();
    let j2: serde_json::Value = serde_json::from_str(&t2).unwrap();
    assert_eq!(j1, json!({"event": "new_msg", "payload": {"body": "hi"}, "ref": null, "topic": "room:lobby"}));
    assert_eq!(j2, json!([null, null, "room:lobby", "new_msg", {"body": "hi"}]));
}

/// A binary broadcast reaches V2 clients as a kind-2 frame and is skipped
/// for V1 clients, which cannot carry bytes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_broadcast_reaches_v2_as_kind_2_and_skips_v1() {
    let server = start().await;
    let mut v1 = Client::connect(&server, Vsn::V1).await;
    let mut v2 = Client::connect(&server, Vsn::V2).await;
    v1.join("room:lobby", "3").await;
    v2.join("room:lobby", "3").await;
    server.pubsub.broadcast("room:lobby", "frame", Payload::Binary(hex("de ad be ef").into())).unwrap();
    server.pubsub.broadcast("room:lobby", "after", json!({})).unwrap();
    // The example of PROTOCOL.md §3.4.
    assert_eq!(v2.recv_binary().await, hex("02 0a 05 72 6f 6f 6d 3a 6c 6f 62 62 79 66 72 61 6d 65 de ad be ef"));
    v2.expect(json!([null, null, "room:lobby", "after", {}])).await;
    v1.expect(json!([null, null, "room:lobby", "after", {}])).await;
}

/// A channel's binary broadcast from a V2 client's binary push reaches the other V2 clients.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_broadcast_from_a_channel() {
    let server = start().await;
    let mut a = Client::connect(&server, Vsn::V2).await;
    let mut b = Client::connect(&server, Vsn::V2).await;
    a.join("intercept:lobby", "3").await;
    b.join("intercept:lobby", "3").await;
    // `Intercepting` broadcasts every event it gets, payload untouched.
    a.send_binary(&binary_push("3", "4", "intercept:lobby", "blob", &[7, 8, 9])).await;
    let expected = [&[2u8, 15, 4][..], b"intercept:lobby", b"blob", &[7, 8, 9]].concat();
    assert_eq!(a.recv_binary().await, expected);
    a.expect(json!(["3", "4", "intercept:lobby", "phx_reply", ok(json!({}))])).await;
    assert_eq!(b.recv_binary().await, expected);
}
