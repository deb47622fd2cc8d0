//! Version-vector utilities (PROTOCOL.md §10.7).
//!
//! The functions are generic over the key so that they can be checked against
//! the shared vectors with plain letters; the tracker itself uses [`Clock`].

use std::collections::BTreeMap;

use crate::ReplicaRef;

/// A version vector: for each replica, the highest counter `c` such that all of
/// its events `1..=c` have been observed.
pub type Clock = BTreeMap<ReplicaRef, u64>;

/// A set of `(replica, clock)` pairs in which no clock is dominated by the
/// combination of the others (see [`append_clock`]).
pub type ClockSet<R, K = ReplicaRef> = Vec<(R, BTreeMap<K, u64>)>;

/// `c1 ≥ c2` on every replica of `c2` (a replica missing from `c1` counts as 0).
///
/// As in Phoenix, a clock with fewer entries never dominates.
pub fn dominates<K: Ord>(c1: &BTreeMap<K, u64>, c2: &BTreeMap<K, u64>) -> bool {
    c1.len() >= c2.len() && c2.iter().all(|(r, v)| c1.get(r).copied().unwrap_or(0) >= *v)
}

/// `c1 ≥ c2` on the replicas of `c1`; two empty clocks are equal, and an empty
/// `c1` never dominates a non-empty `c2`.
pub fn dominates_or_equal<K: Ord>(c1: &BTreeMap<K, u64>, c2: &BTreeMap<K, u64>) -> bool {
    if c1.is_empty() {
        return c2.is_empty();
    }
    c1.iter().all(|(r, v)| *v >= c2.get(r).copied().unwrap_or(0))
}

/// Pointwise maximum over the union of the replicas.
pub fn upperbound<K: Ord + Clone>(c1: &BTreeMap<K, u64>, c2: &BTreeMap<K, u64>) -> BTreeMap<K, u64> {
    let mut out = c1.clone();
    for (r, v) in c2 {
        let slot = out.entry(r.clone()).or_insert(*v);
        *slot = (*slot).max(*v);
    }
    out
}

/// Pointwise minimum over the shared replicas; the others are copied as they are.
pub fn lowerbound<K: Ord + Clone>(c1: &BTreeMap<K, u64>, c2: &BTreeMap<K, u64>) -> BTreeMap<K, u64> {
    let mut out = c1.clone();
    for (r, v) in c2 {
        let slot = out.entry(r.clone()).or_insert(*v);
        *slot = (*slot).min(*v);
    }
    out
}

/// The entries of `map` whose replica is a key of `keys` (Phoenix's `Map.take`).
pub fn restrict<K: Ord + Clone, V: Clone, W>(map: &BTreeMap<K, V>, keys: &BTreeMap<K, W>) -> BTreeMap<K, V> {
    map.iter().filter(|(r, _)| keys.contains_key(*r)).map(|(r, v)| (r.clone(), v.clone())).collect()
}

/// Adds `(replica, clock)` to a clock set, keeping only clocks worth asking for a
/// transfer: the minimal set of peers whose combined knowledge is not behind.
///
/// * an empty clock is never added;
/// * a clock that dominates the combination of the set replaces the whole set;
/// * a clock dominated by that combination leaves the set unchanged;
/// * otherwise members it dominates are dropped, and it is added unless some
///   member dominates it.
pub fn append_clock<R, K: Ord + Clone>(set: ClockSet<R, K>, entry: (R, BTreeMap<K, u64>)) -> ClockSet<R, K> {
    if entry.1.is_empty() {
        return set;
    }
    let combined = set.iter().fold(BTreeMap::new(), |acc, (_, c)| upperbound(&acc, c));
    if dominates(&entry.1, &combined) {
        return vec![entry];
    }
    if dominates(&combined, &entry.1) {
        return set;
    }
    let mut insert = false;
    let mut out = Vec::with_capacity(set.len() + 1);
    for (r, c) in set {
        if dominates(&entry.1, &c) {
            insert = true;
        } else {
            insert |= !dominates(&c, &entry.1);
            out.push((r, c));
        }
    }
    if insert {
        out.push(entry);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(pairs: &[(&'static str, u64)]) -> BTreeMap<&'static str, u64> {
        pairs.iter().copied().collect()
    }

    #[test]
    fn dominates_needs_every_replica_of_the_other() {
        assert!(dominates(&c(&[("a", 1), ("b", 2), ("c", 3)]), &c(&[("a", 1), ("b", 2)])));
        assert!(!dominates(&c(&[("a", 1), ("b", 2)]), &c(&[("a", 1), ("b", 2), ("c", 3)])));
        assert!(!dominates(&c(&[("a", 1), ("b", 2), ("c", 3)]), &c(&[("b", 2), ("c", 3), ("d", 1)])));
        assert!(dominates(&c(&[]), &c(&[])));
    }

    #[test]
    fn dominates_or_equal_looks_at_the_first_clock_only() {
        assert!(dominates_or_equal(&c(&[("a", 2)]), &c(&[("a", 1), ("b", 9)])));
        assert!(!dominates_or_equal(&c(&[]), &c(&[("a", 1)])));
    }

    #[test]
    fn bounds() {
        let c1 = c(&[("a", 1), ("b", 2), ("c", 2)]);
        let c2 = c(&[("a", 3), ("b", 1), ("d", 2)]);
        assert_eq!(upperbound(&c1, &c2), c(&[("a", 3), ("b", 2), ("c", 2), ("d", 2)]));
        assert_eq!(lowerbound(&c1, &c2), c(&[("a", 1), ("b", 1), ("c", 2), ("d", 2)]));
    }

    #[test]
    fn restrict_keeps_known_keys() {
        assert_eq!(restrict(&c(&[("a", 1), ("b", 2)]), &c(&[("b", 0), ("z", 0)])), c(&[("b", 2)]));
    }

    #[test]
    fn append_clock_replaces_the_set_with_a_dominating_clock() {
        let set = vec![("a", c(&[("a", 1)])), ("b", c(&[("b", 1)]))];
        let out = append_clock(set, ("c", c(&[("a", 2), ("b", 2), ("c", 1)])));
        assert_eq!(out.iter().map(|(r, _)| *r).collect::<Vec<_>>(), vec!["c"]);
    }
}
