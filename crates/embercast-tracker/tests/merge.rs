//! Merging deltas and full states between two or three replicas in memory
//! (PROTOCOL.md §10.6, §10.8; §12 items 97–105).

mod support;

use embercast_tracker::{Clock, Dot, OwnerId, State};
use serde_json::json;
use support::{connected, joined, keys, left, meta, owner, r, transfer};

#[test]
fn basic_deltas_advance_the_context_and_leave_no_cloud() {
    let [mut a, mut b]: [State; 2] = connected(&["a", "b"]).try_into().unwrap();
    a.track(owner(1), "lobby", "alice", meta(1)).unwrap();
    b.track(owner(2), "lobby", "bob", meta(2)).unwrap();

    let diff = b.merge_delta(&a.take_delta()).unwrap();
    assert_eq!(joined(&diff), vec!["alice"]);
    assert_eq!(b.clocks(), Clock::from([(r("a"), 1), (r("b"), 1)]));

    a.untrack(owner(1), "lobby", "alice");
    let diff = b.merge_delta(&a.take_delta()).unwrap();
    assert_eq!(left(&diff), vec!["alice"]);
    assert_eq!(b.clocks()[&r("a")], 2);

    a.track(owner(1), "lobby", "alice", meta(3)).unwrap();
    let diff = b.merge_delta(&a.take_delta()).unwrap();
    assert_eq!(joined(&diff), vec!["alice"]);
    assert_eq!(b.clocks()[&r("a")], 3);
    assert!(b.clouds().is_empty());
}

#[test]
fn merging_the_same_input_twice_changes_nothing() {
    let [mut a, mut b]: [State; 2] = connected(&["a", "b"]).try_into().unwrap();
    a.track(owner(1), "lobby", "alice", meta(1)).unwrap();
    a.track(owner(1), "lobby", "carol", meta(1)).unwrap();
    let delta = a.take_delta();
    b.merge_delta(&delta).unwrap();
    let once = b.clone();
    assert!(b.merge_delta(&delta).unwrap().is_empty());
    assert_eq!(b, once);

    a.untrack(owner(1), "lobby", "carol");
    let extract = a.extract(b.replica(), &b.clocks());
    assert_eq!(left(&b.merge_extract(&extract)), vec!["carol"]);
    let once = b.clone();
    assert!(b.merge_extract(&extract).is_empty());
    assert_eq!(b, once);
}

#[test]
fn an_observed_remove_propagates() {
    let [mut a, mut b]: [State; 2] = connected(&["a", "b"]).try_into().unwrap();
    a.track(owner(1), "lobby", "alice", meta(1)).unwrap();
    transfer(&mut b, &a);
    assert_eq!(b.list("lobby").count(), 1);
    a.untrack(owner(1), "lobby", "alice");
    assert_eq!(left(&transfer(&mut b, &a)), vec!["alice"]);
    assert_eq!(b.list("lobby").count(), 0);
    // b relays the removal in its own next delta.
    assert!(b.delta().clouds().contains(&Dot::new(r("a"), 1)));
}

#[test]
fn a_netsplit_hides_then_shows_again() {
    let [mut a, mut b]: [State; 2] = connected(&["a", "b"]).try_into().unwrap();
    a.track(owner(1), "lobby", "alice", meta(1)).unwrap();
    b.track(owner(2), "lobby", "bob", meta(2)).unwrap();
    assert_eq!(joined(&transfer(&mut a, &b)), vec!["bob"]);

    a.track(owner(3), "lobby", "carol", meta(3)).unwrap();
    a.untrack(owner(1), "lobby", "alice");
    assert_eq!(left(&a.replica_down(b.replica())), vec!["bob"]);
    assert_eq!(keys(&a).into_iter().map(|(_, k)| k).collect::<Vec<_>>(), vec!["carol"]);
    assert!(!a.clocks().contains_key(b.replica()), "down replicas are not advertised");

    // Merging while b is down stores but shows nothing.
    assert!(transfer(&mut a, &b).is_empty());
    assert_eq!(a.list("lobby").count(), 1);
    assert_eq!(a.stored_len(), 2);

    assert_eq!(joined(&a.replica_up(b.replica())), vec!["bob"]);
    assert_eq!(a.list("lobby").count(), 2);
    assert!(a.replica_up(b.replica()).is_empty(), "already up: nothing to report");
}

