//! The delta generation ladder and transfer answers (PROTOCOL.md §10.9; §12
//! items 103, 106, 107).

mod support;

use embercast_tracker::{Clock, Delta, DeltaGenerations, Dot, State, Transfer};
use support::{meta, owner, r};

fn keys(delta: &Delta) -> Vec<String> {
    let mut out: Vec<String> = delta.values().values().map(|e| e.key.to_string()).collect();
    out.sort();
    out
}

fn dots(delta: &Delta) -> Vec<(String, u64)> {
    delta.clouds().dots().map(|d| (d.replica().name().to_owned(), d.counter())).collect()
}

fn d(name: &str, c: u64) -> (String, u64) {
    (name.to_owned(), c)
}

/// Tracks `key` on `s` and hands out the resulting delta.
fn track(s: &mut State, o: u64, key: &str) -> Delta {
    s.track(owner(o), "lobby", key, meta(o)).unwrap();
    s.take_delta()
}

#[test]
fn the_ladder_slides_windows_forward_by_size() {
    let mut s1 = State::new(r("s1"));
    let mut s2 = State::new(r("s2"));
    let mut g = DeltaGenerations::new(vec![2, 5, 6]);

    let d1 = track(&mut s1, 1, "user1");
    g.push(s1.delta(), &d1);
    assert!(g.generations().iter().all(|gen| keys(gen) == ["user1"] && dots(gen) == [d("s1", 1)]));
    let before = g.clone();
    g.push(s1.delta(), &d1);
    assert_eq!(g, before, "a duplicate push changes nothing");

    let d2 = track(&mut s1, 2, "user2");
    g.push(s1.delta(), &d2);
    let gens = g.generations();
    assert_eq!(
        (keys(&gens[0]), keys(&gens[1]), keys(&gens[2])),
        (vec!["user2".into()], vec!["user1".into(), "user2".into()], vec!["user1".into(), "user2".into()])
    );
    assert_eq!(dots(&gens[0]), [d("s1", 2)]);

    let d3 = track(&mut s1, 3, "user3");
    g.push(s1.delta(), &d3);
    let gens = g.generations();
    assert_eq!(gens[0], d3);
    assert_eq!(keys(&gens[1]), ["user2", "user3"]);
    assert_eq!(keys(&gens[2]), ["user1", "user2", "user3"]);

    let d4 = track(&mut s1, 4, "user4");
    g.push(s1.delta(), &d4);
    let gens = g.generations();
    assert_eq!(keys(&gens[0]), ["user4"]);
    assert_eq!(keys(&gens[1]), ["user3", "user4"]);
    assert_eq!(keys(&gens[2]), ["user2", "user3", "user4"]);
    assert_eq!(dots(&gens[2]), [d("s1", 2), d("s1", 3), d("s1", 4)]);

    // A remote delta joins the windows.
    s2.track(owner(5), "lobby", "user5", meta(5)).unwrap();
    g.push(s1.delta(), s2.delta());
    let gens = g.generations();
    assert_eq!(keys(&gens[0]), ["user5"]);
    assert_eq!(keys(&gens[1]), ["user4", "user5"]);
    assert_eq!(keys(&gens[2]), ["user3", "user4", "user5"]);
    assert_eq!(dots(&gens[1]), [d("s1", 4), d("s2", 1)]);

    // A tombstone removes the value and stays in the clouds.
    s2.untrack_owner(owner(5));
    g.push(s1.delta(), s2.delta());
    let gens = g.generations();
    assert!(keys(&gens[0]).is_empty());
    assert_eq!(keys(&gens[1]), ["user4"]);
    assert_eq!(keys(&gens[2]), ["user3", "user4"]);
    assert_eq!(dots(&gens[0]), [d("s2", 1), d("s2", 2)]);
    assert_eq!(dots(&gens[2]), [d("s1", 3), d("s1", 4), d("s2", 1), d("s2", 2)]);
}

#[test]
fn a_delta_that_does_not_touch_a_window_leaves_it_alone() {
    let s1 = State::new(r("s1"));
    let mut s3 = State::new(r("s3"));
    let first = track(&mut s3, 1, "user3");
    let _missed = track(&mut s3, 2, "user3b");
    let third = track(&mut s3, 3, "user3c");
    let mut g = DeltaGenerations::new(vec![5, 10, 15]);
    g.push(s1.delta(), &first);
    let before = g.clone();
    g.push(s1.delta(), &third);
    assert_eq!(g, before);
}

