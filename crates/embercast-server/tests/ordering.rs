//! Ordering (PROTOCOL.md §4.11): a join's reply comes before anything its
//! channel pushes or its topic broadcasts; everything one sender sends
//! arrives in the order sent; one client's messages to one topic are handled
//! in the order sent.

#[macro_use]
mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde_json::{json, Value};
use support::*;

for_each_transport_and_vsn! {
    /// Vector `join_then_after_join_push_and_broadcast`: what `join` pushes
    /// and broadcasts is sent after the join reply, in the order it was done.
    async fn pushes_and_broadcasts_from_join_follow_the_reply(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut other = Client::connect(&server, t, vsn).await;
        other.join("room:lobby", "1").await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.send_join("room:lobby", "3", json!({"after_join": {"user": "bob"}})).await;
        c.expect(json!(["3", "3", "room:lobby", "phx_reply", ok(json!({}))])).await;
        c.expect(json!([null, null, "room:lobby", "user_entered", {"user": "bob"}])).await;
        c.expect(json!(["3", null, "room:lobby", "joined", {"status": "connected"}])).await;
        // The broadcast from join reached the topic's other subscribers too.
        other.expect(json!([null, null, "room:lobby", "user_entered", {"user": "bob"}])).await;
    }

    /// While another task broadcasts on the topic without pause, the first
    /// frame a joining client gets for that topic is its join reply, and the
    /// broadcasts after it are in publish order.
    async fn join_reply_precedes_concurrent_topic_broadcasts(t: Transport, vsn: Vsn) {
        let server = start().await;
        for round in 0..10 {
            let topic = format!("room:busy{round}");
            let stop = Arc::new(AtomicBool::new(false));
            let publisher = tokio::spawn({
                let (pubsub, topic, stop) = (server.pubsub.clone(), topic.clone(), stop.clone());
                async move {
                    let mut n = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        pubsub.broadcast(&topic, "tick", json!({"n": n})).unwrap();
                        n += 1;
                        tokio::task::yield_now().await;
                    }
                }
            });
            let mut c = Client::connect(&server, t, vsn).await;
            c.join(&topic, "3").await;
            let mut last = None;
            for _ in 0..20 {
                let f = c.recv_json().await;
                assert_eq!((&f[2], &f[3]), (&json!(topic), &json!("tick")), "{f}");
                let n = f[4]["n"].as_u64().expect("n");
                assert!(last.is_none_or(|l| n == l + 1), "tick {n} after {last:?}");
                last = Some(n);
            }
            stop.store(true, Ordering::Relaxed);
            publisher.await.unwrap();
        }
    }

    /// The channel is subscribed by the time its join reply is on the wire:
    /// a broadcast published as soon as the client sees the reply reaches it.
    async fn broadcast_right_after_the_join_reply_is_not_lost(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        for i in 0..50 {
            let topic = format!("room:{i}");
            c.join(&topic, "3").await;
            server.pubsub.broadcast(&topic, "news", json!({"i": i})).unwrap();
            c.expect(json!([null, null, topic, "news", {"i": i}])).await;
        }
    }

    /// Vector `event_with_reply_and_broadcast`: a broadcast made in
    /// `handle_in` reaches the sender before the reply.
    async fn channel_broadcast_reaches_its_own_client_before_the_reply(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.join("room:lobby", "3").await;
        c.send(json!(["3", "4", "room:lobby", "broadcast", {"event": "new_msg", "payload": {"body": "hi"}}])).await;
        c.expect(json!([null, null, "room:lobby", "new_msg", {"body": "hi"}])).await;
        c.expect(json!(["3", "4", "room:lobby", "phx_reply", ok(json!({}))])).await;
    }

    /// A push made in `handle_in` reaches the client before the reply.
    async fn channel_push_reaches_the_client_before_the_reply(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.join("room:lobby", "3").await;
        c.send(json!(["3", "4", "room:lobby", "push", {"event": "note", "payload": {"a": 1}}])).await;
        c.expect(json!(["3", null, "room:lobby", "note", {"a": 1}])).await;
        c.expect(json!(["3", "4", "room:lobby", "phx_reply", ok(json!({}))])).await;
    }

    /// 1,000 broadcasts from one publisher arrive in publish order.
    async fn broadcasts_from_one_publisher_arrive_in_publish_order(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.join("room:lobby", "3").await;
        let pubsub = server.pubsub.clone();
        tokio::spawn(async move {
            for n in 0..1000 {
                pubsub.broadcast("room:lobby", "n", json!({"n": n})).unwrap();
            }
        });
        for n in 0..1000 {
            c.expect(json!([null, null, "room:lobby", "n", {"n": n}])).await;
        }
    }

    /// Two publishers interleave, but each one's broadcasts stay in order.
    async fn each_publisher_keeps_its_order_when_two_interleave(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.join("room:lobby", "3").await;
        for name in ["a", "b"] {
            let pubsub = server.pubsub.clone();
            tokio::spawn(async move {
                for n in 0..500 {
                    pubsub.broadcast("room:lobby", name, json!({"n": n})).unwrap();
                    if n % 10 == 0 {
                        tokio::task::yield_now().await;
                    }
                }
            });
        }
        let mut next = [0u64, 0];
        for _ in 0..1000 {
            let f = c.recv_json().await;
            let i = if f[3] == "a" { 0 } else { 1 };
            assert_eq!(f[4]["n"], json!(next[i]), "publisher {} out of order", f[3]);
            next[i] += 1;
        }
    }

    /// 200 messages from one client to one topic are handled, and answered,
    /// in the order sent (LongPoll: one POST each).
    async fn messages_to_one_topic_are_handled_in_order(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.join("room:lobby", "3").await;
        for n in 0..200 {
            c.send(json!(["3", format!("{n}"), "room:lobby", "seq", {"n": n}])).await;
        }
        for n in 0..200 {
            c.expect(json!(["3", format!("{n}"), "room:lobby", "phx_reply", ok(json!({"n": n}))])).await;
        }
        let handled: Vec<i64> = server.probe.read(|s| s.seq.iter().map(|(_, n)| *n).collect());
        assert_eq!(handled, (0..200).collect::<Vec<_>>());
    }

    /// Messages to two topics interleaved on one connection: each topic's
    /// messages are handled in order.
    async fn messages_to_two_topics_keep_their_own_order(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.join("room:a", "3").await;
        c.join("room:b", "5").await;
        // LongPoll: two POSTs of 100 lines each.
        let a = |n: i64| json!(["3", format!("a{n}"), "room:a", "seq", {"n": n}]);
        let b = |n: i64| json!(["5", format!("b{n}"), "room:b", "seq", {"n": n}]);
        c.send_all((0..100).flat_map(|n| [a(n), b(n)])).await;
        let mut next = [0i64, 0];
        for _ in 0..200 {
            let f = c.recv_json().await;
            let i = if f[2] == "room:a" { 0 } else { 1 };
            assert_eq!(f[4]["response"]["n"], json!(next[i]), "{f}");
            next[i] += 1;
        }
        for topic in ["room:a", "room:b"] {
            let handled: Vec<i64> =
                server.probe.read(|s| s.seq.iter().filter(|(t, _)| t == topic).map(|(_, n)| *n).collect());
            assert_eq!(handled, (0..100).collect::<Vec<_>>(), "{topic}");
        }
    }
}

