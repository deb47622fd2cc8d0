//! Diffs → `presence_diff` broadcasts, and `presence_state` pushes
//! (PROTOCOL.md §9.4–§9.6).
//!
//! Each shard queues its diffs, in tracker order, to one dispatcher task. The
//! dispatcher groups them by key, runs the `fetch` hook once per broadcast,
//! and broadcasts on this node only: every node turns its own view's diffs
//! into broadcasts.
//!
//! Big rooms: Phoenix broadcasts one diff per join to every member, so N
//! joins cost N² frames. Here the changes of a topic are collected for a
//! window that opens with the first of them, and sent as one broadcast when
//! it closes. The window grows with the topic's audience (see [`Windows`]), so
//! a busy room of 10,000 gets about one diff a second rather than one per join.
//! The joiners of a window share one `presence_state` too: the list is taken
//! and serialized once, when the window closes (after every one of them has
//! subscribed), and each gets the same bytes with its own join_ref.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Weak};
use std::time::Duration;

use embercast_server::{Broadcast, BroadcastHold, JsonObjectText, Payload, PubSub, PushHandle};
use embercast_tracker::{Diff, PresenceEntry, TopicDiff};
use serde_json::{Map, Value};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::shard::ShardCore;
use crate::Fetch;

/// What a shard's dispatcher is asked to do, in order.
pub(crate) enum Work {
    /// Broadcast a diff.
    Diff(Diff),
    /// Push the topic's `presence_state` to a channel that has just joined,
    /// then let its broadcasts through.
    State(Arc<str>, Joiner),
}

/// A channel waiting for its `presence_state`: where to push it, and the
/// hold on its broadcasts to release right after (so no `presence_diff`
/// reaches it before its state). Dropped unserved, the hold releases too.
pub(crate) struct Joiner {
    pub(crate) push: PushHandle,
    pub(crate) hold: Option<BroadcastHold>,
}

/// How long a topic's changes are collected: `base`, plus `per_subscriber`
/// for each subscriber the topic has on this node when the window opens, at
/// most `max`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Windows {
    pub(crate) base: Duration,
    pub(crate) per_subscriber: Duration,
    pub(crate) max: Duration,
}

impl Windows {
    fn of(&self, subscribers: usize) -> Duration {
        let grown = self.per_subscriber.saturating_mul(u32::try_from(subscribers).unwrap_or(u32::MAX));
        self.base.saturating_add(grown).min(self.max.max(self.base))
    }
}

/// What waits to be sent for one topic.
struct Pending {
    joins: Vec<PresenceEntry>,
    leaves: Vec<PresenceEntry>,
    /// `(key, phx_ref)` of every entry above.
    named: HashSet<(Arc<str>, String)>,
    /// Channels waiting for their `presence_state`.
    joiners: Vec<Joiner>,
}

/// The dispatcher of one shard.
struct Dispatcher {
    shard: Weak<ShardCore>,
    pubsub: PubSub,
    fetch: Option<Fetch>,
    windows: Windows,
    topics: HashMap<Arc<str>, Pending>,
    /// When each pending topic is due, earliest first (a sequence number
    /// keeps equal instants apart).
    timers: BTreeMap<(Instant, u64), Arc<str>>,
    seq: u64,
}

/// Turns one shard's work into broadcasts and pushes until the shard is gone.
pub(crate) async fn run(
    mut work: mpsc::UnboundedReceiver<Work>,
    shard: Weak<ShardCore>,
    pubsub: PubSub,
    fetch: Option<Fetch>,
    windows: Windows,
) {
    let mut d = Dispatcher { shard, pubsub, fetch, windows, topics: HashMap::new(), timers: BTreeMap::new(), seq: 0 };
    // One timer, moved to the earliest due topic when that changes (not a
    // new timer for every message).
    let timer = tokio::time::sleep_until(Instant::now());
    tokio::pin!(timer);
    loop {
        let next = d.timers.first_key_value().map(|((due, _), _)| *due);
        if let Some(next) = next.filter(|next| *next != timer.deadline()) {
            timer.as_mut().reset(next);
        }
        tokio::select! {
            // What is due goes first, so a steady stream of work cannot hold it back.
            biased;
            _ = &mut timer, if next.is_some() => {
                d.send_due(Some(Instant::now()));
            }
            w = work.recv() => match w {
                Some(w) => d.add(w),
                None => {
                    d.send_due(None);
                    return;
                }
            },
        }
    }
}

impl Dispatcher {
    fn pending(&mut self, topic: &Arc<str>) -> &mut Pending {
        let (windows, pubsub, timers, seq) = (self.windows, &self.pubsub, &mut self.timers, &mut self.seq);
        self.topics.entry(topic.clone()).or_insert_with(|| {
            let due = Instant::now() + windows.of(pubsub.subscriber_count(topic));
            *seq += 1;
            timers.insert((due, *seq), topic.clone());
            Pending { joins: Vec::new(), leaves: Vec::new(), named: HashSet::new(), joiners: Vec::new() }
        })
    }

