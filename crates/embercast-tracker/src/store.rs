//! The stored presences and their indexes.
//!
//! Reads are by topic (listing a topic must not scan other topics), writes come
//! by owner (owner exit) and by dot (observed removes, replica transitions), so
//! the same presences are reachable three ways:
//!
//! * `topics`: topic → key → owner → entry. Listing a topic is a walk of one
//!   small tree, already grouped by key as Presence wants it.
//! * `owners`: owner → {(topic, key)}.
//! * `dots`: dot → (topic, owner, key), ordered so that all presences of one
//!   replica, or of one replica up to a counter, are a range.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde_json::Value;

use crate::{Dot, OwnerId, Presence, ReplicaRef};

/// The identity of a presence: Phoenix's `(topic, pid, key)`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct ElementKey {
    pub(crate) topic: Arc<str>,
    pub(crate) owner: OwnerId,
    pub(crate) key: Arc<str>,
}

/// One stored presence.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Entry {
    pub(crate) meta: Value,
    pub(crate) dot: Dot,
}

/// key → owner → entry, for one topic.
pub(crate) type TopicTable = BTreeMap<Arc<str>, Owners>;

/// The presences of one key, by owner: nearly always one or two, so a sorted
/// vector (one small allocation) rather than a tree (a node of eleven slots).
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Owners(Vec<(OwnerId, Entry)>);

impl Owners {
    pub(crate) fn get(&self, owner: &OwnerId) -> Option<&Entry> {
        let i = self.0.binary_search_by_key(owner, |(o, _)| *o).ok()?;
        Some(&self.0[i].1)
    }

    /// Inserts or replaces; returns the entry replaced.
    fn insert(&mut self, owner: OwnerId, entry: Entry) -> Option<Entry> {
        match self.0.binary_search_by_key(&owner, |(o, _)| *o) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, entry)),
            Err(i) => {
                self.0.insert(i, (owner, entry));
                None
            }
        }
    }

    fn remove(&mut self, owner: &OwnerId) -> Option<Entry> {
        let i = self.0.binary_search_by_key(owner, |(o, _)| *o).ok()?;
        Some(self.0.remove(i).1)
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// In owner order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&OwnerId, &Entry)> {
        self.0.iter().map(|(o, e)| (o, e))
    }
}

/// An owner's (topic, key) pairs: usually one, so a vector.
pub(crate) type Slots = Vec<(Arc<str>, Arc<str>)>;

#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Store {
    topics: HashMap<Arc<str>, TopicTable>,
    owners: HashMap<OwnerId, Slots>,
    dots: BTreeMap<Dot, ElementKey>,
}

impl Store {
    pub(crate) fn len(&self) -> usize {
        self.dots.len()
    }

    pub(crate) fn get(&self, topic: &str, owner: OwnerId, key: &str) -> Option<&Entry> {
        self.topics.get(topic)?.get(key)?.get(&owner)
    }

    /// The topic's shared name and table, if anything is stored under it.
    pub(crate) fn topic(&self, topic: &str) -> Option<(&Arc<str>, &TopicTable)> {
        self.topics.get_key_value(topic)
    }

    pub(crate) fn owner_slots(&self, owner: OwnerId) -> impl Iterator<Item = &(Arc<str>, Arc<str>)> {
        self.owners.get(&owner).into_iter().flatten()
    }

    pub(crate) fn key_of(&self, dot: &Dot) -> Option<&ElementKey> {
        self.dots.get(dot)
    }

    pub(crate) fn contains_dot(&self, dot: &Dot) -> bool {
        self.dots.contains_key(dot)
    }

    /// The presences created by `replica` with a counter up to `max`.
    pub(crate) fn dots_of(&self, replica: &ReplicaRef, max: u64) -> impl Iterator<Item = (&Dot, &ElementKey)> {
        self.dots.range(Dot::new(replica.clone(), 0)..=Dot::new(replica.clone(), max))
    }

