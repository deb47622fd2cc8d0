//! One connection's multiplexing state (PROTOCOL.md §4.1–4.5), independent of
//! the transport: decodes client frames and routes them to channels.

use std::sync::Arc;

use embercast_protocol::{Broadcast, Frame, Message, Ref};
use tokio::task::JoinHandle;

use crate::context::ConnShared;
use crate::mailbox::Mailbox;
use crate::outbox::CloseReason;
use crate::pubsub::{FrameCache, Subscriber, SubscriberId, Subscription};
use crate::runtime::{ChannelMsg, JoinRequest, Link, Predecessor};
use crate::socket::SocketShared;
use crate::wire;

/// A joined (or joining) channel of this connection.
struct Entry {
    /// The join_ref of the `phx_join` that created it, as sent (may be null).
    join_ref: Option<Ref>,
    mailbox: Arc<Mailbox<ChannelMsg>>,
    task: JoinHandle<()>,
    link: Arc<Link>,
    /// A leave was forwarded; the instance is finishing on its own.
    leaving: bool,
}

impl Entry {
    /// Whether a message with this join_ref is meant for this instance: a null
    /// join_ref always is (V1 clients, LongPoll), a different one is stale.
    fn accepts(&self, join_ref: &Option<Ref>) -> bool {
        join_ref.is_none() || *join_ref == self.join_ref
    }

    fn is_live(&self) -> bool {
        !self.leaving && !self.mailbox.is_closed()
    }
}

/// The connection's channels by topic: a short list (at most
/// `max_channels`, usually one or two), so a scan beats a hash map in both
/// time and memory.
#[derive(Default)]
struct Channels(Vec<(Box<str>, Entry)>);

impl Channels {
    fn position(&self, topic: &str) -> Option<usize> {
        self.0.iter().position(|(t, _)| &**t == topic)
    }

    fn get(&self, topic: &str) -> Option<&Entry> {
        self.position(topic).map(|i| &self.0[i].1)
    }

    fn get_mut(&mut self, topic: &str) -> Option<&mut Entry> {
        self.position(topic).map(|i| &mut self.0[i].1)
    }

    fn remove(&mut self, topic: &str) -> Option<Entry> {
        self.position(topic).map(|i| self.0.swap_remove(i).1)
    }

    fn insert(&mut self, topic: Box<str>, entry: Entry) {
        self.remove(&topic);
        self.0.push((topic, entry));
    }
}

pub(crate) struct Session {
    socket: Arc<SocketShared>,
    conn: Arc<ConnShared>,
    channels: Channels,
    /// Frames that did not decode and joins to unrouted topics, to log the first only.
    undecodable: u32,
    unrouted: u32,
    _id_subscription: Option<Subscription>,
}

impl Session {
    pub(crate) fn new(socket: Arc<SocketShared>, conn: Arc<ConnShared>) -> Self {
        let id_subscription = conn.socket_id.as_deref().map(|id| {
            let sub = Arc::new(DisconnectSubscriber(Arc::downgrade(&conn.outbox)));
            conn.pubsub.subscribe(id, sub)
        });
        Session {
            socket,
            conn,
            channels: Channels::default(),
            undecodable: 0,
            unrouted: 0,
            _id_subscription: id_subscription,
        }
    }

    /// Whether the transport should stop reading until channels catch up
    /// (see [`crate::budget`]).
    pub(crate) fn reading_paused(&self) -> bool {
        self.conn.inbound.exhausted()
    }

    /// Waits until reading may resume.
    pub(crate) fn reading_resumed(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let budget = self.conn.inbound.clone();
        async move { budget.recovered().await }
    }

    /// Handles one frame from the client. A frame that does not decode is
    /// dropped and logged; the connection carries on (Phoenix would crash it).
    pub(crate) fn handle_frame(&mut self, frame: Frame<'_>) {
        let size = match frame {
            Frame::Text(b) | Frame::Binary(b) => b.len(),
        };
        match self.conn.outbox.serializer().decode_client(frame) {
            Ok(msg) => self.handle_message(msg, size),
            Err(e) => {
                // Logged once per connection: a client must not turn its garbage into our log volume.
                self.undecodable += 1;
                if self.undecodable == 1 {
                    tracing::warn!(error = %e, "dropping a frame that does not decode (further ones are logged at debug)");
                } else {
                    tracing::debug!(error = %e, count = self.undecodable, "dropping a frame that does not decode");
                }
            }
        }
    }

