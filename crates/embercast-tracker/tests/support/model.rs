//! A cluster of 2–5 shards over an in-memory network that a test script can
//! reorder, duplicate, drop and partition, with the invariants checked after
//! every step.
//!
//! Each presence carries its *life* in its meta: a track starts a life, an
//! update keeps it (with a new version), an untrack, an owner exit or the
//! restart of its node ends it. Invariants, per replica and step:
//!
//! * **exact diffs**: a reader that applies every reported diff holds exactly
//!   what the replica lists;
//! * **no torn update**: a presence only stops being listed if its life ended
//!   or its replica is not up here;
//! * **nothing removed comes back**: a replica never stores again a dot it has
//!   observed (unless it forgot that replica by permdown), and a life it saw
//!   end never shows again (same exception);
//! * **idempotent merge**: merging a message's payload a second time reports
//!   nothing and changes nothing;
//! * **no ghost of a dead incarnation**: once a replica has seen incarnation
//!   `k` of a name come up, it holds no presence of an earlier one;
//! * **one presence per triple**: a second track of (owner, topic, key) is refused.
//!
//! After the script, [`Model::settle`] heals the network and gossips until
//! delivery is complete; then every replica must list exactly the presences
//! alive at their origins.
//!
//! `MODEL_TRACE=1` prints every step (message received, diffs, transitions).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use embercast_tracker::{
    Destination, Diff, Gossip, Output, OwnerId, ReplicaRef, Shard, ShardConfig, State, TrackError, Transition,
    UpdateError,
};
use serde_json::json;

use super::invariants::{apply_diff, check_idempotent, Row};

pub const PERIOD: Duration = Duration::from_millis(100);
pub const TOPICS: [&str; 3] = ["t0", "t1", "t2"];
pub const KEYS: [&str; 2] = ["k0", "k1"];

pub fn config() -> ShardConfig {
    ShardConfig {
        broadcast_period: PERIOD,
        max_silent_periods: 2,
        down_period: PERIOD * 6,
        permdown_period: PERIOD * 15,
        clock_sample_periods: 2,
        max_delta_sizes: vec![2, 5, 10],
    }
}

/// One step of a script. Node and message picks are reduced modulo the
/// number of nodes / messages in flight.
#[derive(Clone, Debug)]
pub enum Op {
    Track {
        node: usize,
        owner: u64,
        topic: usize,
        key: usize,
    },
    Untrack {
        node: usize,
        owner: u64,
        topic: usize,
        key: usize,
    },
    Update {
        node: usize,
        owner: u64,
        topic: usize,
        key: usize,
    },
    OwnerExit {
        node: usize,
        owner: u64,
    },
    /// Time passes one period; every node ticks.
    Tick,
    /// One node ticks again without time passing.
    TickOne {
        node: usize,
    },
    Deliver {
        pick: usize,
    },
    DeliverAll,
    Duplicate {
        pick: usize,
    },
    Drop {
        pick: usize,
    },
    Partition {
        a: usize,
        b: usize,
    },
    Heal {
        a: usize,
        b: usize,
    },
    /// The node stops and starts again: same name, next incarnation.
    Restart {
        node: usize,
    },
}

pub struct Node {
    pub shard: Shard,
    pub(super) incarnation: u64,
    /// (owner, topic, key) → (life, version) for presences this incarnation tracks.
    pub(super) local: BTreeMap<(OwnerId, usize, usize), (u64, u64)>,
    pub(super) reader: BTreeMap<Row, usize>,
    /// Lives this node listed, then saw removed, with their origin.
    pub(super) gone: HashMap<u64, ReplicaRef>,
    /// The newest incarnation of each peer name this node has seen come up.
    pub(super) newest: HashMap<String, u64>,
}

pub struct Envelope {
    pub from: usize,
    pub to: usize,
    pub msg: Gossip,
}

pub struct Model {
    now: Duration,
    pub nodes: Vec<Node>,
    pub net: Vec<Envelope>,
    blocked: BTreeSet<(usize, usize)>,
    next_life: u64,
    next_incarnation: u64,
    pub(super) ended: BTreeSet<u64>,
    origin: HashMap<u64, ReplicaRef>,
}

fn name(i: usize) -> String {
    format!("n{i}")
}

