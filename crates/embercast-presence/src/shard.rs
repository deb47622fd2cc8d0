//! One shard replica at run time: the sans-I/O [`Shard`] behind a lock, its
//! gossip task (timer and group topic) and its diff queue.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use embercast_server::{Broadcast, FrameCache, Payload, PubSub, Subscriber};
use embercast_tracker::{Destination, Diff, Gossip, Outgoing, Output, Shard};
use parking_lot::RwLock;
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior};

use crate::dispatch::{Joiner, Work};

/// The event name of gossip on a shard group's topic.
const GOSSIP_EVENT: &str = "gossip";

/// What the presence API and the gossip task share about one shard.
pub(crate) struct ShardCore {
    /// Reads take the read lock only while they copy out what they need;
    /// writes hold the write lock for one CRDT operation.
    shard: RwLock<Shard>,
    /// Diffs in tracker order (sent while the write lock is held) and state
    /// requests, to the dispatcher.
    work: mpsc::UnboundedSender<Work>,
    /// The group topic, `phx_presence:<tracker>_shard<n>`.
    topic: String,
}

impl ShardCore {
    pub(crate) fn new(shard: Shard, work: mpsc::UnboundedSender<Work>, topic: String) -> Self {
        ShardCore { shard: RwLock::new(shard), work, topic }
    }

    /// Asks the dispatcher to push the topic's `presence_state` to a joiner.
    pub(crate) fn request_state(&self, topic: &str, joiner: Joiner) {
        let _ = self.work.send(Work::State(topic.into(), joiner));
    }

    /// Runs `f` on the shard and reads what it returns.
    pub(crate) fn read<R>(&self, f: impl FnOnce(&Shard) -> R) -> R {
        f(&self.shard.read())
    }

    /// One local CRDT operation; its diff is queued before the lock is released.
    pub(crate) fn mutate<E>(&self, f: impl FnOnce(&mut Shard) -> Result<Diff, E>) -> Result<(), E> {
        let mut shard = self.shard.write();
        let diff = f(&mut shard)?;
        self.report(diff);
        Ok(())
    }

    /// The group topic and the graceful-permdown message of this replica.
    pub(crate) fn goodbye(&self) -> (String, Outgoing) {
        (self.topic.clone(), self.read(|s| s.graceful_permdown()))
    }

    fn report(&self, diff: Diff) {
        if !diff.is_empty() {
            // The dispatcher ends only when every sender is gone.
            let _ = self.work.send(Work::Diff(diff));
        }
    }

    /// One gossip event (tick or message); returns what to send.
    fn event(&self, f: impl FnOnce(&mut Shard) -> Output) -> Vec<Outgoing> {
        let Output { messages, transitions, .. } = {
            let mut shard = self.shard.write();
            let mut out = f(&mut shard);
            for diff in std::mem::take(&mut out.diffs) {
                self.report(diff);
            }
            out
        };
        for t in transitions {
            tracing::info!(topic = %self.topic, transition = ?t, "presence replica");
        }
        messages
    }
}

/// Forwards the group topic's messages to the gossip task.
struct Inbox(mpsc::UnboundedSender<Bytes>);

impl Subscriber for Inbox {
    fn deliver(&self, broadcast: &Broadcast, _: &mut FrameCache<'_>) {
        if let (GOSSIP_EVENT, Payload::Binary(bytes)) = (broadcast.event.as_str(), &broadcast.payload) {
            let _ = self.0.send(bytes.clone());
        }
    }
}

/// The shard's gossip loop (PROTOCOL.md §10.10): ticks every broadcast
/// period, the first after a random 0–25 % of it, and handles the group's
/// messages in between. Runs until aborted.
pub(crate) async fn gossip(core: Arc<ShardCore>, pubsub: PubSub, start: Instant) {
    let (tx, mut inbox) = mpsc::unbounded_channel();
    let _subscription = pubsub.subscribe(&core.topic, Arc::new(Inbox(tx)));
    let period = core.read(|s| s.config().broadcast_period);
    let mut ticks = tokio::time::interval_at(Instant::now() + first_tick(period), period);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        let out = tokio::select! {
            _ = ticks.tick() => core.event(|s| s.tick(start.elapsed())),
            Some(bytes) = inbox.recv() => match serde_json::from_slice::<Gossip>(&bytes) {
                Ok(message) => core.event(|s| s.receive(start.elapsed(), &message)),
                Err(e) => {
                    tracing::warn!(topic = %core.topic, error = %e, "undecodable presence gossip dropped");
                    continue;
                }
            },
        };
        send(&pubsub, &core.topic, out);
    }
}

/// Sends a shard's messages to its group. Nothing leaves a node without peers.
pub(crate) fn send(pubsub: &PubSub, topic: &str, messages: Vec<Outgoing>) {
    if !pubsub.is_clustered() {
        return;
    }
    for Outgoing { to, message } in messages {
        let bytes = match serde_json::to_vec(&message) {
            Ok(bytes) => Bytes::from(bytes),
            Err(e) => {
                tracing::error!(%topic, error = %e, "presence gossip could not be encoded");
                continue;
            }
        };
        let b = Broadcast { topic: topic.to_owned(), event: GOSSIP_EVENT.into(), payload: Payload::Binary(bytes) };
        let sent = match &to {
            Destination::Broadcast => pubsub.remote_broadcast(&b),
            Destination::Node(node) => pubsub.direct_broadcast(node, &b),
        };
        if let Err(e) = sent {
            tracing::warn!(%topic, error = %e, "presence gossip not sent");
        }
    }
}

/// A random delay in 0–25 % of `period`, so nodes started together do not
/// heartbeat in step.
fn first_tick(period: Duration) -> Duration {
    let mut b = [0u8; 4];
    let r = getrandom::fill(&mut b).map_or(0, |_| u32::from_le_bytes(b));
    period.mul_f64(f64::from(r) / f64::from(u32::MAX) / 4.0)
}
