//! Broadcasts (PROTOCOL.md §5.7, §8.4): from a channel to every subscriber
//! (the sender included), `broadcast_from` without the sender, and from
//! server code through the `PubSub` handle; each client gets its own
//! encoding, whatever its transport. Broadcasts of bytes, on every path:
//! `tests/binary_policy.rs`.

#[macro_use]
mod support;

use embercast_server::Broadcast;
use serde_json::json;
use support::*;

for_each_transport_and_vsn! {
    /// A channel's broadcast reaches every subscriber of the topic, its own client included.
    async fn channel_broadcast_reaches_every_subscriber(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut a = Client::connect(&server, t, vsn).await;
        let mut b = Client::connect(&server, t, vsn).await;
        let mut elsewhere = Client::connect(&server, t, vsn).await;
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
    async fn broadcast_from_excludes_the_sender(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut a = Client::connect(&server, t, vsn).await;
        let mut b = Client::connect(&server, t, vsn).await;
        a.join("room:lobby", "3").await;
        b.join("room:lobby", "3").await;
        a.send(json!(["3", "4", "room:lobby", "broadcast_from", {"event": "typing", "payload": {"who": "a"}}])).await;
        a.expect(json!(["3", "4", "room:lobby", "phx_reply", ok(json!({}))])).await;
        b.expect(json!([null, null, "room:lobby", "typing", {"who": "a"}])).await;
        a.expect_heartbeat_next().await;
    }

    /// Server code broadcasts through the socket's `PubSub`.
    async fn pubsub_handle_broadcasts_from_outside_a_channel(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut a = Client::connect(&server, t, vsn).await;
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
    async fn broadcast_of_a_non_object_is_refused(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut a = Client::connect(&server, t, vsn).await;
        a.join("room:lobby", "3").await;
        assert!(server.pubsub.broadcast("room:lobby", "bad", json!([1, 2])).is_err());
        assert!(server.pubsub.broadcast("room:lobby", "bad", json!("text")).is_err());
        a.expect_heartbeat_next().await;
    }
}

/// Clients of every transport and version on one topic see each other's
/// channel broadcasts: each client in turn broadcasts, all four receive it,
/// each in its own encoding.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_of_both_transports_see_each_others_broadcasts() {
    let server = start().await;
    let mut clients = Vec::new();
    for t in [Transport::WebSocket, Transport::LongPoll] {
        for vsn in [Vsn::V1, Vsn::V2] {
            let mut c = Client::connect(&server, t, vsn).await;
            c.join("room:lobby", "3").await;
            clients.push(c);
        }
    }
    for from in 0..clients.len() {
        let who = format!("{:?} {:?}", clients[from].transport, clients[from].vsn);
        let frame = json!(["3", "4", "room:lobby", "broadcast", {"event": "new_msg", "payload": {"from": who}}]);
        clients[from].send(frame).await;
        for c in &mut clients {
            c.expect(json!([null, null, "room:lobby", "new_msg", {"from": who}])).await;
        }
        clients[from].expect(json!(["3", "4", "room:lobby", "phx_reply", ok(json!({}))])).await;
    }
    for c in &mut clients {
        c.expect_heartbeat_next().await;
    }
}

for_each_transport! {
    /// V1 and V2 clients on one topic each get the broadcast in their own
    /// encoding (LongPoll: the same text, as a `messages` string).
    async fn v1_and_v2_subscribers_each_get_their_own_encoding(t: Transport) {
        let server = start().await;
        let mut v1 = Client::connect(&server, t, Vsn::V1).await;
        let mut v2 = Client::connect(&server, t, Vsn::V2).await;
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

    /// A V2 client's binary push (LongPoll: a base64 line), broadcast by its
    /// channel, reaches the WebSocket V2 subscribers as a kind-2 frame. The
    /// sender gets it too over WebSocket; over LongPoll it is skipped for
    /// the sender (bytes cannot travel over LongPoll), which gets its reply alone.
    async fn binary_broadcast_from_a_channel(t: Transport) {
        let server = start().await;
        let mut a = Client::connect(&server, t, Vsn::V2).await;
        let mut b = Client::connect_ws(&server, Vsn::V2).await;
        a.join("intercept:lobby", "3").await;
        b.join("intercept:lobby", "3").await;
        // `Intercepting` broadcasts every event it gets, payload untouched.
        a.send_binary(&binary_push("3", "4", "intercept:lobby", "blob", &[7, 8, 9])).await;
        let expected = [&[2u8, 15, 4][..], b"intercept:lobby", b"blob", &[7, 8, 9]].concat();
        if t == Transport::WebSocket {
            assert_eq!(a.recv_binary().await, expected);
        }
        a.expect(json!(["3", "4", "intercept:lobby", "phx_reply", ok(json!({}))])).await;
        assert_eq!(b.recv_binary().await, expected);
        a.expect_heartbeat_next().await;
    }
}
