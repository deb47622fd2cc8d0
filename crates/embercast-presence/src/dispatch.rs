//! Diffs → `presence_diff` broadcasts (PROTOCOL.md §9.4–§9.6).
//!
//! Each shard queues its diffs, in tracker order, to one dispatcher task. The
//! dispatcher groups them by key, runs the `fetch` hook once per broadcast,
//! and broadcasts on this node only: every node turns its own view's diffs
//! into broadcasts. When diffs arrive faster than they are broadcast (a join
//! storm in a big room), those already queued are folded into one broadcast
//! per topic, so a room of N members costs far fewer than N² frames.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use embercast_server::{Broadcast, Payload, PubSub};
use embercast_tracker::{Diff, PresenceEntry, TopicDiff};
use serde_json::{Map, Value};
use tokio::sync::mpsc;

use crate::Fetch;

/// At most this many diffs are folded together, so one storm cannot delay
/// every broadcast behind it indefinitely.
const MAX_FOLDED: usize = 1024;

/// Turns the diffs of one shard into broadcasts until the shard is gone.
pub(crate) async fn run(mut diffs: mpsc::UnboundedReceiver<Diff>, pubsub: PubSub, fetch: Option<Fetch>) {
    let emit = |topic: &str, joins: Vec<PresenceEntry>, leaves: Vec<PresenceEntry>| {
        // Nobody on this node listens: skip the grouping, fetch and encoding.
        // (A subscriber arriving just after this check is like one arriving
        // just after the broadcast; its presence_state covers the change.)
        if pubsub.subscriber_count(topic) == 0 {
            return;
        }
        let payload = diff_payload(topic, joins, leaves, fetch.as_ref());
        let b = Broadcast { topic: topic.to_owned(), event: "presence_diff".into(), payload: Payload::Json(payload) };
        pubsub.local_broadcast(&b);
    };
    while let Some(first) = diffs.recv().await {
        let mut folder = Folder::default();
        folder.add(first, &emit);
        for _ in 1..MAX_FOLDED {
            match diffs.try_recv() {
                Ok(diff) => folder.add(diff, &emit),
                Err(_) => break,
            }
        }
        folder.finish(&emit);
    }
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
        fetch(topic, &mut grouped);
    }
    grouped
}

/// Pending joins and leaves of one topic, and the presences they name.
#[derive(Default)]
struct Pending {
    joins: Vec<PresenceEntry>,
    leaves: Vec<PresenceEntry>,
    /// `(key, phx_ref)` of every entry above.
    named: HashSet<(Arc<str>, String)>,
}

/// Folds consecutive diffs into one broadcast per topic.
///
/// Clients apply a diff's joins, then its leaves. Folding is exact as long as
/// no presence version (key + `phx_ref`) appears twice in one broadcast: then
/// each is either joined or left, as in the diffs. A diff that names a version
/// already pending (a join and its leave, a replica going down and coming back)
/// first sends what is pending for its topic, keeping the order.
#[derive(Default)]
struct Folder {
    topics: HashMap<Arc<str>, Pending>,
}

impl Folder {
    fn add(&mut self, diff: Diff, emit: &impl Fn(&str, Vec<PresenceEntry>, Vec<PresenceEntry>)) {
        for (topic, TopicDiff { joins, leaves }) in diff {
            let pending = self.topics.entry(topic.clone()).or_default();
            let names: Option<Vec<_>> = joins.iter().chain(&leaves).map(version).collect();
            let conflict = names.as_ref().is_none_or(|names| names.iter().any(|n| pending.named.contains(n)));
            if conflict && !(pending.joins.is_empty() && pending.leaves.is_empty()) {
                let p = std::mem::take(pending);
                emit(&topic, p.joins, p.leaves);
            }
            pending.joins.extend(joins);
            pending.leaves.extend(leaves);
            match names {
                Some(names) => pending.named.extend(names),
                // A meta without a phx_ref cannot be told apart: send it alone.
                None => {
                    let p = std::mem::take(pending);
                    emit(&topic, p.joins, p.leaves);
                }
            }
        }
    }

    fn finish(self, emit: &impl Fn(&str, Vec<PresenceEntry>, Vec<PresenceEntry>)) {
        for (topic, p) in self.topics {
            if !(p.joins.is_empty() && p.leaves.is_empty()) {
                emit(&topic, p.joins, p.leaves);
            }
        }
    }
}

/// A presence version: its key and its meta's `phx_ref`.
fn version(e: &PresenceEntry) -> Option<(Arc<str>, String)> {
    let r = e.meta.get("phx_ref")?.as_str()?;
    Some((e.key.clone(), r.to_owned()))
}
