//! Presence on the client: the `presence_state` / `presence_diff` events of
//! a channel folded into the current list, with phoenix.js's algorithm
//! (PROTOCOL.md §6.10).
//!
//! A presence state maps a key (an opaque string, `__proto__` included) to an
//! object `{"metas": [{"phx_ref": …, …}, …], …}`; metas are told apart by
//! their `phx_ref`. Everything here comes from the server and is not trusted
//! to be well formed: a missing `metas` counts as none.

use embercast_protocol::{Payload, Ref};
use serde_json::{Map, Value};

use crate::channel::Event;

/// The presences of a topic: key → `{"metas": [...], ...}`.
pub type PresenceState = Map<String, Value>;

/// One change made by a sync, as phoenix.js reports it to `onJoin`/`onLeave`.
#[derive(Clone, Debug, PartialEq)]
pub enum PresenceChange {
    /// Metas joined under `key`.
    Join {
        /// The key.
        key: String,
        /// The key's presence before the join, if it had one.
        current: Option<Value>,
        /// The presence that joined (only its new metas, in a state sync).
        joined: Value,
    },
    /// Metas left `key`.
    Leave {
        /// The key.
        key: String,
        /// The key's presence after the leave (no metas: the key is gone).
        current: Value,
        /// The presence that left.
        left: Value,
    },
}

/// Folds a channel's presence events into the current state.
///
/// Feed it every event of the channel, in order (from [`Channel::events`](crate::Channel::events):
/// one stream, so states and diffs keep their order). Diffs that arrive
/// before the state of the current join are held and applied after it.
///
/// ```
/// use embercast_client::{Event, Presence};
/// use embercast_client::{Payload, Ref};
/// use serde_json::json;
///
/// let event = |name: &str, payload| Event { event: name.into(), payload: Payload::Json(payload), join_ref: Some(Ref::from("1")) };
/// let mut presence = Presence::new();
/// presence.handle(&event("presence_diff", json!({"joins": {"b": {"metas": [{"phx_ref": "2"}]}}, "leaves": {}})));
/// assert_eq!(presence.list().count(), 0, "held until the state");
/// presence.handle(&event("presence_state", json!({"a": {"metas": [{"phx_ref": "1"}]}})));
/// let keys: Vec<&str> = presence.list().map(|(k, _)| k).collect();
/// assert_eq!(keys, ["a", "b"]);
/// ```
#[derive(Clone, Debug, Default)]
pub struct Presence {
    state: PresenceState,
    /// The join whose `presence_state` was last applied.
    join_ref: Option<Ref>,
    pending: Vec<(Map<String, Value>, Map<String, Value>)>,
    state_event: Option<String>,
    diff_event: Option<String>,
}

impl Presence {
    /// An empty presence that listens to `presence_state` and `presence_diff`.
    pub fn new() -> Self {
        Presence::default()
    }

    /// Listens to other event names than `presence_state` and `presence_diff`.
    pub fn with_events(state: impl Into<String>, diff: impl Into<String>) -> Self {
        Presence { state_event: Some(state.into()), diff_event: Some(diff.into()), ..Presence::default() }
    }

    /// Applies one channel event. Returns the changes when the state was
    /// synced (a state, or a diff applied), `None` for other events and for
    /// diffs held until the current join's state arrives.
    pub fn handle(&mut self, event: &Event) -> Option<Vec<PresenceChange>> {
        let Payload::Json(Value::Object(payload)) = &event.payload else { return None };
        if event.event == self.state_event.as_deref().unwrap_or("presence_state") {
            self.join_ref = event.join_ref.clone();
            let mut changes = sync_state(&mut self.state, payload);
            for (joins, leaves) in std::mem::take(&mut self.pending) {
                changes.extend(sync_diff(&mut self.state, &joins, &leaves));
            }
            Some(changes)
        } else if event.event == self.diff_event.as_deref().unwrap_or("presence_diff") {
            let joins = object(payload.get("joins"));
            let leaves = object(payload.get("leaves"));
            // After a rejoin the state is stale until the new join's state arrives.
            if self.join_ref.is_none() || self.join_ref != event.join_ref {
                self.pending.push((joins, leaves));
                return None;
            }
            Some(sync_diff(&mut self.state, &joins, &leaves))
        } else {
            None
        }
    }

