//! Presence for Embercast channels: who is online on each topic, replicated
//! across the nodes of a cluster by the Phoenix.Tracker CRDT
//! ([`embercast_tracker`]), and sent to clients exactly as phoenix.js
//! `Presence` expects (`presence_state`, `presence_diff`; PROTOCOL.md §9).
//!
//! ```no_run
//! use embercast_presence::Presence;
//! use embercast_server::{Channel, ChannelSocket, HandleResult, JoinResult, Payload, Socket};
//! use serde_json::json;
//!
//! struct Room;
//!
//! impl Channel for Room {
//!     async fn join(_topic: &str, payload: Payload, socket: &mut ChannelSocket) -> JoinResult<Self> {
//!         let presence = socket.get::<Presence>().expect("assigned on the socket").clone();
//!         let name = payload.as_json().and_then(|p| p["name"].as_str()).unwrap_or("anonymous").to_owned();
//!         // Tracked for as long as this channel lives; the whole room sees the join.
//!         presence.track(socket, &name, json!({ "online_at": "1700000000" })).ok();
//!         // The joiner gets the room's list right after the join reply.
//!         presence.push_state(socket);
//!         Ok(Room.into())
//!     }
//!
//!     async fn handle_in(&mut self, _event: &str, _payload: Payload, _socket: &mut ChannelSocket) -> HandleResult {
//!         Ok(None)
//!     }
//! }
//!
//! # async fn run() {
//! let socket = Socket::new();
//! let presence = Presence::new(&socket.pubsub_handle());
//! let socket = socket.assign(presence).channel::<Room>("room:*");
//! # }
//! ```
//!
//! * A presence belongs to an *owner*. [`Presence::track`] makes the channel
//!   instance the owner: when it ends (leave, crash, stop, connection closed,
//!   idle timeout, a new join of the same topic) its presences leave. Server
//!   code can track on behalf of anything with an [`Owner`] of its own.
//! * Every meta gets a fresh `phx_ref`; an update also gets `phx_ref_prev`.
//! * Diffs are broadcast as `presence_diff` on the topic, on each node from
//!   its own replica. A topic's changes are collected for a short window that
//!   grows with its audience ([`PresenceBuilder::diff_window`]) and go out as
//!   one broadcast, and the joiners of a window share one `presence_state`, so
//!   a join storm in a big room does not cost N² frames.
//! * A [`fetch`](PresenceBuilder::fetch) hook enriches lists and diffs (once
//!   per broadcast, not once per subscriber).
//! * With a clustered [`PubSub`] the shards gossip over it (heartbeats with
//!   deltas, transfers, down / permanently down peers, Phoenix's timers); on a
//!   single node nothing leaves the process.

#![warn(missing_docs)]

mod dispatch;
mod ids;
mod shard;

use std::convert::Infallible;
use std::sync::{Arc, Weak};
use std::time::Duration;

use embercast_server::{ChannelSocket, PubSub};
pub use embercast_tracker::{ConfigError, ReplicaStatus, ShardConfig, TrackError, UpdateError};
use embercast_tracker::{OwnerId, ReplicaRef, Shard};
use parking_lot::Mutex;
use serde_json::{Map, Value};
use tokio::task::JoinHandle;

use crate::dispatch::Windows;
use crate::shard::ShardCore;

/// The `fetch` hook: given a topic and its presences grouped by key
/// (`{key: {"metas": [...]}}`), adds fields next to `metas` (e.g. user details).
/// It must keep every key and its `metas`. It runs in the caller for
/// [`Presence::list`] / [`Presence::get_by_key`] and once per side of each
/// `presence_diff` before it is broadcast, so it should be quick (a cache
/// lookup, not a database round trip per call).
pub type Fetch = Arc<dyn Fn(&str, &mut Map<String, Value>) + Send + Sync>;

/// The most shards a tracker can have.
pub const MAX_POOL_SIZE: usize = 64;

/// Why a tracker could not start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartError {
    /// The shard timings are invalid (Phoenix refuses the same settings).
    Config(ConfigError),
    /// `pool_size` must be between 1 and [`MAX_POOL_SIZE`].
    PoolSize(usize),
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::Config(e) => e.fmt(f),
            StartError::PoolSize(n) => write!(f, "pool_size must be between 1 and {MAX_POOL_SIZE}, not {n}"),
        }
    }
}

impl std::error::Error for StartError {}

/// Options of a tracker; [`Presence::builder`] starts with Phoenix's defaults.
pub struct PresenceBuilder {
    name: String,
    pool_size: usize,
    shard: ShardConfig,
    fetch: Option<Fetch>,
    windows: Windows,
}

