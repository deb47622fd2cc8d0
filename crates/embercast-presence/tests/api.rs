//! The Presence API on one node (PROTOCOL.md §9): metas and refs, lists and
//! keys, updates, owners, errors, the fetch hook, and `presence_diff`
//! broadcasts, folded without changing what a client ends up with.

mod support;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use embercast_presence::{Owner, Presence, StartError, TrackError, UpdateError, MAX_POOL_SIZE};
use embercast_server::PubSub;
use serde_json::json;
use support::*;

const TOPIC: &str = "room:lobby";

fn node() -> (PubSub, Presence) {
    let pubsub = PubSub::new();
    let presence = Presence::new(&pubsub);
    (pubsub, presence)
}

#[tokio::test]
async fn track_adds_a_phx_ref_and_lists_by_key() {
    let (_, presence) = node();
    let (web, phone) = (Owner::new(), Owner::new());
    let r1 = presence.track_owner(&web, TOPIC, "42", json!({"device": "web"})).unwrap();
    let r2 = presence.track_owner(&phone, TOPIC, "42", json!({"device": "ios"})).unwrap();
    assert_ne!(r1, r2);
    let list = presence.list(TOPIC);
    let metas = list["42"]["metas"].as_array().unwrap();
    assert_eq!(metas.len(), 2, "{list}");
    assert!(metas.contains(&json!({"device": "web", "phx_ref": r1})));
    assert!(metas.contains(&json!({"device": "ios", "phx_ref": r2})));
    assert_eq!(presence.get_by_key(TOPIC, "42").unwrap(), list["42"]);
    assert_eq!(presence.get_by_key(TOPIC, "7"), None);
    assert_eq!(presence.list("room:other"), json!({}));
}

#[tokio::test]
async fn a_second_track_of_the_same_key_by_the_same_owner_is_refused() {
    let (_, presence) = node();
    let owner = Owner::new();
    presence.track_owner(&owner, TOPIC, "42", json!({})).unwrap();
    let err = presence.track_owner(&owner, TOPIC, "42", json!({})).unwrap_err();
    assert!(matches!(err, TrackError::AlreadyTracked { .. }), "{err}");
    // Another key, another topic: fine.
    presence.track_owner(&owner, TOPIC, "43", json!({})).unwrap();
    presence.track_owner(&owner, "room:other", "42", json!({})).unwrap();
    assert_eq!(presence.stored_len(), 3);
}

#[tokio::test]
async fn metas_must_be_objects() {
    let (_, presence) = node();
    let owner = Owner::new();
    for meta in [json!(1), json!("x"), json!([]), json!(null)] {
        assert_eq!(presence.track_owner(&owner, TOPIC, "42", meta), Err(TrackError::MetaNotObject));
    }
    presence.track_owner(&owner, TOPIC, "42", json!({})).unwrap();
    let err = presence.update_owner_with(&owner, TOPIC, "42", |_| json!([1])).unwrap_err();
    assert_eq!(err, UpdateError::MetaNotObject);
    assert_eq!(presence.list(TOPIC)["42"]["metas"].as_array().unwrap().len(), 1, "unchanged");
}

#[tokio::test]
async fn update_sets_phx_ref_prev_and_sees_the_old_meta() {
    let (_, presence) = node();
    let owner = Owner::new();
    let r1 = presence.track_owner(&owner, TOPIC, "42", json!({"status": "online", "n": 1})).unwrap();
    let r2 = presence
        .update_owner_with(&owner, TOPIC, "42", |old| {
            assert_eq!(old["phx_ref"], r1.as_str());
            json!({"status": "away", "n": old["n"].as_i64().unwrap() + 1})
        })
        .unwrap();
    let meta = &presence.list(TOPIC)["42"]["metas"][0];
    assert_eq!(*meta, json!({"status": "away", "n": 2, "phx_ref": r2, "phx_ref_prev": r1}));
    // A second update points at the second ref, whatever the updater returned.
    let r3 = presence.update_owner_with(&owner, TOPIC, "42", |old| old.clone()).unwrap();
    let meta = &presence.list(TOPIC)["42"]["metas"][0];
    assert_eq!((meta["phx_ref"].as_str(), meta["phx_ref_prev"].as_str()), (Some(r3.as_str()), Some(r2.as_str())));
}

#[tokio::test]
async fn update_and_untrack_of_what_is_not_tracked() {
    let (_, presence) = node();
    let owner = Owner::new();
    let err = presence.update_owner_with(&owner, TOPIC, "42", |m| m.clone()).unwrap_err();
    assert_eq!(err, UpdateError::NoPresence);
    presence.untrack_owner(&owner, TOPIC, "42"); // fine, nothing happens
    presence.track_owner(&owner, TOPIC, "42", json!({})).unwrap();
    presence.untrack_owner(&owner, TOPIC, "42");
    presence.untrack_owner(&owner, TOPIC, "42");
    assert_eq!(presence.list(TOPIC), json!({}));
}

