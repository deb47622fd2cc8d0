//! Publish/subscribe by topic, on this node and, through an [`Adapter`], across a cluster.
//!
//! Channel broadcasts use the *fastlane*: a broadcast is encoded once per
//! serializer in use and the same bytes are handed to every subscribed
//! connection's outbox, without waking the channels. Only events a channel
//! intercepts are delivered to the channel itself (`handle_out`).

mod memory;
mod registry;

use std::sync::Arc;

use embercast_protocol::{Broadcast, EncodeError, EncodedFrame, Payload, Serializer};

use crate::mailbox::Mailbox;
pub use memory::MemoryCluster;
pub(crate) use registry::Registry;

/// Identifies one subscriber, so `broadcast_from` can skip it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SubscriberId(pub(crate) u64);

impl SubscriberId {
    pub(crate) fn next() -> Self {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(1);
        SubscriberId(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

/// Something that receives broadcasts for a topic.
///
/// `deliver` runs in the publisher's task while the topic's subscriber list is
/// read-locked: it must not block and must not subscribe or unsubscribe.
pub trait Subscriber: Send + Sync + 'static {
    /// Receives one broadcast. `frames` encodes it at most once per serializer
    /// for the whole dispatch.
    fn deliver(&self, broadcast: &Broadcast, frames: &mut FrameCache<'_>);
}

/// Encodes one broadcast lazily, once per serializer, during one dispatch.
pub struct FrameCache<'a> {
    broadcast: &'a Broadcast,
    frames: [Option<Result<EncodedFrame, EncodeError>>; Serializer::COUNT],
}

impl<'a> FrameCache<'a> {
    pub(crate) fn new(broadcast: &'a Broadcast) -> Self {
        FrameCache { broadcast, frames: Default::default() }
    }

    /// The broadcast's frame for `serializer`, or `None` if it cannot be
    /// encoded with it (e.g. bytes for V1; logged once per dispatch).
    pub fn frame(&mut self, serializer: Serializer) -> Option<&EncodedFrame> {
        let slot = &mut self.frames[serializer.index()];
        let b = self.broadcast;
        let result = slot.get_or_insert_with(|| {
            let r = serializer.encode_broadcast(b);
            if let Err(e) = &r {
                tracing::warn!(topic = %b.topic, event = %b.event, vsn = serializer.vsn(), error = %e,
                    "broadcast cannot be encoded for these subscribers; skipped");
            }
            r
        });
        result.as_ref().ok()
    }
}

/// A PubSub failure (from a cluster adapter).
#[derive(Debug, Clone)]
pub struct PubSubError(pub String);

impl std::fmt::Display for PubSubError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "pubsub: {}", self.0)
    }
}

impl std::error::Error for PubSubError {}

/// Carries broadcasts to the other nodes of a cluster.
///
/// The local node is served by [`PubSub`] itself; an adapter only forwards to
/// remote nodes and, when a remote broadcast arrives, hands it to the
/// [`LocalDispatch`] it was started with. Delivery is at most once, as in
/// Phoenix.PubSub.
pub trait Adapter: Send + Sync + 'static {
    /// This node's name in the cluster.
    fn node_name(&self) -> &str;
    /// Called once, before any publish, with the handle remote broadcasts are delivered to.
    fn start(&self, local: LocalDispatch);
    /// Sends a broadcast to every other node.
    fn publish(&self, broadcast: &Broadcast) -> Result<(), PubSubError>;
    /// Sends a broadcast to the node named `node` only (Phoenix's
    /// `direct_broadcast`); never called with this node's own name.
    fn publish_to(&self, node: &str, broadcast: &Broadcast) -> Result<(), PubSubError>;
}

/// Delivers broadcasts that arrived from other nodes to this node's subscribers.
#[derive(Clone)]
pub struct LocalDispatch(Arc<Registry>);

impl LocalDispatch {
    /// Delivers to every local subscriber of the broadcast's topic.
    pub fn dispatch(&self, broadcast: &Broadcast) {
        self.0.dispatch(broadcast, None);
    }
}

/// A cloneable handle to the PubSub: publish from channels, handlers or tasks.
#[derive(Clone)]
pub struct PubSub {
    registry: Arc<Registry>,
    adapter: Option<Arc<dyn Adapter>>,
}

impl Default for PubSub {
    fn default() -> Self {
        PubSub::new()
    }
}

impl std::fmt::Debug for PubSub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PubSub").field("node", &self.node_name()).finish()
    }
}

impl PubSub {
    /// A PubSub for one node.
    pub fn new() -> Self {
        PubSub { registry: Arc::new(Registry::new()), adapter: None }
    }

    /// A PubSub whose broadcasts also reach the nodes `adapter` connects to.
    pub fn with_adapter(adapter: Arc<dyn Adapter>) -> Self {
        let registry = Arc::new(Registry::new());
        adapter.start(LocalDispatch(registry.clone()));
        PubSub { registry, adapter: Some(adapter) }
    }

    /// This node's name (`"local"` without an adapter).
    pub fn node_name(&self) -> &str {
        self.adapter.as_deref().map_or("local", |a| a.node_name())
    }

