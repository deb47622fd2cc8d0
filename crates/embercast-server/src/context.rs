//! [`ChannelSocket`]: what a channel callback can see and do (Phoenix's `socket`).

use std::any::Any;
use std::sync::{Arc, Weak};

use embercast_protocol::{Broadcast, JsonObjectText, Message, Payload, Ref, Reply as WireReply};

use crate::assigns::Assigns;
use crate::channel::{Info, Reply};
use crate::mailbox::Mailbox;
use crate::outbox::{Outbox, PushError};
use crate::pubsub::{FrameCache, PubSub, PubSubError, Subscriber, SubscriberId, Subscription};
use crate::runtime::ChannelMsg;

/// Actions taken during `join`, replayed once the join reply is written.
enum Deferred {
    Push(Message),
    Broadcast(Broadcast, bool),
    Call(Box<dyn FnOnce(&mut ChannelSocket) + Send>),
}

/// The channel's view of its connection: topic, refs, assigns, and the ways
/// to push, broadcast and reply.
pub struct ChannelSocket {
    pub(crate) topic: Arc<str>,
    pub(crate) join_ref: Option<Ref>,
    pub(crate) current_ref: Option<Ref>,
    pub(crate) id: SubscriberId,
    pub(crate) joined: bool,
    pub(crate) conn: Arc<ConnShared>,
    pub(crate) mailbox: Arc<Mailbox<ChannelMsg>>,
    deferred: Vec<Deferred>,
    subscriptions: Vec<Subscription>,
    /// This instance's own assigns, dropped when it ends.
    assigns: Assigns,
    /// Set by [`ChannelSocket::hold_broadcasts`]: these events are kept back
    /// after the join reply until the hold is released.
    pub(crate) hold: Option<(BroadcastHold, Box<[Box<str>]>)>,
}

/// What every channel of one connection shares.
pub(crate) struct ConnShared {
    pub(crate) outbox: Arc<Outbox>,
    /// Client messages read but not yet taken by their channels.
    pub(crate) inbound: Arc<crate::budget::Budget>,
    pub(crate) pubsub: PubSub,
    pub(crate) assigns: Assigns,
    pub(crate) endpoint_assigns: Arc<Assigns>,
    pub(crate) socket_id: Option<String>,
}

impl std::fmt::Debug for ChannelSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChannelSocket").field("topic", &self.topic).field("join_ref", &self.join_ref).finish()
    }
}

impl ChannelSocket {
    pub(crate) fn new(
        topic: Arc<str>,
        join_ref: Option<Ref>,
        id: SubscriberId,
        conn: Arc<ConnShared>,
        mailbox: Arc<Mailbox<ChannelMsg>>,
    ) -> Self {
        ChannelSocket {
            topic,
            join_ref,
            current_ref: None,
            id,
            joined: false,
            conn,
            mailbox,
            deferred: Vec::new(),
            subscriptions: Vec::new(),
            assigns: Assigns::new(),
            hold: None,
        }
    }

    /// The channel's topic.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The ref of the join that created this channel instance (the join's
    /// `join_ref`, or its `ref` when that was null).
    pub fn join_ref(&self) -> Option<&Ref> {
        self.join_ref.as_ref()
    }

    /// The connection's assigns, set by `connect`.
    pub fn assigns(&self) -> &Assigns {
        &self.conn.assigns
    }

