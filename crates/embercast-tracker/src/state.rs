//! The replicated presence set of one replica: local operations and reads
//! (PROTOCOL.md §10.3, §10.4). Merging lives in `merge.rs`, replica transitions
//! in `replicas.rs`, extraction in `extract.rs`.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

use crate::history::{compact, in_history};
use crate::store::{table_presences, ElementKey, Store};
use crate::{Clock, Clouds, Delta, Diff, Dot, Element, OwnerId, Presence, PresenceEntry, ReplicaRef, ReplicaStatus};
use crate::{TrackError, UpdateError};

/// One replica's copy of the presence CRDT: an observed-remove set of
/// `(topic, owner, key) → meta` with a causal context and dot clouds, plus the
/// delta of local changes not yet gossiped.
///
/// Pure data: no clock, no I/O. Every mutation returns the [`Diff`] of what it
/// changed in the visible set.
#[derive(Clone, Debug, PartialEq)]
pub struct State {
    pub(crate) replica: ReplicaRef,
    pub(crate) context: Clock,
    pub(crate) clouds: Clouds,
    pub(crate) store: Store,
    pub(crate) replicas: BTreeMap<ReplicaRef, ReplicaStatus>,
    pub(crate) down_count: usize,
    pub(crate) delta: Delta,
}

impl State {
    /// A fresh replica: context `{self: 0}`, itself up, nothing tracked.
    pub fn new(replica: ReplicaRef) -> Self {
        State {
            context: Clock::from([(replica.clone(), 0)]),
            clouds: Clouds::new(),
            store: Store::default(),
            replicas: BTreeMap::from([(replica.clone(), ReplicaStatus::Up)]),
            down_count: 0,
            delta: Delta::new(replica.clone(), 0),
            replica,
        }
    }

    /// This replica.
    pub fn replica(&self) -> &ReplicaRef {
        &self.replica
    }

    /// The causal context (contiguous prefix per known replica).
    pub fn context(&self) -> &Clock {
        &self.context
    }

    /// The dot clouds (events seen beyond the context).
    pub fn clouds(&self) -> &Clouds {
        &self.clouds
    }

    /// What this replica advertises: its context without the replicas it
    /// considers down, so that a peer that never knew a down replica does not
    /// look behind and keep asking for transfers.
    pub fn clocks(&self) -> Clock {
        if self.down_count == 0 {
            return self.context.clone();
        }
        self.context.iter().filter(|(r, _)| self.is_visible(r)).map(|(r, c)| (r.clone(), *c)).collect()
    }

    /// Whether `dot` is in this replica's causal history (seen, whether its
    /// presence is still there or was removed).
    pub fn has_observed(&self, dot: &Dot) -> bool {
        in_history(&self.context, &self.clouds, dot)
    }

    /// The status of a replica this one knows (itself included).
    pub fn replica_status(&self, replica: &ReplicaRef) -> Option<ReplicaStatus> {
        self.replicas.get(replica).copied()
    }

    /// Known replicas and their status.
    pub fn replicas(&self) -> impl Iterator<Item = (&ReplicaRef, ReplicaStatus)> {
        self.replicas.iter().map(|(r, s)| (r, *s))
    }

    pub(crate) fn is_visible(&self, replica: &ReplicaRef) -> bool {
        self.down_count == 0 || self.replicas.get(replica) != Some(&ReplicaStatus::Down)
    }

    /// The local changes not yet gossiped.
    pub fn delta(&self) -> &Delta {
        &self.delta
    }

    /// Whether there are local changes (or relayed removals) to gossip.
    pub fn has_delta(&self) -> bool {
        !self.delta.is_empty()
    }

    /// Hands out the pending delta and starts a new one (Phoenix: broadcast,
    /// `reset_delta`, `compact`).
    pub fn take_delta(&mut self) -> Delta {
        let fresh = Delta::new(self.replica.clone(), self.counter());
        let delta = std::mem::replace(&mut self.delta, fresh);
        compact(&mut self.context, &mut self.clouds);
        delta
    }

    fn counter(&self) -> u64 {
        self.context.get(&self.replica).copied().unwrap_or(0)
    }

    /// One local event. The own context is always contiguous, so the dot is
    /// recorded in the delta only (Phoenix also puts it in its own cloud and
    /// compacts it away later).
    fn bump(&mut self) -> Dot {
        let counter = self.counter() + 1;
        self.context.insert(self.replica.clone(), counter);
        let dot = Dot::new(self.replica.clone(), counter);
        self.delta.record_event(dot.clone());
        dot
    }

    /// Adds the presence `(owner, topic, key)` with `meta` (a JSON object).
    ///
    /// Refuses a triple that is already tracked. The meta is stored as given:
    /// the caller adds `phx_ref`.
    pub fn track(&mut self, owner: OwnerId, topic: &str, key: &str, meta: Value) -> Result<Diff, TrackError> {
        if !meta.is_object() {
            return Err(TrackError::MetaNotObject);
        }
        if self.store.get(topic, owner, key).is_some() {
            return Err(TrackError::AlreadyTracked { owner, topic: topic.into(), key: key.into() });
        }
        // Share the topic's name with the presences already under it.
        let topic = self.store.topic(topic).map_or_else(|| Arc::from(topic), |(shared, _)| shared.clone());
        let id = ElementKey { topic, owner, key: Arc::from(key) };
        let dot = self.bump();
        let element = Element { owner, topic: id.topic.clone(), key: id.key.clone(), meta };
        self.delta.record_add(dot.clone(), element.clone());
        let mut diff = Diff::new();
        diff.join(&id.topic, PresenceEntry { owner, key: id.key.clone(), meta: element.meta.clone() });
        self.store.insert(id, element.meta, dot);
        Ok(diff)
    }