#[tokio::test]
async fn dropping_an_owner_untracks_it_everywhere() {
    let pubsub = PubSub::new();
    let presence = Presence::builder().pool_size(4).start(&pubsub).unwrap();
    let other = Presence::builder().name("other").start(&pubsub).unwrap();
    let (owner, stays) = (Owner::new(), Owner::new());
    for i in 0..20 {
        presence.track_owner(&owner, &format!("room:{i}"), "me", json!({})).unwrap();
    }
    other.track_owner(&owner, TOPIC, "me", json!({})).unwrap();
    presence.track_owner(&stays, TOPIC, "you", json!({})).unwrap();
    drop(owner);
    assert_eq!(presence.stored_len(), 1);
    assert_eq!(other.stored_len(), 0);
    assert_eq!(presence.list(TOPIC)["you"]["metas"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn keys_are_opaque_strings() {
    let (pubsub, presence) = node();
    let view = View::listen(&pubsub, TOPIC);
    let owner = Owner::new();
    let mut expected = BTreeSet::new();
    for key in ["__proto__", "constructor", "hasOwnProperty", "", "ключ", "a\"b"] {
        let r = presence.track_owner(&owner, TOPIC, key, json!({})).unwrap();
        expected.insert((key.to_owned(), r));
    }
    assert_eq!(versions(&presence.list(TOPIC)), expected);
    eventually("the diffs to carry every key", || view.versions() == expected).await;
}

#[tokio::test]
async fn each_change_reaches_a_listener_as_phoenix_shapes_it() {
    let (pubsub, presence) = node();
    let listener = pubsub.listen(TOPIC);
    let owner = Owner::new();
    let r1 = presence.track_owner(&owner, TOPIC, "42", json!({"s": 1})).unwrap();
    let b = tokio::time::timeout(DEADLINE, listener.recv()).await.unwrap();
    assert_eq!(b.event, "presence_diff");
    assert_eq!(
        b.payload.as_json().unwrap(),
        &json!({"joins": {"42": {"metas": [{"s": 1, "phx_ref": r1}]}}, "leaves": {}})
    );
    let r2 = presence.update_owner_with(&owner, TOPIC, "42", |_| json!({"s": 2})).unwrap();
    let b = tokio::time::timeout(DEADLINE, listener.recv()).await.unwrap();
    assert_eq!(
        b.payload.as_json().unwrap(),
        &json!({
            "joins": {"42": {"metas": [{"s": 2, "phx_ref": r2, "phx_ref_prev": r1}]}},
            "leaves": {"42": {"metas": [{"s": 1, "phx_ref": r1}]}}
        })
    );
    drop(owner);
    let b = tokio::time::timeout(DEADLINE, listener.recv()).await.unwrap();
    assert_eq!(
        b.payload.as_json().unwrap(),
        &json!({"joins": {}, "leaves": {"42": {"metas": [{"s": 2, "phx_ref": r2, "phx_ref_prev": r1}]}}})
    );
}

/// Many changes made at once (a join storm) reach a listener in fewer
/// broadcasts than changes, and the view built from them is exact, including
/// presences that joined and left within the storm.
#[tokio::test]
async fn a_storm_is_folded_into_fewer_broadcasts_with_the_same_result() {
    let (pubsub, presence) = node();
    let view = View::listen(&pubsub, TOPIC);
    let mut owners: Vec<Owner> = (0..500).map(|_| Owner::new()).collect();
    let mut expected = BTreeSet::new();
    // No await in this loop: the dispatcher runs only after it.
    for (i, owner) in owners.iter().enumerate() {
        let r = presence.track_owner(owner, TOPIC, &format!("u{}", i % 50), json!({})).unwrap();
        expected.insert((format!("u{}", i % 50), r));
    }
    for owner in owners.drain(..100) {
        drop(owner);
    }
    for (i, owner) in owners.iter().enumerate().take(100) {
        presence.update_owner_with(owner, TOPIC, &format!("u{}", (i + 100) % 50), |_| json!({"u": 1})).unwrap();
    }
    let expected = versions(&presence.list(TOPIC));
    assert_eq!(expected.len(), 400);
    eventually("the view to match the list", || view.versions() == expected).await;
    let diffs = view.read(|s| s.diffs);
    assert!(diffs < 50, "600 changes took {diffs} broadcasts");
}

/// `fetch` enriches lists and diffs, once per side of each broadcast.
#[tokio::test]
async fn fetch_enriches_lists_and_diffs_once_per_broadcast() {
    let pubsub = PubSub::new();
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let presence = Presence::builder()
        .fetch(move |topic, presences| {
            counted.fetch_add(1, Ordering::SeqCst);
            for (key, p) in presences.iter_mut() {
                p["user"] = json!({ "name": format!("user {key}"), "topic": topic });
            }
        })
        .start(&pubsub)
        .unwrap();
    let listener = pubsub.listen(TOPIC);
    let owner = Owner::new();
    presence.track_owner(&owner, TOPIC, "42", json!({})).unwrap();
    let b = tokio::time::timeout(DEADLINE, listener.recv()).await.unwrap();
    let payload = b.payload.as_json().unwrap();
    assert_eq!(payload["joins"]["42"]["user"], json!({"name": "user 42", "topic": TOPIC}));
    assert_eq!(payload["leaves"], json!({}));
    assert_eq!(calls.load(Ordering::SeqCst), 2, "once for joins, once for leaves");
    assert_eq!(presence.list(TOPIC)["42"]["user"]["name"], "user 42");
    assert_eq!(presence.get_by_key(TOPIC, "42").unwrap()["user"]["name"], "user 42");
}

#[tokio::test]
async fn invalid_settings_are_refused_with_a_reason() {
    let pubsub = PubSub::new();
    for n in [0, MAX_POOL_SIZE + 1] {
        let err = Presence::builder().pool_size(n).start(&pubsub).unwrap_err();
        assert_eq!(err, StartError::PoolSize(n));
    }
    let mut config = fast();
    config.down_period = config.broadcast_period;
    let err = Presence::builder().shard_config(config).start(&pubsub).unwrap_err();
    assert!(err.to_string().contains("down_period must be at least twice"), "{err}");
}