impl PresenceBuilder {
    /// The tracker's name (default `"presence"`). Its shards talk on the
    /// PubSub topics `phx_presence:<name>_shard<n>`; every node of a cluster
    /// must use the same name and pool size.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// How many shards the topics are spread over (default 1, as Phoenix).
    pub fn pool_size(mut self, pool_size: usize) -> Self {
        self.pool_size = pool_size;
        self
    }

    /// Gossip timings and the delta ladder (default: Phoenix's).
    pub fn shard_config(mut self, config: ShardConfig) -> Self {
        self.shard = config;
        self
    }

    /// How long the changes of a topic are collected into one
    /// `presence_diff`, and its joiners into one shared `presence_state`:
    /// `base`, plus `per_subscriber` for each subscriber the topic has on this
    /// node, at most `max` (defaults: 20 ms, 100 µs, 1 s; so 30 ms for a room
    /// of 100, 1 s from 9,800 members). N clients joining one room then cost
    /// about one broadcast per window instead of N (Phoenix: N² frames).
    /// All zero sends every change on its own, as Phoenix does.
    pub fn diff_window(mut self, base: Duration, per_subscriber: Duration, max: Duration) -> Self {
        self.windows = Windows { base, per_subscriber, max };
        self
    }

    /// Sets the [`Fetch`] hook.
    pub fn fetch(mut self, fetch: impl Fn(&str, &mut Map<String, Value>) + Send + Sync + 'static) -> Self {
        self.fetch = Some(Arc::new(fetch));
        self
    }

    /// Starts the tracker's shards on `pubsub` (needs a tokio runtime).
    pub fn start(self, pubsub: &PubSub) -> Result<Presence, StartError> {
        if self.pool_size == 0 || self.pool_size > MAX_POOL_SIZE {
            return Err(StartError::PoolSize(self.pool_size));
        }
        let mut config = self.shard;
        config.validate().map_err(StartError::Config)?;
        if !pubsub.is_clustered() {
            // No peer will ever ask for a transfer: keep no delta history.
            config.max_delta_sizes.clear();
        }
        let start = tokio::time::Instant::now();
        let mut shards = Vec::with_capacity(self.pool_size);
        let mut tasks = Vec::with_capacity(self.pool_size);
        for n in 0..self.pool_size {
            let replica = ReplicaRef::new(pubsub.node_name(), ids::next_vsn());
            let shard = Shard::new(replica, config.clone()).map_err(StartError::Config)?;
            let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
            let topic = format!("phx_presence:{}_shard{n}", self.name);
            let core = Arc::new(ShardCore::new(shard, tx, topic));
            // The dispatcher ends by itself once the shard is gone and its queue drained.
            let weak = Arc::downgrade(&core);
            tokio::spawn(dispatch::run(rx, weak, pubsub.clone(), self.fetch.clone(), self.windows));
            tasks.push(tokio::spawn(shard::gossip(core.clone(), pubsub.clone(), start)));
            shards.push(core);
        }
        let inner = Inner { pubsub: pubsub.clone(), shards, fetch: self.fetch, tasks: Mutex::new(tasks) };
        Ok(Presence { inner: Arc::new(inner) })
    }
}

/// A presence tracker: cheap to clone, shared by every channel of a node.
///
/// Put it in the socket's assigns (`Socket::assign`) so channels reach it
/// with `socket.get::<Presence>()`. It stops when the last clone is dropped
/// (peers then see this node go silent) or on [`shutdown`](Presence::shutdown).
#[derive(Clone)]
pub struct Presence {
    inner: Arc<Inner>,
}

struct Inner {
    pubsub: PubSub,
    shards: Vec<Arc<ShardCore>>,
    fetch: Option<Fetch>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        for t in self.tasks.get_mut().drain(..) {
            t.abort();
        }
    }
}

impl std::fmt::Debug for Presence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Presence").field("node", &self.inner.pubsub.node_name()).finish()
    }
}

impl Presence {
    /// A tracker with Phoenix's defaults on `pubsub` (needs a tokio runtime).
    pub fn new(pubsub: &PubSub) -> Presence {
        Presence::builder().start(pubsub).expect("the default settings are valid")
    }

    /// A tracker with other options.
    pub fn builder() -> PresenceBuilder {
        PresenceBuilder {
            name: "presence".into(),
            pool_size: 1,
            shard: ShardConfig::default(),
            fetch: None,
            windows: Windows {
                base: Duration::from_millis(20),
                per_subscriber: Duration::from_micros(100),
                max: Duration::from_secs(1),
            },
        }
    }

