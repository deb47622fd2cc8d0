//! A join for a topic that already has a channel (PROTOCOL.md §4.4): the new
//! join's reply, then `phx_close` with the **old** join_ref; one instance left.

#[macro_use]
mod support;

use serde_json::json;
use support::*;

for_each_transport_and_vsn! {
    /// Joins sent back to back, each before the previous one's reply (third
    /// party clients do this): every join and every push queued behind it is
    /// answered, in order, as Phoenix does by handling one join at a time.
    async fn pipelined_rejoins_are_each_answered_in_order(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.send_all([
            json!(["1", "1", "room:lobby", "phx_join", {}]),
            json!(["1", "2", "room:lobby", "ping", {}]),
            json!(["3", "3", "room:lobby", "phx_join", {}]),
            json!(["3", "4", "room:lobby", "ping", {}]),
            json!(["5", "5", "room:lobby", "phx_join", {}]),
        ])
        .await;
        c.expect(json!(["1", "1", "room:lobby", "phx_reply", ok(json!({}))])).await;
        c.expect(json!(["1", "2", "room:lobby", "phx_reply", ok(json!({}))])).await;
        c.expect(json!(["3", "3", "room:lobby", "phx_reply", ok(json!({}))])).await;
        c.expect(json!(["1", "1", "room:lobby", "phx_close", {}])).await;
        c.expect(json!(["3", "4", "room:lobby", "phx_reply", ok(json!({}))])).await;
        c.expect(json!(["5", "5", "room:lobby", "phx_reply", ok(json!({}))])).await;
        c.expect(json!(["3", "3", "room:lobby", "phx_close", {}])).await;
    }

    /// A client that leaves and rejoins, or rejoins without leaving, while
    /// the topic is broadcasting never gets a broadcast twice: the instance
    /// being left or replaced stops receiving before the new one subscribes.
    async fn no_broadcast_twice_across_rejoins(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.join("room:dup", "1").await;
        let pubsub = server.pubsub.clone();
        let publisher = tokio::spawn(async move {
            for n in 0..2000u32 {
                pubsub.broadcast("room:dup", "tick", json!({ "n": n })).unwrap();
                if n % 50 == 0 {
                    tokio::task::yield_now().await;
                }
            }
        });
        let mut jr = 1u32;
        for round in 0..20u32 {
            let next = jr + 2;
            let (old, new) = (jr.to_string(), next.to_string());
            if round % 2 == 0 {
                c.send_all([
                    json!([old, format!("{next}l"), "room:dup", "phx_leave", {}]),
                    json!([new, new, "room:dup", "phx_join", {}]),
                ])
                .await;
            } else {
                c.send(json!([new, new, "room:dup", "phx_join", {}])).await;
            }
            jr = next;
        }
        publisher.await.unwrap();
        let last_join = jr.to_string();
        let mut seen = std::collections::HashSet::new();
        let mut done_sent = false;
        loop {
            let frame = c.recv_json().await;
            if frame[3] == "tick" {
                let n = frame[4]["n"].as_u64().unwrap();
                assert!(seen.insert(n), "broadcast {n} delivered twice");
            } else if frame[3] == "phx_reply" && frame[1] == last_join.as_str() && !done_sent {
                // The last instance is subscribed: a marker now reaches it.
                server.pubsub.broadcast("room:dup", "done", json!({})).unwrap();
                done_sent = true;
            } else if frame[3] == "done" {
                break;
            }
        }
    }

    /// Vector `duplicate_join`.
    async fn new_reply_then_phx_close_for_the_old_join_ref(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.join("room:lobby", "3").await;
        c.send(json!(["9", "9", "room:lobby", "phx_join", {}])).await;
        c.expect(json!(["9", "9", "room:lobby", "phx_reply", ok(json!({}))])).await;
        c.expect(json!(["3", "3", "room:lobby", "phx_close", {}])).await;
    }

    /// Only the new instance is left: it answers pushes with its join_ref,
    /// pushes with the old join_ref are dropped, and the old instance's
    /// `terminate` never runs.
    async fn only_the_new_instance_is_left(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.join("room:lobby", "3").await;
        c.send(json!(["9", "9", "room:lobby", "phx_join", {}])).await;
        c.expect(json!(["9", "9", "room:lobby", "phx_reply", ok(json!({}))])).await;
        c.expect(json!(["3", "3", "room:lobby", "phx_close", {}])).await;

        c.send(json!(["9", "10", "room:lobby", "whoami", {}])).await;
        let reply = c.recv_json().await;
        assert_eq!(reply[4]["response"]["join_ref"], "9");
        if vsn == Vsn::V2 {
            assert_eq!(reply[0], "9");
        }
        c.send(json!(["3", "11", "room:lobby", "ping", {}])).await;
        c.expect_heartbeat_next().await;

        c.send(json!(["9", "12", "room:lobby", "phx_leave", {}])).await;
        c.expect(json!(["9", "12", "room:lobby", "phx_reply", ok(json!({}))])).await;
        c.expect(json!(["9", "9", "room:lobby", "phx_close", {}])).await;
        server.probe.terminated("room:lobby", json!("9")).await;
        let reasons: Vec<_> = server.probe.terminations("room:lobby").into_iter().map(|t| t.join_ref).collect();
        assert_eq!(reasons, vec![json!("9")], "the replaced instance is killed without terminate");
    }

    /// One subscription is left: a broadcast reaches the client once.
    async fn a_broadcast_arrives_once_after_a_duplicate_join(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.join("room:lobby", "3").await;
        c.send(json!(["9", "9", "room:lobby", "phx_join", {}])).await;
        c.expect(json!(["9", "9", "room:lobby", "phx_reply", ok(json!({}))])).await;
        c.expect(json!(["3", "3", "room:lobby", "phx_close", {}])).await;
        server.probe.handle("room:lobby").await;
        server.pubsub.broadcast("room:lobby", "news", json!({"n": 1})).unwrap();
        c.expect(json!([null, null, "room:lobby", "news", {"n": 1}])).await;
        c.expect_heartbeat_next().await;
    }

    /// When the new join is refused, the old instance is closed all the same:
    /// error reply, then `phx_close` for the old join_ref, then no channel.
    async fn refused_duplicate_join_still_closes_the_old_instance(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.join("room:lobby", "3").await;
        c.send_join("room:lobby", "9", json!({"refuse": {"reason": "no"}})).await;
        c.expect(json!(["9", "9", "room:lobby", "phx_reply", error(json!({"reason": "no"}))])).await;
        c.expect(json!(["3", "3", "room:lobby", "phx_close", {}])).await;
        c.send(json!([null, "10", "room:lobby", "ping", {}])).await;
        c.expect(json!([null, "10", "room:lobby", "phx_reply", error(json!({"reason": "unmatched topic"}))])).await;
    }

    /// A join sent right behind a leave is not a duplicate: the leaving
    /// instance answers its leave and sends its one `phx_close`, the new one
    /// answers the join. The two instances are different senders, so their
    /// frames may interleave; each one's own frames keep their order.
    async fn join_right_after_leave_is_not_a_duplicate(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.join("room:lobby", "3").await;
        c.send(json!(["3", "4", "room:lobby", "phx_leave", {}])).await;
        c.send(json!(["5", "5", "room:lobby", "phx_join", {}])).await;
        let got = [c.recv_json().await, c.recv_json().await, c.recv_json().await];
        let mut leave_reply = json!(["3", "4", "room:lobby", "phx_reply", ok(json!({}))]);
        let mut close = json!(["3", "3", "room:lobby", "phx_close", {}]);
        let mut join_reply = json!(["5", "5", "room:lobby", "phx_reply", ok(json!({}))]);
        if vsn == Vsn::V1 {
            for f in [&mut leave_reply, &mut close, &mut join_reply] {
                f[0] = serde_json::Value::Null;
            }
        }
        let position =
            |f: &serde_json::Value| got.iter().position(|g| g == f).unwrap_or_else(|| panic!("missing {f} in {got:?}"));
        assert!(position(&leave_reply) < position(&close), "{got:?}");
        position(&join_reply);
        c.expect_heartbeat_next().await;
        assert_eq!(server.probe.terminated("room:lobby", json!("3")).await, embercast_server::Terminate::Left);
    }
}
