//! Joins and leaves reported to the handler, per topic (PROTOCOL.md §10.13).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

use crate::{OwnerId, Presence};

/// One presence in a diff: who, under which key, with which meta.
#[derive(Clone, Debug, PartialEq)]
pub struct PresenceEntry {
    /// Owner of the presence.
    pub owner: OwnerId,
    /// Presence key.
    pub key: Arc<str>,
    /// The meta that joined or left (for a leave: the meta as it was).
    pub meta: Value,
}

impl From<Presence<'_>> for PresenceEntry {
    fn from(p: Presence<'_>) -> Self {
        PresenceEntry { owner: p.owner, key: p.key.clone(), meta: p.meta.clone() }
    }
}

/// The joins and leaves of one topic in one diff.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TopicDiff {
    /// Presences that became visible.
    pub joins: Vec<PresenceEntry>,
    /// Presences that stopped being visible.
    pub leaves: Vec<PresenceEntry>,
}

/// The change of this replica's *visible* presences caused by one event.
///
/// Diffs are exact: applying every diff a [`State`](crate::State) returns, in
/// order, to an empty view gives exactly what [`State::online`](crate::State::online)
/// lists. An update is one leave (old meta) and one join (new meta) of the same
/// key in the same diff, so a reader that applies a diff at once never sees the
/// key missing. Within a diff, joins and leaves never name the same meta, so the
/// order in which a reader applies them does not matter.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Diff {
    topics: BTreeMap<Arc<str>, TopicDiff>,
}

impl Diff {
    /// No change.
    pub fn new() -> Self {
        Diff::default()
    }

    /// Whether nothing joined or left.
    pub fn is_empty(&self) -> bool {
        self.topics.is_empty()
    }

    /// The topic's joins and leaves, if it changed.
    pub fn get(&self, topic: &str) -> Option<&TopicDiff> {
        self.topics.get(topic)
    }

    /// Every changed topic, in topic order.
    pub fn iter(&self) -> impl Iterator<Item = (&Arc<str>, &TopicDiff)> {
        self.topics.iter()
    }

    /// Number of joins over all topics.
    pub fn join_count(&self) -> usize {
        self.topics.values().map(|t| t.joins.len()).sum()
    }

    /// Number of leaves over all topics.
    pub fn leave_count(&self) -> usize {
        self.topics.values().map(|t| t.leaves.len()).sum()
    }

    pub(crate) fn join(&mut self, topic: &Arc<str>, entry: PresenceEntry) {
        self.topics.entry(topic.clone()).or_default().joins.push(entry);
    }

    pub(crate) fn leave(&mut self, topic: &Arc<str>, entry: PresenceEntry) {
        self.topics.entry(topic.clone()).or_default().leaves.push(entry);
    }
}

impl IntoIterator for Diff {
    type Item = (Arc<str>, TopicDiff);
    type IntoIter = std::collections::btree_map::IntoIter<Arc<str>, TopicDiff>;

    fn into_iter(self) -> Self::IntoIter {
        self.topics.into_iter()
    }
}
