//! Bounded queues (FAULT-KINDS.md "unbounded resource", "head-of-line
//! blocking"): a client flooding a slow channel is slowed down without losing
//! or reordering anything; a client that does not read (WebSocket) or poll
//! (LongPoll) is disconnected (never with 1000) without stalling the
//! broadcast for everyone else. LongPoll's answer to a POST stuck behind a
//! slow channel (408) is in `tests/longpoll_limits.rs`.

#[macro_use]
mod support;

use std::time::Duration;

use bytes::Bytes;
use embercast_server::{Payload, Terminate};
use embercast_ws::OpCode;
use serde_json::json;
use support::*;

for_each_transport_and_vsn! {
    /// 1,000 messages sent while the channel is stuck (far past its mailbox's
    /// high-water mark, so the connection stops reading until it drains) are
    /// all handled, in order, once it moves again.
    async fn flood_into_a_slow_channel_loses_nothing(t: Transport, vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, t, vsn).await;
        c.join("room:lobby", "3").await;
        c.send(json!(["3", "slow", "room:lobby", "slow", {}])).await;
        server.probe.at_gate(1).await;
        // About 70 KB: more than the server reads in one go, little enough to
        // sit in the TCP buffers while it does not read.
        c.send_all((0..1000).map(|n| json!(["3", format!("{n}"), "room:lobby", "seq", {"n": n}]))).await;
        server.probe.open_gate(1);
        c.expect(json!(["3", "slow", "room:lobby", "phx_reply", ok(json!({"slow": "done"}))])).await;
        for n in 0..1000 {
            c.expect(json!(["3", format!("{n}"), "room:lobby", "phx_reply", ok(json!({"n": n}))])).await;
        }
        let handled: Vec<i64> = server.probe.read(|s| s.seq.iter().map(|(_, n)| *n).collect());
        assert_eq!(handled, (0..1000).collect::<Vec<_>>());
        c.expect_heartbeat_next().await;
    }
}

/// A client that stops reading is cut off once its queue passes
/// `max_queued_bytes`, even while its socket is backed up; a reading client
/// on the same topic gets every broadcast meanwhile, and stays connected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_that_does_not_read_is_cut_off_without_stalling_others() {
    let server = start_with(|s| s.max_queued_bytes(64 * 1024)).await;
    let mut stuck =
        Client::from_ws(WsClient::connect_with_recv_buffer(server.addr, Vsn::V2.query(), 4096).await, Vsn::V2);
    let mut reader = Client::connect_ws(&server, Vsn::V2).await;
    stuck.join("room:feed", "stuck").await;
    reader.join("room:feed", "reader").await;
    let header = [&[2u8, 9, 5][..], b"room:feed", b"chunk"].concat();

    // More than the kernel buffers hold (tcp_wmem tops out at 4 MiB by
    // default): the stuck connection's socket is backed up from here on.
    let big = Bytes::from(vec![0xcd; 6 << 20]);
    server.pubsub.broadcast("room:feed", "chunk", Payload::Binary(big.clone())).unwrap();
    assert_eq!(reader.recv_binary().await.len(), header.len() + big.len());

    // Then its queue fills within a few 16 KiB chunks.
    let chunk = Bytes::from(vec![0xab; 16 * 1024]);
    for sent in 1.. {
        server.pubsub.broadcast("room:feed", "chunk", Payload::Binary(chunk.clone())).unwrap();
        // The reader keeps up: every broadcast reaches it, whole and in turn.
        let got = reader.recv_binary().await;
        assert_eq!((got.len(), &got[..header.len()]), (header.len() + chunk.len(), &header[..]));
        if server.probe.read(|s| s.terminated.iter().any(|t| t.join_ref == json!("stuck"))) {
            break;
        }
        assert!(sent < 64, "1 MiB queued past a 64 KiB limit, and the client that does not read is still connected");
    }
    assert_eq!(server.probe.terminated("room:feed", json!("stuck")).await, Terminate::Closed);
    reader.expect_heartbeat_next().await;

    // The stuck client finds what was already on its way, then the end; never a 1000.
    loop {
        match stuck.recv().await {
            Received::Binary(b) => assert_eq!(&b[..header.len()], &header[..]),
            Received::Eof | Received::Close(Some(1013)) => break,
            other => panic!("a slow client must not be told {other:?}"),
        }
    }
}

/// `disconnect` reaches a connection whose socket is backed up, too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backed_up_connection_is_still_disconnected() {
    let server = start().await;
    let q = format!("socket_id=user_socket:1&{}", Vsn::V2.query());
    let res = request(server.addr, &upgrade_request(&format!("/socket/websocket?{q}"), &[])).await;
    let mut stuck = Client::upgraded(res, Vsn::V2);
    stuck.join("room:feed", "stuck").await;
    server.pubsub.broadcast("room:feed", "chunk", Payload::Binary(Bytes::from(vec![0; 6 << 20]))).unwrap();
    server.pubsub.broadcast("user_socket:1", "disconnect", json!({})).unwrap();
    assert_eq!(server.probe.terminated("room:feed", json!("stuck")).await, Terminate::Closed);
    loop {
        match stuck.recv().await {
            Received::Binary(_) => {}
            Received::Eof | Received::Close(Some(1001)) => break,
            other => panic!("unexpected {other:?}"),
        }
    }
}