    /// The current presences, key by key.
    pub fn list(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.state.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The current state.
    pub fn state(&self) -> &PresenceState {
        &self.state
    }
}

/// Replaces `state` with `new_state`, as the joins and leaves that take one
/// to the other (phoenix.js `syncState`): keys only in `new_state` join, keys
/// missing from it leave, and for keys in both the metas are compared by `phx_ref`.
pub fn sync_state(state: &mut PresenceState, new_state: &PresenceState) -> Vec<PresenceChange> {
    let mut joins = Map::new();
    let mut leaves = Map::new();
    for (key, presence) in state.iter() {
        if !new_state.contains_key(key) {
            leaves.insert(key.clone(), presence.clone());
        }
    }
    for (key, new_presence) in new_state {
        let Some(current) = state.get(key) else {
            joins.insert(key.clone(), new_presence.clone());
            continue;
        };
        let new_refs: Vec<&Value> = metas(new_presence).iter().map(phx_ref).collect();
        let current_refs: Vec<&Value> = metas(current).iter().map(phx_ref).collect();
        let joined: Vec<Value> =
            metas(new_presence).iter().filter(|m| !current_refs.contains(&phx_ref(m))).cloned().collect();
        let left: Vec<Value> = metas(current).iter().filter(|m| !new_refs.contains(&phx_ref(m))).cloned().collect();
        if !joined.is_empty() {
            joins.insert(key.clone(), with_metas(new_presence, joined));
        }
        if !left.is_empty() {
            leaves.insert(key.clone(), with_metas(current, left));
        }
    }
    sync_diff(state, &joins, &leaves)
}

/// Applies a diff (phoenix.js `syncDiff`). Joins first: a joined key takes
/// the joined presence, with its current metas not rejoined kept in front.
/// Then leaves: the left metas are removed by `phx_ref`, and a key with no
/// metas left is deleted. So an update (leave old ref + join new ref) ends
/// with only the new meta.
pub fn sync_diff(state: &mut PresenceState, joins: &PresenceState, leaves: &PresenceState) -> Vec<PresenceChange> {
    let mut changes = Vec::with_capacity(joins.len() + leaves.len());
    for (key, joined) in joins {
        let current = state.get(key).cloned();
        let mut presence = joined.clone();
        if let Some(current) = &current {
            let joined_refs: Vec<&Value> = metas(joined).iter().map(phx_ref).collect();
            let mut all: Vec<Value> =
                metas(current).iter().filter(|m| !joined_refs.contains(&phx_ref(m))).cloned().collect();
            all.extend(metas(joined).iter().cloned());
            presence = with_metas(joined, all);
        }
        state.insert(key.clone(), presence);
        changes.push(PresenceChange::Join { key: key.clone(), current, joined: joined.clone() });
    }
    for (key, left) in leaves {
        let Some(current) = state.get(key) else { continue };
        let removed: Vec<&Value> = metas(left).iter().map(phx_ref).collect();
        let kept: Vec<Value> = metas(current).iter().filter(|m| !removed.contains(&phx_ref(m))).cloned().collect();
        let empty = kept.is_empty();
        let current = with_metas(current, kept);
        changes.push(PresenceChange::Leave { key: key.clone(), current: current.clone(), left: left.clone() });
        if empty {
            state.remove(key);
        } else {
            state.insert(key.clone(), current);
        }
    }
    changes
}

fn metas(presence: &Value) -> &[Value] {
    presence.get("metas").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[])
}

fn phx_ref(meta: &Value) -> &Value {
    meta.get("phx_ref").unwrap_or(&Value::Null)
}

/// `presence` with its `metas` replaced, extra fields kept.
fn with_metas(presence: &Value, metas: Vec<Value>) -> Value {
    let mut out = presence.as_object().cloned().unwrap_or_default();
    out.insert("metas".into(), Value::Array(metas));
    Value::Object(out)
}

