//! Which peers are up, down or gone, from the heartbeats they send
//! (PROTOCOL.md §10.10, "On heartbeat" and "Failure detection").
//!
//! Time is passed in as a [`Duration`] since any fixed origin the caller likes,
//! so the table is pure and tests step time by hand.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use crate::{ReplicaRef, ReplicaStatus, StaleIncarnation};

/// A change of a peer's standing, to apply to the [`State`](crate::State) in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transition {
    /// First heard of, or heard again after being down.
    Up(ReplicaRef),
    /// Silent for longer than the down period.
    Down(ReplicaRef),
    /// Gone for good: silent past the permdown period, replaced by a newer
    /// incarnation, or announced by a graceful shutdown.
    Permdown(ReplicaRef),
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Peer {
    replica: ReplicaRef,
    last_heartbeat: Duration,
    status: ReplicaStatus,
}

/// The liveness table of one shard: one entry per peer name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Liveness {
    peers: BTreeMap<Arc<str>, Peer>,
    /// The newest incarnation ever seen per name, kept after the name leaves
    /// `peers`, so that a late heartbeat of a dead incarnation cannot bring it
    /// back (and with it, through a transfer, its presences).
    newest: HashMap<Arc<str>, u64>,
}

impl Liveness {
    /// An empty table.
    pub fn new() -> Self {
        Liveness::default()
    }

    /// The current incarnation, status and last heartbeat of a peer name.
    pub fn get(&self, name: &str) -> Option<(&ReplicaRef, ReplicaStatus, Duration)> {
        self.peers.get(name).map(|p| (&p.replica, p.status, p.last_heartbeat))
    }

    /// Every peer in the table.
    pub fn peers(&self) -> impl Iterator<Item = (&ReplicaRef, ReplicaStatus)> {
        self.peers.values().map(|p| (&p.replica, p.status))
    }

    /// Records a heartbeat from `replica` at `now`.
    ///
    /// A newer incarnation of a known name replaces the old one (which is
    /// downed if it was up, then permdowned). A heartbeat of an incarnation
    /// older than one already seen is refused and changes nothing.
    pub fn heartbeat(&mut self, replica: &ReplicaRef, now: Duration) -> Result<Vec<Transition>, StaleIncarnation> {
        let name = replica.name_arc();
        let newest = self.newest.entry(name.clone()).or_insert(replica.vsn());
        if replica.vsn() < *newest {
            return Err(StaleIncarnation { replica: replica.clone(), newest_vsn: *newest });
        }
        *newest = replica.vsn();
        let fresh = Peer { replica: replica.clone(), last_heartbeat: now, status: ReplicaStatus::Up };
        let Some(peer) = self.peers.get_mut(&**name) else {
            self.peers.insert(name.clone(), fresh);
            return Ok(vec![Transition::Up(replica.clone())]);
        };
        if peer.replica == *replica {
            peer.last_heartbeat = now;
            let was = std::mem::replace(&mut peer.status, ReplicaStatus::Up);
            return Ok(if was == ReplicaStatus::Down { vec![Transition::Up(replica.clone())] } else { vec![] });
        }
        let old = std::mem::replace(peer, fresh);
        let mut out = gone(old);
        out.push(Transition::Up(replica.clone()));
        Ok(out)
    }

    /// Downs the peers silent for more than `down_period` and removes those
    /// silent for more than `permdown_period`.
    pub fn detect_downs(&mut self, now: Duration, down_period: Duration, permdown_period: Duration) -> Vec<Transition> {
        let mut out = Vec::new();
        let mut expired = Vec::new();
        for (name, peer) in &mut self.peers {
            let downtime = now.saturating_sub(peer.last_heartbeat);
            if downtime > permdown_period {
                expired.push(name.clone());
            } else if downtime > down_period && peer.status == ReplicaStatus::Up {
                peer.status = ReplicaStatus::Down;
                out.push(Transition::Down(peer.replica.clone()));
            }
        }
        for name in expired {
            if let Some(peer) = self.peers.remove(&name) {
                out.extend(gone(peer));
            }
        }
        out
    }

