//! Delta generations: the "max_delta_sizes" ladder of increasingly long windows
//! of recent deltas, so that a peer that missed a few heartbeats can be sent a
//! delta instead of the full state (PROTOCOL.md §10.9).

use crate::clock::{dominates, dominates_or_equal, restrict};
use crate::{Clock, Delta, ReplicaRef, State, Transfer};

/// The generations of one shard, smallest window first.
#[derive(Clone, Debug, PartialEq)]
pub struct DeltaGenerations {
    max_sizes: Vec<usize>,
    generations: Vec<Delta>,
}

impl DeltaGenerations {
    /// One generation per entry of `max_sizes` (Phoenix's default is
    /// `[100, 1000, 10000]`); empty until the first push.
    pub fn new(max_sizes: Vec<usize>) -> Self {
        DeltaGenerations { max_sizes, generations: Vec::new() }
    }

    /// The current windows, smallest first (empty before the first push and
    /// after [`clear`](Self::clear)).
    pub fn generations(&self) -> &[Delta] {
        &self.generations
    }

    /// Folds `delta` into every generation.
    ///
    /// Each generation becomes `generation + delta` if that fits its maximum
    /// size; if it does not, it becomes the previous (smaller) generation's
    /// candidate instead, so windows slide forward; a generation that does not
    /// touch `delta` is kept as it is. When empty, the ladder is first seeded
    /// with `seed` (Phoenix seeds it with the shard's pending delta).
    pub fn push(&mut self, seed: &Delta, delta: &Delta) {
        if self.generations.is_empty() {
            self.generations = vec![seed.clone(); self.max_sizes.len()];
        }
        let old = std::mem::take(&mut self.generations);
        let mut prev = delta.clone();
        for (generation, max) in old.into_iter().zip(&self.max_sizes) {
            match generation.merge(delta) {
                Ok(merged) if merged.size() <= *max => {
                    prev = merged;
                    self.generations.push(prev.clone());
                }
                Ok(merged) => self.generations.push(std::mem::replace(&mut prev, merged)),
                Err(_) => {
                    prev = generation.clone();
                    self.generations.push(generation);
                }
            }
        }
    }

    /// Drops every generation (after a full-state transfer was merged).
    pub fn clear(&mut self) {
        self.generations.clear();
    }

    /// Forgets a permanently gone replica in every generation.
    pub fn remove_replica(&mut self, replica: &ReplicaRef) {
        for generation in &mut self.generations {
            generation.remove_replica(replica);
        }
    }

    /// The smallest generation that holds something the peer misses and starts
    /// no later than what it has seen, with its index.
    pub fn find(&self, peer_context: &Clock) -> Option<(usize, &Delta)> {
        self.generations.iter().enumerate().find(|(_, generation)| {
            let start = restrict(generation.start(), peer_context);
            let end = restrict(generation.end(), peer_context);
            !dominates_or_equal(&start, &end)
                && dominates_or_equal(peer_context, &start)
                && !dominates(peer_context, &end)
        })
    }

    /// What to send a peer asking for a transfer: a fitting generation
    /// extracted for it, or else the full state of `state`.
    pub fn answer(&self, state: &State, peer: &ReplicaRef, peer_context: &Clock) -> Transfer {
        match self.find(peer_context) {
            Some((_, generation)) => Transfer::Delta(generation.extract(peer, peer_context)),
            None => Transfer::Full(state.extract(peer, peer_context)),
        }
    }
}
