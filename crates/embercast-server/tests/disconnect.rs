//! Socket ids (PROTOCOL.md §2.9): broadcasting `disconnect` on a socket id
//! closes every connection that has it with close code 1001 and runs every
//! channel's `terminate`; other connections stay.

#[macro_use]
mod support;

use embercast_server::Terminate;
use serde_json::json;
use support::*;

for_each_transport_and_vsn! {
    async fn disconnect_closes_every_connection_with_that_id(t: Transport, vsn: Vsn) {
        let server = start().await;
        let id42 = format!("socket_id=user_socket:42&{}", vsn.query());
        let mut a = Client::connect_query(&server, t, &id42, vsn).await;
        let mut b = Client::connect_query(&server, t, &id42, vsn).await;
        let id7 = format!("socket_id=user_socket:7&{}", vsn.query());
        let mut other = Client::connect_query(&server, t, &id7, vsn).await;
        let mut anonymous = Client::connect(&server, t, vsn).await;
        a.join("room:a", "3").await;
        a.join("room:b", "5").await;
        b.join("room:c", "3").await;
        other.join("room:a", "3").await;
        anonymous.join("room:a", "3").await;

        server.pubsub.broadcast("user_socket:42", "disconnect", json!({})).unwrap();

        a.expect_close(1001).await;
        b.expect_close(1001).await;
        for (topic, jr) in [("room:a", "3"), ("room:b", "5"), ("room:c", "3")] {
            let t = server.probe.wait_for(&format!("terminate of {topic}"), |s| {
                s.terminated.iter().find(|t| t.topic == topic && t.join_ref == json!(jr)).map(|t| t.reason.clone())
            })
            .await;
            assert_eq!(t, Terminate::Closed);
        }
        other.expect_heartbeat_next().await;
        anonymous.expect_heartbeat_next().await;
        other.send(json!(["3", "4", "room:a", "ping", {}])).await;
        other.expect(json!(["3", "4", "room:a", "phx_reply", ok(json!({}))])).await;
    }

    /// Other events on the socket id topic do nothing.
    async fn other_events_on_the_socket_id_are_ignored(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut a = Client::connect_query(&server, t, &format!("socket_id=user_socket:42&{}", vsn.query()), vsn).await;
        server.pubsub.broadcast("user_socket:42", "hello", json!({})).unwrap();
        a.expect_heartbeat_next().await;
    }

    /// The id belongs to each connection: a reconnect with the same id is
    /// subscribed again and can be disconnected again.
    async fn reconnected_socket_can_be_disconnected_again(t: Transport, vsn: Vsn) {
        let server = start().await;
        let q = format!("socket_id=user_socket:42&{}", vsn.query());
        let mut a = Client::connect_query(&server, t, &q, vsn).await;
        server.pubsub.broadcast("user_socket:42", "disconnect", json!({})).unwrap();
        a.expect_close(1001).await;
        let mut a = Client::connect_query(&server, t, &q, vsn).await;
        a.expect_heartbeat_next().await;
        server.pubsub.broadcast("user_socket:42", "disconnect", json!({})).unwrap();
        a.expect_close(1001).await;
    }

    /// The socket id subscription exists as soon as the client has its 101:
    /// a `disconnect` published right after the upgrade is not lost.
    async fn disconnect_right_after_the_upgrade_is_not_lost(t: Transport, vsn: Vsn) {
        let server = start().await;
        for i in 0..20 {
            let mut c = Client::connect_query(&server, t, &format!("socket_id=s:{i}&{}", vsn.query()), vsn).await;
            server.pubsub.broadcast(&format!("s:{i}"), "disconnect", json!({})).unwrap();
            c.expect_close(1001).await;
        }
    }
}
