//! What clients build from `presence_diff` broadcasts in a cluster: under
//! churn, partitions, restarts and garbage gossip, each node's diffs, applied
//! the way phoenix.js applies them from an empty start, end equal to that
//! node's list.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use bytes::Bytes;
use embercast_presence::Owner;
use embercast_server::{Broadcast, MemoryCluster, Payload};
use serde_json::json;
use support::*;

const TOPICS: [&str; 3] = ["room:0", "room:1", "room:2"];

#[tokio::test(start_paused = true)]
async fn every_nodes_diffs_add_up_to_its_list_through_churn_and_partitions() {
    let cluster = MemoryCluster::new();
    let names = ["a", "b", "c"];
    let nodes: Vec<Node> = names.iter().map(|n| Node::start(&cluster, n)).collect();
    let views: Vec<Vec<View>> =
        nodes.iter().map(|n| TOPICS.iter().map(|t| View::listen(&n.pubsub, t)).collect()).collect();
    let mut owners: Vec<(usize, Owner, String, String)> = Vec::new();
    let mut rand = rng(0x9e37_79b9_7f4a_7c15);
    for step in 0..600 {
        match rand(12) {
            0..=4 => {
                let node = rand(3);
                let owner = Owner::new();
                let key = format!("u{}", rand(10));
                let topic = TOPICS[rand(3)].to_owned();
                nodes[node].presence.track_owner(&owner, &topic, &key, json!({ "step": step })).unwrap();
                owners.push((node, owner, topic, key));
            }
            5..=6 if !owners.is_empty() => {
                owners.swap_remove(rand(owners.len()));
            }
            7..=8 if !owners.is_empty() => {
                let (node, owner, topic, key) = &owners[rand(owners.len())];
                nodes[*node].presence.update_owner_with(owner, topic, key, |_| json!({ "step": step })).unwrap();
            }
            9 => cluster.partition(&[names[rand(3)]], &[names[rand(3)]]),
            10 => cluster.isolate(names[rand(3)]),
            _ => cluster.heal(),
        }
        // Sometimes long enough for a peer to be seen down, or even permanently down.
        let pause = if rand(20) == 0 { 600 + rand(3000) } else { rand(40) };
        tokio::time::sleep(Duration::from_millis(pause as u64)).await;
    }
    cluster.heal();
    for (t, topic) in TOPICS.iter().enumerate() {
        let refs = &nodes;
        eventually(&format!("{topic} to agree on every node"), || {
            let first = refs[0].versions(topic);
            refs.iter().all(|n| n.versions(topic) == first)
        })
        .await;
        for (n, node) in nodes.iter().enumerate() {
            let view = &views[n][t];
            eventually(&format!("{}'s diffs on {topic} to add up to its list", node.name), || {
                view.versions() == node.versions(topic)
            })
            .await;
        }
    }
}

/// Gossip that is not gossip (not JSON, JSON of another shape, a message
/// claiming to come from the receiver itself, a goodbye from an unknown
/// incarnation) is dropped, and the shard carries on replicating.
#[tokio::test(start_paused = true)]
async fn garbage_gossip_is_dropped_and_replication_carries_on() {
    let cluster = MemoryCluster::new();
    let (a, b) = (Node::start(&cluster, "a"), Node::start(&cluster, "b"));
    let intruder = cluster.node("x");
    let alice = Owner::new();
    let r1 = a.presence.track_owner(&alice, "room:0", "alice", json!({})).unwrap();
    converged(&[&a, &b], "room:0", &BTreeSet::from([("alice".to_owned(), r1.clone())])).await;
    let garbage: Vec<Vec<u8>> = vec![
        b"not json".to_vec(),
        b"{}".to_vec(),
        b"{\"Heartbeat\": 1}".to_vec(),
        br#"{"GracefulPermdown": {"from": {"name": "a", "vsn": 1}}}"#.to_vec(),
        br#"{"GracefulPermdown": {"from": ["a", 1]}}"#.to_vec(),
        vec![0xff; 1 << 16],
    ];
    for g in garbage {
        let b = Broadcast {
            topic: "phx_presence:presence_shard0".into(),
            event: "gossip".into(),
            payload: Payload::Binary(Bytes::from(g)),
        };
        intruder.remote_broadcast(&b).unwrap();
    }
    let bob = Owner::new();
    let r2 = b.presence.track_owner(&bob, "room:0", "bob", json!({})).unwrap();
    let both = BTreeSet::from([("alice".to_owned(), r1), ("bob".to_owned(), r2)]);
    converged(&[&a, &b], "room:0", &both).await;
}
