//! `terminate` (PROTOCOL.md §4.8, §5.10): it runs with the reason the
//! channel ended for, for every channel when the connection closes, and not
//! for crashes. Over LongPoll a connection closes when its session ends.

#[macro_use]
mod support;

use embercast_server::Terminate;
use serde_json::json;
use support::*;

for_each_transport_and_vsn! {
    /// A client that goes away without a word (WebSocket: the TCP
    /// connection drops; LongPoll: it stops polling, so its session times
    /// out): every channel terminates with `Closed`.
    async fn client_that_goes_away_terminates_every_channel(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.join("room:a", "3").await;
        c.join("room:b", "5").await;
        drop(c);
        assert_eq!(server.probe.terminated("room:a", json!("3")).await, Terminate::Closed);
        assert_eq!(server.probe.terminated("room:b", json!("5")).await, Terminate::Closed);
    }

    /// A channel busy in a callback when the connection closes terminates once the callback ends.
    async fn busy_channel_terminates_after_its_callback(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.join("room:a", "3").await;
        c.send(json!(["3", "4", "room:a", "slow", {}])).await;
        server.probe.at_gate(1).await;
        drop(c);
        server.probe.open_gate(1);
        assert_eq!(server.probe.terminated("room:a", json!("3")).await, Terminate::Closed);
    }

    /// `phx_leave` → `Left`.
    async fn leave_terminates_with_left(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.join("room:a", "3").await;
        c.send(json!(["3", "4", "room:a", "phx_leave", {}])).await;
        assert_eq!(server.probe.terminated("room:a", json!("3")).await, Terminate::Left);
    }

    /// `Stop::normal()` → `Stopped`; `Stop::error(r)` → `Error(r)`.
    async fn stop_terminates_with_its_reason(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.join("room:a", "3").await;
        c.join("room:b", "5").await;
        c.send(json!(["3", "4", "room:a", "stop", {}])).await;
        c.send(json!(["5", "6", "room:b", "stop_error", {}])).await;
        assert_eq!(server.probe.terminated("room:a", json!("3")).await, Terminate::Stopped);
        assert_eq!(
            server.probe.terminated("room:b", json!("5")).await,
            Terminate::Error("stopped with an error on purpose".into())
        );
    }

    /// Each instance terminates once, with its own join_ref.
    async fn terminate_runs_once_per_instance(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        for jr in ["3", "5", "7"] {
            c.join("room:a", jr).await;
            c.send(json!([jr, "x", "room:a", "phx_leave", {}])).await;
            c.expect(json!([jr, "x", "room:a", "phx_reply", ok(json!({}))])).await;
            c.expect(json!([jr, jr, "room:a", "phx_close", {}])).await;
        }
        drop(c);
        for jr in ["3", "5", "7"] {
            server.probe.terminated("room:a", json!(jr)).await;
        }
        let all: Vec<_> = server.probe.terminations("room:a").into_iter().map(|t| (t.join_ref, t.reason)).collect();
        assert_eq!(all.len(), 3, "{all:?}");
    }

    /// An instance that is still in a slow `terminate` after leaving no
    /// longer receives its topic's broadcasts, so a client that rejoined the
    /// topic meanwhile gets each broadcast once, from its new channel.
    async fn slow_terminate_does_not_duplicate_broadcasts_after_a_rejoin(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.send_join("room:a", "3", json!({"slow_terminate": true})).await;
        c.expect(json!(["3", "3", "room:a", "phx_reply", ok(json!({}))])).await;
        c.send(json!(["3", "4", "room:a", "phx_leave", {}])).await;
        c.expect(json!(["3", "4", "room:a", "phx_reply", ok(json!({}))])).await;
        c.expect(json!(["3", "3", "room:a", "phx_close", {}])).await;
        server.probe.at_gate(1).await;
        c.join("room:a", "5").await;
        server.pubsub.broadcast("room:a", "news", json!({"n": 1})).unwrap();
        c.expect(json!([null, null, "room:a", "news", {"n": 1}])).await;
        c.expect_heartbeat_next().await;
        server.probe.open_gate(1);
        assert_eq!(server.probe.terminated("room:a", json!("3")).await, Terminate::Left);
    }
}

for_each_vsn! {
    /// A WebSocket close frame from the client: the server echoes the code
    /// and every channel of the connection terminates with `Closed`.
    async fn client_close_frame_terminates_every_channel(vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect_ws(&server, vsn).await;
        c.join("room:a", "3").await;
        c.join("room:b", "5").await;
        c.join("intercept:c", "7").await;
        c.ws().close(1000).await;
        assert_eq!(c.recv().await, Received::Close(Some(1000)), "the server echoes the client's close code");
        assert_eq!(server.probe.terminated("room:a", json!("3")).await, Terminate::Closed);
        assert_eq!(server.probe.terminated("room:b", json!("5")).await, Terminate::Closed);
    }
}
