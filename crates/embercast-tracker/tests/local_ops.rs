//! Local operations on one replica: track, untrack, update, owner exit, reads
//! and the pending delta (PROTOCOL.md §9.1, §10.3, §10.4; §12 items 88–91).

mod support;

use embercast_tracker::{Dot, OwnerId, State, TrackError, UpdateError};
use serde_json::json;
use support::{left, meta, owner, r};

#[test]
fn track_reports_a_join_and_lists_it() {
    let mut s = State::new(r("a"));
    let diff = s.track(owner(1), "lobby", "alice", meta(1)).unwrap();
    let lobby = diff.get("lobby").unwrap();
    assert_eq!((lobby.joins.len(), lobby.leaves.len()), (1, 0));
    assert_eq!(lobby.joins[0].meta, meta(1));
    let listed: Vec<_> = s.list("lobby").map(|p| (p.key.to_string(), p.owner, p.meta.clone())).collect();
    assert_eq!(listed, vec![("alice".into(), owner(1), meta(1))]);
    assert_eq!(s.list("other").count(), 0);
}

#[test]
fn a_second_track_of_the_same_triple_is_refused() {
    let mut s = State::new(r("a"));
    s.track(owner(1), "lobby", "alice", meta(1)).unwrap();
    let err = s.track(owner(1), "lobby", "alice", meta(2)).unwrap_err();
    assert_eq!(err, TrackError::AlreadyTracked { owner: owner(1), topic: "lobby".into(), key: "alice".into() });
    assert_eq!(s.get(owner(1), "lobby", "alice").unwrap().meta, &meta(1));
    // Same owner under another topic or key, or another owner: fine.
    s.track(owner(1), "lobby", "alice2", meta(1)).unwrap();
    s.track(owner(1), "private", "alice", meta(1)).unwrap();
    s.track(owner(2), "lobby", "alice", meta(1)).unwrap();
    assert_eq!(s.get_by_key("lobby", "alice").count(), 2);
}

#[test]
fn metas_must_be_objects() {
    let mut s = State::new(r("a"));
    assert_eq!(s.track(owner(1), "t", "k", json!("x")), Err(TrackError::MetaNotObject));
    s.track(owner(1), "t", "k", json!({})).unwrap();
    assert_eq!(s.update(owner(1), "t", "k", json!([1])), Err(UpdateError::MetaNotObject));
    // The refused update changed nothing.
    assert_eq!(s.get(owner(1), "t", "k").unwrap().meta, &json!({}));
    assert_eq!(s.context()[&r("a")], 1);
}

#[test]
fn untrack_reports_the_leave_and_is_a_no_op_when_absent() {
    let mut s = State::new(r("a"));
    s.track(owner(1), "lobby", "alice", meta(1)).unwrap();
    let diff = s.untrack(owner(1), "lobby", "alice");
    assert_eq!(diff.get("lobby").unwrap().leaves[0].meta, meta(1));
    assert_eq!(s.list("lobby").count(), 0);
    assert!(s.untrack(owner(1), "lobby", "alice").is_empty());
    assert!(s.untrack(owner(9), "nowhere", "nobody").is_empty());
}

#[test]
fn update_is_one_diff_with_the_old_meta_leaving_and_the_new_joining() {
    let mut s = State::new(r("a"));
    s.track(owner(1), "lobby", "alice", json!({"status": "online", "phx_ref": "1"})).unwrap();
    let diff = s
        .update_with(
            owner(1),
            "lobby",
            "alice",
            |old| json!({"status": "away", "phx_ref": "2", "phx_ref_prev": old["phx_ref"]}),
        )
        .unwrap();
    let lobby = diff.get("lobby").unwrap();
    assert_eq!(lobby.leaves[0].meta, json!({"status": "online", "phx_ref": "1"}));
    assert_eq!(lobby.joins[0].meta, json!({"status": "away", "phx_ref": "2", "phx_ref_prev": "1"}));
    assert_eq!(s.list("lobby").count(), 1);
    // Two events: the removal of dot 1 and the new dot 3.
    assert_eq!(s.get(owner(1), "lobby", "alice").unwrap().dot, &Dot::new(r("a"), 3));
    assert_eq!(s.context()[&r("a")], 3);
}

#[test]
fn update_of_an_absent_presence_is_refused() {
    let mut s = State::new(r("a"));
    assert_eq!(s.update(owner(1), "lobby", "alice", meta(1)), Err(UpdateError::NoPresence));
    assert!(!s.has_delta());
}

#[test]
fn owner_exit_removes_all_its_presences_in_one_diff() {
    let mut s = State::new(r("a"));
    s.track(owner(1), "lobby", "alice", meta(1)).unwrap();
    s.track(owner(1), "private", "alice", meta(2)).unwrap();
    s.track(owner(2), "lobby", "bob", meta(3)).unwrap();
    let diff = s.untrack_owner(owner(1));
    assert_eq!(left(&diff), vec!["alice", "alice"]);
    assert_eq!(diff.iter().count(), 2);
    assert_eq!(s.by_owner(owner(1)).count(), 0);
    assert_eq!(s.online().map(|p| p.key.to_string()).collect::<Vec<_>>(), vec!["bob"]);
    assert!(s.untrack_owner(owner(1)).is_empty());
}

#[test]
fn lists_are_grouped_by_key_then_owner() {
    let mut s = State::new(r("a"));
    for (o, k) in [(3, "b"), (1, "b"), (2, "a")] {
        s.track(OwnerId(o), "t", k, meta(o)).unwrap();
    }
    let order: Vec<_> = s.list("t").map(|p| (p.key.to_string(), p.owner.0)).collect();
    assert_eq!(order, vec![("a".into(), 2), ("b".into(), 1), ("b".into(), 3)]);
    assert_eq!(s.get_by_key("t", "b").map(|p| p.owner.0).collect::<Vec<_>>(), vec![1, 3]);
    assert_eq!(s.get_by_key("t", "zzz").count(), 0);
    assert_eq!(s.by_owner(OwnerId(2)).count(), 1);
}

#[test]
fn the_pending_delta_records_adds_tombstones_and_its_range() {
    let mut s = State::new(r("a"));
    s.track(owner(1), "t", "x", meta(1)).unwrap();
    s.track(owner(1), "t", "y", meta(2)).unwrap();
    s.untrack(owner(1), "t", "x");
    let d = s.take_delta();
    assert_eq!(d.values().len(), 1, "x was removed within the window");
    assert_eq!(d.clouds().len(), 3, "dots 1, 2 (adds) and 3 (the removal)");
    assert_eq!((d.start()[&r("a")], d.end()[&r("a")]), (0, 3));
    assert!(!s.has_delta());
    assert_eq!((s.delta().start()[&r("a")], s.delta().end()[&r("a")]), (3, 3));
    assert!(s.clouds().is_empty());
    s.update(owner(1), "t", "y", meta(3)).unwrap();
    let d = s.take_delta();
    assert!(d.clouds().get(&r("a")).unwrap().contains(&2), "the old dot is a tombstone");
    assert_eq!((d.start()[&r("a")], d.end()[&r("a")]), (3, 5));
}
