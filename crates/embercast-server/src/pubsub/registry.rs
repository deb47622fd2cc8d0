//! The local subscription table, sharded by topic so that joins on different
//! topics and broadcasts do not contend on one lock.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;

use embercast_protocol::Broadcast;
use parking_lot::RwLock;

use super::{FrameCache, Subscriber, SubscriberId};

const SHARDS: usize = 64;

type Topics = HashMap<Box<str>, Vec<(SubscriberId, Arc<dyn Subscriber>)>>;

pub(crate) struct Registry {
    hasher: RandomState,
    shards: Box<[RwLock<Topics>]>,
}

impl Registry {
    pub(crate) fn new() -> Self {
        Registry { hasher: RandomState::new(), shards: (0..SHARDS).map(|_| RwLock::new(HashMap::new())).collect() }
    }

    fn shard(&self, topic: &str) -> &RwLock<Topics> {
        &self.shards[self.hasher.hash_one(topic) as usize % SHARDS]
    }

    pub(crate) fn subscribe(&self, topic: &str, id: SubscriberId, sub: Arc<dyn Subscriber>) {
        self.shard(topic).write().entry(topic.into()).or_default().push((id, sub));
    }

    pub(crate) fn unsubscribe(&self, topic: &str, id: SubscriberId) {
        let mut shard = self.shard(topic).write();
        if let Some(subs) = shard.get_mut(topic) {
            if let Some(i) = subs.iter().position(|(s, _)| *s == id) {
                subs.swap_remove(i);
            }
            if subs.is_empty() {
                shard.remove(topic);
            } else if subs.capacity() > 4 * subs.len() {
                subs.shrink_to(2 * subs.len());
            }
        }
    }

    pub(crate) fn count(&self, topic: &str) -> usize {
        self.shard(topic).read().get(topic).map_or(0, Vec::len)
    }

    /// Delivers `broadcast` to every subscriber of its topic except `from`.
    ///
    /// Order per subscriber is publish order: delivery is synchronous.
    pub(crate) fn dispatch(&self, broadcast: &Broadcast, from: Option<SubscriberId>) {
        let shard = self.shard(&broadcast.topic).read();
        let Some(subs) = shard.get(broadcast.topic.as_str()) else { return };
        let mut frames = FrameCache::new(broadcast);
        for (id, sub) in subs {
            if Some(*id) != from {
                sub.deliver(broadcast, &mut frames);
            }
        }
    }
}