    /// Removes one presence; nothing happens (and the diff is empty) if it is
    /// not tracked.
    pub fn untrack(&mut self, owner: OwnerId, topic: &str, key: &str) -> Diff {
        let mut diff = Diff::new();
        if let Some((id, entry)) = self.store.remove(topic, owner, key) {
            self.delta.record_remove(&entry.dot);
            self.bump();
            diff.leave(&id.topic, PresenceEntry { owner, key: id.key, meta: entry.meta });
        }
        diff
    }

    /// Removes every presence of `owner` (its exit), in one diff.
    pub fn untrack_owner(&mut self, owner: OwnerId) -> Diff {
        let slots: Vec<_> = self.store.owner_slots(owner).cloned().collect();
        let mut diff = Diff::new();
        for (topic, key) in slots {
            if let Some((id, entry)) = self.store.remove(&topic, owner, &key) {
                self.delta.record_remove(&entry.dot);
                self.bump();
                diff.leave(&id.topic, PresenceEntry { owner, key: id.key, meta: entry.meta });
            }
        }
        diff
    }

    /// Replaces the meta of a tracked presence.
    pub fn update(&mut self, owner: OwnerId, topic: &str, key: &str, meta: Value) -> Result<Diff, UpdateError> {
        self.update_with(owner, topic, key, |_| meta)
    }

    /// Replaces the meta of a tracked presence with `f(current meta)`.
    ///
    /// Two events, as in Phoenix's `leave_join`: the removal of the old dot and
    /// the addition of a new one, written over the old entry in one step. The
    /// diff holds the leave of the old meta and the join of the new one; the
    /// caller's `f` is where `phx_ref` / `phx_ref_prev` get set.
    pub fn update_with(
        &mut self,
        owner: OwnerId,
        topic: &str,
        key: &str,
        f: impl FnOnce(&Value) -> Value,
    ) -> Result<Diff, UpdateError> {
        let old = self.store.get(topic, owner, key).ok_or(UpdateError::NoPresence)?;
        let meta = f(&old.meta);
        if !meta.is_object() {
            return Err(UpdateError::MetaNotObject);
        }
        let old_dot = old.dot.clone();
        let id = self.store.key_of(&old_dot).cloned().ok_or(UpdateError::NoPresence)?;
        self.delta.record_remove(&old_dot);
        self.bump();
        let dot = self.bump();
        let element = Element { owner, topic: id.topic.clone(), key: id.key.clone(), meta };
        self.delta.record_add(dot.clone(), element.clone());
        let mut diff = Diff::new();
        diff.join(&id.topic, PresenceEntry { owner, key: id.key.clone(), meta: element.meta.clone() });
        let topic = id.topic.clone();
        if let Some(old) = self.store.insert(id, element.meta, dot) {
            diff.leave(&topic, PresenceEntry { owner, key: element.key, meta: old.meta });
        }
        Ok(diff)
    }

    /// The presence `(owner, topic, key)`, visible or not.
    pub fn get(&self, owner: OwnerId, topic: &str, key: &str) -> Option<Presence<'_>> {
        let (topic, table) = self.store.topic(topic)?;
        let (key, owners) = table.get_key_value(key)?;
        let entry = owners.get(&owner)?;
        Some(Presence { topic, key, owner, meta: &entry.meta, dot: &entry.dot })
    }

    /// The visible presences of a topic, ordered by key then owner.
    pub fn list<'a>(&'a self, topic: &str) -> impl Iterator<Item = Presence<'a>> + 'a {
        self.store
            .topic(topic)
            .into_iter()
            .flat_map(|(topic, table)| table_presences(topic, table))
            .filter(|p| self.is_visible(p.dot.replica()))
    }

    /// The visible presences of one key of a topic, ordered by owner.
    pub fn get_by_key<'a>(&'a self, topic: &str, key: &str) -> impl Iterator<Item = Presence<'a>> + 'a {
        let slot = self.store.topic(topic).and_then(|(topic, table)| Some((topic, table.get_key_value(key)?)));
        slot.into_iter()
            .flat_map(|(topic, (key, owners))| {
                owners.iter().map(move |(owner, e)| Presence { topic, key, owner: *owner, meta: &e.meta, dot: &e.dot })
            })
            .filter(|p| self.is_visible(p.dot.replica()))
    }

    /// Every presence of `owner` (tracked locally, so always visible).
    pub fn by_owner(&self, owner: OwnerId) -> impl Iterator<Item = Presence<'_>> {
        self.store.owner_slots(owner).filter_map(move |(topic, key)| self.get(owner, topic, key))
    }

    /// Every visible presence (Phoenix's `online_list`), topic by topic.
    pub fn online(&self) -> impl Iterator<Item = Presence<'_>> {
        self.store.iter().filter(|p| self.is_visible(p.dot.replica()))
    }

    /// Every stored presence, including those hidden because their replica is down.
    pub fn stored(&self) -> impl Iterator<Item = Presence<'_>> {
        self.store.iter()
    }

    /// Number of stored presences (visible or hidden).
    pub fn stored_len(&self) -> usize {
        self.store.len()
    }
}