    fn shard(&self, topic: &str) -> (usize, &ShardCore) {
        let i = ids::shard_of(topic, self.inner.shards.len());
        (i, &self.inner.shards[i])
    }

    /// Tracks this channel's client on its topic under `key` with `meta` (a
    /// JSON object), until [`untrack`](Self::untrack) or the end of the
    /// channel instance. Returns the meta's `phx_ref`.
    ///
    /// Refused if this channel already tracks `key` (use [`update`](Self::update)).
    pub fn track(&self, socket: &mut ChannelSocket, key: &str, meta: Value) -> Result<String, TrackError> {
        if socket.get::<ChannelOwner>().is_none() {
            socket.assign(ChannelOwner(Owner::new()));
        }
        let owner = &socket.get::<ChannelOwner>().expect("assigned above").0;
        self.track_owner(owner, socket.topic(), key, meta)
    }

    /// Stops tracking this channel under `key`; nothing happens if it was not tracked.
    pub fn untrack(&self, socket: &ChannelSocket, key: &str) {
        if let Some(ChannelOwner(owner)) = socket.get::<ChannelOwner>() {
            self.untrack_owner(owner, socket.topic(), key);
        }
    }

    /// Replaces the meta this channel tracks under `key`. The new meta gets a
    /// fresh `phx_ref` and `phx_ref_prev` (the old one); clients see one diff
    /// with the key in both joins and leaves. Returns the new `phx_ref`.
    pub fn update(&self, socket: &ChannelSocket, key: &str, meta: Value) -> Result<String, UpdateError> {
        self.update_with(socket, key, |_| meta)
    }

    /// Like [`update`](Self::update), with the new meta computed from the current one.
    pub fn update_with(
        &self,
        socket: &ChannelSocket,
        key: &str,
        f: impl FnOnce(&Value) -> Value,
    ) -> Result<String, UpdateError> {
        let Some(ChannelOwner(owner)) = socket.get::<ChannelOwner>() else {
            return Err(UpdateError::NoPresence);
        };
        self.update_owner_with(owner, socket.topic(), key, f)
    }

    /// Tracks `owner` on `topic` under `key` (see [`track`](Self::track)).
    pub fn track_owner(&self, owner: &Owner, topic: &str, key: &str, mut meta: Value) -> Result<String, TrackError> {
        let Value::Object(map) = &mut meta else { return Err(TrackError::MetaNotObject) };
        let phx_ref = ids::next_phx_ref();
        map.insert("phx_ref".into(), Value::String(phx_ref.clone()));
        let (i, shard) = self.shard(topic);
        owner.note(&self.inner, i);
        shard.mutate(|s| s.track(owner.id, topic, key, meta))?;
        Ok(phx_ref)
    }

    /// Stops tracking `owner` on `topic` under `key`; nothing happens if it was not tracked.
    pub fn untrack_owner(&self, owner: &Owner, topic: &str, key: &str) {
        let _ = self.shard(topic).1.mutate(|s| Ok::<_, Infallible>(s.untrack(owner.id, topic, key)));
    }

    /// Replaces the meta of `owner` on `topic` under `key` with `f(current meta)`
    /// (see [`update`](Self::update)).
    pub fn update_owner_with(
        &self,
        owner: &Owner,
        topic: &str,
        key: &str,
        f: impl FnOnce(&Value) -> Value,
    ) -> Result<String, UpdateError> {
        let shard = self.shard(topic).1;
        // `f` runs without the shard's lock, so it may read the tracker. If
        // the presence changes meanwhile (the same owner updating it from
        // elsewhere), the last update wins and points at the one before it.
        let current = shard.read(|s| s.state().get(owner.id, topic, key).map(|p| p.meta.clone()));
        let mut meta = f(&current.ok_or(UpdateError::NoPresence)?);
        let phx_ref = ids::next_phx_ref();
        let with_refs = |old: &Value| {
            if let Value::Object(map) = &mut meta {
                map.remove("phx_ref_prev");
                if let Some(prev) = old.get("phx_ref") {
                    map.insert("phx_ref_prev".into(), prev.clone());
                }
                map.insert("phx_ref".into(), Value::String(phx_ref.clone()));
            }
            meta
        };
        shard.mutate(|s| s.update_with(owner.id, topic, key, with_refs))?;
        Ok(phx_ref)
    }

    /// The topic's presences as clients receive them:
    /// `{key: {"metas": [meta, …], …fetched fields}}`.
    pub fn list(&self, topic: &str) -> Value {
        dispatch::list(self.shard(topic).1, topic, self.inner.fetch.as_ref())
    }

