//! Helpers shared by the behaviour tests.

#![allow(dead_code)]

use std::collections::BTreeSet;

use embercast_tracker::{Diff, OwnerId, ReplicaRef, State};
use serde_json::{json, Value};

pub fn r(name: &str) -> ReplicaRef {
    ReplicaRef::new(name, 1)
}

pub fn meta(n: u64) -> Value {
    json!({ "n": n })
}

pub fn owner(n: u64) -> OwnerId {
    OwnerId(n)
}

/// Fresh states that all know each other.
pub fn connected(names: &[&str]) -> Vec<State> {
    let mut states: Vec<State> = names.iter().map(|n| State::new(r(n))).collect();
    let refs: Vec<ReplicaRef> = states.iter().map(|s| s.replica().clone()).collect();
    for state in &mut states {
        for other in &refs {
            state.replica_up(other);
        }
    }
    states
}

/// `(topic, key)` of every visible presence.
pub fn keys(state: &State) -> BTreeSet<(String, String)> {
    state.online().map(|p| (p.topic.to_string(), p.key.to_string())).collect()
}

/// The keys a diff joins, over all topics.
pub fn joined(diff: &Diff) -> Vec<String> {
    let mut out: Vec<String> = diff.iter().flat_map(|(_, t)| t.joins.iter().map(|p| p.key.to_string())).collect();
    out.sort();
    out
}

/// The keys a diff leaves, over all topics.
pub fn left(diff: &Diff) -> Vec<String> {
    let mut out: Vec<String> = diff.iter().flat_map(|(_, t)| t.leaves.iter().map(|p| p.key.to_string())).collect();
    out.sort();
    out
}

/// Merges `from`'s full state, extracted for `into`, into `into`.
pub fn transfer(into: &mut State, from: &State) -> Diff {
    let extract = from.extract(into.replica(), &into.clocks());
    into.merge_extract(&extract)
}
pub mod invariants;
pub mod model;
