//! The sans-I/O shard loop over an in-memory network (PROTOCOL.md §10.10; §12
//! items 108–113) and stale-identity handling.

mod support;

use std::collections::VecDeque;
use std::time::Duration;

use embercast_tracker::{
    ConfigError, Destination, Diff, Gossip, OwnerId, ReplicaRef, ReplicaStatus, Shard, ShardConfig, Transition,
};
use support::{joined, left, meta};

const PERIOD: Duration = Duration::from_millis(100);

fn config() -> ShardConfig {
    ShardConfig {
        broadcast_period: PERIOD,
        max_silent_periods: 2,
        down_period: PERIOD * 6,
        permdown_period: PERIOD * 20,
        clock_sample_periods: 2,
        max_delta_sizes: vec![2, 5, 10],
    }
}

/// Shards wired by a lossless, ordered in-memory network.
struct Net {
    shards: Vec<Shard>,
    now: Duration,
    queue: VecDeque<(usize, Gossip)>,
    diffs: Vec<Vec<Diff>>,
    transitions: Vec<Vec<Transition>>,
    /// Transfer requests sent, per shard.
    requests: Vec<usize>,
}

impl Net {
    fn new(names: &[&str]) -> Self {
        let shards: Vec<Shard> = names.iter().map(|n| Shard::new(ReplicaRef::new(*n, 1), config()).unwrap()).collect();
        let n = shards.len();
        Net {
            shards,
            now: Duration::ZERO,
            queue: VecDeque::new(),
            diffs: vec![vec![]; n],
            transitions: vec![vec![]; n],
            requests: vec![0; n],
        }
    }

    fn index(&self, name: &str) -> Option<usize> {
        self.shards.iter().position(|s| s.replica().name() == name)
    }

    fn absorb(&mut self, from: usize, out: embercast_tracker::Output) {
        self.diffs[from].extend(out.diffs);
        self.transitions[from].extend(out.transitions);
        for msg in out.messages {
            if matches!(msg.message, Gossip::TransferReq { .. }) {
                self.requests[from] += 1;
            }
            match msg.to {
                Destination::Broadcast => {
                    for to in (0..self.shards.len()).filter(|to| *to != from) {
                        self.queue.push_back((to, msg.message.clone()));
                    }
                }
                Destination::Node(name) => {
                    if let Some(to) = self.index(&name) {
                        self.queue.push_back((to, msg.message));
                    }
                }
            }
        }
    }

    /// Advances time one period and ticks the listed shards, delivering everything.
    fn round(&mut self, ticking: &[usize]) {
        self.now += PERIOD;
        for &i in ticking {
            let out = self.shards[i].tick(self.now);
            self.absorb(i, out);
        }
        while let Some((to, msg)) = self.queue.pop_front() {
            if ticking.contains(&to) {
                let out = self.shards[to].receive(self.now, &msg);
                self.absorb(to, out);
            }
        }
    }

    fn rounds(&mut self, n: usize, ticking: &[usize]) {
        for _ in 0..n {
            self.round(ticking);
        }
    }

    fn listed(&self, i: usize) -> Vec<String> {
        let mut keys: Vec<String> = self.shards[i].state().list("lobby").map(|p| p.key.to_string()).collect();
        keys.sort();
        keys
    }
}

#[test]
fn heartbeats_spread_deltas_and_a_late_peer_catches_up_by_transfer() {
    let mut net = Net::new(&["a", "b", "c"]);
    net.shards[0].track(OwnerId(1), "lobby", "alice", meta(1)).unwrap();
    net.rounds(3, &[0, 1]);
    assert_eq!(net.listed(1), ["alice"]);
    assert!(net.transitions[1].contains(&Transition::Up(ReplicaRef::new("a", 1))));
    let joins: usize = net.diffs[1].iter().map(Diff::join_count).sum();
    assert_eq!(joins, 1);

    // c starts after a's delta went out: it learns a's presence by transfer.
    net.rounds(6, &[0, 1, 2]);
    assert_eq!(net.listed(2), ["alice"]);
    assert!(net.requests[2] >= 1);
}

