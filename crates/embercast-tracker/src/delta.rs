//! Deltas: the changes of a window of events, as gossiped in heartbeats and kept
//! in generations (PROTOCOL.md §10.3, §10.8, §10.9).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::clock::{dominates_or_equal, lowerbound, restrict, upperbound};
use crate::history::in_history;
use crate::{Clock, Clouds, Dot, Element, GapError, NotContiguous, ReplicaRef};

/// The changes of a window of events.
///
/// * `values`: presences added in the window and still present at its end;
/// * `clouds`: every dot created or removed in the window, so a dot in the
///   clouds but not in `values` is a removal (a tombstone);
/// * `start..end`: for each replica whose events the window holds, the counters
///   it covers (`start` exclusive). A local delta covers only its own replica;
///   merged generations cover several.
///
/// Unlike Phoenix's delta, there is no context field: it is always empty.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Delta {
    replica: ReplicaRef,
    #[serde(with = "crate::serde_map")]
    values: BTreeMap<Dot, Element>,
    clouds: Clouds,
    #[serde(with = "crate::serde_map")]
    start: Clock,
    #[serde(with = "crate::serde_map")]
    end: Clock,
}

impl Delta {
    /// An empty delta of `replica` whose window starts after its event `counter`.
    pub fn new(replica: ReplicaRef, counter: u64) -> Self {
        let range = Clock::from([(replica.clone(), counter)]);
        Delta { replica, values: BTreeMap::new(), clouds: Clouds::new(), start: range.clone(), end: range }
    }

    /// The replica that produced (or merged) this delta.
    pub fn replica(&self) -> &ReplicaRef {
        &self.replica
    }

    /// Presences added in the window and not removed by its end.
    pub fn values(&self) -> &BTreeMap<Dot, Element> {
        &self.values
    }

    /// Every dot created or removed in the window.
    pub fn clouds(&self) -> &Clouds {
        &self.clouds
    }

    /// The last event before the window, per replica.
    pub fn start(&self) -> &Clock {
        &self.start
    }

    /// The last event in the window, per replica.
    pub fn end(&self) -> &Clock {
        &self.end
    }

    /// Whether the delta carries no change (Phoenix's `has_delta?` is its negation).
    pub fn is_empty(&self) -> bool {
        self.clouds.is_empty()
    }

    /// `|values| + Σ |clouds|`, the measure of the generation ladder.
    pub fn size(&self) -> usize {
        self.values.len() + self.clouds.len()
    }

    /// Checks that merging this delta into a replica whose context is `context`
    /// skips no event of a replica it knows: for each such replica the window
    /// must start at or before what the context has seen.
    pub fn check_contiguous(&self, context: &Clock) -> Result<(), GapError> {
        for (replica, start) in &self.start {
            if let Some(seen) = context.get(replica) {
                if start > seen {
                    return Err(GapError { replica: replica.clone(), start: *start, seen: *seen });
                }
            }
        }
        Ok(())
    }

    /// Merges a delta into this one (Phoenix's `merge_deltas`), if the two
    /// windows touch or overlap. Values removed by `later` are dropped; values
    /// of `later` already removed in `self` are not brought back.
    pub fn merge(&self, later: &Delta) -> Result<Delta, NotContiguous> {
        let touching = dominates_or_equal(&later.end, &self.start) && dominates_or_equal(&self.end, &later.start);
        if !touching {
            return Err(NotContiguous);
        }
        let empty = Clock::new();
        let mut values: BTreeMap<Dot, Element> = self
            .values
            .iter()
            .filter(|(dot, _)| later.values.contains_key(*dot) || !in_history(&empty, &later.clouds, dot))
            .map(|(dot, v)| (dot.clone(), v.clone()))
            .collect();
        for (dot, v) in &later.values {
            if !self.values.contains_key(dot) && !in_history(&empty, &self.clouds, dot) {
                values.insert(dot.clone(), v.clone());
            }
        }
        let mut clouds = self.clouds.clone();
        clouds.union_with(&later.clouds, |_| true);
        Ok(Delta {
            replica: self.replica.clone(),
            values,
            clouds,
            start: lowerbound(&self.start, &later.start),
            end: upperbound(&self.end, &later.end),
        })
    }

    /// The part of this delta a peer can use: values, clouds and range of the
    /// replicas in `peer_context` only.
    ///
    /// The peer's own presences stay in (it ignores them when merging). They
    /// must: the peer keeps the delta in its generations, where a dot in the
    /// clouds without its value reads as a removal, and would later be served
    /// to others as one. (`peer` is taken for symmetry with [`State::extract`](crate::State::extract).)
    pub fn extract(&self, peer: &ReplicaRef, peer_context: &Clock) -> Delta {
        let _ = peer;
        Delta {
            replica: self.replica.clone(),
            values: self
                .values
                .iter()
                .filter(|(dot, _)| peer_context.contains_key(dot.replica()))
                .map(|(dot, v)| (dot.clone(), v.clone()))
                .collect(),
            clouds: self.clouds.restrict(peer_context),
            start: restrict(&self.start, peer_context),
            end: restrict(&self.end, peer_context),
        }
    }