fn object(v: Option<&Value>) -> Map<String, Value> {
    v.and_then(Value::as_object).cloned().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> PresenceState {
        v.as_object().unwrap().clone()
    }

    fn event(name: &str, join_ref: &str, payload: Value) -> Event {
        Event { event: name.into(), payload: Payload::Json(payload), join_ref: Some(Ref::from(join_ref)) }
    }

    #[test]
    fn sync_state_joins_leaves_and_keeps_by_phx_ref() {
        let mut state = map(json!({
            "u1": {"metas": [{"id": 1, "phx_ref": "1"}]},
            "u2": {"metas": [{"id": 2, "phx_ref": "2"}, {"id": 22, "phx_ref": "22"}]},
        }));
        let new = map(json!({
            "u2": {"metas": [{"id": 22, "phx_ref": "22"}, {"id": 23, "phx_ref": "23"}]},
            "u3": {"metas": [{"id": 3, "phx_ref": "3"}], "user": {"name": "c"}},
        }));
        let changes = sync_state(&mut state, &new);
        assert_eq!(
            Value::Object(state),
            json!({
                "u2": {"metas": [{"id": 22, "phx_ref": "22"}, {"id": 23, "phx_ref": "23"}]},
                "u3": {"metas": [{"id": 3, "phx_ref": "3"}], "user": {"name": "c"}},
            })
        );
        let joined: Vec<_> = changes
            .iter()
            .filter_map(|c| match c {
                PresenceChange::Join { key, joined, .. } => Some((key.as_str(), joined.clone())),
                _ => None,
            })
            .collect();
        assert_eq!(joined, [("u2", json!({"metas": [{"id": 23, "phx_ref": "23"}]})), ("u3", new["u3"].clone())]);
        let left: Vec<&str> = changes
            .iter()
            .filter_map(|c| match c {
                PresenceChange::Leave { key, .. } => Some(key.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(left, ["u1", "u2"]);
    }

    #[test]
    fn an_update_in_one_diff_ends_with_the_new_meta_only() {
        let mut state = map(json!({"42": {"metas": [{"status": "online", "phx_ref": "A"}]}}));
        let joins = map(json!({"42": {"metas": [{"status": "away", "phx_ref": "B", "phx_ref_prev": "A"}]}}));
        let leaves = map(json!({"42": {"metas": [{"status": "online", "phx_ref": "A"}]}}));
        sync_diff(&mut state, &joins, &leaves);
        assert_eq!(
            Value::Object(state),
            json!({"42": {"metas": [{"status": "away", "phx_ref": "B", "phx_ref_prev": "A"}]}})
        );
    }

    #[test]
    fn joins_prepend_current_metas_and_empty_keys_are_deleted() {
        let mut state = map(json!({"k": {"metas": [{"phx_ref": "1"}]}}));
        sync_diff(&mut state, &map(json!({"k": {"metas": [{"phx_ref": "2"}]}})), &Map::new());
        assert_eq!(state["k"], json!({"metas": [{"phx_ref": "1"}, {"phx_ref": "2"}]}));
        let changes = sync_diff(
            &mut state,
            &Map::new(),
            &map(json!({"k": {"metas": [{"phx_ref": "1"}, {"phx_ref": "2"}]}, "absent": {"metas": []}})),
        );
        assert!(state.is_empty());
        assert_eq!(changes.len(), 1, "a leave for an absent key is skipped");
    }

    #[test]
    fn keys_are_opaque_strings() {
        let mut state = PresenceState::new();
        sync_diff(
            &mut state,
            &map(json!({"__proto__": {"metas": [{"phx_ref": "1"}]}, "constructor": {"metas": [{"phx_ref": "2"}]}})),
            &Map::new(),
        );
        assert_eq!(state.keys().collect::<Vec<_>>(), ["__proto__", "constructor"]);
    }

    #[test]
    fn diffs_wait_for_the_state_of_the_current_join() {
        let mut p = Presence::new();
        let diff = |ref_: &str, key: &str, phx: &str| {
            event("presence_diff", ref_, json!({"joins": {key: {"metas": [{"phx_ref": phx}]}}, "leaves": {}}))
        };
        assert_eq!(p.handle(&diff("1", "early", "e")), None);
        assert!(p.handle(&event("presence_state", "1", json!({"a": {"metas": [{"phx_ref": "a"}]}}))).is_some());
        assert_eq!(p.list().map(|(k, _)| k).collect::<Vec<_>>(), ["a", "early"]);
        assert!(p.handle(&diff("1", "b", "b")).is_some());
        // A rejoin: diffs of the new join wait for its state.
        assert_eq!(p.handle(&diff("7", "c", "c")), None);
        assert!(!p.state().contains_key("c"));
        p.handle(&event("presence_state", "7", json!({"a": {"metas": [{"phx_ref": "a"}]}})));
        assert_eq!(p.list().map(|(k, _)| k).collect::<Vec<_>>(), ["a", "c"]);
        assert_eq!(p.handle(&event("new_msg", "7", json!({}))), None);
    }

    #[test]
    fn malformed_presences_count_as_no_metas() {
        let mut state = PresenceState::new();
        sync_diff(&mut state, &map(json!({"k": "not an object", "j": {"metas": [{"phx_ref": "1"}]}})), &Map::new());
        assert_eq!(state["k"], json!("not an object"));
        sync_diff(&mut state, &Map::new(), &map(json!({"k": 3, "j": {"metas": "no"}})));
        assert!(!state.contains_key("k"), "a presence without metas has none left");
        assert_eq!(state["j"], json!({"metas": [{"phx_ref": "1"}]}), "a leave without metas removes none");
        let mut p = Presence::new();
        assert_eq!(p.handle(&event("presence_state", "1", json!([1, 2]))), None);
    }
}