#[test]
fn joins_and_removes_are_observed_via_a_third_replica() {
    let [mut a, mut b, mut c]: [State; 3] = connected(&["a", "b", "c"]).try_into().unwrap();
    a.track(owner(1), "lobby", "alice", meta(1)).unwrap();
    assert_eq!(joined(&transfer(&mut b, &a)), vec!["alice"]);
    assert_eq!(joined(&transfer(&mut c, &b)), vec!["alice"]);

    a.untrack(owner(1), "lobby", "alice");
    assert_eq!(left(&b.merge_delta(&a.take_delta()).unwrap()), vec!["alice"]);
    // c never hears from a: b's relayed tombstone is enough.
    assert_eq!(left(&c.merge_delta(&b.take_delta()).unwrap()), vec!["alice"]);
}

#[test]
fn joins_of_a_down_replica_arriving_through_a_third_one_stay_hidden() {
    let [mut a, mut b, mut c]: [State; 3] = connected(&["a", "b", "c"]).try_into().unwrap();
    c.replica_down(a.replica());
    a.track(owner(1), "lobby", "alice", meta(1)).unwrap();
    transfer(&mut b, &a);
    // Phoenix reports this join although it does not list alice; the diff here
    // is exactly the change of the visible set. (Extracted against c's whole
    // context: c's advertised clock leaves the down replica out.)
    let extract = b.extract(c.replica(), c.context());
    assert!(c.merge_extract(&extract).is_empty());
    assert_eq!((c.list("lobby").count(), c.stored_len()), (0, 1));
    assert_eq!(joined(&c.replica_up(a.replica())), vec!["alice"]);
}

#[test]
fn permdown_deletes_and_a_later_up_brings_nothing_back() {
    let [mut a, mut b]: [State; 2] = connected(&["a", "b"]).try_into().unwrap();
    a.track(owner(1), "lobby", "alice", meta(1)).unwrap();
    b.track(owner(2), "lobby", "bob", meta(2)).unwrap();
    transfer(&mut b, &a);
    b.replica_down(a.replica());
    assert!(b.permdown(a.replica()).is_empty(), "already reported at down");
    assert_eq!(b.stored_len(), 1);
    assert!(!b.context().contains_key(a.replica()));
    assert!(b.by_owner(owner(1)).next().is_none());
    assert!(b.replica_up(a.replica()).is_empty());
    assert_eq!(keys(&b).into_iter().map(|(_, k)| k).collect::<Vec<_>>(), vec!["bob"]);
}

#[test]
fn permdown_of_an_up_replica_reports_its_leaves() {
    let [mut a, mut b]: [State; 2] = connected(&["a", "b"]).try_into().unwrap();
    a.track(owner(1), "lobby", "alice", meta(1)).unwrap();
    transfer(&mut b, &a);
    assert_eq!(left(&b.permdown(a.replica())), vec!["alice"]);
}

#[test]
fn an_extract_holds_only_replicas_the_peer_knows() {
    let mut s1 = State::new(r("s1"));
    let [mut s2, mut s3]: [State; 2] = connected(&["s2", "s3"]).try_into().unwrap();
    s1.replica_up(s2.replica());
    s2.replica_up(s1.replica());
    s1.track(owner(1), "lobby", "user1", meta(1)).unwrap();
    s2.track(owner(2), "lobby", "user2", meta(2)).unwrap();
    s3.track(owner(3), "lobby", "user3", meta(3)).unwrap();
    s2.merge_delta(&s1.take_delta()).unwrap();
    s2.merge_delta(&s3.take_delta()).unwrap();

    let extract = s2.extract(s1.replica(), &s1.clocks());
    assert_eq!(extract.context(), &Clock::from([(r("s1"), 1), (r("s2"), 1)]));
    // s1's own presence is left out; s3's is unknown to s1.
    let owners: Vec<OwnerId> = extract.values().values().map(|e| e.owner).collect();
    assert_eq!(owners, vec![owner(2)]);
}

