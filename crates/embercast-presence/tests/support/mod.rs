//! Nodes of an in-process cluster with a fast tracker, a phoenix.js-like view
//! built from `presence_diff` broadcasts, and waits with a deadline.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use embercast_presence::{Presence, ShardConfig};
use embercast_server::{MemoryCluster, PubSub};
use parking_lot::Mutex;
use serde_json::Value;

/// Virtual time (tests run with tokio's clock paused) a test waits for any one thing.
pub const DEADLINE: Duration = Duration::from_secs(120);

/// Gossip every 50 ms, idle heartbeat every 4 ticks, down after 500 ms of
/// silence, permanently down after 3 s; a small delta ladder.
pub fn fast() -> ShardConfig {
    ShardConfig {
        broadcast_period: Duration::from_millis(50),
        max_silent_periods: 3,
        down_period: Duration::from_millis(500),
        permdown_period: Duration::from_secs(3),
        clock_sample_periods: 2,
        max_delta_sizes: vec![4, 16, 64],
    }
}

/// One node: its PubSub and its tracker.
pub struct Node {
    pub name: String,
    pub pubsub: PubSub,
    pub presence: Presence,
}

impl Node {
    pub fn start(cluster: &MemoryCluster, name: &str) -> Node {
        Node::start_with(cluster, name, fast())
    }

    pub fn start_with(cluster: &MemoryCluster, name: &str, config: ShardConfig) -> Node {
        let pubsub = cluster.node(name);
        let presence = Presence::builder().shard_config(config).start(&pubsub).expect("valid settings");
        Node { name: name.into(), pubsub, presence }
    }

    /// The topic's presences as a set of (key, phx_ref).
    pub fn versions(&self, topic: &str) -> BTreeSet<(String, String)> {
        versions(&self.presence.list(topic))
    }
}

/// (key, phx_ref) of every meta of a `{key: {metas: [...]}}` map.
pub fn versions(list: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (key, p) in list.as_object().expect("a presence map") {
        for meta in p["metas"].as_array().expect("metas") {
            out.insert((key.clone(), meta["phx_ref"].as_str().expect("phx_ref").to_owned()));
        }
    }
    out
}

/// Polls `f` (a read of in-memory state, not a timed guess) until it holds.
pub async fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let poll = async {
        while !f() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(DEADLINE, poll).await.unwrap_or_else(|_| panic!("timed out waiting for {what}"));
}

/// Waits until every node lists exactly `expected` on `topic`.
pub async fn converged(nodes: &[&Node], topic: &str, expected: &BTreeSet<(String, String)>) {
    for n in nodes {
        eventually(&format!("{} to list {expected:?} on {topic}", n.name), || n.versions(topic) == *expected).await;
    }
}

/// A client's view of one topic built only from `presence_diff` broadcasts,
/// the way phoenix.js `Presence.syncDiff` applies them (joins, then leaves),
/// plus a count of every join and leave seen per version.
#[derive(Clone, Default)]
pub struct View(Arc<Mutex<ViewState>>);

#[derive(Default)]
pub struct ViewState {
    pub presences: BTreeMap<String, Vec<Value>>,
    pub joins: BTreeMap<(String, String), usize>,
    pub leaves: BTreeMap<(String, String), usize>,
    pub diffs: usize,
}

impl View {
    /// Listens to `topic` on `pubsub` from now on.
    pub fn listen(pubsub: &PubSub, topic: &str) -> View {
        let view = View::default();
        let listener = pubsub.listen(topic);
        let state = view.0.clone();
        tokio::spawn(async move {
            loop {
                let b = listener.recv().await;
                if b.event == "presence_diff" {
                    state.lock().apply(b.payload.as_json().expect("a JSON diff"));
                }
            }
        });
        view
    }

    pub fn versions(&self) -> BTreeSet<(String, String)> {
        let s = self.0.lock();
        s.presences
            .iter()
            .flat_map(|(k, metas)| metas.iter().map(move |m| (k.clone(), m["phx_ref"].as_str().unwrap().to_owned())))
            .collect()
    }

    pub fn read<T>(&self, f: impl FnOnce(&ViewState) -> T) -> T {
        f(&self.0.lock())
    }

    pub fn leaves_of(&self, key: &str) -> usize {
        self.read(|s| s.leaves.iter().filter(|((k, _), _)| k == key).map(|(_, n)| n).sum())
    }
}

impl ViewState {
    fn apply(&mut self, diff: &Value) {
        self.diffs += 1;
        for (key, p) in diff["joins"].as_object().expect("joins") {
            let metas = self.presences.entry(key.clone()).or_default();
            for meta in p["metas"].as_array().expect("metas") {
                let r = meta["phx_ref"].as_str().expect("phx_ref").to_owned();
                *self.joins.entry((key.clone(), r.clone())).or_default() += 1;
                if !metas.iter().any(|m| m["phx_ref"] == r.as_str()) {
                    metas.push(meta.clone());
                }
            }
        }
        for (key, p) in diff["leaves"].as_object().expect("leaves") {
            for meta in p["metas"].as_array().expect("metas") {
                let r = meta["phx_ref"].as_str().expect("phx_ref").to_owned();
                *self.leaves.entry((key.clone(), r.clone())).or_default() += 1;
                if let Some(metas) = self.presences.get_mut(key) {
                    metas.retain(|m| m["phx_ref"] != r.as_str());
                    if metas.is_empty() {
                        self.presences.remove(key);
                    }
                }
            }
        }
    }
}

/// A seeded xorshift: `rand(n)` is in `0..n`, the same sequence every run.
pub fn rng(mut seed: u64) -> impl FnMut(usize) -> usize {
    move |n| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    }
}
