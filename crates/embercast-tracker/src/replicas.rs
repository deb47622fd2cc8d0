//! Replica up / down / permanently down, as seen by the CRDT (PROTOCOL.md §10.10,
//! "Replica transitions on the CRDT"). Deciding *when* is [`Liveness`](crate::Liveness)'s job.

use crate::{Diff, Dot, PresenceEntry, ReplicaRef, ReplicaStatus, State};

impl State {
    /// A replica is up: it enters the context (at 0 if new) and its stored
    /// presences become visible again, reported as joins.
    ///
    /// Nothing is reported for a replica that was already up.
    pub fn replica_up(&mut self, replica: &ReplicaRef) -> Diff {
        if replica == &self.replica {
            return Diff::new();
        }
        self.context.entry(replica.clone()).or_insert(0);
        match self.replicas.insert(replica.clone(), ReplicaStatus::Up) {
            Some(ReplicaStatus::Up) => Diff::new(),
            Some(ReplicaStatus::Down) => {
                self.down_count -= 1;
                self.report(replica, true)
            }
            None => self.report(replica, true),
        }
    }

    /// A replica is down: its presences are kept but hidden, reported as leaves.
    pub fn replica_down(&mut self, replica: &ReplicaRef) -> Diff {
        if replica == &self.replica {
            return Diff::new();
        }
        match self.replicas.insert(replica.clone(), ReplicaStatus::Down) {
            Some(ReplicaStatus::Down) => Diff::new(),
            _ => {
                self.down_count += 1;
                self.report(replica, false)
            }
        }
    }

    /// A replica is gone for good: its presences, context, clouds and pending
    /// relays are deleted. If it was still up its presences are reported as
    /// leaves (Phoenix always downs a replica first, so reports nothing here).
    ///
    /// If the same incarnation shows up again later (a partition longer than
    /// the permdown period), it starts from an empty history here and its
    /// presences come back as fresh joins through transfers.
    pub fn permdown(&mut self, replica: &ReplicaRef) -> Diff {
        if replica == &self.replica {
            return Diff::new();
        }
        let diff = if self.is_visible(replica) { self.report(replica, false) } else { Diff::new() };
        let dots: Vec<Dot> = self.store.dots_of(replica, u64::MAX).map(|(dot, _)| dot.clone()).collect();
        for dot in dots {
            if let Some(id) = self.store.key_of(&dot).cloned() {
                self.store.remove(&id.topic, id.owner, &id.key);
            }
        }
        self.context.remove(replica);
        self.clouds.remove_replica(replica);
        self.delta.remove_replica(replica);
        if self.replicas.remove(replica) == Some(ReplicaStatus::Down) {
            self.down_count -= 1;
        }
        diff
    }

    /// Every stored presence of `replica`, as joins or as leaves.
    fn report(&self, replica: &ReplicaRef, joins: bool) -> Diff {
        let mut diff = Diff::new();
        for (_, id) in self.store.dots_of(replica, u64::MAX) {
            if let Some(entry) = self.store.get(&id.topic, id.owner, &id.key) {
                let presence = PresenceEntry { owner: id.owner, key: id.key.clone(), meta: entry.meta.clone() };
                if joins {
                    diff.join(&id.topic, presence);
                } else {
                    diff.leave(&id.topic, presence);
                }
            }
        }
        diff
    }
}