    /// Whether broadcasts can reach other nodes (an adapter is set).
    pub fn is_clustered(&self) -> bool {
        self.adapter.is_some()
    }

    /// Broadcasts to every subscriber of `topic` on every node.
    ///
    /// The payload must be a JSON object or bytes (what V2 clients can receive).
    pub fn broadcast(&self, topic: &str, event: &str, payload: impl Into<Payload>) -> Result<(), PubSubError> {
        self.send_broadcast(Broadcast { topic: topic.into(), event: event.into(), payload: payload.into() })
    }

    /// Broadcasts a prepared [`Broadcast`] to every subscriber on every node.
    pub fn send_broadcast(&self, broadcast: Broadcast) -> Result<(), PubSubError> {
        self.send(broadcast, None)
    }

    /// Broadcasts to every subscriber of the topic on every node, except `from`.
    pub fn broadcast_from(&self, from: SubscriberId, broadcast: Broadcast) -> Result<(), PubSubError> {
        self.send(broadcast, Some(from))
    }

    /// Broadcasts to the subscribers on this node only.
    pub fn local_broadcast(&self, broadcast: &Broadcast) {
        self.registry.dispatch(broadcast, None);
    }

    /// Broadcasts to the subscribers on every *other* node, not this one
    /// (nothing happens without an adapter). For node-to-node protocols such as
    /// the presence tracker's gossip.
    pub fn remote_broadcast(&self, broadcast: &Broadcast) -> Result<(), PubSubError> {
        check_payload(broadcast)?;
        self.adapter.as_ref().map_or(Ok(()), |a| a.publish(broadcast))
    }

    /// Broadcasts to the subscribers on the node named `node` only (Phoenix's
    /// `direct_broadcast`). An error if that node cannot be reached: it is
    /// neither this node nor reachable through an adapter.
    pub fn direct_broadcast(&self, node: &str, broadcast: &Broadcast) -> Result<(), PubSubError> {
        check_payload(broadcast)?;
        if node == self.node_name() {
            self.registry.dispatch(broadcast, None);
            return Ok(());
        }
        match &self.adapter {
            Some(a) => a.publish_to(node, broadcast),
            None => Err(PubSubError(format!("no node named {node:?}: this PubSub has no cluster adapter"))),
        }
    }

    fn send(&self, broadcast: Broadcast, from: Option<SubscriberId>) -> Result<(), PubSubError> {
        check_payload(&broadcast)?;
        let remote = self.adapter.as_ref().map(|a| a.publish(&broadcast));
        self.registry.dispatch(&broadcast, from);
        remote.unwrap_or(Ok(()))
    }

    /// Subscribes `subscriber` to `topic` until the returned guard is dropped.
    pub fn subscribe(&self, topic: &str, subscriber: Arc<dyn Subscriber>) -> Subscription {
        let id = SubscriberId::next();
        self.subscribe_as(id, topic, subscriber)
    }

    pub(crate) fn subscribe_as(&self, id: SubscriberId, topic: &str, subscriber: Arc<dyn Subscriber>) -> Subscription {
        self.registry.subscribe(topic, id, subscriber);
        Subscription { registry: self.registry.clone(), topic: topic.into(), id }
    }

    /// Subscribes to `topic` and returns a receiver of its broadcasts, for
    /// server code that wants to listen (tests, bridges, background jobs).
    pub fn listen(&self, topic: &str) -> Listener {
        let mailbox = Arc::new(Mailbox::new());
        let sub = self.subscribe(topic, Arc::new(MailboxSubscriber(mailbox.clone())));
        Listener { mailbox, _subscription: sub }
    }

    /// How many subscriptions `topic` has on this node.
    pub fn subscriber_count(&self, topic: &str) -> usize {
        self.registry.count(topic)
    }
}

/// Refuses broadcast payloads no V2 client could receive (JSON that is not an object).
pub(crate) fn check_payload(b: &Broadcast) -> Result<(), PubSubError> {
    match &b.payload {
        Payload::Json(v) if !v.is_object() => {
            Err(PubSubError(format!("broadcast payload for {:?} must be a JSON object or bytes", b.topic)))
        }
        _ => Ok(()),
    }
}

/// A subscription; dropping it unsubscribes.
pub struct Subscription {
    registry: Arc<Registry>,
    topic: Box<str>,
    id: SubscriberId,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription").field("topic", &self.topic).field("id", &self.id).finish()
    }
}

impl Subscription {
    /// The subscriber's id.
    pub fn id(&self) -> SubscriberId {
        self.id
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.registry.unsubscribe(&self.topic, self.id);
    }
}

/// Broadcasts received on a topic, from [`PubSub::listen`].
pub struct Listener {
    mailbox: Arc<Mailbox<Broadcast>>,
    _subscription: Subscription,
}

impl Listener {
    /// The next broadcast, in publish order.
    pub async fn recv(&self) -> Broadcast {
        self.mailbox.recv().await.expect("a listener's mailbox is never closed while it exists")
    }
}

struct MailboxSubscriber(Arc<Mailbox<Broadcast>>);

impl Subscriber for MailboxSubscriber {
    fn deliver(&self, broadcast: &Broadcast, _: &mut FrameCache<'_>) {
        let _ = self.0.push(broadcast.clone());
    }
}