    /// Forgets a permanently gone replica.
    pub fn remove_replica(&mut self, replica: &ReplicaRef) {
        self.values.retain(|dot, _| dot.replica() != replica);
        self.clouds.remove_replica(replica);
        self.start.remove(replica);
        self.end.remove(replica);
    }

    /// Records a local event: its dot joins the clouds and ends the window.
    pub(crate) fn record_event(&mut self, dot: Dot) {
        self.end.insert(dot.replica().clone(), dot.counter());
        self.clouds.insert(dot);
    }

    /// Records an added presence (its dot is already recorded as an event or,
    /// for a relay, added here).
    pub(crate) fn record_add(&mut self, dot: Dot, element: Element) {
        self.clouds.insert(dot.clone());
        self.values.insert(dot, element);
    }

    /// Records the removal of a presence: a tombstone for its dot.
    pub(crate) fn record_remove(&mut self, dot: &Dot) {
        self.values.remove(dot);
        self.clouds.insert(dot.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OwnerId;
    use serde_json::json;

    fn r(name: &str) -> ReplicaRef {
        ReplicaRef::new(name, 1)
    }

    fn element(key: &str) -> Element {
        Element { owner: OwnerId(1), topic: "lobby".into(), key: key.into(), meta: json!({}) }
    }

    /// A delta of `replica` covering `start+1..=start+keys.len()`, one add each.
    fn adds(replica: &str, start: u64, keys: &[&str]) -> Delta {
        let mut d = Delta::new(r(replica), start);
        for (i, key) in keys.iter().enumerate() {
            let dot = Dot::new(r(replica), start + 1 + i as u64);
            d.record_event(dot.clone());
            d.record_add(dot, element(key));
        }
        d
    }

    #[test]
    fn windows_that_do_not_touch_are_not_merged() {
        let first = adds("s1", 0, &["user1"]);
        let third = adds("s1", 2, &["user3"]);
        assert_eq!(first.merge(&third), Err(NotContiguous));
        assert_eq!(third.merge(&first), Err(NotContiguous));
        assert!(first.merge(&adds("s1", 1, &["user2"])).is_ok());
    }

    #[test]
    fn merging_drops_values_removed_later_and_keeps_tombstones() {
        let first = adds("s2", 0, &["user1"]);
        let mut second = Delta::new(r("s2"), 1);
        second.record_remove(&Dot::new(r("s2"), 1));
        second.record_event(Dot::new(r("s2"), 2));
        let merged = first.merge(&second).unwrap();
        assert!(merged.values().is_empty());
        assert_eq!(merged.clouds().len(), 2);
        assert_eq!(merged.start(), &Clock::from([(r("s2"), 0)]));
        assert_eq!(merged.end(), &Clock::from([(r("s2"), 2)]));
        // Merging the same delta again changes nothing.
        assert_eq!(merged.merge(&second).unwrap(), merged);
    }

    #[test]
    fn extract_prunes_unknown_replicas_but_keeps_the_peers_own() {
        let merged = adds("a", 0, &["x"]).merge(&adds("b", 0, &["y"])).unwrap();
        let for_c = merged.extract(&r("c"), &Clock::from([(r("b"), 0), (r("c"), 0)]));
        assert_eq!(for_c.values().len(), 1);
        assert!(for_c.clouds().get(&r("a")).is_none());
        assert_eq!(for_c.start(), &Clock::from([(r("b"), 0)]));
        let for_b = merged.extract(&r("b"), &Clock::from([(r("a"), 0), (r("b"), 0)]));
        assert_eq!(for_b.values().len(), 2, "b's own value stays with its dot");
    }

    #[test]
    fn contiguity_is_checked_against_known_replicas_only() {
        let d = adds("a", 3, &["x"]);
        assert!(d.check_contiguous(&Clock::from([(r("a"), 3)])).is_ok());
        assert!(d.check_contiguous(&Clock::from([(r("a"), 5)])).is_ok());
        assert!(d.check_contiguous(&Clock::new()).is_ok());
        let gap = d.check_contiguous(&Clock::from([(r("a"), 2)])).unwrap_err();
        assert_eq!((gap.start, gap.seen), (3, 2));
    }

    #[test]
    fn serde_round_trip() {
        let d = adds("a", 0, &["x", "y"]);
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(serde_json::from_str::<Delta>(&json).unwrap(), d);
    }
}
