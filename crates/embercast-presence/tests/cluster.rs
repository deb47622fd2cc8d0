//! Replication between trackers on linked in-process PubSubs
//! ([`MemoryCluster`]), on tokio's paused clock: convergence, node loss,
//! restarts under the same name, populated nodes meeting, partitions that
//! heal, graceful shutdown (PROTOCOL.md §10.10–§10.14).

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use embercast_presence::{Owner, ReplicaStatus};
use embercast_server::MemoryCluster;
use serde_json::json;
use support::*;

const TOPIC: &str = "room:lobby";

fn v(key: &str, phx_ref: &str) -> (String, String) {
    (key.to_owned(), phx_ref.to_owned())
}

#[tokio::test(start_paused = true)]
async fn two_nodes_see_each_others_presences_and_their_diffs() {
    let cluster = MemoryCluster::new();
    let (a, b) = (Node::start(&cluster, "a"), Node::start(&cluster, "b"));
    let (view_a, view_b) = (View::listen(&a.pubsub, TOPIC), View::listen(&b.pubsub, TOPIC));
    let (alice, bob) = (Owner::new(), Owner::new());
    let ra = a.presence.track_owner(&alice, TOPIC, "alice", json!({"device": "web"})).unwrap();
    let rb = b.presence.track_owner(&bob, TOPIC, "bob", json!({})).unwrap();
    let all = BTreeSet::from([v("alice", &ra), v("bob", &rb)]);
    converged(&[&a, &b], TOPIC, &all).await;
    eventually("both views to show both", || view_a.versions() == all && view_b.versions() == all).await;
    assert_eq!(b.presence.get_by_key(TOPIC, "alice").unwrap()["metas"][0]["device"], "web");

    drop(alice);
    let rest = BTreeSet::from([v("bob", &rb)]);
    converged(&[&a, &b], TOPIC, &rest).await;
    eventually("both views to drop alice", || view_a.versions() == rest && view_b.versions() == rest).await;
    assert_eq!(view_b.read(|s| s.joins[&v("alice", &ra)]), 1, "alice joined once on b");
    assert_eq!(view_b.leaves_of("alice"), 1, "alice left once on b");
}

#[tokio::test(start_paused = true)]
async fn an_update_replicates_as_one_leave_and_one_join() {
    let cluster = MemoryCluster::new();
    let (a, b) = (Node::start(&cluster, "a"), Node::start(&cluster, "b"));
    let view_b = View::listen(&b.pubsub, TOPIC);
    let alice = Owner::new();
    let r1 = a.presence.track_owner(&alice, TOPIC, "alice", json!({"status": "online"})).unwrap();
    converged(&[&a, &b], TOPIC, &BTreeSet::from([v("alice", &r1)])).await;
    let r2 = a.presence.update_owner_with(&alice, TOPIC, "alice", |_| json!({"status": "away"})).unwrap();
    converged(&[&a, &b], TOPIC, &BTreeSet::from([v("alice", &r2)])).await;
    let meta = &b.presence.get_by_key(TOPIC, "alice").unwrap()["metas"][0];
    assert_eq!(meta["status"], "away");
    assert_eq!(meta["phx_ref_prev"], r1.as_str());
    eventually("b's view to hold the new version", || view_b.versions() == BTreeSet::from([v("alice", &r2)])).await;
    assert_eq!(view_b.leaves_of("alice"), 1);
}

/// A node that dies: its presences are hidden (one leave each) after the down
/// period and deleted after the permanent-down period; nothing comes back.
#[tokio::test(start_paused = true)]
async fn a_lost_node_leaves_after_the_down_period_and_is_forgotten_after_permdown() {
    let cluster = MemoryCluster::new();
    let (a, b) = (Node::start(&cluster, "a"), Node::start(&cluster, "b"));
    let view_a = View::listen(&a.pubsub, TOPIC);
    let (alice, bob) = (Owner::new(), Owner::new());
    let ra = a.presence.track_owner(&alice, TOPIC, "alice", json!({})).unwrap();
    let rb = b.presence.track_owner(&bob, TOPIC, "bob", json!({})).unwrap();
    converged(&[&a, &b], TOPIC, &BTreeSet::from([v("alice", &ra), v("bob", &rb)])).await;

    // b dies: no goodbye, its tracker stops and its link goes dark.
    cluster.isolate("b");
    let died = tokio::time::Instant::now();
    drop(b);
    converged(&[&a], TOPIC, &BTreeSet::from([v("alice", &ra)])).await;
    assert!(died.elapsed() >= fast().down_period, "hidden only after the down period: {:?}", died.elapsed());
    assert_eq!(a.presence.peers()[0], vec![("b".to_owned(), ReplicaStatus::Down)]);
    assert_eq!(a.presence.stored_len(), 2, "kept while merely down");

    eventually("b to be forgotten", || a.presence.peers()[0].is_empty()).await;
    assert!(died.elapsed() >= fast().permdown_period);
    assert_eq!(a.presence.stored_len(), 1);
    eventually("a's view to lose bob", || view_a.versions() == BTreeSet::from([v("alice", &ra)])).await;
    assert_eq!(view_a.leaves_of("bob"), 1, "bob left exactly once");
    assert_eq!(a.versions(TOPIC), BTreeSet::from([v("alice", &ra)]));
}

