//! Intercepted broadcasts (PROTOCOL.md §5.8): only events a channel lists in
//! `INTERCEPT` go through its `handle_out`, once per subscriber; the rest take
//! the fastlane.

#[macro_use]
mod support;

use serde_json::json;
use support::*;

fn handle_out_calls(server: &Server, event: &str) -> usize {
    server.probe.read(|s| s.handle_out.iter().filter(|(_, e)| e == event).count())
}

for_each_transport_and_vsn! {
    /// Vector `intercepted_broadcast`: the reply first (the intercepted event
    /// is queued behind the current `handle_in`), then the re-pushed event
    /// with the channel's join_ref.
    async fn intercepted_event_is_pushed_by_handle_out(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.join("intercept:lobby", "3").await;
        c.send(json!(["3", "4", "intercept:lobby", "new_msg", {"body": "hi"}])).await;
        c.expect(json!(["3", "4", "intercept:lobby", "phx_reply", ok(json!({}))])).await;
        c.expect(json!(["3", null, "intercept:lobby", "new_msg", {"body": "hi", "intercepted": true}])).await;
    }

    /// An event that is not intercepted is written straight to the client
    /// (before the reply, with null refs) and never reaches `handle_out`.
    async fn event_not_intercepted_takes_the_fastlane(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.join("intercept:lobby", "3").await;
        c.send(json!(["3", "4", "intercept:lobby", "plain", {"body": "hi"}])).await;
        c.expect(json!([null, null, "intercept:lobby", "plain", {"body": "hi"}])).await;
        c.expect(json!(["3", "4", "intercept:lobby", "phx_reply", ok(json!({}))])).await;
        c.expect_heartbeat_next().await;
        assert_eq!(server.probe.read(|s| s.handle_out.len()), 0);
    }

    /// `handle_out` may drop an event: nothing reaches the client.
    async fn handle_out_can_drop_an_event(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.join("intercept:lobby", "3").await;
        server.pubsub.broadcast("intercept:lobby", "hidden", json!({})).unwrap();
        server.probe.wait_for("handle_out of hidden", |s| (!s.handle_out.is_empty()).then_some(())).await;
        // handle_out has returned once the next push is answered.
        c.send(json!(["3", "5", "intercept:lobby", "plain", {}])).await;
        c.expect(json!([null, null, "intercept:lobby", "plain", {}])).await;
        c.expect(json!(["3", "5", "intercept:lobby", "phx_reply", ok(json!({}))])).await;
    }

    /// An intercepted event costs one `handle_out` per subscriber; a
    /// fastlaned one costs none.
    async fn handle_out_runs_once_per_subscriber(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut clients = Vec::new();
        for _ in 0..5 {
            let mut c = Client::connect(&server, t, vsn).await;
            c.join("intercept:lobby", "3").await;
            clients.push(c);
        }
        server.pubsub.broadcast("intercept:lobby", "plain", json!({"k": 0})).unwrap();
        server.pubsub.broadcast("intercept:lobby", "new_msg", json!({"k": 1})).unwrap();
        for c in &mut clients {
            c.expect(json!([null, null, "intercept:lobby", "plain", {"k": 0}])).await;
            c.expect(json!(["3", null, "intercept:lobby", "new_msg", {"k": 1, "intercepted": true}])).await;
        }
        assert_eq!(handle_out_calls(&server, "new_msg"), 5);
        assert_eq!(handle_out_calls(&server, "plain"), 0);
    }

    /// A channel that intercepts nothing gets every broadcast by the fastlane:
    /// `Room` subscribers on the same event are unaffected by `Intercepting`'s list.
    async fn intercept_lists_are_per_channel(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.join("room:lobby", "3").await;
        server.pubsub.broadcast("room:lobby", "new_msg", json!({"body": "hi"})).unwrap();
        c.expect(json!([null, null, "room:lobby", "new_msg", {"body": "hi"}])).await;
        assert_eq!(server.probe.read(|s| s.handle_out.len()), 0);
    }
}