#[test]
fn a_concurrent_add_wins_over_a_remove() {
    let [mut a, mut b]: [State; 2] = connected(&["a", "b"]).try_into().unwrap();
    a.track(owner(1), "lobby", "alice", meta(1)).unwrap();
    b.merge_delta(&a.take_delta()).unwrap();
    // a re-adds (new dot) while b, concurrently, relays nothing about it.
    a.untrack(owner(1), "lobby", "alice");
    a.track(owner(1), "lobby", "alice", meta(2)).unwrap();
    let diff = b.merge_delta(&a.take_delta()).unwrap();
    assert_eq!((joined(&diff), left(&diff)), (vec!["alice".into()], vec!["alice".into()]));
    assert_eq!(b.get(owner(1), "lobby", "alice").unwrap().meta, &meta(2));
}

#[test]
fn a_delta_across_a_gap_is_refused_and_a_transfer_fills_it() {
    let [mut a, mut b]: [State; 2] = connected(&["a", "b"]).try_into().unwrap();
    a.track(owner(1), "lobby", "alice", meta(1)).unwrap();
    let _lost = a.take_delta();
    a.untrack(owner(1), "lobby", "alice");
    a.track(owner(2), "lobby", "bob", meta(2)).unwrap();
    let after_gap = a.take_delta();
    let gap = b.merge_delta(&after_gap).unwrap_err();
    assert_eq!((gap.replica.clone(), gap.start, gap.seen), (r("a"), 1, 0));
    assert_eq!(b.context()[&r("a")], 0, "nothing merged");
    assert!(a.clocks()[&r("a")] > b.clocks()[&r("a")], "b looks behind, so it will ask");
    assert_eq!(joined(&transfer(&mut b, &a)), vec!["bob"]);
    // The late delta is now contiguous and brings nothing new.
    assert!(b.merge_delta(&after_gap).unwrap().is_empty());
}

#[test]
fn an_update_relayed_by_a_third_replica_never_tears() {
    let [mut a, mut b, mut c]: [State; 3] = connected(&["a", "b", "c"]).try_into().unwrap();
    a.track(owner(1), "lobby", "alice", json!({"v": 1})).unwrap();
    let first = a.take_delta();
    b.merge_delta(&first).unwrap();
    c.merge_delta(&first).unwrap();

    a.update(owner(1), "lobby", "alice", json!({"v": 2})).unwrap();
    let update = a.take_delta();
    b.merge_delta(&update).unwrap();
    // b must not relay the removal half of a's update: c, which has not seen
    // a's delta yet, would lose alice until it arrived.
    let relay = b.take_delta();
    assert!(relay.is_empty(), "{relay:?}");
    c.merge_delta(&relay).unwrap();
    assert_eq!(c.get(owner(1), "lobby", "alice").unwrap().meta, &json!({"v": 1}));
    let diff = c.merge_delta(&update).unwrap();
    assert_eq!((joined(&diff), left(&diff)), (vec!["alice".into()], vec!["alice".into()]));
}

#[test]
fn a_remote_update_is_one_in_place_overwrite() {
    let [mut a, mut b]: [State; 2] = connected(&["a", "b"]).try_into().unwrap();
    a.track(owner(1), "lobby", "alice", json!({"v": 1})).unwrap();
    b.merge_delta(&a.take_delta()).unwrap();
    a.update(owner(1), "lobby", "alice", json!({"v": 2})).unwrap();
    let diff = b.merge_delta(&a.take_delta()).unwrap();
    let lobby = diff.get("lobby").unwrap();
    assert_eq!(lobby.leaves[0].meta, json!({"v": 1}));
    assert_eq!(lobby.joins[0].meta, json!({"v": 2}));
    assert_eq!(b.list("lobby").count(), 1);
}

#[test]
fn own_presences_are_never_removed_by_a_peer() {
    let [mut a, mut b]: [State; 2] = connected(&["a", "b"]).try_into().unwrap();
    a.track(owner(1), "lobby", "alice", meta(1)).unwrap();
    transfer(&mut b, &a);
    b.permdown(a.replica());
    b.replica_up(a.replica());
    // b forgot a's presence; its full state claims nothing about a's dots, and
    // even a context covering them would not remove a's own presence.
    assert!(transfer(&mut a, &b).is_empty());
    assert_eq!(a.list("lobby").count(), 1);
}