#[test]
fn a_transfer_is_asked_only_of_the_peer_whose_clock_dominates() {
    let mut net = Net::new(&["a", "b", "c"]);
    net.shards[0].track(OwnerId(1), "lobby", "alice", meta(1)).unwrap();
    net.shards[1].track(OwnerId(2), "lobby", "bob", meta(2)).unwrap();
    net.rounds(4, &[0, 1]);
    assert_eq!(net.listed(0), ["alice", "bob"]);
    // a and b are level: each time c samples, it asks one of them, not both.
    // (A generation answer may cover only part of what c misses, as in
    // Phoenix; the next sampling asks again.)
    for _ in 0..8 {
        let asked = net.requests[2];
        net.round(&[0, 1, 2]);
        assert!(net.requests[2] - asked <= 1, "c asked several peers at once");
    }
    assert_eq!(net.listed(2), ["alice", "bob"]);
}

#[test]
fn a_silent_peer_leaves_after_the_down_period_and_a_restart_replaces_it() {
    let mut net = Net::new(&["a", "b"]);
    net.shards[1].track(OwnerId(2), "lobby", "bob", meta(2)).unwrap();
    net.rounds(3, &[0, 1]);
    assert_eq!(net.listed(0), ["bob"]);
    net.diffs[0].clear();

    // b goes silent: hidden after the down period, not before.
    let (_, _, last_heard) = net.shards[0].liveness().get("b").unwrap();
    while net.now + PERIOD - last_heard <= config().down_period {
        net.round(&[0]);
        assert_eq!(net.listed(0), ["bob"]);
    }
    net.round(&[0]);
    assert!(net.listed(0).is_empty());
    assert_eq!(net.diffs[0].iter().map(Diff::leave_count).sum::<usize>(), 1);
    assert_eq!(net.shards[0].state().stored_len(), 1, "kept while in the permdown grace");

    // b restarts with a new incarnation: the old one is permdowned, the new one up.
    net.shards[1] = Shard::new(ReplicaRef::new("b", 2), config()).unwrap();
    net.shards[1].track(OwnerId(3), "lobby", "bob2", meta(3)).unwrap();
    net.rounds(4, &[0, 1]);
    assert_eq!(net.listed(0), ["bob2"]);
    let t = &net.transitions[0];
    assert!(t.contains(&Transition::Permdown(ReplicaRef::new("b", 1))));
    assert!(t.contains(&Transition::Up(ReplicaRef::new("b", 2))));
    assert!(net.shards[0].state().replica_status(&ReplicaRef::new("b", 1)).is_none());
}

#[test]
fn a_new_node_asks_once_while_a_down_peer_is_in_its_grace_period() {
    let mut net = Net::new(&["a", "x", "y"]);
    net.shards[0].track(OwnerId(1), "lobby", "alice", meta(1)).unwrap();
    net.shards[1].track(OwnerId(9), "lobby", "xavier", meta(9)).unwrap();
    net.rounds(3, &[0, 1]);
    // x stops; a downs it (its presences are kept, hidden).
    net.rounds(8, &[0]);
    assert_eq!(net.shards[0].state().replica_status(&ReplicaRef::new("x", 1)), Some(ReplicaStatus::Down));
    // y never knew x: a does not advertise x, so y is not forever behind.
    net.rounds(10, &[0, 2]);
    assert_eq!(net.listed(2), ["alice"]);
    assert_eq!(net.requests[2], 1);
}

