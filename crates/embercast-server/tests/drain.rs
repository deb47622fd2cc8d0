//! Graceful shutdown (PROTOCOL.md §4.12): draining closes every connection
//! with 1012 (service restart) so clients reconnect, runs every channel's
//! `terminate`, and closes connections that open while draining.

#[macro_use]
mod support;

use std::time::Duration;

use embercast_server::Terminate;
use serde_json::json;
use support::*;

for_each_transport_and_vsn! {
    async fn drain_closes_every_connection_with_1012(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut a = Client::connect(&server, t, vsn).await;
        let mut b = Client::connect(&server, t, vsn).await;
        a.join("room:a", "3").await;
        b.join("room:b", "3").await;
        assert_eq!(server.drain.connections(), 2);

        server.drain.drain();

        a.expect_close(1012).await;
        b.expect_close(1012).await;
        assert_eq!(server.probe.terminated("room:a", json!("3")).await, Terminate::Closed);
        assert_eq!(server.probe.terminated("room:b", json!("3")).await, Terminate::Closed);
        assert!(server.drain.closed(DEADLINE).await, "every connection is gone");
    }

    async fn a_connection_opened_while_draining_is_closed_at_once(t: Transport, vsn: Vsn) {
        let server = start().await;
        server.drain.drain();
        let mut late = Client::connect(&server, t, vsn).await;
        late.expect_close(1012).await;
        assert!(server.drain.closed(Duration::from_secs(5)).await);
    }
}
