//! The per-step and final invariants of the [`Model`].

use std::collections::{BTreeMap, BTreeSet};

use embercast_tracker::{Diff, Dot, Gossip, OwnerId, Presence, ReplicaStatus, State};
use serde_json::json;

use super::model::{Model, KEYS, TOPICS};

/// What a reader of `presence_diff` holds: (topic, owner, key, meta) → count.
pub(super) type Row = (String, u64, String, String);

fn row(topic: &str, owner: OwnerId, key: &str, meta: &serde_json::Value) -> Row {
    (topic.to_owned(), owner.0, key.to_owned(), meta.to_string())
}

fn life_of(p: &Presence<'_>) -> u64 {
    p.meta["life"].as_u64().expect("model metas carry a life")
}

impl Model {
    pub(super) fn check_step(&mut self, i: usize, before: &State) {
        let node = &mut self.nodes[i];
        let state = node.shard.state();
        let listed = visible_rows(state);
        assert_eq!(node.reader, listed, "{}: the diffs do not add up to the listed presences", state.replica());

        let now: BTreeSet<u64> = state.online().map(|p| life_of(&p)).collect();
        for p in before.online() {
            let life = life_of(&p);
            if now.contains(&life) {
                continue;
            }
            let origin = p.dot.replica();
            let up_here = state.replica_status(origin) == Some(ReplicaStatus::Up);
            assert!(
                self.ended.contains(&life) || !up_here,
                "{}: live presence {life} of {origin} vanished (torn update?)",
                state.replica()
            );
            if up_here {
                node.gone.insert(life, origin.clone());
            }
        }
        for life in &now {
            assert!(!node.gone.contains_key(life), "{}: presence {life} came back after leaving", state.replica());
        }
        for p in state.stored() {
            let newest = node.newest.get(p.dot.replica().name()).copied().unwrap_or(0);
            assert!(p.dot.replica().vsn() >= newest, "{}: holds {} of a dead incarnation", state.replica(), p.dot);
        }

        let held: BTreeSet<&Dot> = before.stored().map(|p| p.dot).collect();
        for p in state.stored() {
            let known = before.context().contains_key(p.dot.replica());
            let resurrected = !held.contains(p.dot) && known && before.has_observed(p.dot);
            assert!(!resurrected, "{}: stored {} again after observing it", state.replica(), p.dot);
        }
    }

    pub(super) fn check_converged(&self) {
        let mut truth = BTreeMap::new();
        for node in &self.nodes {
            for (&(owner, topic, key), &(life, v)) in &node.local {
                *truth.entry(row(TOPICS[topic], owner, KEYS[key], &json!({"life": life, "v": v}))).or_insert(0) += 1;
            }
        }
        for node in &self.nodes {
            let state = node.shard.state();
            assert_eq!(visible_rows(state), truth, "{} did not converge", state.replica());
            assert_eq!(state.stored_len(), state.online().count(), "{} holds hidden presences", state.replica());
            for other in &self.nodes {
                let peer = other.shard.replica();
                if peer != state.replica() {
                    assert_eq!(state.replica_status(peer), Some(ReplicaStatus::Up), "{} sees {peer}", state.replica());
                }
            }
        }
    }
}

fn visible_rows(state: &State) -> BTreeMap<Row, usize> {
    let mut rows = BTreeMap::new();
    for p in state.online() {
        *rows.entry(row(p.topic, p.owner, p.key, p.meta)).or_insert(0) += 1;
    }
    rows
}

/// Applies a diff the way phoenix.js does: joins, then leaves by meta.
pub(super) fn apply_diff(reader: &mut BTreeMap<Row, usize>, diff: &Diff) {
    for (topic, changes) in diff.iter() {
        for p in &changes.joins {
            *reader.entry(row(topic, p.owner, &p.key, &p.meta)).or_insert(0) += 1;
        }
        for p in &changes.leaves {
            let slot = row(topic, p.owner, &p.key, &p.meta);
            let count = reader.get_mut(&slot).unwrap_or_else(|| panic!("leave of {slot:?}, never joined"));
            *count -= 1;
            if *count == 0 {
                reader.remove(&slot);
            }
        }
    }
}

/// Merging a message's payload twice must be the same as merging it once: the
/// second merge reports nothing and changes nothing. (Checked on a copy, since
/// the shard may rightly have ignored the message.)
pub(super) fn check_idempotent(state: &State, msg: &Gossip) {
    let merge = |s: &mut State| match msg {
        Gossip::Heartbeat { delta: Some(delta), .. } => s.merge_delta(delta).ok(),
        Gossip::TransferAck { transfer, .. } => s.merge_transfer(transfer).ok(),
        _ => None,
    };
    let mut once = state.clone();
    if merge(&mut once).is_none() {
        return;
    }
    let mut twice = once.clone();
    let diff = merge(&mut twice).expect("accepted once, accepted twice");
    assert!(diff.is_empty(), "{}: a second merge reported {diff:?}", state.replica());
    assert!(twice == once, "{}: a second merge changed the state", state.replica());
}
