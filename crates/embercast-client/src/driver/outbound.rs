//! What the task sends: joins, pushes, leaves and heartbeats, and the
//! channel timers that decide when.

use embercast_protocol::{event, EncodeError, FrameKind, Message, Payload};
use embercast_ws::OpCode;
use tokio::time::Instant;

use super::chan::{ref_string, Buffered, InFlight};
use super::{Driver, Heartbeat};
use crate::channel::ChannelState;
use crate::command::ReplyTx;
use crate::error::ChannelError;

impl Driver {
    fn next_ref(&mut self) -> u64 {
        self.last_ref = self.last_ref.wrapping_add(1);
        self.last_ref
    }

    /// Encodes a message and queues it on the connection, if there is one.
    fn send(
        &mut self,
        join_ref: Option<u64>,
        r: u64,
        topic: &str,
        event: &str,
        payload: Payload,
    ) -> Result<(), EncodeError> {
        let msg = Message {
            join_ref: join_ref.map(ref_string),
            r#ref: Some(ref_string(r)),
            topic: topic.to_owned(),
            event: event.to_owned(),
            payload,
        };
        let frame = self.options.serializer.encode_client(&msg)?;
        if let Some(conn) = self.conn.as_mut() {
            let opcode = match frame.kind {
                FrameKind::Text => OpCode::Text,
                FrameKind::Binary => OpCode::Binary,
            };
            conn.queue_frame(opcode, &frame.data);
        }
        Ok(())
    }

