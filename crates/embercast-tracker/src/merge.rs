//! Merging a remote delta or full state into a replica (PROTOCOL.md §10.6).

use std::collections::btree_map::Entry as MapEntry;
use std::collections::{BTreeMap, BTreeSet};

use crate::history::compact;
use crate::store::ElementKey;
use crate::{Clock, Clouds, Delta, Diff, Dot, Element, Extract, GapError, PresenceEntry, State, Transfer};

impl State {
    /// Merges a delta (from a heartbeat, or a generation sent as a transfer).
    ///
    /// Refused with [`GapError`] when the delta starts after what this replica
    /// has seen of one of its replicas: merging across the gap would let
    /// presences arrive without the removals that preceded them. Phoenix merges
    /// such deltas; here the gap is left for anti-entropy to fill with a
    /// contiguous transfer.
    pub fn merge_delta(&mut self, delta: &Delta) -> Result<Diff, GapError> {
        delta.check_contiguous(&self.context)?;
        Ok(self.merge_remote(None, delta.clouds(), delta.values()))
    }

    /// Merges a full state extracted by a peer (a transfer answer).
    pub fn merge_extract(&mut self, extract: &Extract) -> Diff {
        self.merge_remote(Some(extract.context()), extract.clouds(), extract.values())
    }

    /// Merges either form of transfer answer.
    pub fn merge_transfer(&mut self, transfer: &Transfer) -> Result<Diff, GapError> {
        match transfer {
            Transfer::Delta(delta) => self.merge_delta(delta),
            Transfer::Full(extract) => Ok(self.merge_extract(extract)),
        }
    }

    /// The merge proper. `remote_context` is `None` for deltas (their context
    /// is empty). Only replicas this one knows take part, and never itself:
    /// its own presences are authoritative.
    fn merge_remote(
        &mut self,
        remote_context: Option<&Clock>,
        remote_clouds: &Clouds,
        remote_values: &BTreeMap<Dot, Element>,
    ) -> Diff {
        let known = |state: &State, replica| replica != &state.replica && state.context.contains_key(replica);

        // 1. Joins: presences of known replicas never observed here. Two for
        //    one slot in the same input cannot both be alive; keep the newer.
        let mut joins: BTreeMap<ElementKey, &Dot> = BTreeMap::new();
        let mut dead: Vec<Dot> = Vec::new();
        for (dot, element) in remote_values {
            if !known(self, dot.replica()) || self.has_observed(dot) {
                continue;
            }
            let id = ElementKey { topic: element.topic.clone(), owner: element.owner, key: element.key.clone() };
            match joins.entry(id) {
                MapEntry::Vacant(slot) => {
                    slot.insert(dot);
                }
                MapEntry::Occupied(mut slot) if dot.supersedes(slot.get()) => {
                    dead.push(slot.insert(dot).clone());
                }
                MapEntry::Occupied(_) => dead.push(dot.clone()),
            }
        }

        // 2. Observed removes: a stored presence of another replica whose dot
        //    the remote has observed but no longer holds.
        let mut removed: BTreeSet<Dot> = BTreeSet::new();
        if let Some(context) = remote_context {
            for (replica, max) in context.iter().filter(|(r, _)| known(self, r)) {
                let gone = self.store.dots_of(replica, *max).filter(|(dot, _)| !remote_values.contains_key(*dot));
                removed.extend(gone.map(|(dot, _)| dot.clone()));
            }
        }
        for (replica, cloud) in remote_clouds.iter().filter(|(r, _)| known(self, r)) {
            for counter in cloud {
                let dot = Dot::new(replica.clone(), *counter);
                if self.store.contains_dot(&dot) && !remote_values.contains_key(&dot) {
                    removed.insert(dot);
                }
            }
        }

        // 3. A join for a slot that still holds another presence: a replica
        //    never holds two presences for one triple, so the older one was
        //    removed at its origin even if we have not seen that event (only
        //    possible across a gap, which deltas refuse, or through a reused
        //    owner id). Keep the newer; own presences are never replaced.
        let mut accepted: Vec<(ElementKey, &Dot)> = Vec::with_capacity(joins.len());
        for (id, dot) in joins {
            match self.store.get(&id.topic, id.owner, &id.key) {
                Some(held) if !removed.contains(&held.dot) => {
                    if held.dot.replica() != &self.replica && dot.supersedes(&held.dot) {
                        removed.insert(held.dot.clone());
                        accepted.push((id, dot));
                    } else {
                        dead.push(dot.clone());
                    }
                }
                _ => accepted.push((id, dot)),
            }
        }

        // 4. History: everything the remote observed of known replicas. Removed
        //    dots stay in it (Phoenix deletes them from the cloud, which lets a
        //    stale copy of the presence be joined again).
        let (me, context) = (&self.replica, &self.context);
        self.clouds.union_with(remote_clouds, |r| r != me && context.contains_key(r));
        for dot in dead {
            self.clouds.insert(dot);
        }
        if let Some(remote) = remote_context {
            for (replica, counter) in remote {
                if replica != &self.replica {
                    if let Some(seen) = self.context.get_mut(replica) {
                        *seen = (*seen).max(*counter);
                    }
                }
            }
        }

        // 5. Apply. A slot both removed and re-added (a remote update) is
        //    overwritten in place, so no reader sees it missing.
        let mut diff = Diff::new();
        let replaced: BTreeSet<ElementKey> = accepted.iter().map(|(id, _)| id.clone()).collect();
        for dot in &removed {
            let Some(id) = self.store.key_of(dot).filter(|id| !replaced.contains(*id)).cloned() else {
                continue;
            };
            if let Some((id, held)) = self.store.remove(&id.topic, id.owner, &id.key) {
                // Relay the removal in our next delta for replicas that only
                // hear from us. Only plain removals: relaying the removal half
                // of an update without its new presence would make the key
                // vanish at a third replica until the origin's delta arrived.
                self.delta.record_remove(&held.dot);
                if self.is_visible(held.dot.replica()) {
                    diff.leave(&id.topic, PresenceEntry { owner: id.owner, key: id.key, meta: held.meta });
                }
            }
        }
        for (id, dot) in accepted {
            let element = &remote_values[dot];
            let (topic, owner, key) = (id.topic.clone(), id.owner, id.key.clone());
            if let Some(old) = self.store.insert(id, element.meta.clone(), dot.clone()) {
                if self.is_visible(old.dot.replica()) {
                    diff.leave(&topic, PresenceEntry { owner, key: key.clone(), meta: old.meta });
                }
            }
            if self.is_visible(dot.replica()) {
                diff.join(&topic, PresenceEntry { owner, key, meta: element.meta.clone() });
            }
        }
        compact(&mut self.context, &mut self.clouds);
        diff
    }
}