#[test]
fn a_graceful_permdown_removes_the_peer_at_once() {
    let mut net = Net::new(&["a", "b"]);
    net.shards[1].track(OwnerId(2), "lobby", "bob", meta(2)).unwrap();
    net.rounds(3, &[0, 1]);
    net.diffs[0].clear();
    let bye = net.shards[1].graceful_permdown();
    let out = net.shards[0].receive(net.now, &bye.message);
    assert_eq!(out.diffs.iter().map(left).collect::<Vec<_>>(), vec![vec!["bob".to_string()]]);
    assert!(net.shards[0].liveness().get("b").is_none());
    assert_eq!(net.shards[0].state().stored_len(), 0);
}

#[test]
fn invalid_periods_refuse_to_start() {
    let bad = ShardConfig { down_period: PERIOD, ..config() };
    assert_eq!(Shard::new(ReplicaRef::new("a", 1), bad).unwrap_err(), ConfigError::DownPeriodTooShort);
    let bad = ShardConfig { permdown_period: PERIOD * 6, ..config() };
    assert_eq!(Shard::new(ReplicaRef::new("a", 1), bad).unwrap_err(), ConfigError::PermdownPeriodTooShort);
}

#[test]
fn messages_of_a_dead_incarnation_are_ignored() {
    let mut net = Net::new(&["a", "b"]);
    net.shards[1].track(OwnerId(2), "lobby", "bob", meta(2)).unwrap();
    let old_b = net.shards[1].clone();
    net.rounds(3, &[0, 1]);
    // Keep one of old b's heartbeats, then restart b.
    let mut stale = old_b;
    let late = stale.tick(net.now).messages.remove(0).message;
    net.shards[1] = Shard::new(ReplicaRef::new("b", 2), config()).unwrap();
    net.rounds(3, &[0, 1]);
    assert!(net.listed(0).is_empty());
    let out = net.shards[0].receive(net.now, &late);
    assert_eq!(out, Default::default(), "the late heartbeat of b#1 changes nothing");
    assert_eq!(net.shards[0].liveness().get("b").map(|(r, s, _)| (r.vsn(), s)), Some((2, ReplicaStatus::Up)));
    assert!(net.listed(0).is_empty());
}

#[test]
fn a_transfer_answer_for_another_incarnation_is_dropped() {
    let mut net = Net::new(&["a", "b"]);
    net.shards[0].track(OwnerId(1), "lobby", "alice", meta(1)).unwrap();
    net.rounds(3, &[0, 1]);
    // An answer computed for b#1 reaches b#2, which started meanwhile.
    let req = Gossip::TransferReq { req_id: 1, from: ReplicaRef::new("b", 1), clock: net.shards[1].state().clocks() };
    let ack = net.shards[0].receive(net.now, &req).messages.remove(0).message;
    let mut b2 = Shard::new(ReplicaRef::new("b", 2), config()).unwrap();
    b2.receive(net.now, &Gossip::Heartbeat { from: ReplicaRef::new("a", 1), delta: None, clock: Default::default() });
    let before = b2.state().clone();
    assert_eq!(b2.receive(net.now, &ack), Default::default());
    assert_eq!(b2.state(), &before);
    // The same answer is used by the incarnation it was meant for.
    let mut b1 = Shard::new(ReplicaRef::new("b", 1), config()).unwrap();
    b1.receive(net.now, &Gossip::Heartbeat { from: ReplicaRef::new("a", 1), delta: None, clock: Default::default() });
    assert_eq!(joined(&b1.receive(net.now, &ack).diffs[0]), ["alice"]);
}

#[test]
fn own_messages_are_ignored() {
    let mut a = Shard::new(ReplicaRef::new("a", 1), config()).unwrap();
    a.track(OwnerId(1), "lobby", "alice", meta(1)).unwrap();
    let hb = a.tick(PERIOD).messages.remove(0).message;
    let before = a.state().clone();
    assert_eq!(a.receive(PERIOD, &hb), Default::default());
    let other_incarnation = Gossip::GracefulPermdown { from: ReplicaRef::new("a", 0) };
    assert_eq!(a.receive(PERIOD, &other_incarnation), Default::default());
    assert_eq!(a.state(), &before);
}