    /// A value of type `T` from this channel's own assigns, or else from the
    /// connection's, or else from those set on the [`Socket`](crate::Socket) builder.
    pub fn get<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.assigns
            .get::<T>()
            .or_else(|| self.conn.assigns.get::<T>())
            .or_else(|| self.conn.endpoint_assigns.get::<T>())
    }

    /// Stores `value` in this channel instance's own assigns (Phoenix's
    /// `assign(socket, …)` in a channel), replacing any value of the same type.
    ///
    /// The value lives exactly as long as this instance: it is dropped when
    /// the channel ends for any reason (leave, stop, crash, connection closed,
    /// replaced by a new join), after `terminate`. A value whose `Drop` cleans
    /// up (e.g. a presence owner) is thereby linked to the channel.
    pub fn assign<T: Send + Sync + 'static>(&mut self, value: T) {
        self.assigns.insert(value);
    }

    /// Whether the join has been answered: during `join` this is `false`, and
    /// pushes and broadcasts are held until the join reply is written.
    pub fn is_joined(&self) -> bool {
        self.joined
    }

    /// During `join`: keeps the topic's broadcasts of `events` to this
    /// client back after the join reply, until the returned hold is released
    /// or dropped; then they follow, in order, whatever was pushed meanwhile.
    /// Other events are not delayed. `None` outside `join` or if a hold was
    /// already taken.
    ///
    /// For a snapshot that must reach the client before any change to it
    /// (Presence's `presence_state` before any `presence_diff`): push the
    /// snapshot, then release.
    pub fn hold_broadcasts(&mut self, events: &[&str]) -> Option<BroadcastHold> {
        if self.joined || self.hold.is_some() {
            return None;
        }
        let hold = Arc::new(HoldState::default());
        let events = events.iter().map(|e| Box::from(*e)).collect();
        self.hold = Some((BroadcastHold(hold.clone()), events));
        Some(BroadcastHold(hold))
    }

    /// Runs `f` once the join reply is queued and the channel is subscribed to
    /// its topic, or at once if that has already happened.
    ///
    /// Anything computed in `f` sees every broadcast published after it, which
    /// is what a snapshot pushed to the client (a `presence_state`) needs: a
    /// snapshot taken inside `join` could miss a change published before the
    /// subscription. Nothing runs if the join is refused.
    pub fn after_join(&mut self, f: impl FnOnce(&mut ChannelSocket) + Send + 'static) {
        if self.joined {
            f(self);
        } else {
            self.deferred.push(Deferred::Call(Box::new(f)));
        }
    }

    /// The connection's socket id, if `connect` set one.
    pub fn socket_id(&self) -> Option<&str> {
        self.conn.socket_id.as_deref()
    }

    /// The PubSub this socket publishes to.
    pub fn pubsub(&self) -> &PubSub {
        &self.conn.pubsub
    }

    /// Pushes an event to this client only: `[join_ref, null, topic, event, payload]`.
    ///
    /// V2 needs a JSON object or bytes; V1 any JSON value.
    pub fn push(&mut self, event: &str, payload: impl Into<Payload>) -> Result<(), PushError> {
        let msg = push_message(self.join_ref.clone(), &self.topic, event, payload.into());
        if !self.joined {
            // Validate now so the error reaches the caller, send after the join reply.
            self.conn.outbox.encode_push(&msg)?;
            self.deferred.push(Deferred::Push(msg));
            return Ok(());
        }
        self.conn.outbox.push_message(&msg)
    }

    /// Broadcasts to every subscriber of this topic on every node, this client included.
    pub fn broadcast(&mut self, event: &str, payload: impl Into<Payload>) -> Result<(), PubSubError> {
        self.send_broadcast(event, payload.into(), false)
    }

    /// Broadcasts to every subscriber of this topic except this channel's client.
    pub fn broadcast_from(&mut self, event: &str, payload: impl Into<Payload>) -> Result<(), PubSubError> {
        self.send_broadcast(event, payload.into(), true)
    }

    fn send_broadcast(&mut self, event: &str, payload: Payload, exclude_self: bool) -> Result<(), PubSubError> {
        let b = Broadcast { topic: self.topic.to_string(), event: event.to_owned(), payload };
        if !self.joined {
            crate::pubsub::check_payload(&b)?;
            self.deferred.push(Deferred::Broadcast(b, exclude_self));
            return Ok(());
        }
        self.publish(b, exclude_self)
    }

    fn publish(&self, b: Broadcast, exclude_self: bool) -> Result<(), PubSubError> {
        if exclude_self {
            self.conn.pubsub.broadcast_from(self.id, b)
        } else {
            self.conn.pubsub.send_broadcast(b)
        }
    }

    /// A handle to answer the push being handled later, from any task (Phoenix's
    /// `socket_ref` + `reply/2`). `None` outside `handle_in` or when the push had no ref.
    pub fn reply_handle(&self) -> Option<ReplyHandle> {
        let r#ref = self.current_ref.clone()?;
        Some(ReplyHandle {
            outbox: Arc::downgrade(&self.conn.outbox),
            join_ref: self.join_ref.clone(),
            r#ref,
            topic: self.topic.clone(),
        })
    }

    /// A handle that pushes to this channel's client from any task, with this
    /// instance's join_ref. Unlike [`push`](Self::push) it is not held back
    /// during `join`: take it in [`after_join`](Self::after_join) or later,
    /// so that nothing it pushes precedes the join reply.
    pub fn push_handle(&self) -> PushHandle {
        PushHandle {
            outbox: Arc::downgrade(&self.conn.outbox),
            join_ref: self.join_ref.clone(),
            topic: self.topic.clone(),
        }
    }

    /// Subscribes this channel to another topic; its broadcasts arrive in
    /// [`Channel::handle_info`](crate::Channel::handle_info) as [`Info::Broadcast`].
    pub fn subscribe(&mut self, topic: &str) {
        let sub = Arc::new(InfoSubscriber(Arc::downgrade(&self.mailbox)));
        self.subscriptions.push(self.conn.pubsub.subscribe(topic, sub));
    }

    /// Sends a message to this channel's own `handle_info`, after the current callback.
    pub fn send_self<T: Any + Send>(&self, msg: T) {
        let _ = self.mailbox.push(ChannelMsg::Info(Info::Message(Box::new(msg))));
    }

    /// A handle other tasks can use to send this channel messages.
    pub fn handle(&self) -> ChannelHandle {
        ChannelHandle { mailbox: Arc::downgrade(&self.mailbox) }
    }

    /// Marks the channel joined and replays what `join` pushed, broadcast or
    /// deferred with [`after_join`](Self::after_join). `Err` carries the
    /// message of a deferred call that panicked; what followed it is dropped.
    pub(crate) fn finish_join(&mut self) -> Result<(), String> {
        self.joined = true;
        for d in std::mem::take(&mut self.deferred) {
            match d {
                Deferred::Push(m) => {
                    let _ = self.conn.outbox.push_message(&m);
                }
                Deferred::Broadcast(b, exclude_self) => {
                    if let Err(e) = self.publish(b, exclude_self) {
                        tracing::warn!(topic = %self.topic, error = %e, "broadcast from join failed");
                    }
                }
                Deferred::Call(f) => {
                    let call = std::panic::AssertUnwindSafe(|| f(self));
                    std::panic::catch_unwind(call).map_err(crate::runtime::panic_message)?;
                }
            }
        }
        Ok(())
    }

    /// Writes a reply to the message with `r#ref` (channel join_ref, given status).
    /// A response this connection cannot carry becomes an error reply.
    pub(crate) fn write_reply(&self, r#ref: Option<Ref>, reply: Reply) {
        let wire = WireReply {
            join_ref: self.join_ref.clone(),
            r#ref,
            topic: self.topic.to_string(),
            status: reply.status,
            payload: reply.response,
        };
        self.conn.outbox.push_reply(&wire);
    }
}