for_each_transport! {
    /// A message sent right behind a slow join waits for it, then is handled in
    /// order; the replies keep that order.
    async fn messages_behind_a_slow_join_wait_for_it(t: Transport) {
        let server = start().await;
        let mut c = Client::connect(&server, t, Vsn::V2).await;
        c.send_join("room:lobby", "3", json!({"slow": true})).await;
        for n in 0..5 {
            c.send(json!(["3", format!("{n}"), "room:lobby", "seq", {"n": n}])).await;
        }
        server.probe.at_gate(1).await;
        c.expect_heartbeat_next().await;
        server.probe.open_gate(1);
        c.expect(json!(["3", "3", "room:lobby", "phx_reply", ok(json!({}))])).await;
        for n in 0..5 {
            let f: Value = c.recv_json().await;
            assert_eq!(f, json!(["3", format!("{n}"), "room:lobby", "phx_reply", ok(json!({"n": n}))]));
        }
    }
}

for_each_transport_and_vsn! {
    /// `hold_broadcasts`: broadcasts of the held events published after the
    /// join wait until the channel releases the hold, and then follow what it
    /// pushed first; other events are not delayed.
    async fn held_broadcasts_follow_the_snapshot_pushed_before_the_release(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.send_join("room:lobby", "3", json!({"hold": ["b1", "b2"]})).await;
        c.expect(json!(["3", "3", "room:lobby", "phx_reply", ok(json!({}))])).await;
        server.pubsub.broadcast("room:lobby", "b1", json!({"n": 1})).unwrap();
        server.pubsub.broadcast("room:lobby", "other", json!({"n": 0})).unwrap();
        server.pubsub.broadcast("room:lobby", "b2", json!({"n": 2})).unwrap();
        c.expect(json!([null, null, "room:lobby", "other", {"n": 0}])).await;
        c.send(json!(["3", "4", "room:lobby", "release", {"state": true}])).await;
        c.expect(json!(["3", null, "room:lobby", "snapshot", {"state": true}])).await;
        c.expect(json!([null, null, "room:lobby", "b1", {"n": 1}])).await;
        c.expect(json!([null, null, "room:lobby", "b2", {"n": 2}])).await;
        c.expect(json!(["3", "4", "room:lobby", "phx_reply", ok(json!({}))])).await;
        server.pubsub.broadcast("room:lobby", "b3", json!({"n": 3})).unwrap();
        c.expect(json!([null, null, "room:lobby", "b3", {"n": 3}])).await;
    }

    /// A hold taken by a join that is then refused holds nothing back later.
    async fn a_refused_join_with_a_hold_leaves_the_topic_working(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.send_join("room:lobby", "3", json!({"hold": ["b1"], "refuse": {}})).await;
        c.expect(json!(["3", "3", "room:lobby", "phx_reply", {"status": "error", "response": {}}])).await;
        c.join("room:lobby", "5").await;
        server.pubsub.broadcast("room:lobby", "b1", json!({})).unwrap();
        c.expect(json!([null, null, "room:lobby", "b1", {}])).await;
    }
}
