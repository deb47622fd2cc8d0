//! What the task does with frames from the server: heartbeat replies, join
//! and push replies, `phx_error`, `phx_close` and events (PROTOCOL.md §6.7).

use embercast_protocol::{event, Frame, Message, Payload, Ref, Reply, ServerMessage};
use embercast_ws::Message as WsMessage;
use tokio::time::Instant;

use super::chan::ref_number;
use super::{Driver, Heartbeat};
use crate::channel::ChannelState;
use crate::error::ChannelError;

impl Driver {
    pub(super) fn handle_inbox(&mut self) {
        let mut inbox = std::mem::take(&mut self.inbox);
        for frame in inbox.drain(..) {
            let decoded = match &frame {
                WsMessage::Text(t) => self.options.serializer.decode_server(Frame::Text(t)),
                WsMessage::Binary(b) => self.options.serializer.decode_server(Frame::Binary(b)),
                _ => continue,
            };
            match decoded {
                Ok(ServerMessage::Reply(reply)) => self.on_reply(reply),
                Ok(ServerMessage::Message(msg)) => self.on_message(msg),
                Err(e) => tracing::debug!(error = %e, "undecodable frame from the server ignored"),
            }
        }
        // Keep a small allocation for the next read, not the largest burst's.
        if inbox.capacity() > 64 {
            inbox = Vec::new();
        }
        self.inbox = inbox;
    }

    /// Any message carrying the pending heartbeat's ref answers it.
    fn check_heartbeat(&mut self, r: Option<&Ref>) {
        if let Heartbeat::Pending { r#ref, .. } = self.heartbeat {
            if r.and_then(ref_number) == Some(r#ref) {
                let every = self.options.heartbeat_interval.unwrap_or_default();
                self.heartbeat = Heartbeat::Idle(Instant::now() + every);
            }
        }
    }

    /// Indices of the channel objects a message on `topic` with `join_ref` is for.
    fn members(&self, topic: &str, join_ref: Option<&Ref>) -> Vec<usize> {
        (0..self.channels.len())
            .filter(|&i| &*self.channels[i].topic == topic && self.channels[i].is_member(join_ref))
            .collect()
    }

    fn on_reply(&mut self, reply: Reply) {
        self.check_heartbeat(reply.r#ref.as_ref());
        let Some(r) = reply.r#ref.as_ref().and_then(ref_number) else { return };
        for i in self.members(&reply.topic, reply.join_ref.as_ref()) {
            let c = &mut self.channels[i];
            if c.state() == ChannelState::Joining && c.join_ref == Some(r) && c.join_deadline.is_some() {
                return self.on_join_reply(i, &reply.status, reply.payload);
            }
            if c.leave.as_ref().is_some_and(|l| l.r#ref == r) {
                let leave = c.leave.take().expect("checked");
                let _ = leave.reply.send(ChannelError::from_status(&reply.status, reply.payload));
                self.channels.remove(i).close();
                return;
            }
            if let Some(push) = c.take_inflight(r) {
                let _ = push.reply.send(ChannelError::from_status(&reply.status, reply.payload));
                return;
            }
        }
    }

    fn on_join_reply(&mut self, i: usize, status: &str, response: Payload) {
        let c = &mut self.channels[i];
        c.join_deadline = None;
        let result = ChannelError::from_status(status, response);
        let ok = result.is_ok();
        if ok {
            c.set_state(ChannelState::Joined);
            c.rejoin_tries = 0;
        } else {
            c.set_state(ChannelState::Errored);
        }
        if let Some(w) = c.join_waiter.take() {
            let _ = w.send(result);
        }
        if ok {
            self.flush_buffer(i);
        } else {
            self.schedule_rejoin(i);
        }
    }

    fn on_message(&mut self, msg: Message) {
        self.check_heartbeat(msg.r#ref.as_ref());
        let members = self.members(&msg.topic, msg.join_ref.as_ref());
        let Some((&last, others)) = members.split_last() else { return };
        for &i in others {
            self.channel_message(i, &msg.event, msg.payload.clone());
        }
        self.channel_message(last, &msg.event, msg.payload);
        if msg.event == event::CLOSE {
            // Final: no rejoin; the streams end once the event is read.
            for i in members.into_iter().rev() {
                self.channels.remove(i).close();
            }
        }
    }

    /// One channel object's share of a message.
    fn channel_message(&mut self, i: usize, name: &str, payload: Payload) {
        let c = &mut self.channels[i];
        match name {
            event::ERROR if matches!(c.state(), ChannelState::Joined | ChannelState::Joining) => {
                c.deliver(name, payload);
                c.join_deadline = None;
                c.set_state(ChannelState::Errored);
                self.schedule_rejoin(i);
            }
            // A leaving or never-joined channel has nothing to rejoin.
            event::ERROR => {}
            _ => c.deliver(name, payload),
        }
    }
}
