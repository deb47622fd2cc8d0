//! Phoenix.Tracker's presence CRDT, as pure data (PROTOCOL.md §10).
//!
//! A tracker replicates a set of presences `(topic, owner, key) → meta` across
//! nodes without a leader: an observed-remove set with a causal context and dot
//! clouds, spread by heartbeats carrying deltas and repaired by transfers.
//! This crate holds every part of it that does not need a clock or a socket:
//!
//! | piece | what it is | module |
//! |---|---|---|
//! | [`ReplicaRef`], [`Dot`], [`OwnerId`] | identities: (name, incarnation), events, owners | `replica` |
//! | [`Clock`], [`clock`] functions | version vectors and their laws (`dominates`, bounds, `append_clock`) | [`clock`] |
//! | [`Clouds`], [`compact`] | causal history beyond the contiguous prefix | `history` |
//! | [`State`] | one replica: track / untrack / update / owner exit, reads, merge, extract, replica transitions | `state`, `merge`, `extract`, `replicas` |
//! | [`Delta`], [`Extract`], [`Transfer`] | what replicas send each other (serde) | `delta`, `extract` |
//! | [`DeltaGenerations`] | the `max_delta_sizes` ladder and transfer answers | `generations` |
//! | [`Liveness`] | up / down / permdown from heartbeats, stale incarnations refused | `liveness` |
//! | [`Shard`], [`Gossip`] | the shard loop without I/O: tick and receive in, messages and diffs out | `shard`, `message` |
//!
//! Every mutation returns the [`Diff`] of the replica's *visible* presences,
//! which the runtime turns into `presence_diff` broadcasts.
//!
//! ```
//! use embercast_tracker::{OwnerId, ReplicaRef, State};
//! use serde_json::json;
//!
//! let mut a = State::new(ReplicaRef::new("a@host", 1));
//! let mut b = State::new(ReplicaRef::new("b@host", 1));
//! a.replica_up(b.replica());
//! b.replica_up(a.replica());
//!
//! a.track(OwnerId(7), "room:lobby", "alice", json!({"phx_ref": "r1"})).unwrap();
//! let delta = a.take_delta(); // what a's next heartbeat carries
//! let diff = b.merge_delta(&delta).unwrap();
//! assert_eq!(diff.get("room:lobby").unwrap().joins[0].key.as_ref(), "alice");
//! assert_eq!(b.list("room:lobby").count(), 1);
//! ```
//!
//! # Departures from Phoenix
//!
//! The algorithms are Phoenix.Tracker's; these changes close holes the property
//! tests (`tests/convergence.rs`) exercise, or follow from Rust types:
//!
//! * **Diffs are exact.** They report changes of the visible set only: no joins
//!   for presences of a down replica arriving through a third one, no second
//!   leave for a hidden presence removed meanwhile, nothing for `replica_up` of
//!   a replica already up; `permdown` of a replica still up reports its leaves.
//! * **No merge across a gap.** [`State::merge_delta`] refuses a delta that
//!   starts after what this replica has seen ([`GapError`]); the sender's clock
//!   then looks ahead and anti-entropy fetches a contiguous transfer. Phoenix
//!   merges it, which lets a stale copy of a presence come back after its
//!   removal was seen.
//! * **Only plain removals are relayed.** A merge relays removals it observed in
//!   its next delta, as Phoenix does, but not the removal half of a remote
//!   update: relayed alone, it made the key vanish at a third replica until the
//!   origin's delta arrived.
//! * **Removed dots stay in the causal history** (Phoenix deletes them from the
//!   cloud).
//! * **One presence per (topic, owner, key)**: if two versions ever meet, the
//!   newer dot wins and the swap is reported as a leave and a join.
//! * **Extracts**: full states leave out the requester's own presences (Phoenix
//!   means to and does not); delta extracts keep them, because the requester
//!   stores the delta in its generations, where a dot without its value would
//!   read as a removal.
//! * **Stale identities are dropped**: [`Liveness`] refuses heartbeats of an
//!   incarnation older than one seen (incarnation numbers must grow), a
//!   transfer answer names the incarnation it was computed for, and a shard
//!   ignores messages carrying its own name.
//! * Metas must be JSON objects and are stored as given: `phx_ref` and
//!   `phx_ref_prev` are the caller's (the runtime's) to add.

#![warn(missing_docs)]

pub mod clock;
mod config;
mod delta;
mod diff;
mod element;
mod error;
mod extract;
mod generations;
mod history;
mod liveness;
mod merge;
mod message;
mod replica;
mod replicas;
mod serde_map;
mod shard;
mod state;
mod store;

pub use clock::Clock;
pub use config::ShardConfig;
pub use delta::Delta;
pub use diff::{Diff, PresenceEntry, TopicDiff};
pub use element::{Element, Presence};
pub use error::{ConfigError, GapError, NotContiguous, StaleIncarnation, TrackError, UpdateError};
pub use extract::{Extract, Transfer};
pub use generations::DeltaGenerations;
pub use history::{compact, in_history, Clouds};
pub use liveness::{Liveness, Transition};
pub use message::{Destination, Gossip, Outgoing};
pub use replica::{Dot, OwnerId, ReplicaRef, ReplicaStatus};
pub use shard::{Output, Shard};
pub use state::State;
