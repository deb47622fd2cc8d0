//! Identities: replicas, dots and owners (PROTOCOL.md §10.2).

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// One incarnation of a replica: its name (the node name) and a version number
/// unique to this start of the shard.
///
/// A node that restarts keeps its name but gets a new `vsn`, so it is a
/// *different* replica: everything the old incarnation tracked is gone with it.
/// All CRDT bookkeeping is keyed by `ReplicaRef`; only liveness is keyed by name.
///
/// The `vsn` of a name must grow from one incarnation to the next (Phoenix uses
/// the start time in microseconds); [`Liveness`](crate::Liveness) relies on
/// that to recognise a late message from a dead incarnation.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ReplicaRef {
    name: Arc<str>,
    vsn: u64,
}

impl ReplicaRef {
    /// The incarnation `vsn` of the replica called `name`.
    pub fn new(name: impl Into<Arc<str>>, vsn: u64) -> Self {
        ReplicaRef { name: name.into(), vsn }
    }

    /// The replica's name (the node name peers address it by).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The name as a shared string, for callers that keep it.
    pub fn name_arc(&self) -> &Arc<str> {
        &self.name
    }

    /// The incarnation number.
    pub fn vsn(&self) -> u64 {
        self.vsn
    }
}

impl fmt::Display for ReplicaRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{}", self.name, self.vsn)
    }
}

/// A dot (Phoenix calls it a tag): the `counter`-th event of `replica`.
///
/// Every local mutation of a replica creates one dot; every stored presence
/// carries the dot of the event that created it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Dot {
    replica: ReplicaRef,
    counter: u64,
}

impl Dot {
    /// The `counter`-th event of `replica` (counters start at 1).
    pub fn new(replica: ReplicaRef, counter: u64) -> Self {
        Dot { replica, counter }
    }

    /// The replica that created the event.
    pub fn replica(&self) -> &ReplicaRef {
        &self.replica
    }

    /// The event's position in that replica's history.
    pub fn counter(&self) -> u64 {
        self.counter
    }

    /// Whether this dot replaces `other` when both claim the same
    /// (topic, owner, key).
    ///
    /// A replica refuses a second track of a triple, so of two dots of the same
    /// replica for one triple the older was necessarily removed before the newer
    /// was created. Across replicas (only possible if an owner id were reused by
    /// a later incarnation) the later incarnation wins; the name breaks ties so
    /// that every replica picks the same winner.
    pub(crate) fn supersedes(&self, other: &Dot) -> bool {
        if self.replica == other.replica {
            self.counter > other.counter
        } else {
            (self.replica.vsn, &self.replica.name) > (other.replica.vsn, &other.replica.name)
        }
    }
}

impl fmt::Display for Dot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({}, {})", self.replica, self.counter)
    }
}

/// The tracked actor a presence belongs to (Phoenix: a pid).
///
/// Opaque to the CRDT. The runtime must make it unique across the cluster *and*
/// across incarnations (for example by deriving it from the incarnation's `vsn`
/// and a local counter): presences are identified by (topic, owner, key), and an
/// owner tracked on two replicas at once would make them compete for one slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OwnerId(pub u64);

impl fmt::Display for OwnerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "owner:{}", self.0)
    }
}

/// Whether a known replica's presences are currently listed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ReplicaStatus {
    /// Heard from recently: its presences are visible.
    Up,
    /// Silent for longer than the down period: its presences are kept but hidden.
    Down,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newer_dot_of_the_same_replica_supersedes() {
        let a = ReplicaRef::new("a", 1);
        assert!(Dot::new(a.clone(), 3).supersedes(&Dot::new(a.clone(), 1)));
        assert!(!Dot::new(a.clone(), 1).supersedes(&Dot::new(a, 3)));
    }

    #[test]
    fn later_incarnation_supersedes_across_replicas() {
        let old = Dot::new(ReplicaRef::new("a", 1), 9);
        let new = Dot::new(ReplicaRef::new("a", 2), 1);
        assert!(new.supersedes(&old));
        assert!(!old.supersedes(&new));
    }

    #[test]
    fn display_is_readable() {
        assert_eq!(Dot::new(ReplicaRef::new("n1", 7), 3).to_string(), "(n1#7, 3)");
    }
}