    /// A peer announced its shutdown: if it is the incarnation in the table,
    /// it is downed (if up) and permdowned at once.
    pub fn graceful_permdown(&mut self, replica: &ReplicaRef) -> Vec<Transition> {
        match self.peers.get(replica.name()) {
            Some(peer) if peer.replica == *replica => {
                let peer = self.peers.remove(replica.name()).expect("just found");
                gone(peer)
            }
            _ => Vec::new(),
        }
    }
}

/// The transitions of a peer leaving the table.
fn gone(peer: Peer) -> Vec<Transition> {
    match peer.status {
        ReplicaStatus::Up => vec![Transition::Down(peer.replica.clone()), Transition::Permdown(peer.replica)],
        ReplicaStatus::Down => vec![Transition::Permdown(peer.replica)],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn r(vsn: u64) -> ReplicaRef {
        ReplicaRef::new("b", vsn)
    }

    #[test]
    fn first_heartbeat_ups_and_repeats_are_quiet() {
        let mut l = Liveness::new();
        assert_eq!(l.heartbeat(&r(1), ms(0)).unwrap(), vec![Transition::Up(r(1))]);
        assert_eq!(l.heartbeat(&r(1), ms(10)).unwrap(), vec![]);
        assert_eq!(l.get("b").map(|(_, s, t)| (s, t)), Some((ReplicaStatus::Up, ms(10))));
    }

    #[test]
    fn silence_downs_then_permdowns_and_a_heartbeat_brings_it_back() {
        let mut l = Liveness::new();
        l.heartbeat(&r(1), ms(0)).unwrap();
        assert_eq!(l.detect_downs(ms(30), ms(30), ms(100)), vec![]);
        assert_eq!(l.detect_downs(ms(31), ms(30), ms(100)), vec![Transition::Down(r(1))]);
        assert_eq!(l.detect_downs(ms(50), ms(30), ms(100)), vec![]);
        assert_eq!(l.heartbeat(&r(1), ms(60)).unwrap(), vec![Transition::Up(r(1))]);
        assert_eq!(l.detect_downs(ms(200), ms(30), ms(100)), vec![Transition::Down(r(1)), Transition::Permdown(r(1))]);
        assert!(l.get("b").is_none());
        // The same incarnation after a long partition is a new peer again.
        assert_eq!(l.heartbeat(&r(1), ms(300)).unwrap(), vec![Transition::Up(r(1))]);
    }

    #[test]
    fn a_new_incarnation_replaces_the_old_one() {
        let mut l = Liveness::new();
        l.heartbeat(&r(1), ms(0)).unwrap();
        assert_eq!(
            l.heartbeat(&r(2), ms(5)).unwrap(),
            vec![Transition::Down(r(1)), Transition::Permdown(r(1)), Transition::Up(r(2))]
        );
        l.detect_downs(ms(100), ms(30), ms(1000));
        assert_eq!(l.heartbeat(&r(3), ms(101)).unwrap(), vec![Transition::Permdown(r(2)), Transition::Up(r(3))]);
    }

    #[test]
    fn a_late_heartbeat_of_a_dead_incarnation_is_refused() {
        let mut l = Liveness::new();
        l.heartbeat(&r(2), ms(0)).unwrap();
        let err = l.heartbeat(&r(1), ms(1)).unwrap_err();
        assert_eq!(err.newest_vsn, 2);
        assert_eq!(l.get("b").map(|(rep, _, t)| (rep.clone(), t)), Some((r(2), ms(0))));
        // Even once the name has left the table.
        l.graceful_permdown(&r(2));
        assert!(l.heartbeat(&r(1), ms(2)).is_err());
    }

    #[test]
    fn graceful_permdown_only_for_the_current_incarnation() {
        let mut l = Liveness::new();
        l.heartbeat(&r(2), ms(0)).unwrap();
        assert_eq!(l.graceful_permdown(&r(1)), vec![]);
        assert_eq!(l.graceful_permdown(&r(2)), vec![Transition::Down(r(2)), Transition::Permdown(r(2))]);
        assert!(l.peers().next().is_none());
    }
}
