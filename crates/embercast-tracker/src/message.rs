//! Messages between the replicas of one shard group (PROTOCOL.md §10.12), in a
//! serde form the runtime can put on its PubSub.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::{Clock, Delta, ReplicaRef, Transfer};

/// A message on the shard group's topic.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Gossip {
    /// Periodic liveness signal, with the sender's pending delta if it had one,
    /// and its advertised clock. Broadcast.
    Heartbeat {
        /// Sender.
        from: ReplicaRef,
        /// Local changes since the previous heartbeat, if any.
        delta: Option<Delta>,
        /// The sender's [`State::clocks`](crate::State::clocks).
        #[serde(with = "crate::serde_map")]
        clock: Clock,
    },
    /// "Send me what I miss": sent directly to a peer whose clock is ahead.
    TransferReq {
        /// Request id, echoed in the answer.
        req_id: u64,
        /// Requester.
        from: ReplicaRef,
        /// The requester's advertised clock; the answer is pruned to its replicas.
        #[serde(with = "crate::serde_map")]
        clock: Clock,
    },
    /// Answer to a [`Gossip::TransferReq`], sent directly to the requester.
    TransferAck {
        /// The request's id.
        req_id: u64,
        /// Answering replica.
        from: ReplicaRef,
        /// The incarnation the answer was computed for. A later incarnation of
        /// the same name drops it (Phoenix has no such field).
        to: ReplicaRef,
        /// A generation or the full state.
        transfer: Transfer,
    },
    /// The sender is shutting down: drop its presences now. Broadcast.
    GracefulPermdown {
        /// The incarnation that stops.
        from: ReplicaRef,
    },
}

impl Gossip {
    /// The sending replica.
    pub fn from(&self) -> &ReplicaRef {
        match self {
            Gossip::Heartbeat { from, .. }
            | Gossip::TransferReq { from, .. }
            | Gossip::TransferAck { from, .. }
            | Gossip::GracefulPermdown { from } => from,
        }
    }
}

/// Where the runtime must send a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Destination {
    /// Every other node of the group (Phoenix's `broadcast_from`).
    Broadcast,
    /// One node, by replica name (Phoenix's `direct_broadcast`).
    Node(Arc<str>),
}

/// A message the shard wants sent.
#[derive(Clone, Debug, PartialEq)]
pub struct Outgoing {
    /// Where to.
    pub to: Destination,
    /// What.
    pub message: Gossip,
}