/// A node restarting under the same name is a new incarnation: its old
/// presences leave (once), its new ones join, and no ghost remains anywhere.
#[tokio::test(start_paused = true)]
async fn a_node_restarting_under_its_name_leaves_no_ghosts() {
    let cluster = MemoryCluster::new();
    let a = Node::start(&cluster, "a");
    let view_a = View::listen(&a.pubsub, TOPIC);
    let b = Node::start(&cluster, "b");
    let (alice, old_bob) = (Owner::new(), Owner::new());
    let ra = a.presence.track_owner(&alice, TOPIC, "alice", json!({})).unwrap();
    let rb_old = b.presence.track_owner(&old_bob, TOPIC, "bob", json!({})).unwrap();
    converged(&[&a, &b], TOPIC, &BTreeSet::from([v("alice", &ra), v("bob", &rb_old)])).await;

    // Crash and restart well within the down period.
    drop(b);
    std::mem::forget(old_bob); // its tracker is gone; it must not matter
    let b = Node::start(&cluster, "b");
    let new_bob = Owner::new();
    let rb_new = b.presence.track_owner(&new_bob, TOPIC, "bob", json!({"again": true})).unwrap();
    let expected = BTreeSet::from([v("alice", &ra), v("bob", &rb_new)]);
    converged(&[&a, &b], TOPIC, &expected).await;
    eventually("a's view to hold only the new bob", || view_a.versions() == expected).await;
    assert_eq!(view_a.read(|s| s.leaves.get(&v("bob", &rb_old)).copied()), Some(1));
    assert_eq!(a.presence.stored_len(), 2, "the old incarnation's presence is deleted, not hidden");
    assert_eq!(a.presence.peers()[0], vec![("b".to_owned(), ReplicaStatus::Up)]);
}

/// Two nodes that each hold `n` presences meet for the first time.
async fn populated_nodes_meet(n: usize) {
    let cluster = MemoryCluster::new();
    let a = Node::start(&cluster, "a");
    cluster.isolate("a");
    let b = Node::start(&cluster, "b");
    let owners: Vec<Owner> = (0..2 * n).map(|_| Owner::new()).collect();
    let mut expected = BTreeSet::new();
    for (i, owner) in owners.iter().enumerate() {
        let (node, key) = if i < n { (&a, format!("a{i}")) } else { (&b, format!("b{i}")) };
        let r = node.presence.track_owner(owner, TOPIC, &key, json!({ "i": i })).unwrap();
        expected.insert((key, r));
    }
    // Let each side gossip on its own for a while, so its deltas move through its ladder.
    tokio::time::sleep(fast().broadcast_period * 5).await;
    assert_eq!(a.versions(TOPIC).len(), n);
    cluster.heal();
    converged(&[&a, &b], TOPIC, &expected).await;
}

/// Sizes around each step of the ladder `[4, 16, 64]` of [`fast`].
#[tokio::test(start_paused = true)]
async fn populated_nodes_meeting_converge_whatever_their_size() {
    for n in [1, 3, 4, 5, 15, 16, 17, 63, 64, 65, 200] {
        populated_nodes_meet(n).await;
    }
}

/// Nodes that knew each other miss `k` changes across a partition; healing
/// repairs it with a generation of the ladder, or the full state.
#[tokio::test(start_paused = true)]
async fn a_partition_heals_whatever_was_missed() {
    for k in [1, 3, 4, 5, 15, 16, 17, 63, 64, 65, 100] {
        let cluster = MemoryCluster::new();
        let (a, b, c) = (Node::start(&cluster, "a"), Node::start(&cluster, "b"), Node::start(&cluster, "c"));
        let mut first: Vec<Option<Owner>> = (0..3).map(|_| Some(Owner::new())).collect();
        let mut expected = BTreeSet::new();
        for (i, (owner, node)) in first.iter().zip([&a, &b, &c]).enumerate() {
            let owner = owner.as_ref().unwrap();
            let r = node.presence.track_owner(owner, TOPIC, &format!("p{i}"), json!({})).unwrap();
            expected.insert((format!("p{i}"), r));
        }
        converged(&[&a, &b, &c], TOPIC, &expected).await;

        cluster.partition(&["a"], &["b", "c"]);
        // On a: k changes (tracks, and the end of one of its presences).
        let more: Vec<Owner> = (0..k).map(|_| Owner::new()).collect();
        for (i, owner) in more.iter().enumerate() {
            let r = a.presence.track_owner(owner, TOPIC, &format!("k{i}"), json!({})).unwrap();
            expected.insert((format!("k{i}"), r));
        }
        first[0] = None;
        // On the other side, b's presence ends during the split.
        first[1] = None;
        expected.retain(|(key, _)| key != "p0" && key != "p1");
        cluster.heal();
        converged(&[&a, &b, &c], TOPIC, &expected).await;
    }
}