impl Model {
    pub fn new(n: usize) -> Self {
        let mut model = Model {
            now: Duration::ZERO,
            nodes: Vec::new(),
            net: Vec::new(),
            blocked: BTreeSet::new(),
            next_life: 0,
            next_incarnation: 0,
            ended: BTreeSet::new(),
            origin: HashMap::new(),
        };
        for i in 0..n {
            let node = model.fresh_node(ReplicaRef::new(name(i), 1));
            model.nodes.push(node);
        }
        model
    }

    fn fresh_node(&mut self, replica: ReplicaRef) -> Node {
        self.next_incarnation += 1;
        Node {
            shard: Shard::new(replica, config()).unwrap(),
            incarnation: self.next_incarnation,
            local: BTreeMap::new(),
            reader: BTreeMap::new(),
            gone: HashMap::new(),
            newest: HashMap::new(),
        }
    }

    fn blocked(&self, a: usize, b: usize) -> bool {
        self.blocked.contains(&(a.min(b), a.max(b)))
    }

    pub fn apply(&mut self, op: &Op) {
        let n = self.nodes.len();
        match *op {
            Op::Track { node, owner, topic, key } => self.local_op(node % n, owner, topic, key, Local::Track),
            Op::Untrack { node, owner, topic, key } => self.local_op(node % n, owner, topic, key, Local::Untrack),
            Op::Update { node, owner, topic, key } => self.local_op(node % n, owner, topic, key, Local::Update),
            Op::OwnerExit { node, owner } => self.owner_exit(node % n, owner),
            Op::Tick => self.tick_all(),
            Op::TickOne { node } => self.tick(node % n),
            Op::Deliver { pick } if !self.net.is_empty() => {
                let envelope = self.net.remove(pick % self.net.len());
                self.deliver(envelope);
            }
            Op::DeliverAll => self.deliver_all(),
            Op::Duplicate { pick } if !self.net.is_empty() => {
                let e = &self.net[pick % self.net.len()];
                let copy = Envelope { from: e.from, to: e.to, msg: e.msg.clone() };
                self.net.push(copy);
            }
            Op::Drop { pick } if !self.net.is_empty() => {
                self.net.remove(pick % self.net.len());
            }
            Op::Partition { a, b } if a % n != b % n => {
                self.blocked.insert(((a % n).min(b % n), (a % n).max(b % n)));
            }
            Op::Heal { a, b } => {
                self.blocked.remove(&((a % n).min(b % n), (a % n).max(b % n)));
            }
            Op::Restart { node } => self.restart(node % n),
            _ => {}
        }
    }

    /// Heals every partition and gossips until delivery is complete, then checks convergence.
    pub fn settle(&mut self) {
        self.blocked.clear();
        self.deliver_all();
        for _ in 0..24 {
            self.tick_all();
            self.deliver_all();
        }
        self.check_converged();
    }

    fn owner_id(&self, node: usize, owner: u64) -> OwnerId {
        OwnerId(self.nodes[node].incarnation * 16 + owner)
    }

    fn local_op(&mut self, i: usize, owner: u64, topic: usize, key: usize, op: Local) {
        let owner_id = self.owner_id(i, owner);
        let slot = (owner_id, topic, key);
        let before = self.snapshot(i);
        let existing = self.nodes[i].local.get(&slot).copied();
        let (t, k) = (TOPICS[topic], KEYS[key]);
        let diff = match (op, existing) {
            (Local::Track, Some(_)) => {
                let err = self.nodes[i].shard.track(owner_id, t, k, json!({})).unwrap_err();
                assert!(matches!(err, TrackError::AlreadyTracked { .. }), "{err}");
                Diff::new()
            }
            (Local::Track, None) => {
                let life = self.next_life;
                self.next_life += 1;
                self.origin.insert(life, self.nodes[i].shard.replica().clone());
                self.nodes[i].local.insert(slot, (life, 0));
                self.nodes[i].shard.track(owner_id, t, k, json!({"life": life, "v": 0})).unwrap()
            }
            (Local::Untrack, existing) => {
                if let Some((life, _)) = existing {
                    self.ended.insert(life);
                    self.nodes[i].local.remove(&slot);
                }
                self.nodes[i].shard.untrack(owner_id, t, k)
            }
            (Local::Update, None) => {
                let err = self.nodes[i].shard.update_with(owner_id, t, k, |m| m.clone()).unwrap_err();
                assert_eq!(err, UpdateError::NoPresence);
                Diff::new()
            }
            (Local::Update, Some((life, v))) => {
                self.nodes[i].local.insert(slot, (life, v + 1));
                self.nodes[i].shard.update_with(owner_id, t, k, |_| json!({"life": life, "v": v + 1})).unwrap()
            }
        };
        self.finish(i, before, Output { diffs: vec![diff], ..Output::default() }, None);
    }

