//! The shard loop without I/O or timers (PROTOCOL.md §10.10): what to do on a
//! tick and on each message, returning what to send and what to report.
//!
//! The runtime owns the timer (first tick after a random 0–25 % of the period,
//! then every `broadcast_period`), the PubSub subscription, owner monitoring and
//! the handler; it feeds events in and carries [`Output`] out.

use std::time::Duration;

use serde_json::Value;

use crate::clock::{append_clock, ClockSet};
use crate::{
    ConfigError, DeltaGenerations, Destination, Diff, Gossip, Liveness, Outgoing, OwnerId, ReplicaRef, ReplicaStatus,
    ShardConfig, State, TrackError, Transfer, Transition, UpdateError,
};

/// What one event produced, in the order it happened.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Output {
    /// Messages to send.
    pub messages: Vec<Outgoing>,
    /// Non-empty diffs to report to the handler (→ `presence_diff`), one per
    /// CRDT event, in order.
    pub diffs: Vec<Diff>,
    /// Peer transitions, for logging and events (`replica_up` and friends).
    pub transitions: Vec<Transition>,
}

impl Output {
    fn send(&mut self, to: Destination, message: Gossip) {
        self.messages.push(Outgoing { to, message });
    }

    fn report(&mut self, diff: Diff) {
        if !diff.is_empty() {
            self.diffs.push(diff);
        }
    }
}

/// One replica of one shard: the CRDT, the liveness table, the delta
/// generations and the gossip bookkeeping.
#[derive(Clone, Debug)]
pub struct Shard {
    state: State,
    liveness: Liveness,
    generations: DeltaGenerations,
    pending_clockset: ClockSet<ReplicaRef>,
    silent_periods: u32,
    sample_count: u32,
    next_req_id: u64,
    config: ShardConfig,
}

impl Shard {
    /// A new shard replica; refuses an invalid configuration.
    pub fn new(replica: ReplicaRef, config: ShardConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(Shard {
            state: State::new(replica),
            liveness: Liveness::new(),
            generations: DeltaGenerations::new(config.max_delta_sizes.clone()),
            pending_clockset: Vec::new(),
            // The first tick heartbeats at once, announcing the new replica.
            silent_periods: config.max_silent_periods,
            sample_count: config.clock_sample_periods,
            next_req_id: 0,
            config,
        })
    }

    /// This replica.
    pub fn replica(&self) -> &ReplicaRef {
        self.state.replica()
    }

    /// The CRDT, for reads.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// The liveness table.
    pub fn liveness(&self) -> &Liveness {
        &self.liveness
    }

    /// The delta generations.
    pub fn generations(&self) -> &DeltaGenerations {
        &self.generations
    }

    /// The configuration.
    pub fn config(&self) -> &ShardConfig {
        &self.config
    }

    /// See [`State::track`].
    pub fn track(&mut self, owner: OwnerId, topic: &str, key: &str, meta: Value) -> Result<Diff, TrackError> {
        self.state.track(owner, topic, key, meta)
    }

    /// See [`State::untrack`].
    pub fn untrack(&mut self, owner: OwnerId, topic: &str, key: &str) -> Diff {
        self.state.untrack(owner, topic, key)
    }

    /// See [`State::untrack_owner`]; call it when an owner exits.
    pub fn untrack_owner(&mut self, owner: OwnerId) -> Diff {
        self.state.untrack_owner(owner)
    }

    /// See [`State::update_with`].
    pub fn update_with(
        &mut self,
        owner: OwnerId,
        topic: &str,
        key: &str,
        f: impl FnOnce(&Value) -> Value,
    ) -> Result<Diff, UpdateError> {
        self.state.update_with(owner, topic, key, f)
    }

    /// The message to broadcast when shutting down with `permdown_on_shutdown`.
    pub fn graceful_permdown(&self) -> Outgoing {
        Outgoing { to: Destination::Broadcast, message: Gossip::GracefulPermdown { from: self.replica().clone() } }
    }

