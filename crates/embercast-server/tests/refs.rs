//! Refs (PROTOCOL.md §3.1, §4.3, §4.13): refs and join_refs are opaque and
//! echoed with the JSON type they arrived with; a join with a null join_ref
//! gets a reply with a null join_ref, while the channel's own join_ref (for
//! pushes and replies) falls back to the join's ref.

#[macro_use]
mod support;

use serde_json::json;
use support::*;

for_each_transport_and_vsn! {
    /// Numeric refs and join_refs come back as numbers in every kind of frame.
    async fn numeric_refs_are_echoed_as_numbers(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.send(json!([null, 7, "phoenix", "heartbeat", {}])).await;
        c.expect(json!([null, 7, "phoenix", "phx_reply", ok(json!({}))])).await;
        c.send(json!([1, 2, "room:lobby", "phx_join", {}])).await;
        c.expect(json!([1, 2, "room:lobby", "phx_reply", ok(json!({}))])).await;
        c.send(json!([1, 3, "room:lobby", "ping", {}])).await;
        c.expect(json!([1, 3, "room:lobby", "phx_reply", ok(json!({}))])).await;
        assert!(server.probe.handle("room:lobby").await.send(Cmd::Push("news".into(), json!({}).into())));
        c.expect(json!([1, null, "room:lobby", "news", {}])).await;
        c.send(json!([1, 4, "nope:1", "ping", {}])).await;
        c.expect(json!([null, 4, "nope:1", "phx_reply", error(json!({"reason": "unmatched topic"}))])).await;
        c.send(json!([1, 5, "room:lobby", "phx_leave", {}])).await;
        c.expect(json!([1, 5, "room:lobby", "phx_reply", ok(json!({}))])).await;
        c.expect(json!([1, 1, "room:lobby", "phx_close", {}])).await;
    }

    /// Large and fractional numbers are echoed verbatim, not through a float.
    async fn unusual_numeric_refs_are_echoed_verbatim(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        for r in [json!(9007199254740993u64), json!(1.5), json!(-1), json!(0)] {
            c.send(json!([null, r, "phoenix", "heartbeat", {}])).await;
            c.expect(json!([null, r, "phoenix", "phx_reply", ok(json!({}))])).await;
        }
    }

    /// A join with a null join_ref: the reply's join_ref is null, the
    /// channel's pushes and replies carry the join's ref, and `phx_close`
    /// carries the stored (null) join_ref.
    async fn join_with_a_null_join_ref(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.send(json!([null, "5", "room:lobby", "phx_join", {}])).await;
        c.expect(json!([null, "5", "room:lobby", "phx_reply", ok(json!({}))])).await;
        assert!(server.probe.handle("room:lobby").await.send(Cmd::Push("news".into(), json!({}).into())));
        c.expect(json!(["5", null, "room:lobby", "news", {}])).await;
        c.send(json!([null, "6", "room:lobby", "ping", {}])).await;
        c.expect(json!(["5", "6", "room:lobby", "phx_reply", ok(json!({}))])).await;
        c.send(json!([null, "7", "room:lobby", "phx_leave", {}])).await;
        c.expect(json!(["5", "7", "room:lobby", "phx_reply", ok(json!({}))])).await;
        c.expect(json!([null, null, "room:lobby", "phx_close", {}])).await;
    }

    /// A channel joined with a null join_ref crashes with `phx_error` carrying null refs.
    async fn crash_of_a_channel_joined_with_a_null_join_ref(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.send(json!([null, "5", "room:lobby", "phx_join", {}])).await;
        c.expect(json!([null, "5", "room:lobby", "phx_reply", ok(json!({}))])).await;
        c.send(json!([null, "6", "room:lobby", "boom", {}])).await;
        c.expect(json!([null, null, "room:lobby", "phx_error", {"reason": "channel_crash"}])).await;
    }

    /// Rule 7 compares with the join_ref the join carried: for a channel
    /// joined with a null join_ref, a message carrying the join's ref as
    /// join_ref is stale (as in Phoenix); a null one is not.
    async fn join_ref_matching_is_against_the_stored_join_ref(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.send(json!([null, "5", "room:lobby", "phx_join", {}])).await;
        c.expect(json!([null, "5", "room:lobby", "phx_reply", ok(json!({}))])).await;
        c.send(json!(["5", "6", "room:lobby", "ping", {}])).await;
        c.expect_heartbeat_next().await;
    }

    /// A message without a ref is handled; its reply has a null ref.
    async fn push_with_a_null_ref_gets_a_reply_with_a_null_ref(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.join("room:lobby", "3").await;
        c.send(json!(["3", null, "room:lobby", "ping", {}])).await;
        c.expect(json!(["3", null, "room:lobby", "phx_reply", ok(json!({}))])).await;
    }
}

/// Binary frames carry refs as text: numbers are written in decimal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn numeric_refs_are_stringified_in_binary_frames() {
    let server = start().await;
    let mut c = Client::connect_ws(&server, Vsn::V2).await;
    c.send(json!([3, 3, "room:lobby", "phx_join", {}])).await;
    c.expect(json!([3, 3, "room:lobby", "phx_reply", ok(json!({}))])).await;
    c.send(json!([3, 5, "room:lobby", "reply_binary", {"bytes": [9]}])).await;
    assert_eq!(c.recv_binary().await, [&[1u8, 1, 1, 10, 2][..], b"35room:lobbyok", &[9]].concat());
    c.send(json!([3, 6, "room:lobby", "push_binary", {"event": "bin", "bytes": [8]}])).await;
    assert_eq!(c.recv_binary().await, [&[0u8, 1, 10, 3][..], b"3room:lobbybin", &[8]].concat());
}

/// A binary push's refs are text: `"3"` matches the join_ref `"3"`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_push_refs_match_string_join_refs() {
    let server = start().await;
    let mut c = Client::connect_ws(&server, Vsn::V2).await;
    c.join("room:lobby", "3").await;
    c.send_binary(&binary_push("3", "4", "room:lobby", "ping", b"x")).await;
    assert_eq!(c.recv_binary().await, [&[1u8, 1, 1, 10, 2][..], b"34room:lobbyokx"].concat());
    // A stale join_ref in a binary push is dropped like any other.
    c.send_binary(&binary_push("2", "5", "room:lobby", "ping", b"x")).await;
    c.expect_heartbeat_next().await;
}
