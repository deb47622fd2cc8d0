//! What the socket's task keeps per channel: state, join generation, pushes
//! waiting for the join or for their replies, and subscribers.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use embercast_protocol::{Payload, Ref};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::channel::{ChannelState, Event};
use crate::command::{EventTx, ReplyTx};
use crate::error::ChannelError;

/// A push waiting for the channel to be joined; its timeout already runs.
pub(super) struct Buffered {
    pub(super) event: String,
    pub(super) payload: Payload,
    pub(super) deadline: Instant,
    pub(super) reply: ReplyTx,
}

/// A sent message waiting for its reply.
pub(super) struct InFlight {
    pub(super) r#ref: u64,
    pub(super) deadline: Instant,
    pub(super) reply: ReplyTx,
}

struct Subscriber {
    /// `None` receives every event.
    event: Option<Box<str>>,
    tx: EventTx,
}

pub(super) struct Chan {
    pub(super) id: u64,
    pub(super) topic: Arc<str>,
    pub(super) params: Payload,
    state: ChannelState,
    state_tx: watch::Sender<ChannelState>,
    /// The ref of the last join sent: the join generation whose messages we accept.
    pub(super) join_ref: Option<u64>,
    /// `join` was called (a channel never joined is not rejoined).
    pub(super) join_requested: bool,
    /// The caller of `join`, answered by the first join reply.
    pub(super) join_waiter: Option<ReplyTx>,
    pub(super) join_timeout: Duration,
    /// The sent join is unanswered; it times out then.
    pub(super) join_deadline: Option<Instant>,
    pub(super) rejoin_tries: u32,
    pub(super) rejoin_at: Option<Instant>,
    pub(super) buffer: VecDeque<Buffered>,
    pub(super) inflight: Vec<InFlight>,
    pub(super) leave: Option<InFlight>,
    subscribers: Vec<Subscriber>,
}

impl Chan {
    pub(super) fn new(id: u64, topic: Arc<str>, params: Payload, state_tx: watch::Sender<ChannelState>) -> Self {
        Chan {
            id,
            topic,
            params,
            state: ChannelState::Closed,
            state_tx,
            join_ref: None,
            join_requested: false,
            join_waiter: None,
            join_timeout: Duration::ZERO,
            join_deadline: None,
            rejoin_tries: 0,
            rejoin_at: None,
            buffer: VecDeque::new(),
            inflight: Vec::new(),
            leave: None,
            subscribers: Vec::new(),
        }
    }

    pub(super) fn state(&self) -> ChannelState {
        self.state
    }

    pub(super) fn set_state(&mut self, state: ChannelState) {
        if self.state != state {
            self.state = state;
            self.state_tx.send_replace(state);
        }
    }

    /// phoenix.js's `isMember`: a message carrying a join_ref belongs only to
    /// that join generation; one without (a broadcast) belongs to every one.
    pub(super) fn is_member(&self, join_ref: Option<&Ref>) -> bool {
        match join_ref {
            None => true,
            Some(Ref::String(s)) if s.is_empty() => true,
            Some(r) => self.join_ref.is_some() && ref_number(r) == self.join_ref,
        }
    }

    pub(super) fn subscribe(&mut self, event: Option<Box<str>>, tx: EventTx) {
        self.subscribers.push(Subscriber { event, tx });
    }

    /// Hands an event to every subscriber of its name; forgets subscribers
    /// whose stream was dropped.
    pub(super) fn deliver(&mut self, event: &str, payload: Payload) {
        let wanted = |s: &Subscriber| s.event.as_deref().is_none_or(|e| e == event);
        let Some(last) = self.subscribers.iter().rposition(wanted) else {
            return;
        };
        let join_ref = self.join_ref.map(ref_string);
        let make = |payload| Box::new(Event { event: event.to_owned(), payload, join_ref: join_ref.clone() });
        // Clone the payload for all but the last subscriber; it usually has one.
        let mut gone = false;
        for sub in self.subscribers[..last].iter().filter(|s| wanted(s)) {
            gone |= sub.tx.send(make(payload.clone())).is_err();
        }
        gone |= self.subscribers[last].tx.send(make(payload)).is_err();
        if gone {
            self.subscribers.retain(|s| !s.tx.is_closed());
        }
    }