/// Answers one client push later, from any task.
#[derive(Debug, Clone)]
pub struct ReplyHandle {
    outbox: Weak<Outbox>,
    join_ref: Option<Ref>,
    r#ref: Ref,
    topic: Arc<str>,
}

impl ReplyHandle {
    /// Sends the reply; a no-op if the connection is gone.
    pub fn reply(&self, reply: Reply) {
        let Some(outbox) = self.outbox.upgrade() else { return };
        let wire = WireReply {
            join_ref: self.join_ref.clone(),
            r#ref: Some(self.r#ref.clone()),
            topic: self.topic.to_string(),
            status: reply.status,
            payload: reply.response,
        };
        outbox.push_reply(&wire);
    }
}

/// Keeps a channel's broadcasts back until released; see
/// [`ChannelSocket::hold_broadcasts`]. Dropping it releases.
#[derive(Debug)]
pub struct BroadcastHold(Arc<HoldState>);

/// Shared by the caller's hold and the runtime's copy: the broadcasts flow
/// again when the last of them is gone (the runtime drops its copy once the
/// channel's fastlane is attached, or when the join fails).
#[derive(Default)]
pub(crate) struct HoldState {
    fastlane: parking_lot::Mutex<Option<Weak<crate::runtime::Fastlane>>>,
}

