//! A crash stays in its channel (PROTOCOL.md §4.6): `phx_error` for that
//! channel only; other channels of the connection and other connections
//! carry on.

#[macro_use]
mod support;

use serde_json::json;
use support::*;

for_each_transport_and_vsn! {
    async fn panic_in_one_channel_leaves_the_rest_working(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut a = Client::connect(&server, t, vsn).await;
        let mut b = Client::connect(&server, t, vsn).await;
        a.join("room:crash", "3").await;
        a.join("room:calm", "5").await;
        b.join("room:crash", "3").await;

        a.send(json!(["3", "6", "room:crash", "boom", {}])).await;
        a.expect(json!(["3", "3", "room:crash", "phx_error", {"reason": "channel_crash"}])).await;

        // The other channel of the same connection.
        a.send(json!(["5", "7", "room:calm", "ping", {"still": "here"}])).await;
        a.expect(json!(["5", "7", "room:calm", "phx_reply", ok(json!({"still": "here"}))])).await;
        // The same topic on another connection: still joined, still subscribed.
        b.send(json!(["3", "4", "room:crash", "ping", {}])).await;
        b.expect(json!(["3", "4", "room:crash", "phx_reply", ok(json!({}))])).await;
        server.pubsub.broadcast("room:crash", "news", json!({"n": 1})).unwrap();
        b.expect(json!([null, null, "room:crash", "news", {"n": 1}])).await;
        // The crashed channel's client gets nothing more for that topic.
        a.expect_heartbeat_next().await;
    }

    /// A panic in a join does not disturb other connections either.
    async fn panic_in_a_join_leaves_other_connections_working(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut a = Client::connect(&server, t, vsn).await;
        let mut b = Client::connect(&server, t, vsn).await;
        b.join("room:lobby", "3").await;
        a.send_join("room:lobby", "3", json!({"panic": true})).await;
        a.expect(json!(["3", "3", "room:lobby", "phx_reply", error(json!({"reason": "join crashed"}))])).await;
        b.send(json!(["3", "4", "room:lobby", "ping", {}])).await;
        b.expect(json!(["3", "4", "room:lobby", "phx_reply", ok(json!({}))])).await;
    }

    /// Many channels crash one after another; the connection survives them all.
    async fn repeated_crashes_do_not_wear_the_connection_down(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        for i in 0..20 {
            let jr = format!("j{i}");
            c.join("room:lobby", &jr).await;
            c.send(json!([jr, "x", "room:lobby", "boom", {}])).await;
            c.expect(json!([jr, jr, "room:lobby", "phx_error", {"reason": "channel_crash"}])).await;
        }
        c.expect_heartbeat_next().await;
    }
}