    /// The pending reply for `r`, if this channel sent it.
    pub(super) fn take_inflight(&mut self, r: u64) -> Option<InFlight> {
        let i = self.inflight.iter().position(|p| p.r#ref == r)?;
        Some(self.inflight.swap_remove(i))
    }

    /// Answers every waiter with `Closed` (the leave with `Ok`) and ends the streams.
    pub(super) fn close(mut self) {
        self.set_state(ChannelState::Closed);
        if let Some(w) = self.join_waiter.take() {
            let _ = w.send(Err(ChannelError::Closed));
        }
        for p in self.buffer.drain(..) {
            let _ = p.reply.send(Err(ChannelError::Closed));
        }
        for p in self.inflight.drain(..) {
            let _ = p.reply.send(Err(ChannelError::Closed));
        }
        if let Some(leave) = self.leave.take() {
            let _ = leave.reply.send(Ok(Payload::empty()));
        }
    }

    /// Answers with `Timeout` every push whose deadline passed.
    pub(super) fn expire_pushes(&mut self, now: Instant) {
        let expired = |deadline: Instant| deadline <= now;
        for p in extract(&mut self.buffer, |p| expired(p.deadline)) {
            let _ = p.reply.send(Err(ChannelError::Timeout));
        }
        let mut i = 0;
        while i < self.inflight.len() {
            if expired(self.inflight[i].deadline) {
                let _ = self.inflight.swap_remove(i).reply.send(Err(ChannelError::Timeout));
            } else {
                i += 1;
            }
        }
    }

    /// The earliest time something of this channel times out.
    pub(super) fn next_deadline(&self) -> Option<Instant> {
        let pushes = self.buffer.iter().map(|p| p.deadline).chain(self.inflight.iter().map(|p| p.deadline));
        [self.join_deadline, self.rejoin_at, self.leave.as_ref().map(|l| l.deadline)]
            .into_iter()
            .flatten()
            .chain(pushes)
            .min()
    }
}

/// Removes and returns the elements matching `pred`, keeping the others in order.
fn extract<T>(queue: &mut VecDeque<T>, pred: impl Fn(&T) -> bool) -> Vec<T> {
    if !queue.iter().any(&pred) {
        return Vec::new();
    }
    let mut out = Vec::new();
    for x in std::mem::take(queue) {
        if pred(&x) {
            out.push(x);
        } else {
            queue.push_back(x);
        }
    }
    out
}

/// Our refs are decimal strings of a counter, like phoenix.js's.
pub(super) fn ref_string(n: u64) -> Ref {
    Ref::String(n.to_string())
}

/// The counter value of a ref we sent; `None` for anything else.
pub(super) fn ref_number(r: &Ref) -> Option<u64> {
    match r {
        Ref::String(s) => s.parse().ok(),
        Ref::Number(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use tokio::sync::mpsc;

    fn chan() -> Chan {
        Chan::new(1, "room:1".into(), Payload::empty(), watch::channel(ChannelState::Closed).0)
    }

    #[test]
    fn membership_follows_the_join_generation() {
        let mut c = chan();
        assert!(c.is_member(None));
        assert!(!c.is_member(Some(&Ref::from("3"))), "no join sent yet");
        c.join_ref = Some(3);
        assert!(c.is_member(Some(&Ref::from("3"))));
        assert!(c.is_member(Some(&Ref::from(""))));
        assert!(!c.is_member(Some(&Ref::from("2"))));
        assert!(!c.is_member(Some(&Ref::from(3u64))), "a number is not our string ref");
    }

    #[test]
    fn events_reach_matching_subscribers_and_dropped_ones_are_forgotten() {
        let mut c = chan();
        c.join_ref = Some(5);
        let (all_tx, mut all) = mpsc::unbounded_channel();
        let (msg_tx, mut msgs) = mpsc::unbounded_channel();
        let (gone_tx, gone) = mpsc::unbounded_channel();
        c.subscribe(None, all_tx);
        c.subscribe(Some("msg".into()), msg_tx);
        c.subscribe(Some("msg".into()), gone_tx);
        drop(gone);
        c.deliver("msg", Payload::Json(json!({"n": 1})));
        c.deliver("other", Payload::empty());
        assert_eq!(c.subscribers.len(), 2);
        let first = msgs.try_recv().unwrap();
        assert_eq!((first.event.as_str(), first.join_ref), ("msg", Some(Ref::from("5"))));
        assert!(msgs.try_recv().is_err());
        assert_eq!(all.try_recv().unwrap().event, "msg");
        assert_eq!(all.try_recv().unwrap().event, "other");
    }

    #[test]
    fn expired_pushes_time_out_in_place() {
        let mut c = chan();
        let now = Instant::now();
        let mut rxs = Vec::new();
        for (i, secs) in [5u64, 0, 7].into_iter().enumerate() {
            let (reply, rx) = tokio::sync::oneshot::channel();
            let deadline = now + Duration::from_secs(secs);
            c.buffer.push_back(Buffered { event: format!("e{i}"), payload: Payload::empty(), deadline, reply });
            rxs.push(rx);
        }
        assert_eq!(c.next_deadline(), Some(now));
        c.expire_pushes(now);
        let left: Vec<_> = c.buffer.iter().map(|p| p.event.as_str()).collect();
        assert_eq!(left, ["e0", "e2"]);
        assert_eq!(rxs[1].try_recv().unwrap(), Err(ChannelError::Timeout));
        assert!(rxs[0].try_recv().is_err());
    }
}
