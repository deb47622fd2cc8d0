//! Full-state extraction for a peer, and the two forms of transfer answer
//! (PROTOCOL.md §10.8).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::clock::restrict;
use crate::{Clock, Clouds, Delta, Dot, Element, ReplicaRef, State};

/// A replica's full state, pruned to what a given peer can use: context and
/// clouds of the replicas the peer knows, and every stored presence of those
/// replicas (hidden ones included) except the peer's own.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Extract {
    replica: ReplicaRef,
    #[serde(with = "crate::serde_map")]
    context: Clock,
    clouds: Clouds,
    #[serde(with = "crate::serde_map")]
    values: BTreeMap<Dot, Element>,
}

impl Extract {
    /// The replica that extracted it.
    pub fn replica(&self) -> &ReplicaRef {
        &self.replica
    }

    /// Its context, restricted to the peer's replicas.
    pub fn context(&self) -> &Clock {
        &self.context
    }

    /// Its clouds, restricted to the peer's replicas.
    pub fn clouds(&self) -> &Clouds {
        &self.clouds
    }

    /// Its presences of the peer's replicas, by dot.
    pub fn values(&self) -> &BTreeMap<Dot, Element> {
        &self.values
    }
}

/// An answer to a transfer request: a delta generation when one covers what the
/// peer misses, else the full state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Transfer {
    /// A delta generation, extracted for the peer.
    Delta(Delta),
    /// The full state, extracted for the peer.
    Full(Extract),
}

impl State {
    /// Extracts the full state for `peer`, whose context is `peer_context`.
    ///
    /// Phoenix means to leave out the peer's own presences but compares a name
    /// with a ref and never does; here they are left out (the peer would ignore
    /// them anyway).
    pub fn extract(&self, peer: &ReplicaRef, peer_context: &Clock) -> Extract {
        let mut values = BTreeMap::new();
        for replica in peer_context.keys().filter(|r| *r != peer) {
            for (dot, id) in self.store.dots_of(replica, u64::MAX) {
                if let Some(entry) = self.store.get(&id.topic, id.owner, &id.key) {
                    let element = Element {
                        owner: id.owner,
                        topic: id.topic.clone(),
                        key: id.key.clone(),
                        meta: entry.meta.clone(),
                    };
                    values.insert(dot.clone(), element);
                }
            }
        }
        Extract {
            replica: self.replica.clone(),
            context: restrict(&self.context, peer_context),
            clouds: self.clouds.restrict(peer_context),
            values,
        }
    }
}