/// During a split each side hides the other's presences; after the heal
/// everything reappears, and what ended during the split ends everywhere.
#[tokio::test(start_paused = true)]
async fn a_netsplit_hides_then_restores() {
    let cluster = MemoryCluster::new();
    let (a, b) = (Node::start(&cluster, "a"), Node::start(&cluster, "b"));
    let view_a = View::listen(&a.pubsub, TOPIC);
    let (alice, bob, carol) = (Owner::new(), Owner::new(), Owner::new());
    let ra = a.presence.track_owner(&alice, TOPIC, "alice", json!({})).unwrap();
    let rb = b.presence.track_owner(&bob, TOPIC, "bob", json!({})).unwrap();
    let rc = b.presence.track_owner(&carol, TOPIC, "carol", json!({})).unwrap();
    converged(&[&a, &b], TOPIC, &BTreeSet::from([v("alice", &ra), v("bob", &rb), v("carol", &rc)])).await;

    cluster.partition(&["a"], &["b"]);
    converged(&[&a], TOPIC, &BTreeSet::from([v("alice", &ra)])).await;
    converged(&[&b], TOPIC, &BTreeSet::from([v("bob", &rb), v("carol", &rc)])).await;
    drop(carol); // ends during the split, on b
    let dave = Owner::new();
    let rd = a.presence.track_owner(&dave, TOPIC, "dave", json!({})).unwrap(); // starts during it, on a

    cluster.heal();
    let after = BTreeSet::from([v("alice", &ra), v("bob", &rb), v("dave", &rd)]);
    converged(&[&a, &b], TOPIC, &after).await;
    eventually("a's view to match its list", || view_a.versions() == after).await;
}

/// `shutdown` tells the peers at once: they do not wait for the down period.
#[tokio::test(start_paused = true)]
async fn graceful_shutdown_removes_presences_at_once() {
    let cluster = MemoryCluster::new();
    let (a, b) = (Node::start(&cluster, "a"), Node::start(&cluster, "b"));
    let bob = Owner::new();
    let rb = b.presence.track_owner(&bob, TOPIC, "bob", json!({})).unwrap();
    converged(&[&a, &b], TOPIC, &BTreeSet::from([v("bob", &rb)])).await;
    let at = tokio::time::Instant::now();
    b.presence.shutdown();
    converged(&[&a], TOPIC, &BTreeSet::new()).await;
    assert!(at.elapsed() < fast().down_period, "{:?}", at.elapsed());
    eventually("b to be forgotten", || a.presence.peers()[0].is_empty()).await;
    assert_eq!(a.presence.stored_len(), 0);
}

/// Concurrent activity on three nodes with random partitions (a fixed seed,
/// so a failure replays): once healed, all nodes list the same presences.
#[tokio::test(start_paused = true)]
async fn random_churn_with_partitions_converges() {
    let cluster = MemoryCluster::new();
    let names = ["a", "b", "c"];
    let nodes: Vec<Node> = names.iter().map(|n| Node::start(&cluster, n)).collect();
    let mut owners: Vec<(usize, Owner, String, String)> = Vec::new();
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut rand = move |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    for step in 0..400 {
        match rand(10) {
            0..=4 => {
                let node = rand(3);
                let owner = Owner::new();
                let key = format!("u{}", rand(20));
                let topic = format!("room:{}", rand(3));
                nodes[node].presence.track_owner(&owner, &topic, &key, json!({ "step": step })).unwrap();
                owners.push((node, owner, topic, key));
            }
            5..=6 if !owners.is_empty() => {
                owners.swap_remove(rand(owners.len()));
            }
            7 if !owners.is_empty() => {
                let (node, owner, topic, key) = &owners[rand(owners.len())];
                nodes[*node].presence.update_owner_with(owner, topic, key, |_| json!({ "step": step })).unwrap();
            }
            8 => cluster.partition(&[names[rand(3)]], &[names[rand(3)]]),
            _ => cluster.heal(),
        }
        tokio::time::sleep(Duration::from_millis(rand(40) as u64)).await;
    }
    cluster.heal();
    for topic in ["room:0", "room:1", "room:2"] {
        let refs = &nodes;
        eventually(&format!("{topic} to agree on every node"), || {
            let first = refs[0].versions(topic);
            refs.iter().all(|n| n.versions(topic) == first)
        })
        .await;
        // And it is the set of presences whose owners are alive.
        let alive: usize = owners.iter().filter(|(_, _, t, _)| t == topic).count();
        assert_eq!(nodes[0].versions(topic).len(), alive, "{topic}");
    }
}