    /// One tick at time `now`: heartbeat, anti-entropy sampling, failure detection.
    pub fn tick(&mut self, now: Duration) -> Output {
        let mut out = Output::default();
        let me = self.replica().clone();
        if self.state.has_delta() {
            let delta = self.state.take_delta();
            self.generations.push(self.state.delta(), &delta);
            out.send(
                Destination::Broadcast,
                Gossip::Heartbeat { from: me.clone(), delta: Some(delta), clock: self.state.clocks() },
            );
            self.silent_periods = 0;
        } else if self.silent_periods >= self.config.max_silent_periods {
            out.send(
                Destination::Broadcast,
                Gossip::Heartbeat { from: me.clone(), delta: None, clock: self.state.clocks() },
            );
            self.silent_periods = 0;
        } else {
            self.silent_periods += 1;
        }

        if self.sample_count <= 1 {
            let pending = std::mem::take(&mut self.pending_clockset);
            for (peer, _) in append_clock(pending, (me.clone(), self.state.clocks())) {
                if peer != me && self.state.replica_status(&peer) == Some(ReplicaStatus::Up) {
                    self.next_req_id += 1;
                    let req =
                        Gossip::TransferReq { req_id: self.next_req_id, from: me.clone(), clock: self.state.clocks() };
                    out.send(Destination::Node(peer.name_arc().clone()), req);
                }
            }
            self.sample_count = self.config.clock_sample_periods;
        } else {
            self.sample_count -= 1;
        }

        let transitions = self.liveness.detect_downs(now, self.config.down_period, self.config.permdown_period);
        self.apply(transitions, &mut out);
        out
    }

    /// Handles a message from the group received at time `now`.
    ///
    /// Messages that carry this replica's own name are ignored: either our own
    /// broadcast echoed back, or a late message of an earlier incarnation of
    /// this node. So are heartbeats of an incarnation older than one already
    /// seen, and transfer answers computed for another incarnation.
    pub fn receive(&mut self, now: Duration, message: &Gossip) -> Output {
        let mut out = Output::default();
        if message.from().name() == self.replica().name() {
            return out;
        }
        match message {
            Gossip::Heartbeat { from, delta, clock } => {
                let Ok(transitions) = self.liveness.heartbeat(from, now) else {
                    return out;
                };
                self.apply(transitions, &mut out);
                if let Some(delta) = delta {
                    // A delta across a gap is dropped; the clock below makes the
                    // next sampling ask for a transfer instead.
                    if let Ok(diff) = self.state.merge_delta(delta) {
                        out.report(diff);
                        self.generations.push(self.state.delta(), delta);
                    }
                }
                let pending = std::mem::take(&mut self.pending_clockset);
                self.pending_clockset = append_clock(pending, (from.clone(), clock.clone()));
            }
            Gossip::TransferReq { req_id, from, clock } => {
                let transfer = self.generations.answer(&self.state, from, clock);
                let ack =
                    Gossip::TransferAck { req_id: *req_id, from: self.replica().clone(), to: from.clone(), transfer };
                out.send(Destination::Node(from.name_arc().clone()), ack);
            }
            Gossip::TransferAck { to, transfer, .. } => {
                if to != self.replica() {
                    return out;
                }
                match transfer {
                    Transfer::Full(extract) => {
                        out.report(self.state.merge_extract(extract));
                        self.generations.clear();
                    }
                    Transfer::Delta(delta) => {
                        if let Ok(diff) = self.state.merge_delta(delta) {
                            out.report(diff);
                            self.generations.push(self.state.delta(), delta);
                        }
                    }
                }
            }
            Gossip::GracefulPermdown { from } => {
                let transitions = self.liveness.graceful_permdown(from);
                self.apply(transitions, &mut out);
            }
        }
        out
    }

    fn apply(&mut self, transitions: Vec<Transition>, out: &mut Output) {
        for transition in transitions {
            let diff = match &transition {
                Transition::Up(replica) => self.state.replica_up(replica),
                Transition::Down(replica) => self.state.replica_down(replica),
                Transition::Permdown(replica) => {
                    self.generations.remove_replica(replica);
                    self.pending_clockset.retain(|(r, _)| r != replica);
                    self.state.permdown(replica)
                }
            };
            out.report(diff);
            out.transitions.push(transition);
        }
    }
}