    /// PROTOCOL.md §4.2, rule by rule. `size` is the frame's length, charged
    /// to the input budget while the message waits for its channel.
    pub(crate) fn handle_message(&mut self, msg: Message, size: usize) {
        if msg.is_heartbeat() {
            self.conn.outbox.push_reply(&wire::heartbeat_reply(msg.r#ref));
            return;
        }
        if msg.topic.len() > self.socket.config.max_topic_len {
            // Topics are kept per channel and in the PubSub table: bound them.
            tracing::debug!(len = msg.topic.len(), "refusing a message whose topic is too long");
            self.conn.outbox.push_reply(&wire::topic_too_long(msg.r#ref, &msg.topic));
            return;
        }
        if self.channels.get(msg.topic.as_str()).is_some_and(|e| e.mailbox.is_closed()) {
            self.channels.remove(msg.topic.as_str());
        }
        let outbox = &self.conn.outbox;
        match self.channels.get_mut(msg.topic.as_str()) {
            None if msg.is_join() => self.join(msg, None, None),
            None if msg.is_leave() => {
                outbox.push_reply(&wire::leave_unjoined(msg.join_ref, msg.r#ref, &msg.topic));
            }
            None => {
                outbox.push_reply(&wire::unmatched_topic(msg.r#ref, &msg.topic));
            }
            Some(_) if msg.is_join() => {
                let old = self.channels.remove(msg.topic.as_str()).expect("entry exists");
                old.link.mute();
                if old.leaving {
                    // It answers the leave and sends its own phx_close; the new
                    // instance starts once it has (terminate included).
                    self.join(msg, None, Some(Predecessor { task: old.task, abort_after_timeout: false }));
                } else {
                    tracing::info!(topic = %msg.topic, "duplicate join; closing the existing channel");
                    // It first answers what was queued before this join (its own
                    // join reply included), then stops; this join's reply is
                    // followed by the old instance's phx_close (PROTOCOL.md §4.4).
                    let _ = old.mailbox.push(ChannelMsg::Replaced);
                    let close = wire::phx_close(old.join_ref, &msg.topic);
                    self.join(msg, Some(close), Some(Predecessor { task: old.task, abort_after_timeout: true }));
                }
            }
            Some(entry) if !entry.accepts(&msg.join_ref) => {
                tracing::debug!(topic = %msg.topic, event = %msg.event, "dropping a message for a previous join");
            }
            Some(entry) => {
                let leave = msg.is_leave();
                let ticket = self.conn.inbound.charge(crate::budget::weight(size));
                match entry.mailbox.push(ChannelMsg::In(msg, ticket)) {
                    Ok(_) if leave => {
                        entry.leaving = true;
                        entry.link.mute();
                    }
                    Ok(_) => {}
                    Err(ChannelMsg::In(msg, _)) => {
                        // The instance ended between the check above and now.
                        self.channels.remove(msg.topic.as_str());
                        self.handle_message(msg, size);
                    }
                    Err(_) => unreachable!("push returns the message it was given"),
                }
            }
        }
    }

    fn join(&mut self, msg: Message, after_reply: Option<Message>, predecessor: Option<Predecessor>) {
        let Some(factory) = self.socket.router.route(&msg.topic).cloned() else {
            self.unrouted += 1;
            if self.unrouted == 1 {
                tracing::warn!(topic = %msg.topic, "join to a topic no channel is routed for (further ones are logged at debug)");
            } else {
                tracing::debug!(topic = %msg.topic, "join to a topic no channel is routed for");
            }
            self.conn.outbox.push_reply(&wire::unmatched_topic(msg.r#ref, &msg.topic));
            if let Some(close) = after_reply {
                let _ = self.conn.outbox.push_message(&close);
            }
            return;
        };
        self.channels.0.retain(|(_, e)| !e.mailbox.is_closed());
        let live = self.channels.0.iter().filter(|(_, e)| e.is_live()).count();
        if live >= self.socket.config.max_channels {
            tracing::warn!(topic = %msg.topic, max = self.socket.config.max_channels, "join refused: too many channels");
            self.conn.outbox.push_reply(&wire::too_many_channels(msg.join_ref.clone(), msg.r#ref, &msg.topic));
            if let Some(close) = after_reply {
                let _ = self.conn.outbox.push_message(&close);
            }
            return;
        }
        let mailbox = Arc::new(Mailbox::new());
        let link = Arc::new(Link::default());
        let topic: Box<str> = msg.topic.as_str().into();
        let join_ref = msg.join_ref.clone();
        let task = factory.spawn(JoinRequest {
            join: msg,
            after_reply,
            conn: self.conn.clone(),
            mailbox: mailbox.clone(),
            id: SubscriberId::next(),
            link: link.clone(),
            predecessor,
        });
        self.channels.insert(topic, Entry { join_ref, mailbox, task, link, leaving: false });
    }

    /// The connection is gone: every channel runs `terminate` and ends.
    pub(crate) fn close(&mut self) {
        for (_, entry) in self.channels.0.drain(..) {
            let _ = entry.mailbox.push(ChannelMsg::Shutdown);
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.close();
    }
}

/// Closes the connection when `disconnect` is broadcast on its socket id.
struct DisconnectSubscriber(std::sync::Weak<crate::outbox::Outbox>);

impl Subscriber for DisconnectSubscriber {
    fn deliver(&self, broadcast: &Broadcast, _: &mut FrameCache<'_>) {
        if broadcast.event == "disconnect" {
            if let Some(outbox) = self.0.upgrade() {
                outbox.close(CloseReason::Disconnect);
            }
        }
    }
}
