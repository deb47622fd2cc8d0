//! The channel limit per connection (PROTOCOL.md §4.3 step 2): 100 by
//! default; the join over the limit gets `{"reason":"too many channels joined"}`.

#[macro_use]
mod support;

use serde_json::json;
use support::*;

fn too_many(join_ref: &str, topic: &str) -> serde_json::Value {
    json!([join_ref, join_ref, topic, "phx_reply", error(json!({"reason": "too many channels joined"}))])
}

for_each_transport_and_vsn! {
    /// The 101st concurrent join is refused by default; freeing a slot lets the next one in.
    async fn default_limit_is_100_channels(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        for i in 0..100 {
            c.send(json!([format!("{i}"), format!("{i}"), format!("room:{i}"), "phx_join", {}])).await;
        }
        // Each join is answered by its own channel, so the replies may come in any order.
        let mut replies = Vec::new();
        for _ in 0..100 {
            replies.push(c.recv_json().await);
        }
        replies.sort_by_key(|r| r[1].as_str().expect("ref").parse::<u32>().expect("numeric"));
        for (i, reply) in replies.iter().enumerate() {
            let mut expected = json!([format!("{i}"), format!("{i}"), format!("room:{i}"), "phx_reply", ok(json!({}))]);
            if vsn == Vsn::V1 {
                expected[0] = serde_json::Value::Null;
            }
            assert_eq!(*reply, expected);
        }
        c.send(json!(["100", "100", "room:100", "phx_join", {}])).await;
        c.expect(too_many("100", "room:100")).await;
        // The refused join left no channel behind.
        c.send(json!(["100", "101", "room:100", "ping", {}])).await;
        c.expect(json!([null, "101", "room:100", "phx_reply", error(json!({"reason": "unmatched topic"}))])).await;
        // The joined channels are unaffected.
        c.send(json!(["99", "102", "room:99", "ping", {}])).await;
        c.expect(json!(["99", "102", "room:99", "phx_reply", ok(json!({}))])).await;
        // Leaving one frees a slot.
        c.send(json!(["0", "103", "room:0", "phx_leave", {}])).await;
        c.expect(json!(["0", "103", "room:0", "phx_reply", ok(json!({}))])).await;
        c.expect(json!(["0", "0", "room:0", "phx_close", {}])).await;
        c.join("room:100", "104").await;
    }

    /// Vector `join_too_many_channels` (limit 1).
    async fn configured_limit_refuses_the_next_join(t: Transport, vsn: Vsn) {
        let server = start_with(|s| s.max_channels(1)).await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.join("room:a", "3").await;
        c.send(json!(["5", "5", "room:b", "phx_join", {}])).await;
        c.expect(too_many("5", "room:b")).await;
    }

    /// At the limit, rejoining a topic already joined replaces its channel
    /// instead of being refused.
    async fn duplicate_join_at_the_limit_is_not_refused(t: Transport, vsn: Vsn) {
        let server = start_with(|s| s.max_channels(1)).await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.join("room:a", "3").await;
        c.send(json!(["5", "5", "room:a", "phx_join", {}])).await;
        c.expect(json!(["5", "5", "room:a", "phx_reply", ok(json!({}))])).await;
        c.expect(json!(["3", "3", "room:a", "phx_close", {}])).await;
    }

    /// The limit is per connection: another connection can join as many.
    async fn limit_is_per_connection(t: Transport, vsn: Vsn) {
        let server = start_with(|s| s.max_channels(1)).await;
        let mut a = Client::connect(&server, t, vsn).await;
        let mut b = Client::connect(&server, t, vsn).await;
        a.join("room:a", "3").await;
        b.join("room:a", "3").await;
        a.send(json!(["5", "5", "room:b", "phx_join", {}])).await;
        a.expect(too_many("5", "room:b")).await;
    }

    /// Channels that crashed or stopped free their slot.
    async fn crashed_and_stopped_channels_free_their_slot(t: Transport, vsn: Vsn) {
        let server = start_with(|s| s.max_channels(1)).await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.join("room:a", "3").await;
        c.send(json!(["3", "4", "room:a", "boom", {}])).await;
        c.expect(json!(["3", "3", "room:a", "phx_error", {"reason": "channel_crash"}])).await;
        c.join("room:b", "5").await;
        c.send(json!(["5", "6", "room:b", "stop", {}])).await;
        c.expect(json!(["5", "5", "room:b", "phx_close", {}])).await;
        c.join("room:c", "7").await;
    }
}