    pub(super) fn send_heartbeat(&mut self, now: Instant) {
        let Some(every) = self.options.heartbeat_interval else {
            return;
        };
        let r = self.next_ref();
        let _ = self.send(None, r, event::HEARTBEAT_TOPIC, event::HEARTBEAT, Payload::empty());
        self.heartbeat = Heartbeat::Pending { r#ref: r, deadline: now + every };
    }

    pub(super) fn join(&mut self, id: u64, timeout: std::time::Duration, reply: ReplyTx) {
        let Some(i) = self.index(id) else {
            let _ = reply.send(Err(ChannelError::Closed));
            return;
        };
        let c = &mut self.channels[i];
        if c.join_requested {
            let _ = reply.send(Err(ChannelError::AlreadyJoined));
            return;
        }
        c.join_requested = true;
        c.join_waiter = Some(reply);
        c.join_timeout = timeout;
        self.rejoin(id);
    }

    /// Sends a join with a new join_ref (or marks the channel joining until
    /// the socket opens). Any other channel object on the topic that is joined
    /// or joining leaves first: the server holds one channel per topic.
    pub(super) fn rejoin(&mut self, id: u64) {
        let Some(i) = self.index(id) else { return };
        if self.channels[i].state() == ChannelState::Leaving || !self.channels[i].join_requested {
            return;
        }
        let topic = self.channels[i].topic.clone();
        let duplicates: Vec<u64> = self
            .channels
            .iter()
            .filter(|c| c.id != id && c.topic == topic)
            .filter(|c| matches!(c.state(), ChannelState::Joined | ChannelState::Joining))
            .map(|c| c.id)
            .collect();
        for dup in duplicates {
            self.leave_now(dup);
        }
        let Some(i) = self.index(id) else { return };
        self.channels[i].set_state(ChannelState::Joining);
        self.channels[i].rejoin_at = None;
        self.channels[i].join_deadline = None;
        if self.conn.is_none() {
            return;
        }
        let r = self.next_ref();
        let params = self.channels[i].params.clone();
        let sent = self.send(Some(r), r, &topic, event::JOIN, params);
        let c = &mut self.channels[i];
        c.join_ref = Some(r);
        match sent {
            Ok(()) => c.join_deadline = Some(Instant::now() + c.join_timeout),
            Err(e) => {
                // Retrying cannot help: these params never encode.
                c.set_state(ChannelState::Errored);
                if let Some(w) = c.join_waiter.take() {
                    let _ = w.send(Err(ChannelError::Encode(e)));
                }
            }
        }
    }

    /// On open: every channel waiting to (re)join does so now, its backoff reset.
    pub(super) fn rejoin_all(&mut self) {
        let waiting: Vec<u64> = self
            .channels
            .iter()
            .filter(|c| c.join_requested && matches!(c.state(), ChannelState::Joining | ChannelState::Errored))
            .map(|c| c.id)
            .collect();
        for id in waiting {
            if let Some(i) = self.index(id) {
                self.channels[i].rejoin_tries = 0;
                self.rejoin(id);
            }
        }
    }

    pub(super) fn schedule_rejoin(&mut self, i: usize) {
        if self.conn.is_none() {
            return; // rejoined when the socket opens
        }
        let sample = self.rng.next_f64();
        let c = &mut self.channels[i];
        c.rejoin_tries = c.rejoin_tries.saturating_add(1);
        c.rejoin_at = Some(Instant::now() + self.options.rejoin.delay(c.rejoin_tries, sample));
    }

    pub(super) fn push(
        &mut self,
        id: u64,
        event: String,
        payload: Payload,
        timeout: std::time::Duration,
        reply: ReplyTx,
    ) {
        let Some(i) = self.index(id) else {
            let _ = reply.send(Err(ChannelError::Closed));
            return;
        };
        let deadline = Instant::now() + timeout;
        if self.channels[i].state() == ChannelState::Joined && self.conn.is_some() {
            self.send_push(i, &event, payload, deadline, reply);
        } else {
            self.channels[i].buffer.push_back(Buffered { event, payload, deadline, reply });
        }
    }

    fn send_push(&mut self, i: usize, event: &str, payload: Payload, deadline: Instant, reply: ReplyTx) {
        let r = self.next_ref();
        let (join_ref, topic) = (self.channels[i].join_ref, self.channels[i].topic.clone());
        match self.send(join_ref, r, &topic, event, payload) {
            Ok(()) => self.channels[i].inflight.push(InFlight { r#ref: r, deadline, reply }),
            Err(e) => {
                let _ = reply.send(Err(ChannelError::Encode(e)));
            }
        }
    }

    /// Sends the pushes that waited for the join, in the order they were made.
    pub(super) fn flush_buffer(&mut self, i: usize) {
        let buffered = std::mem::take(&mut self.channels[i].buffer);
        for p in buffered {
            self.send_push(i, &p.event, p.payload, p.deadline, p.reply);
        }
    }

    pub(super) fn leave(&mut self, id: u64, timeout: std::time::Duration, reply: ReplyTx) {
        let Some(i) = self.index(id) else {
            let _ = reply.send(Ok(Payload::empty()));
            return;
        };
        let c = &self.channels[i];
        if !(c.state() == ChannelState::Joined && self.conn.is_some()) {
            self.leave_now(id);
            let _ = reply.send(Ok(Payload::empty()));
            return;
        }
        let (join_ref, topic) = (c.join_ref, c.topic.clone());
        let r = self.next_ref();
        let _ = self.send(join_ref, r, &topic, event::LEAVE, Payload::empty());
        let c = &mut self.channels[i];
        c.set_state(ChannelState::Leaving);
        c.rejoin_at = None;
        // Never sent now: they would carry a join_ref that is about to end.
        for p in c.buffer.drain(..) {
            let _ = p.reply.send(Err(ChannelError::Closed));
        }
        c.leave = Some(InFlight { r#ref: r, deadline: Instant::now() + timeout, reply });
    }

    /// Closes a channel without waiting for the server; a join in flight is
    /// followed by a leave, in case the server accepts it.
    pub(super) fn leave_now(&mut self, id: u64) {
        let Some(i) = self.index(id) else { return };
        let c = &self.channels[i];
        if matches!(c.state(), ChannelState::Joined | ChannelState::Joining) && c.join_ref.is_some() {
            let (join_ref, topic) = (c.join_ref, c.topic.clone());
            let r = self.next_ref();
            let _ = self.send(join_ref, r, &topic, event::LEAVE, Payload::empty());
        }
        self.channels.remove(i).close();
    }

    /// Fires a channel's due timers: push and leave timeouts, the join
    /// timeout (then a leave for that join, and a rejoin later), rejoins.
    pub(super) fn channel_timers(&mut self, id: u64, now: Instant) {
        let Some(i) = self.index(id) else { return };
        let c = &mut self.channels[i];
        c.expire_pushes(now);
        if c.leave.as_ref().is_some_and(|l| l.deadline <= now) {
            let leave = c.leave.take().expect("checked");
            let _ = leave.reply.send(Err(ChannelError::Timeout));
            self.channels.remove(i).close();
            return;
        }
        if c.join_deadline.is_some_and(|d| d <= now) {
            c.join_deadline = None;
            c.set_state(ChannelState::Errored);
            if let Some(w) = c.join_waiter.take() {
                let _ = w.send(Err(ChannelError::Timeout));
            }
            let (join_ref, topic) = (c.join_ref, c.topic.clone());
            let r = self.next_ref();
            let _ = self.send(join_ref, r, &topic, event::LEAVE, Payload::empty());
            self.schedule_rejoin(i);
        }
        let c = &mut self.channels[i];
        if c.rejoin_at.is_some_and(|d| d <= now) {
            c.rejoin_at = None;
            if self.conn.is_some() {
                self.rejoin(id);
            }
        }
    }
}
