//! What happens when the code around Presence misbehaves or goes away: a
//! `fetch` hook that panics or calls back into the tracker, an updater that
//! panics, a tracker that is dropped.

mod support;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use embercast_presence::{Owner, Presence};
use embercast_server::PubSub;
use serde_json::json;
use support::*;

const TOPIC: &str = "room:lobby";

/// A panicking `fetch` (a user-details lookup that unwraps, say) spoils the
/// broadcast it was enriching, and only that one: later diffs of the same
/// shard still reach their listeners.
#[tokio::test]
async fn a_panicking_fetch_loses_one_broadcast_not_every_later_one() {
    let pubsub = PubSub::new();
    let presence = Presence::builder()
        .fetch(|topic, _| {
            if topic == "room:bad" {
                panic!("user lookup failed");
            }
        })
        .start(&pubsub)
        .unwrap();
    let bad = pubsub.listen("room:bad");
    let good = pubsub.listen(TOPIC);
    let owner = Owner::new();
    presence.track_owner(&owner, "room:bad", "42", json!({})).unwrap();
    // Let the dispatcher handle (and panic on) the first diff on its own.
    tokio::task::yield_now().await;
    let r = presence.track_owner(&owner, TOPIC, "42", json!({})).unwrap();
    let b = tokio::time::timeout(Duration::from_secs(5), good.recv())
        .await
        .expect("the diff of room:lobby to be broadcast after room:bad's fetch panicked");
    assert_eq!(b.payload.as_json().unwrap(), &json!({"joins": {"42": {"metas": [{"phx_ref": r}]}}, "leaves": {}}));
    drop(bad);
}

/// A `fetch` hook may read the tracker (`list`, `get_by_key`) and even track:
/// neither runs under a shard lock, for lists or for diffs.
#[tokio::test]
async fn fetch_may_call_back_into_the_tracker() {
    let pubsub = PubSub::new();
    let me: Arc<OnceLock<Presence>> = Arc::new(OnceLock::new());
    let hook = me.clone();
    let side = Arc::new(Owner::new());
    let side_hook = side.clone();
    let presence = Presence::builder()
        .fetch(move |topic, presences| {
            let Some(p) = hook.get() else { return };
            if topic == TOPIC {
                let n = p.list("room:side").as_object().map_or(0, |m| m.len());
                for v in presences.values_mut() {
                    v["side"] = json!(n);
                }
                // Tracking from a hook: once per call, under a fresh key.
                let _ = p.track_owner(&side_hook, "room:side", &format!("k{n}"), json!({}));
                let _ = p.get_by_key("room:side", "k0");
            }
        })
        .start(&pubsub)
        .unwrap();
    me.set(presence.clone()).unwrap();
    let listener = pubsub.listen(TOPIC);
    let owner = Owner::new();
    presence.track_owner(&owner, TOPIC, "42", json!({})).unwrap();
    let b = tokio::time::timeout(Duration::from_secs(5), listener.recv()).await.expect("a diff");
    assert!(b.payload.as_json().unwrap()["joins"]["42"]["side"].is_number());
    let list = tokio::time::timeout(Duration::from_secs(5), async { presence.list(TOPIC) }).await.unwrap();
    assert!(list["42"]["side"].is_number());
    // The hook's Presence clone keeps the tracker alive; break the cycle.
    drop(presence);
}

/// A panic in an updater crashes the caller only: the presence keeps its meta
/// and the shard stays usable.
#[tokio::test]
async fn a_panicking_updater_leaves_the_shard_usable() {
    let pubsub = PubSub::new();
    let presence = Presence::new(&pubsub);
    let owner = Owner::new();
    let r = presence.track_owner(&owner, TOPIC, "42", json!({"s": 1})).unwrap();
    let p = presence.clone();
    let o = Arc::new(owner);
    let o2 = o.clone();
    let crashed = std::thread::spawn(move || {
        let _ = p.update_owner_with(&o2, TOPIC, "42", |_| panic!("bad updater"));
    })
    .join();
    assert!(crashed.is_err());
    assert_eq!(presence.list(TOPIC), json!({"42": {"metas": [{"s": 1, "phx_ref": r}]}}));
    presence.update_owner_with(&o, TOPIC, "42", |_| json!({"s": 2})).unwrap();
    assert_eq!(presence.list(TOPIC)["42"]["metas"][0]["s"], 2);
}

/// Dropping the last handle stops the tracker: its gossip subscriptions go away.
#[tokio::test]
async fn dropping_the_tracker_stops_its_tasks() {
    let pubsub = PubSub::new();
    let presence = Presence::builder().pool_size(3).start(&pubsub).unwrap();
    let topics: Vec<String> = (0..3).map(|n| format!("phx_presence:presence_shard{n}")).collect();
    eventually("the shards to subscribe", || topics.iter().all(|t| pubsub.subscriber_count(t) == 1)).await;
    let owner = Owner::new();
    presence.track_owner(&owner, TOPIC, "42", json!({})).unwrap();
    drop(presence);
    eventually("the shards to unsubscribe", || topics.iter().all(|t| pubsub.subscriber_count(t) == 0)).await;
    drop(owner); // its tracker is gone: nothing to do, no panic
}

/// An updater runs under its shard's write lock, so one that reads the
/// tracker (the room's list, to compute a rank, say) would wait for itself
/// forever and take the shard down with it: every later track, list and
/// gossip of that shard hangs. It must either work or fail fast.
#[tokio::test]
async fn an_updater_that_reads_the_tracker_does_not_hang_the_shard() {
    let pubsub = PubSub::new();
    let presence = Presence::new(&pubsub);
    let owner = Arc::new(Owner::new());
    presence.track_owner(&owner, TOPIC, "42", json!({"n": 0})).unwrap();
    let (done, finished) = std::sync::mpsc::channel();
    let (p, o) = (presence.clone(), owner.clone());
    std::thread::spawn(move || {
        let r =
            p.update_owner_with(&o, TOPIC, "42", |_| json!({"n": p.list(TOPIC).as_object().map_or(0, |m| m.len())}));
        let _ = done.send(r.is_ok());
    });
    let outcome = finished.recv_timeout(Duration::from_secs(5));
    assert!(outcome.is_ok(), "update_owner_with is still waiting on the shard lock its own updater needs");
}
