//! Causal history: the context (a [`Clock`]) plus the dot clouds, and compaction
//! (PROTOCOL.md §10.2, §10.5).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::{Clock, Dot, ReplicaRef};

/// For each replica, the dots observed beyond the contiguous prefix recorded in
/// the context (in a [`Delta`](crate::Delta): every dot created or removed in it).
///
/// Empty per-replica sets are never kept, so two equal histories compare equal.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Clouds(#[serde(with = "crate::serde_map")] BTreeMap<ReplicaRef, BTreeSet<u64>>);

impl Clouds {
    /// No dots at all.
    pub fn new() -> Self {
        Clouds::default()
    }

    /// Whether `dot` is in the cloud of its replica.
    pub fn contains(&self, dot: &Dot) -> bool {
        self.0.get(dot.replica()).is_some_and(|cloud| cloud.contains(&dot.counter()))
    }

    /// Adds `dot`; returns whether it was new.
    pub fn insert(&mut self, dot: Dot) -> bool {
        let counter = dot.counter();
        match self.0.get_mut(dot.replica()) {
            Some(cloud) => cloud.insert(counter),
            None => {
                self.0.insert(dot.replica().clone(), BTreeSet::from([counter]));
                true
            }
        }
    }

    /// The number of dots over all replicas.
    pub fn len(&self) -> usize {
        self.0.values().map(BTreeSet::len).sum()
    }

    /// Whether there is no dot at all.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The counters in `replica`'s cloud, if it has any.
    pub fn get(&self, replica: &ReplicaRef) -> Option<&BTreeSet<u64>> {
        self.0.get(replica)
    }

    /// Each replica with its non-empty cloud, in replica order.
    pub fn iter(&self) -> impl Iterator<Item = (&ReplicaRef, &BTreeSet<u64>)> {
        self.0.iter()
    }

    /// Every dot, in order.
    pub fn dots(&self) -> impl Iterator<Item = Dot> + '_ {
        self.0.iter().flat_map(|(r, cloud)| cloud.iter().map(move |c| Dot::new(r.clone(), *c)))
    }

    /// Adds the clouds of `other` for the replicas accepted by `keep`.
    pub(crate) fn union_with(&mut self, other: &Clouds, mut keep: impl FnMut(&ReplicaRef) -> bool) {
        for (r, cloud) in &other.0 {
            if keep(r) {
                self.0.entry(r.clone()).or_default().extend(cloud.iter().copied());
            }
        }
    }

    /// The clouds of the replicas that are keys of `keys`.
    pub(crate) fn restrict<W>(&self, keys: &BTreeMap<ReplicaRef, W>) -> Clouds {
        Clouds(crate::clock::restrict(&self.0, keys))
    }

    /// Forgets everything about `replica`.
    pub(crate) fn remove_replica(&mut self, replica: &ReplicaRef) {
        self.0.remove(replica);
    }
}

/// Whether `dot` is in the causal history `(context, clouds)`.
pub fn in_history(context: &Clock, clouds: &Clouds, dot: &Dot) -> bool {
    context.get(dot.replica()).is_some_and(|c| *c >= dot.counter()) || clouds.contains(dot)
}

/// Folds every cloud dot that extends the contiguous prefix into the context and
/// drops the dots the context already covers.
///
/// A replica missing from the context enters it when its dot 1 is folded, as in
/// Phoenix; the tracker's own clouds only hold dots of known replicas, so that
/// case only matters for the shared vectors.
pub fn compact(context: &mut Clock, clouds: &mut Clouds) {
    for (replica, cloud) in clouds.0.iter_mut() {
        let mut kept = BTreeSet::new();
        for &counter in cloud.iter() {
            match context.get_mut(replica) {
                Some(seen) if *seen + 1 == counter => *seen = counter,
                Some(seen) if *seen >= counter => {}
                None if counter == 1 => {
                    context.insert(replica.clone(), 1);
                }
                _ => {
                    kept.insert(counter);
                }
            }
        }
        *cloud = kept;
    }
    clouds.0.retain(|_, cloud| !cloud.is_empty());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(name: &str) -> ReplicaRef {
        ReplicaRef::new(name, 1)
    }

    #[test]
    fn compaction_advances_over_contiguous_dots_only() {
        let mut ctx = Clock::from([(r("a"), 0)]);
        let mut clouds = Clouds::new();
        for c in [1, 2, 4] {
            clouds.insert(Dot::new(r("a"), c));
        }
        compact(&mut ctx, &mut clouds);
        assert_eq!(ctx[&r("a")], 2);
        assert_eq!(clouds.dots().collect::<Vec<_>>(), vec![Dot::new(r("a"), 4)]);
        clouds.insert(Dot::new(r("a"), 3));
        compact(&mut ctx, &mut clouds);
        assert_eq!(ctx[&r("a")], 4);
        assert!(clouds.is_empty());
    }

    #[test]
    fn history_is_context_or_cloud() {
        let ctx = Clock::from([(r("a"), 2)]);
        let mut clouds = Clouds::new();
        clouds.insert(Dot::new(r("a"), 5));
        assert!(in_history(&ctx, &clouds, &Dot::new(r("a"), 2)));
        assert!(!in_history(&ctx, &clouds, &Dot::new(r("a"), 3)));
        assert!(in_history(&ctx, &clouds, &Dot::new(r("a"), 5)));
        assert!(!in_history(&ctx, &clouds, &Dot::new(r("b"), 1)));
    }

    #[test]
    fn union_respects_the_filter_and_len_counts_dots() {
        let mut mine = Clouds::new();
        mine.insert(Dot::new(r("a"), 3));
        let mut theirs = Clouds::new();
        theirs.insert(Dot::new(r("a"), 4));
        theirs.insert(Dot::new(r("b"), 1));
        mine.union_with(&theirs, |rep| rep.name() == "a");
        assert_eq!(mine.len(), 2);
        assert!(mine.get(&r("b")).is_none());
    }
}