#[test]
fn permdown_prunes_every_window() {
    let s1 = State::new(r("s1"));
    let mut s2 = State::new(r("s2"));
    let mut s3 = State::new(r("s3"));
    s3.replica_up(s2.replica());
    let mut g = DeltaGenerations::new(vec![5, 10, 15]);
    g.push(s1.delta(), &track(&mut s2, 1, "user2"));
    g.remove_replica(s2.replica());
    for gen in g.generations() {
        assert!(gen.values().is_empty() && gen.clouds().is_empty() && !gen.end().contains_key(s2.replica()));
        assert!(s3.merge_delta(gen).unwrap().is_empty());
    }
    assert_eq!(s3.list("lobby").count(), 0);
}

#[test]
fn with_no_generation_the_whole_state_is_sent() {
    let mut s1 = State::new(r("r1"));
    s1.track(owner(1), "lobby", "user1", meta(1)).unwrap();
    let g = DeltaGenerations::new(vec![100]);
    let peer_ctx = Clock::from([(r("r1"), 1)]);
    match g.answer(&s1, &r("r2"), &peer_ctx) {
        Transfer::Full(extract) => {
            assert_eq!(extract.context(), &peer_ctx);
            assert_eq!(extract.values().keys().cloned().collect::<Vec<_>>(), vec![Dot::new(r("r1"), 1)]);
        }
        other => panic!("expected the full state, got {other:?}"),
    }
}

#[test]
fn the_first_generation_covering_the_peer_is_sent() {
    let mut s = State::new(r("r1"));
    let mut g = DeltaGenerations::new(vec![1, 100]);
    let d1 = track(&mut s, 1, "user1");
    g.push(s.delta(), &d1);
    let d2 = track(&mut s, 2, "user2");
    g.push(s.delta(), &d2);
    // The smallest window holds only d2 (starts at 1): right for a peer at 1.
    assert_eq!(g.find(&Clock::from([(r("r1"), 1)])).map(|(i, _)| i), Some(0));
    assert_eq!(g.answer(&s, &r("r2"), &Clock::from([(r("r1"), 1)])), Transfer::Delta(d2.clone()));
    // A peer at 0 needs the larger window.
    assert_eq!(g.find(&Clock::from([(r("r1"), 0)])).map(|(i, _)| i), Some(1));
    // A peer that has everything, or knows nothing of r1, gets the full state.
    assert!(g.find(&Clock::from([(r("r1"), 2)])).is_none());
    assert!(matches!(g.answer(&s, &r("r2"), &Clock::from([(r("r2"), 0)])), Transfer::Full(_)));
}

#[test]
fn empty_and_non_dominating_generations_are_skipped() {
    let mut s = State::new(r("r1"));
    let mut r2 = State::new(r("r2"));
    let mut g = DeltaGenerations::new(vec![1, 100]);
    // Window 0: r1's own delta only (nothing for a peer that knows only r2).
    let d1 = track(&mut s, 1, "user1");
    g.push(s.delta(), &d1);
    g.push(s.delta(), &track(&mut r2, 2, "user2"));
    let peer = Clock::from([(r("r2"), 0)]);
    let (index, gen) = g.find(&peer).expect("the window with r2's delta");
    assert!(gen.end().contains_key(&r("r2")));
    let Transfer::Delta(sent) = g.answer(&s, &r("r3"), &peer) else { panic!("expected a delta") };
    assert_eq!(sent, g.generations()[index].extract(&r("r3"), &peer));
    assert_eq!(keys(&sent), ["user2"]);
    assert!(sent.clouds().get(&r("r1")).is_none());
}

#[test]
fn a_window_sent_back_to_its_origin_keeps_the_origins_presences() {
    let [mut a, mut b, mut c]: [State; 3] = support::connected(&["a", "b", "c"]).try_into().unwrap();
    let mut gen_a = DeltaGenerations::new(vec![10]);
    let mut gen_b = DeltaGenerations::new(vec![10]);
    let from_a = track(&mut a, 1, "alice");
    gen_a.push(a.delta(), &from_a);
    b.merge_delta(&from_a).unwrap();
    gen_b.push(b.delta(), &from_a);
    let from_b = track(&mut b, 2, "bob");
    gen_b.push(b.delta(), &from_b);

    // a asks b; the window holds a's own alice too, and a keeps it as it is.
    let Transfer::Delta(window) = gen_b.answer(&b, a.replica(), &a.clocks()) else { panic!("expected a delta") };
    assert!(window.values().contains_key(&Dot::new(r("a"), 1)));
    a.merge_delta(&window).unwrap();
    gen_a.push(a.delta(), &window);

    // c asks a: alice must arrive as a presence, not as a tombstone.
    let answer = gen_a.answer(&a, c.replica(), &c.clocks());
    c.merge_transfer(&answer).unwrap();
    assert_eq!(keys(&gen_a.generations()[0]), ["alice", "bob"]);
    let listed: Vec<String> = c.list("lobby").map(|p| p.key.to_string()).collect();
    assert_eq!(listed, ["alice", "bob"]);
}