    /// One key's presence (`{"metas": [...], …}`, all its owners' metas), or
    /// `None` if nobody is present under it.
    pub fn get_by_key(&self, topic: &str, key: &str) -> Option<Value> {
        let presences = self
            .shard(topic)
            .1
            .read(|s| s.state().get_by_key(topic, key).map(|p| (p.key.clone(), p.meta.clone())).collect::<Vec<_>>());
        dispatch::group(topic, presences, self.inner.fetch.as_ref()).remove(key)
    }

    /// Pushes `presence_state` (the topic's [`list`](Self::list)) to this
    /// channel's client, after the join reply. The list is taken once the
    /// channel receives the topic's diffs, so that list and diffs together
    /// miss nothing, when the topic's [diff window](PresenceBuilder::diff_window)
    /// closes: the joiners of one window share one serialized list. Called in
    /// `join`, the topic's `presence_diff`s to this client wait for the
    /// state, so it never sees one first; other broadcasts are not delayed.
    pub fn push_state(&self, socket: &mut ChannelSocket) {
        let presence = self.clone();
        // Called in `join`: the topic's diffs wait for the state, so the
        // client sees no presence_diff before its presence_state.
        let hold = socket.hold_broadcasts(&["presence_diff"]);
        socket.after_join(move |socket| {
            let joiner = dispatch::Joiner { push: socket.push_handle(), hold };
            presence.shard(socket.topic()).1.request_state(socket.topic(), joiner);
        });
    }

    /// This node's name in the tracker's replication group.
    pub fn node_name(&self) -> &str {
        self.inner.pubsub.node_name()
    }

    /// The peers each shard knows, by node name, with whether they are up
    /// (shard 0 first). A peer permanently down is forgotten.
    pub fn peers(&self) -> Vec<Vec<(String, ReplicaStatus)>> {
        let peers = |s: &Shard| {
            let me = s.replica().clone();
            let replicas = s.state().replicas().filter(|(r, _)| **r != me);
            replicas.map(|(r, status)| (r.name().to_owned(), status)).collect()
        };
        self.inner.shards.iter().map(|shard| shard.read(peers)).collect()
    }

    /// How many presences this node stores, visible or hidden (those of a
    /// peer that is down stay stored until it is permanently down).
    pub fn stored_len(&self) -> usize {
        self.inner.shards.iter().map(|shard| shard.read(|s| s.state().stored_len())).sum()
    }

    /// Stops gossiping and tells the peers to drop this node's presences at
    /// once (Phoenix's `permdown_on_shutdown`), instead of after their down period.
    pub fn shutdown(&self) {
        let tasks = std::mem::take(&mut *self.inner.tasks.lock());
        for t in tasks {
            t.abort();
        }
        for shard in &self.inner.shards {
            let (topic, message) = shard.goodbye();
            shard::send(&self.inner.pubsub, &topic, vec![message]);
        }
    }
}

/// Something presences belong to, like the process Phoenix links a presence
/// to: dropping it untracks everything it tracked, on every tracker.
///
/// Channels get one each from [`Presence::track`]; server code that tracks on
/// behalf of something else (a device, a job) makes its own.
#[derive(Debug)]
pub struct Owner {
    id: OwnerId,
    /// The trackers and shards this owner has tracked on.
    tracked: Mutex<Vec<(Weak<Inner>, u64)>>,
}

impl Default for Owner {
    fn default() -> Self {
        Owner::new()
    }
}

impl Owner {
    /// A new owner, unique in the cluster.
    pub fn new() -> Owner {
        Owner { id: ids::next_owner_id(), tracked: Mutex::new(Vec::new()) }
    }

    fn note(&self, inner: &Arc<Inner>, shard: usize) {
        let mut tracked = self.tracked.lock();
        let bit = 1u64 << shard;
        match tracked.iter_mut().find(|(w, _)| std::ptr::eq(w.as_ptr(), Arc::as_ptr(inner))) {
            Some((_, mask)) => *mask |= bit,
            None => tracked.push((Arc::downgrade(inner), bit)),
        }
    }
}

impl Drop for Owner {
    fn drop(&mut self) {
        for (inner, mask) in self.tracked.get_mut().drain(..) {
            let Some(inner) = inner.upgrade() else { continue };
            for (i, shard) in inner.shards.iter().enumerate() {
                if mask & (1 << i) != 0 {
                    let _ = shard.mutate(|s| Ok::<_, Infallible>(s.untrack_owner(self.id)));
                }
            }
        }
    }
}

/// The owner of a channel instance's presences, in its own assigns.
struct ChannelOwner(Owner);