#[test]
fn a_later_incarnation_reusing_an_owner_id_supersedes_the_older_presence() {
    // Owner ids must be unique across incarnations; if one is reused anyway,
    // the replica keeps one presence per slot and reports the swap.
    let mut a1 = State::new(r("a"));
    let mut a2 = State::new(embercast_tracker::ReplicaRef::new("a", 2));
    let mut b = State::new(r("b"));
    b.replica_up(a1.replica());
    b.replica_up(a2.replica());
    a1.replica_up(b.replica());
    a2.replica_up(b.replica());
    a1.track(owner(1), "lobby", "alice", json!({"v": 1})).unwrap();
    a2.track(owner(1), "lobby", "alice", json!({"v": 2})).unwrap();
    b.merge_delta(&a1.take_delta()).unwrap();
    let diff = b.merge_delta(&a2.take_delta()).unwrap();
    assert_eq!((joined(&diff), left(&diff)), (vec!["alice".into()], vec!["alice".into()]));
    assert_eq!(b.get(owner(1), "lobby", "alice").unwrap().meta, &json!({"v": 2}));
    // The older one, arriving again, stays out.
    let old = a1.extract(b.replica(), &b.clocks());
    assert!(b.merge_extract(&old).is_empty());
}

#[test]
fn presences_of_unknown_replicas_are_ignored_until_known() {
    let mut a = State::new(r("a"));
    let mut b = State::new(r("b"));
    a.track(owner(1), "lobby", "alice", meta(1)).unwrap();
    let delta = a.take_delta();
    assert!(b.merge_delta(&delta).unwrap().is_empty());
    assert_eq!(b.stored_len(), 0);
    b.replica_up(a.replica());
    assert_eq!(joined(&b.merge_delta(&delta).unwrap()), vec!["alice"]);
}

#[test]
fn deltas_and_extracts_round_trip_through_json() {
    let [mut a, b]: [State; 2] = connected(&["a", "b"]).try_into().unwrap();
    a.track(owner(1), "lobby", "alice", json!({"phx_ref": "x", "n": [1, 2]})).unwrap();
    let extract = a.extract(b.replica(), &b.clocks());
    let back: embercast_tracker::Extract = serde_json::from_str(&serde_json::to_string(&extract).unwrap()).unwrap();
    assert_eq!(back, extract);
    let delta = a.take_delta();
    let back: embercast_tracker::Delta = serde_json::from_slice(&serde_json::to_vec(&delta).unwrap()).unwrap();
    assert_eq!(back, delta);
}

#[test]
fn a_presence_seen_leaving_across_a_gap_cannot_come_back_from_a_lagging_peer() {
    // Were deltas merged across gaps (as Phoenix does), r would see alice's
    // last version, see it leave, then join her first version again from q,
    // which lags behind.
    let [mut a, mut q, mut r_]: [State; 3] = connected(&["a", "q", "r"]).try_into().unwrap();
    a.track(owner(1), "lobby", "alice", json!({"v": 1})).unwrap();
    q.merge_delta(&a.take_delta()).unwrap();
    a.update(owner(1), "lobby", "alice", json!({"v": 2})).unwrap();
    let _missed_by_r = a.take_delta();
    a.update(owner(1), "lobby", "alice", json!({"v": 3})).unwrap();
    let third = a.take_delta();
    a.untrack(owner(1), "lobby", "alice");
    let fourth = a.take_delta();

    let mut seen = Vec::new();
    for delta in [&third, &fourth] {
        seen.extend(r_.merge_delta(delta).ok());
    }
    seen.push(transfer(&mut r_, &q));
    seen.push(transfer(&mut r_, &a));
    seen.push(transfer(&mut r_, &q));
    let first_leave = seen.iter().position(|d| !left(d).is_empty()).expect("alice leaves at some point");
    for later in &seen[first_leave + 1..] {
        assert!(joined(later).is_empty(), "alice came back after leaving: {seen:?}");
    }
    assert_eq!(r_.list("lobby").count(), 0);
}
