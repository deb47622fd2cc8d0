//! PubSub across nodes, with the in-process [`MemoryCluster`]: broadcasts reach
//! every node, `remote_broadcast` every node but this one, `direct_broadcast`
//! one node, and partitions drop messages between the nodes they separate.

use std::time::Duration;

use embercast_server::{Broadcast, MemoryCluster, Payload, PubSub};
use serde_json::json;

const DEADLINE: Duration = Duration::from_secs(5);

fn msg(topic: &str, n: u64) -> Broadcast {
    Broadcast { topic: topic.into(), event: "n".into(), payload: Payload::Json(json!({ "n": n })) }
}

async fn next_n(l: &embercast_server::Listener) -> u64 {
    let b = tokio::time::timeout(DEADLINE, l.recv()).await.expect("a broadcast within the deadline");
    b.payload.as_json().and_then(|p| p["n"].as_u64()).expect("payload n")
}

/// Publishes one marker from `from` and checks that it is the next thing each
/// of `listeners` (all reachable from `from`) receives: nothing else was pending.
async fn flush(from: &PubSub, listeners: &[&embercast_server::Listener]) {
    from.send_broadcast(msg("t", u64::MAX)).unwrap();
    for l in listeners {
        assert_eq!(next_n(l).await, u64::MAX, "only the marker is left");
    }
}

#[tokio::test]
async fn a_broadcast_reaches_every_node_once() {
    let cluster = MemoryCluster::new();
    let (a, b, c) = (cluster.node("a"), cluster.node("b"), cluster.node("c"));
    let listeners = [a.listen("t"), b.listen("t"), c.listen("t")];
    a.send_broadcast(msg("t", 1)).unwrap();
    for l in &listeners {
        assert_eq!(next_n(l).await, 1);
    }
    let [la, lb, lc] = &listeners;
    flush(&b, &[la, lb, lc]).await;
    assert_eq!(a.node_name(), "a");
}

#[tokio::test]
async fn remote_broadcast_skips_the_sending_node() {
    let cluster = MemoryCluster::new();
    let (a, b) = (cluster.node("a"), cluster.node("b"));
    let (la, lb) = (a.listen("t"), b.listen("t"));
    a.remote_broadcast(&msg("t", 1)).unwrap();
    assert_eq!(next_n(&lb).await, 1);
    // a's own listener got nothing: the next thing it sees is b's marker.
    flush(&b, &[&la, &lb]).await;
}

#[tokio::test]
async fn direct_broadcast_reaches_only_its_node() {
    let cluster = MemoryCluster::new();
    let (a, b, c) = (cluster.node("a"), cluster.node("b"), cluster.node("c"));
    let (la, lb, lc) = (a.listen("t"), b.listen("t"), c.listen("t"));
    a.direct_broadcast("b", &msg("t", 1)).unwrap();
    a.direct_broadcast("a", &msg("t", 2)).unwrap();
    assert_eq!(next_n(&lb).await, 1);
    assert_eq!(next_n(&la).await, 2);
    flush(&b, &[&la, &lb, &lc]).await;
    let err = a.direct_broadcast("nowhere", &msg("t", 3)).unwrap_err();
    assert!(err.to_string().contains("nowhere"), "{err}");
}

#[tokio::test]
async fn a_single_node_pubsub_has_no_remote_nodes() {
    let p = PubSub::new();
    let l = p.listen("t");
    p.remote_broadcast(&msg("t", 1)).unwrap();
    p.direct_broadcast("local", &msg("t", 2)).unwrap();
    assert_eq!(next_n(&l).await, 2);
    assert!(p.direct_broadcast("other", &msg("t", 3)).is_err());
}

#[tokio::test]
async fn a_partition_drops_messages_both_ways_until_healed() {
    let cluster = MemoryCluster::new();
    let (a, b, c) = (cluster.node("a"), cluster.node("b"), cluster.node("c"));
    let (la, lb, lc) = (a.listen("t"), b.listen("t"), c.listen("t"));
    cluster.partition(&["a"], &["b"]);
    a.send_broadcast(msg("t", 1)).unwrap();
    b.send_broadcast(msg("t", 2)).unwrap();
    a.direct_broadcast("b", &msg("t", 3)).unwrap(); // dropped silently, as on a network
    assert_eq!(next_n(&lc).await, 1);
    assert_eq!(next_n(&lc).await, 2);
    assert_eq!(next_n(&la).await, 1);
    assert_eq!(next_n(&lb).await, 2);
    flush(&c, &[&la, &lb, &lc]).await;
    cluster.heal();
    a.send_broadcast(msg("t", 4)).unwrap();
    assert_eq!(next_n(&lb).await, 4);
}

#[tokio::test]
async fn an_isolated_node_neither_hears_nor_is_heard() {
    let cluster = MemoryCluster::new();
    let (a, b) = (cluster.node("a"), cluster.node("b"));
    let (la, lb) = (a.listen("t"), b.listen("t"));
    cluster.isolate("a");
    a.send_broadcast(msg("t", 1)).unwrap();
    b.send_broadcast(msg("t", 2)).unwrap();
    assert_eq!(next_n(&la).await, 1);
    assert_eq!(next_n(&lb).await, 2);
    flush(&b, &[&lb]).await;
    flush(&a, &[&la]).await;
}

#[tokio::test]
async fn a_node_added_again_under_its_name_replaces_the_old_one() {
    let cluster = MemoryCluster::new();
    let a = cluster.node("a");
    let old_b = cluster.node("b");
    let old_listener = old_b.listen("t");
    let new_b = cluster.node("b");
    let new_listener = new_b.listen("t");
    a.send_broadcast(msg("t", 1)).unwrap();
    assert_eq!(next_n(&new_listener).await, 1);
    // The old incarnation hears only itself now.
    flush(&old_b, &[&old_listener]).await;
}

#[tokio::test]
async fn isolation_covers_nodes_that_join_later() {
    let cluster = MemoryCluster::new();
    let a = cluster.node("a");
    cluster.isolate("a");
    let b = cluster.node("b");
    let (la, lb) = (a.listen("t"), b.listen("t"));
    a.send_broadcast(msg("t", 1)).unwrap();
    assert_eq!(next_n(&la).await, 1);
    flush(&b, &[&lb]).await;
    cluster.heal();
    a.send_broadcast(msg("t", 2)).unwrap();
    assert_eq!(next_n(&lb).await, 2);
}
