//! A shared record of what the test channels and the connect callback did, so
//! a test can wait for a server-side event (a `terminate`, a `handle_out`, a
//! slow callback starting) instead of sleeping.

use std::sync::Arc;

use embercast_server::{ChannelHandle, ConnectInfo, ReplyHandle, Terminate};
use serde_json::Value;
use tokio::sync::{watch, Semaphore};

use super::DEADLINE;

/// One `terminate` call.
#[derive(Clone, Debug)]
pub struct Terminated {
    pub topic: String,
    /// The channel's own join_ref, as a JSON value (`null` if it had none).
    pub join_ref: Value,
    pub reason: Terminate,
}

/// One successful or attempted `join`.
#[derive(Clone, Debug)]
pub struct JoinSeen {
    pub topic: String,
    pub join_ref: Value,
    pub handle: ChannelHandle,
}

/// Everything recorded so far.
#[derive(Default)]
pub struct State {
    pub joins: Vec<JoinSeen>,
    pub terminated: Vec<Terminated>,
    /// `(ref of the push, handle)` for every `async` push.
    pub reply_handles: Vec<(Value, ReplyHandle)>,
    /// `(topic, n)` for every `seq` push, in the order the channels handled them.
    pub seq: Vec<(String, i64)>,
    /// `(topic, event)` for every `handle_out` call.
    pub handle_out: Vec<(String, String)>,
    /// `(event, bytes)` for every binary payload a test channel recorded.
    pub binaries: Vec<(String, Vec<u8>)>,
    /// How many slow callbacks have started waiting at the gate.
    pub at_gate: usize,
    pub connects: Vec<ConnectInfo>,
    /// `(topic, join_ref)` of every channel instance whose own assigns were dropped.
    pub dropped: Vec<(String, Value)>,
}

/// A cloneable handle on one server's [`State`], plus a gate slow callbacks wait at.
#[derive(Clone)]
pub struct Probe(Arc<Inner>);

struct Inner {
    state: watch::Sender<State>,
    gate: Semaphore,
}

impl Default for Probe {
    fn default() -> Self {
        Probe(Arc::new(Inner { state: watch::Sender::new(State::default()), gate: Semaphore::new(0) }))
    }
}

impl Probe {
    /// Records something and wakes every waiter.
    pub fn update(&self, f: impl FnOnce(&mut State)) {
        self.0.state.send_modify(f);
    }

    /// Reads the current state.
    pub fn read<T>(&self, f: impl FnOnce(&State) -> T) -> T {
        f(&self.0.state.borrow())
    }

    /// Waits (at most [`DEADLINE`]) until `f` returns `Some`, and returns it.
    pub async fn wait_for<T>(&self, what: &str, mut f: impl FnMut(&State) -> Option<T>) -> T {
        let mut rx = self.0.state.subscribe();
        let wait = async {
            loop {
                if let Some(t) = f(&rx.borrow_and_update()) {
                    return t;
                }
                rx.changed().await.expect("the probe outlives the test");
            }
        };
        tokio::time::timeout(DEADLINE, wait)
            .await
            .unwrap_or_else(|_| panic!("timed out after {DEADLINE:?} waiting for {what}"))
    }

    /// Waits for the `terminate` of the instance of `topic` with this join_ref.
    pub async fn terminated(&self, topic: &str, join_ref: Value) -> Terminate {
        self.wait_for(&format!("terminate of {topic} (join_ref {join_ref})"), |s| {
            s.terminated.iter().find(|t| t.topic == topic && t.join_ref == join_ref).map(|t| t.reason.clone())
        })
        .await
    }

    /// Waits until the assigns of the instance `(topic, join_ref)` are dropped.
    pub async fn dropped(&self, topic: &str, join_ref: Value) {
        let what = format!("the assigns of {topic} {join_ref} dropped");
        self.wait_for(&what, |s| s.dropped.iter().any(|(t, j)| t == topic && *j == join_ref).then_some(())).await
    }

    /// The terminate reasons recorded for `topic` so far.
    pub fn terminations(&self, topic: &str) -> Vec<Terminated> {
        self.read(|s| s.terminated.iter().filter(|t| t.topic == topic).cloned().collect())
    }

    /// Waits for the latest instance of `topic` to have joined and returns a handle to it.
    pub async fn handle(&self, topic: &str) -> ChannelHandle {
        self.wait_for(&format!("a join of {topic}"), |s| {
            s.joins.iter().rev().find(|j| j.topic == topic).map(|j| j.handle.clone())
        })
        .await
    }

    /// Waits until `n` slow callbacks in total have reached the gate.
    pub async fn at_gate(&self, n: usize) {
        self.wait_for(&format!("{n} callback(s) at the gate"), |s| (s.at_gate >= n).then_some(())).await
    }

    /// Called by a slow callback: waits until the test opens the gate once.
    pub async fn pass_gate(&self) {
        self.update(|s| s.at_gate += 1);
        self.0.gate.acquire().await.expect("the gate is never closed").forget();
    }

    /// Lets `n` slow callbacks through.
    pub fn open_gate(&self, n: usize) {
        self.0.gate.add_permits(n);
    }
}