    /// Inserts or overwrites in one step (an update never leaves a gap for a
    /// reader); returns the entry it replaced.
    pub(crate) fn insert(&mut self, id: ElementKey, meta: Value, dot: Dot) -> Option<Entry> {
        self.dots.insert(dot.clone(), id.clone());
        let owners = self.topics.entry(id.topic.clone()).or_default().entry(id.key.clone()).or_default();
        let old = owners.insert(id.owner, Entry { meta, dot });
        match &old {
            Some(old) => {
                self.dots.remove(&old.dot);
            }
            None => {
                self.owners.entry(id.owner).or_default().push((id.topic, id.key));
            }
        }
        old
    }

    pub(crate) fn remove(&mut self, topic: &str, owner: OwnerId, key: &str) -> Option<(ElementKey, Entry)> {
        let dot = self.get(topic, owner, key)?.dot.clone();
        let id = self.dots.remove(&dot)?;
        let table = self.topics.get_mut(&*id.topic)?;
        let owners = table.get_mut(&*id.key)?;
        let entry = owners.remove(&owner)?;
        if owners.is_empty() {
            table.remove(&*id.key);
            if table.is_empty() {
                self.topics.remove(&*id.topic);
            }
        }
        if let Some(slots) = self.owners.get_mut(&owner) {
            if let Some(i) = slots.iter().position(|(t, k)| *t == id.topic && *k == id.key) {
                slots.swap_remove(i);
            }
            if slots.is_empty() {
                self.owners.remove(&owner);
            }
        }
        Some((id, entry))
    }

    /// Every stored presence, in (topic, key, owner) order within a topic.
    pub(crate) fn iter(&self) -> impl Iterator<Item = Presence<'_>> {
        self.topics.iter().flat_map(|(topic, table)| table_presences(topic, table))
    }
}

/// The presences of one topic table.
pub(crate) fn table_presences<'a>(topic: &'a Arc<str>, table: &'a TopicTable) -> impl Iterator<Item = Presence<'a>> {
    table.iter().flat_map(move |(key, owners)| {
        owners.iter().map(move |(owner, entry)| Presence {
            topic,
            key,
            owner: *owner,
            meta: &entry.meta,
            dot: &entry.dot,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn id(topic: &str, owner: u64, key: &str) -> ElementKey {
        ElementKey { topic: topic.into(), owner: OwnerId(owner), key: key.into() }
    }

    fn dot(c: u64) -> Dot {
        Dot::new(ReplicaRef::new("a", 1), c)
    }

    #[test]
    fn insert_overwrite_and_remove_keep_every_index_in_step() {
        let mut store = Store::default();
        assert!(store.insert(id("t", 1, "k"), json!({"v": 1}), dot(1)).is_none());
        let old = store.insert(id("t", 1, "k"), json!({"v": 2}), dot(3)).unwrap();
        assert_eq!(old.dot, dot(1));
        assert!(!store.contains_dot(&dot(1)));
        assert_eq!(store.key_of(&dot(3)), Some(&id("t", 1, "k")));
        assert_eq!(store.owner_slots(OwnerId(1)).count(), 1);
        assert_eq!(store.len(), 1);

        let (removed, entry) = store.remove("t", OwnerId(1), "k").unwrap();
        assert_eq!((removed, entry.dot), (id("t", 1, "k"), dot(3)));
        assert_eq!(store.len(), 0);
        assert!(store.topic("t").is_none());
        assert_eq!(store.owner_slots(OwnerId(1)).count(), 0);
        assert!(store.remove("t", OwnerId(1), "k").is_none());
    }

    #[test]
    fn dots_of_is_a_range_per_replica() {
        let mut store = Store::default();
        store.insert(id("t", 1, "a"), json!({}), dot(1));
        store.insert(id("t", 1, "b"), json!({}), dot(2));
        store.insert(id("t", 2, "a"), json!({}), Dot::new(ReplicaRef::new("b", 1), 1));
        let a = ReplicaRef::new("a", 1);
        assert_eq!(store.dots_of(&a, u64::MAX).count(), 2);
        assert_eq!(store.dots_of(&a, 1).count(), 1);
    }
}