impl std::fmt::Debug for HoldState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HoldState").field("attached", &self.fastlane.lock().is_some()).finish()
    }
}

impl BroadcastHold {
    /// Lets the held broadcasts and later ones through.
    pub fn release(self) {}

    /// Called by the runtime with the channel's fastlane after the join reply.
    pub(crate) fn attach(&self, fastlane: &Arc<crate::runtime::Fastlane>) {
        *self.0.fastlane.lock() = Some(Arc::downgrade(fastlane));
    }
}

impl Drop for HoldState {
    fn drop(&mut self) {
        if let Some(f) = self.fastlane.get_mut().take().and_then(|f| f.upgrade()) {
            f.release_gate();
        }
    }
}

/// Pushes to one channel's client from anywhere; a no-op once the
/// connection is gone. See [`ChannelSocket::push_handle`].
#[derive(Debug, Clone)]
pub struct PushHandle {
    outbox: Weak<Outbox>,
    join_ref: Option<Ref>,
    topic: Arc<str>,
}

impl PushHandle {
    /// Pushes `[join_ref, null, topic, event, payload]`, as [`ChannelSocket::push`] does.
    pub fn push(&self, event: &str, payload: impl Into<Payload>) -> Result<(), PushError> {
        let Some(outbox) = self.outbox.upgrade() else { return Ok(()) };
        outbox.push_message(&push_message(self.join_ref.clone(), &self.topic, event, payload.into()))
    }

    /// Pushes a JSON object serialized once for many clients: only the frame
    /// around it is written for this one.
    pub fn push_text(&self, event: &str, payload: &JsonObjectText) {
        let Some(outbox) = self.outbox.upgrade() else { return };
        let frame = outbox.serializer().encode_push_text(self.join_ref.as_ref(), &self.topic, event, payload);
        outbox.push_frame(frame);
    }
}

/// A server push to a channel's client: `[join_ref, null, topic, event, payload]`.
fn push_message(join_ref: Option<Ref>, topic: &str, event: &str, payload: Payload) -> Message {
    Message { join_ref, r#ref: None, topic: topic.to_owned(), event: event.to_owned(), payload }
}

/// Sends messages to a channel's `handle_info` from anywhere.
#[derive(Debug, Clone)]
pub struct ChannelHandle {
    mailbox: Weak<Mailbox<ChannelMsg>>,
}

impl ChannelHandle {
    /// Sends `msg`; returns `false` if the channel has ended.
    pub fn send<T: Any + Send>(&self, msg: T) -> bool {
        self.mailbox.upgrade().is_some_and(|m| m.push(ChannelMsg::Info(Info::Message(Box::new(msg)))).is_ok())
    }
}

/// Delivers broadcasts of an extra subscription to the channel's `handle_info`.
struct InfoSubscriber(Weak<Mailbox<ChannelMsg>>);

impl Subscriber for InfoSubscriber {
    fn deliver(&self, broadcast: &Broadcast, _: &mut FrameCache<'_>) {
        if let Some(m) = self.0.upgrade() {
            let _ = m.push(ChannelMsg::Info(Info::Broadcast(broadcast.clone())));
        }
    }
}