    fn owner_exit(&mut self, i: usize, owner: u64) {
        let owner_id = self.owner_id(i, owner);
        let before = self.snapshot(i);
        let node = &mut self.nodes[i];
        node.local.retain(|(o, _, _), (life, _)| {
            if *o == owner_id {
                self.ended.insert(*life);
            }
            *o != owner_id
        });
        let diff = node.shard.untrack_owner(owner_id);
        self.finish(i, before, Output { diffs: vec![diff], ..Output::default() }, None);
    }

    fn restart(&mut self, i: usize) {
        let old = self.nodes[i].shard.replica().clone();
        for (life, _) in self.nodes[i].local.values() {
            self.ended.insert(*life);
        }
        self.nodes[i] = self.fresh_node(ReplicaRef::new(old.name(), old.vsn() + 1));
    }

    fn tick_all(&mut self) {
        self.now += PERIOD;
        for i in 0..self.nodes.len() {
            self.tick(i);
        }
    }

    fn tick(&mut self, i: usize) {
        let before = self.snapshot(i);
        let out = self.nodes[i].shard.tick(self.now);
        self.finish(i, before, out, None);
    }

    fn deliver_all(&mut self) {
        // Bounded: every delivery can only cause answers, never new heartbeats.
        let mut budget = 10_000;
        while !self.net.is_empty() && budget > 0 {
            let envelope = self.net.remove(0);
            self.deliver(envelope);
            budget -= 1;
        }
        assert!(self.net.is_empty(), "gossip did not quiesce");
    }

    fn deliver(&mut self, envelope: Envelope) {
        if self.blocked(envelope.from, envelope.to) {
            return;
        }
        let i = envelope.to;
        let before = self.snapshot(i);
        let out = self.nodes[i].shard.receive(self.now, &envelope.msg);
        self.finish(i, before, out, Some(&envelope.msg));
    }

    fn snapshot(&self, i: usize) -> State {
        self.nodes[i].shard.state().clone()
    }

    /// Routes the output of node `i`, feeds its diffs to its reader and checks
    /// the per-step invariants against the state `before` the step.
    fn finish(&mut self, i: usize, before: State, out: Output, received: Option<&Gossip>) {
        for msg in out.messages {
            let targets: Vec<usize> = match &msg.to {
                Destination::Broadcast => (0..self.nodes.len()).filter(|j| *j != i).collect(),
                Destination::Node(to) => (0..self.nodes.len()).filter(|j| name(*j) == **to).collect(),
            };
            for to in targets {
                if !self.blocked(i, to) {
                    self.net.push(Envelope { from: i, to, msg: msg.message.clone() });
                }
            }
        }
        let node = &mut self.nodes[i];
        for diff in &out.diffs {
            apply_diff(&mut node.reader, diff);
        }
        for transition in &out.transitions {
            match transition {
                Transition::Permdown(replica) => node.gone.retain(|_, origin| origin != replica),
                Transition::Up(replica) => {
                    let newest = node.newest.entry(replica.name().to_owned()).or_default();
                    *newest = replica.vsn().max(*newest);
                }
                Transition::Down(_) => {}
            }
        }
        if std::env::var("MODEL_TRACE").is_ok() {
            eprintln!(
                "STEP on {}: received {:?}\n  diffs {:?}\n  transitions {:?}",
                i, received, out.diffs, out.transitions
            );
        }
        self.check_step(i, &before);
        if let Some(msg) = received {
            check_idempotent(self.nodes[i].shard.state(), msg);
        }
    }
}

#[derive(Clone, Copy)]
enum Local {
    Track,
    Untrack,
    Update,
}