    /// Folds a diff into its topics' pending changes.
    ///
    /// Clients apply a diff's joins, then its leaves. Folding is exact as
    /// long as no presence version (key + `phx_ref`) appears twice in one
    /// broadcast: then each is either joined or left, as in the diffs. A diff
    /// that names a version already pending (a join and its leave, a replica
    /// going down and coming back) first sends what is pending for its topic,
    /// keeping the order.
    fn add(&mut self, w: Work) {
        match w {
            Work::State(topic, to) => self.pending(&topic).joiners.push(to),
            Work::Diff(diff) => {
                for (topic, TopicDiff { joins, leaves }) in diff {
                    let names: Option<Vec<_>> = joins.iter().chain(&leaves).map(version).collect();
                    let pending = self.pending(&topic);
                    let conflict = names.as_ref().is_none_or(|names| names.iter().any(|n| pending.named.contains(n)));
                    if conflict {
                        self.broadcast(&topic);
                    }
                    let pending = self.pending(&topic);
                    pending.joins.extend(joins);
                    pending.leaves.extend(leaves);
                    match names {
                        Some(names) => pending.named.extend(names),
                        // A meta without a phx_ref cannot be told apart: send it alone.
                        None => self.broadcast(&topic),
                    }
                }
            }
        }
    }

    /// Broadcasts the topic's pending changes, if any, now. Channels still
    /// waiting for their `presence_state` get it when the window closes; the
    /// hold on their diffs keeps this one behind it.
    fn broadcast(&mut self, topic: &str) {
        let Some(p) = self.topics.get_mut(topic) else { return };
        if p.joins.is_empty() && p.leaves.is_empty() {
            return;
        }
        let (joins, leaves) = (std::mem::take(&mut p.joins), std::mem::take(&mut p.leaves));
        p.named.clear();
        // Nobody on this node listens: skip the grouping, fetch and encoding.
        // (A subscriber arriving just after this check is like one arriving
        // just after the broadcast; its presence_state covers the change.)
        if self.pubsub.subscriber_count(topic) == 0 {
            return;
        }
        let payload = diff_payload(topic, joins, leaves, self.fetch.as_ref());
        let b = Broadcast { topic: topic.to_owned(), event: "presence_diff".into(), payload: Payload::Json(payload) };
        self.pubsub.local_broadcast(&b);
    }

    /// Sends what is due by `now` (everything if `None`): each topic's diff,
    /// then one shared list for its joiners.
    fn send_due(&mut self, now: Option<Instant>) {
        let later = match now {
            // Everything due by `now`: split off what is after it.
            Some(now) => self.timers.split_off(&(now, u64::MAX)),
            None => BTreeMap::new(),
        };
        let due = std::mem::replace(&mut self.timers, later);
        for topic in due.into_values() {
            self.broadcast(&topic);
            if let Some(p) = self.topics.remove(&topic) {
                self.push_states(&topic, p.joiners);
            }
        }
    }

    /// Pushes the topic's list, taken and serialized once, to `joiners`.
    fn push_states(&self, topic: &str, joiners: Vec<Joiner>) {
        if joiners.is_empty() {
            return;
        }
        let Some(shard) = self.shard.upgrade() else { return };
        // Taken after each joiner subscribed: with the diffs that follow, nothing is missed.
        let state = list(&shard, topic, self.fetch.as_ref());
        let state = JsonObjectText::new(&state).expect("a presence list is an object");
        for Joiner { push, hold } in joiners {
            push.push_text("presence_state", &state);
            drop(hold);
        }
    }
}

/// The topic's presences as clients receive them, `fetch`ed.
pub(crate) fn list(shard: &ShardCore, topic: &str, fetch: Option<&Fetch>) -> Value {
    let presences = shard.read(|s| s.state().list(topic).map(|p| (p.key.clone(), p.meta.clone())).collect::<Vec<_>>());
    Value::Object(group(topic, presences, fetch))
}

/// The `{"joins": …, "leaves": …}` payload of one topic, each side grouped by
/// key and passed through `fetch`.
pub(crate) fn diff_payload(
    topic: &str,
    joins: Vec<PresenceEntry>,
    leaves: Vec<PresenceEntry>,
    fetch: Option<&Fetch>,
) -> Value {
    let mut payload = Map::new();
    payload.insert("joins".into(), Value::Object(group(topic, joins.into_iter().map(|e| (e.key, e.meta)), fetch)));
    payload.insert("leaves".into(), Value::Object(group(topic, leaves.into_iter().map(|e| (e.key, e.meta)), fetch)));
    Value::Object(payload)
}

/// `{key: {"metas": [meta, …]}}` in the order given, then `fetch`ed.
pub(crate) fn group(
    topic: &str,
    presences: impl IntoIterator<Item = (Arc<str>, Value)>,
    fetch: Option<&Fetch>,
) -> Map<String, Value> {
    let mut grouped = Map::new();
    for (key, meta) in presences {
        let slot = grouped.entry(key.to_string()).or_insert_with(|| serde_json::json!({ "metas": [] }));
        if let Some(Value::Array(metas)) = slot.get_mut("metas") {
            metas.push(meta);
        }
    }
    if let Some(fetch) = fetch {
        // A panicking hook must not take the dispatcher (and every later
        // diff of its shard) down: the presences go out without its fields.
        let call = std::panic::AssertUnwindSafe(|| fetch(topic, &mut grouped));
        if let Err(panic) = std::panic::catch_unwind(call) {
            let message = panic.downcast_ref::<&str>().copied().or(panic.downcast_ref::<String>().map(|s| s.as_str()));
            tracing::error!(%topic, panic = message.unwrap_or("non-string panic"), "presence fetch hook panicked");
        }
    }
    grouped
}

/// A presence version: its key and its meta's `phx_ref`.
fn version(e: &PresenceEntry) -> Option<(Arc<str>, String)> {
    let r = e.meta.get("phx_ref")?.as_str()?;
    Some((e.key.clone(), r.to_owned()))
}
