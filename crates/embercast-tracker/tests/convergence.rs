//! Property tests: 2–5 replicas driven by random track / untrack / update /
//! owner-exit operations over a network that reorders, duplicates, drops and
//! partitions, with restarts. The invariants are in `support/model.rs`.

mod support;

use proptest::prelude::*;
use support::model::{Model, Op};

/// Node and message picks are reduced modulo what exists; small ranges shrink well.
fn node() -> impl Strategy<Value = usize> {
    0..5usize
}

fn pick() -> impl Strategy<Value = usize> {
    0..24usize
}

fn local() -> impl Strategy<Value = (usize, u64, usize, usize)> {
    (node(), 0..3u64, 0..3usize, 0..2usize)
}

/// Steps weighted so that a script does a bit of everything.
fn op(network: u32, faults: u32) -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => local().prop_map(|(node, owner, topic, key)| Op::Track { node, owner, topic, key }),
        2 => local().prop_map(|(node, owner, topic, key)| Op::Untrack { node, owner, topic, key }),
        3 => local().prop_map(|(node, owner, topic, key)| Op::Update { node, owner, topic, key }),
        1 => (node(), 0..3u64).prop_map(|(node, owner)| Op::OwnerExit { node, owner }),
        3 => Just(Op::Tick),
        1 => node().prop_map(|node| Op::TickOne { node }),
        network * 2 => pick().prop_map(|pick| Op::Deliver { pick }),
        1 => Just(Op::DeliverAll),
        faults => pick().prop_map(|pick| Op::Duplicate { pick }),
        faults => pick().prop_map(|pick| Op::Drop { pick }),
        faults => (node(), node()).prop_map(|(a, b)| Op::Partition { a, b }),
        faults => (node(), node()).prop_map(|(a, b)| Op::Heal { a, b }),
        faults => node().prop_map(|node| Op::Restart { node }),
    ]
}

/// One presence slot per node, updated over and over on a lossy, partitioned
/// network: the shape that makes stale versions race with newer ones.
fn churn() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => node().prop_map(|node| Op::Track { node, owner: 0, topic: 0, key: 0 }),
        4 => node().prop_map(|node| Op::Update { node, owner: 0, topic: 0, key: 0 }),
        1 => node().prop_map(|node| Op::Untrack { node, owner: 0, topic: 0, key: 0 }),
        3 => Just(Op::Tick),
        4 => pick().prop_map(|pick| Op::Deliver { pick }),
        3 => pick().prop_map(|pick| Op::Drop { pick }),
        1 => pick().prop_map(|pick| Op::Duplicate { pick }),
        2 => (node(), node()).prop_map(|(a, b)| Op::Partition { a, b }),
        2 => (node(), node()).prop_map(|(a, b)| Op::Heal { a, b }),
    ]
}

fn run(n: usize, ops: &[Op]) {
    let mut model = Model::new(n);
    for op in ops {
        model.apply(op);
    }
    model.settle();
}

/// `default` cases keep `cargo test` quick in debug; `PROPTEST_CASES=2000` digs deeper.
fn cases(default: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    ProptestConfig { cases, ..ProptestConfig::default() }
}

proptest! {
    #![proptest_config(cases(64))]

    /// A mostly healthy network: reordering, some loss and duplication.
    #[test]
    fn replicas_converge_over_a_reordering_network(
        n in 2usize..=5,
        ops in proptest::collection::vec(op(4, 1), 1..100),
    ) {
        run(n, &ops);
    }

    /// A hostile one: frequent loss, duplication, partitions and restarts,
    /// long enough for peers to be downed and permdowned.
    #[test]
    fn replicas_converge_despite_partitions_loss_and_restarts(
        n in 2usize..=5,
        ops in proptest::collection::vec(op(2, 3), 1..140),
    ) {
        run(n, &ops);
    }

}

proptest! {
    // Cheap cases, and the race needs many tries to show up.
    #![proptest_config(cases(512))]

    /// Three replicas updating one presence each while messages are lost and
    /// links cut: stale versions must never come back.
    #[test]
    fn stale_versions_never_come_back(ops in proptest::collection::vec(churn(), 1..120)) {
        run(3, &ops);
    }
}

/// A replica restarting under the same name while its old incarnation's
/// heartbeats are still in flight.
#[test]
fn a_restart_with_stale_messages_in_flight_converges() {
    let mut model = Model::new(3);
    let script = [
        Op::Track { node: 0, owner: 0, topic: 0, key: 0 },
        Op::Track { node: 1, owner: 0, topic: 0, key: 1 },
        Op::Tick,
        Op::DeliverAll,
        Op::Track { node: 0, owner: 1, topic: 1, key: 0 },
        Op::Tick,
        // Copies of n0#1's heartbeats stay in flight across its restart.
        Op::Duplicate { pick: 0 },
        Op::Duplicate { pick: 1 },
        Op::Restart { node: 0 },
        Op::Track { node: 0, owner: 0, topic: 0, key: 0 },
        Op::Tick,
        Op::DeliverAll,
    ];
    for op in &script {
        model.apply(op);
    }
    model.settle();
}

/// A partition long enough for both sides to permdown each other, then healed.
#[test]
fn a_partition_longer_than_the_permdown_period_heals() {
    let mut model = Model::new(2);
    model.apply(&Op::Track { node: 0, owner: 0, topic: 0, key: 0 });
    model.apply(&Op::Track { node: 1, owner: 0, topic: 0, key: 0 });
    model.apply(&Op::Tick);
    model.apply(&Op::DeliverAll);
    model.apply(&Op::Partition { a: 0, b: 1 });
    for _ in 0..20 {
        model.apply(&Op::Tick);
        model.apply(&Op::DeliverAll);
    }
    model.apply(&Op::Untrack { node: 1, owner: 0, topic: 0, key: 0 });
    model.apply(&Op::Update { node: 0, owner: 0, topic: 0, key: 0 });
    model.settle();
}