/// The same over LongPoll: a session that stops polling is ended once its
/// queue passes `max_queued_bytes` (its channels terminate, its next poll
/// answers 410), and the clients that keep reading, over either transport,
/// get every broadcast meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn longpoll_client_that_stops_polling_is_cut_off_without_stalling_others() {
    let server = start_with(|s| s.max_queued_bytes(64 * 1024)).await;
    let mut stuck = Client::connect(&server, Transport::LongPoll, Vsn::V2).await;
    let mut readers =
        [Client::connect(&server, Transport::LongPoll, Vsn::V2).await, Client::connect_ws(&server, Vsn::V2).await];
    stuck.join("room:feed", "stuck").await;
    for r in &mut readers {
        r.join("room:feed", "reader").await;
    }
    stuck.go_silent();
    let chunk = "x".repeat(16 * 1024);
    for sent in 0.. {
        server.pubsub.broadcast("room:feed", "chunk", json!({"n": sent, "chunk": chunk})).unwrap();
        for r in &mut readers {
            let got = r.recv_json().await;
            assert_eq!((&got[3], &got[4]["n"]), (&json!("chunk"), &json!(sent)));
        }
        if server.probe.read(|s| s.terminated.iter().any(|t| t.join_ref == json!("stuck"))) {
            break;
        }
        assert!(sent < 64, "1 MiB queued past a 64 KiB limit, and the session that does not poll is still there");
    }
    assert_eq!(server.probe.terminated("room:feed", json!("stuck")).await, Terminate::Closed);
    for r in &mut readers {
        r.expect_heartbeat_next().await;
    }
    stuck.expect_close(1013).await;
}

for_each_transport! {
    /// A heartbeat behind thousands of messages for a stuck channel is
    /// answered at once: the connection keeps reading (LongPoll: POSTs keep
    /// being dispatched) while its input budget lasts.
    async fn heartbeat_behind_a_flood_into_a_slow_channel_is_answered(t: Transport) {
        let server = start().await;
        let mut c = Client::connect(&server, t, Vsn::V2).await;
        c.join("room:lobby", "3").await;
        c.send(json!(["3", "slow", "room:lobby", "slow", {}])).await;
        server.probe.at_gate(1).await;
        c.send_all((0..3000).map(|n| json!(["3", format!("{n}"), "room:lobby", "noreply", {"n": n}]))).await;
        c.expect_heartbeat_next().await;
        server.probe.open_gate(1);
    }
}

/// A client that floods pings and never reads our pongs is cut off: the
/// server stops reading once its writes back up (so the pongs cannot grow
/// its memory) and drops the connection at the idle timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_flood_from_a_client_that_never_reads_is_cut_off() {
    let server = start_with(|s| s.idle_timeout(Duration::from_millis(300))).await;
    let mut ws = WsClient::connect_with_recv_buffer(server.addr, "vsn=2.0.0", 4096).await;
    let ping = client_frame(OpCode::Ping, true, &[7; 125]);
    let burst: Vec<u8> = ping.iter().copied().cycle().take(ping.len() * 512).collect();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let mut sent = 0usize;
    loop {
        assert!(tokio::time::Instant::now() < deadline, "still connected after sending {sent} bytes of pings");
        match tokio::time::timeout(Duration::from_millis(200), ws.try_send_raw(&burst)).await {
            Ok(Ok(())) => sent += burst.len(),
            Ok(Err(_)) => break, // reset or broken pipe: the server dropped us
            Err(_) => {}         // the server stopped reading: our writes block
        }
    }
    assert!(sent < 256 << 20, "the server kept reading {sent} bytes of pings it could not answer");
}

/// A client that keeps us from reading (it floods a stuck channel past the
/// input budget) is not idle-exempt: once nothing has been read for the idle
/// timeout the connection closes with 1001 and its channels terminate, so a
/// client that went away behind the flood does not leave it behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_paused_behind_a_stuck_channel_is_reaped_at_the_idle_timeout() {
    let server = start_with(|s| s.idle_timeout(Duration::from_millis(300))).await;
    let mut c = Client::connect_ws(&server, Vsn::V2).await;
    c.join("room:lobby", "3").await;
    c.send(json!(["3", "slow", "room:lobby", "slow", {}])).await;
    server.probe.at_gate(1).await;
    // ~2 MiB of frames: far past the budget, so the server stops reading.
    let pad = "x".repeat(16 << 10);
    let flood: Vec<u8> = (0..128)
        .flat_map(|n| {
            client_frame(
                OpCode::Text,
                true,
                json!(["3", format!("{n}"), "room:lobby", "noreply", {"pad": pad}]).to_string().as_bytes(),
            )
        })
        .collect();
    let _ = tokio::time::timeout(Duration::from_secs(10), c.ws().try_send_raw(&flood)).await;
    c.expect_close(1001).await;
    server.probe.open_gate(1);
    assert_eq!(server.probe.terminated("room:lobby", json!("3")).await, Terminate::Closed);
}
