//! The task that runs one channel instance: join, then its callbacks one at a
//! time, with panics contained to this channel.

use std::future::Future;
use std::marker::PhantomData;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Weak};

use embercast_protocol::{Broadcast, EncodedFrame, Message, Payload, Ref, Reply as WireReply};
use futures_util::FutureExt;
use tokio::task::JoinHandle;

use crate::budget::Ticket;
use crate::channel::{Channel, Info, InfoResult, Joined, Reply, Stop, StopReason, Terminate};
use crate::context::{ChannelSocket, ConnShared};
use crate::mailbox::Mailbox;
use crate::outbox::Outbox;
use crate::pubsub::{FrameCache, Subscriber, SubscriberId, Subscription};
use crate::wire;

/// What a channel's mailbox carries.
#[derive(Debug)]
pub(crate) enum ChannelMsg {
    /// A client message for this topic (`phx_leave` included), holding its
    /// share of the connection's input budget until it is dropped.
    In(Message, Ticket),
    /// A message for `handle_info`.
    Info(Info),
    /// An intercepted broadcast for `handle_out`.
    Out(Broadcast),
    /// The connection closed.
    Shutdown,
    /// A new join of the same topic replaces this instance: stop without
    /// `terminate` (as Phoenix kills it), after the messages queued before it.
    Replaced,
}

/// What the connection and a channel instance share about its delivery.
#[derive(Debug, Default)]
pub(crate) struct Link {
    /// Set when the client left or joined again: from then on the topic's
    /// broadcasts are not delivered to this instance, so a new instance of the
    /// same topic never overlaps with it (no broadcast twice).
    muted: AtomicBool,
}

impl Link {
    pub(crate) fn mute(&self) {
        self.muted.store(true, Ordering::Release);
    }

    fn is_muted(&self) -> bool {
        self.muted.load(Ordering::Acquire)
    }
}

/// The instance a duplicate join replaces; the new one starts after it ends.
pub(crate) struct Predecessor {
    pub(crate) task: JoinHandle<()>,
    /// Force it to end if it does not within [`REPLACE_TIMEOUT`] (it is replaced, not leaving).
    pub(crate) abort_after_timeout: bool,
}

/// How long a new join waits for the instance it replaces (Phoenix: 5 s).
const REPLACE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Everything a new channel instance starts from.
pub(crate) struct JoinRequest {
    pub(crate) join: Message,
    /// The old instance's `phx_close`, written after this join's reply (duplicate join).
    pub(crate) after_reply: Option<Message>,
    pub(crate) conn: Arc<ConnShared>,
    pub(crate) mailbox: Arc<Mailbox<ChannelMsg>>,
    pub(crate) id: SubscriberId,
    pub(crate) link: Arc<Link>,
    pub(crate) predecessor: Option<Predecessor>,
}

/// Starts channel instances of one type; the router holds one per route.
pub(crate) trait ChannelFactory: Send + Sync + 'static {
    fn spawn(&self, req: JoinRequest) -> JoinHandle<()>;
}

pub(crate) struct Factory<C>(PhantomData<fn() -> C>);

impl<C> Factory<C> {
    pub(crate) fn new() -> Self {
        Factory(PhantomData)
    }
}

impl<C: Channel> ChannelFactory for Factory<C> {
    fn spawn(&self, req: JoinRequest) -> JoinHandle<()> {
        tokio::spawn(run::<C>(req))
    }
}

/// Runs a callback future, turning a panic into `Err` with its message.
///
/// A plain function returning the wrapped future (not an `async fn`), so the
/// callback's future is stored once in the channel task, not twice.
fn guarded<F: Future>(fut: F) -> impl Future<Output = Result<F::Output, String>> {
    AssertUnwindSafe(fut).catch_unwind().map(|r| r.map_err(panic_message))
}

/// The message a panic carried.
pub(crate) fn panic_message(p: Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic".into())
}

/// Closes the mailbox when the task ends for any reason (including abort on a
/// duplicate join), so the connection stops routing to this instance.
struct Exit(Arc<Mailbox<ChannelMsg>>);

impl Drop for Exit {
    fn drop(&mut self) {
        self.0.close();
    }
}

async fn run<C: Channel>(req: JoinRequest) {
    let _exit = Exit(req.mailbox.clone());
    if let Some(live) = join::<C>(req).await {
        live.serve().await;
    }
}

/// A joined channel: its state, its socket and its topic subscription.
struct Live<C> {
    channel: C,
    socket: ChannelSocket,
    subscription: Subscription,
    /// The join_ref the join carried (may be null), echoed by phx_close / phx_error.
    stored_join_ref: Option<Ref>,
}

/// Runs `join` and answers it. `None` when the join was refused or crashed.
async fn join<C: Channel>(req: JoinRequest) -> Option<Live<C>> {
    let JoinRequest { join, after_reply, conn, mailbox, id, link, predecessor } = req;
    if let Some(Predecessor { mut task, abort_after_timeout }) = predecessor {
        // Phoenix handles one join at a time per connection: the instance being
        // replaced answers everything queued before this join first.
        if tokio::time::timeout(REPLACE_TIMEOUT, &mut task).await.is_err() && abort_after_timeout {
            tracing::warn!(topic = %join.topic, "the replaced channel did not stop within 5 s; killing it");
            task.abort();
            let _ = task.await;
        }
    }
    let Message { join_ref, r#ref, topic, payload, .. } = join;
    // The channel's own join_ref falls back to the join's ref (V1 clients send none),
    // while the join reply and phx_close/phx_error echo what the join carried.
    let own_join_ref = join_ref.clone().or_else(|| r#ref.clone());
    let topic: Arc<str> = topic.into();
    let mut socket = ChannelSocket::new(topic.clone(), own_join_ref, id, conn.clone(), mailbox.clone());
    socket.current_ref = r#ref.clone();
    let outbox = &conn.outbox;
    let reply_to_join = |status: &str, payload: Payload| WireReply {
        join_ref: join_ref.clone(),
        r#ref: r#ref.clone(),
        topic: topic.to_string(),
        status: status.into(),
        payload,
    };

    let joined = guarded(C::join(&topic, payload, &mut socket)).await;
    socket.current_ref = None;
    let channel = match joined {
        Ok(Ok(Joined { channel, reply })) => (channel, reply),
        Ok(Err(refused)) => {
            tracing::debug!(%topic, "join refused");
            outbox.push_reply(&reply_to_join("error", refused.response));
            finish_without_channel(outbox, after_reply, &mailbox, &topic);
            return None;
        }
        Err(panic) => {
            tracing::error!(%topic, %panic, "join crashed");
            outbox.push_reply(&wire::join_crashed(join_ref, r#ref, &topic));
            finish_without_channel(outbox, after_reply, &mailbox, &topic);
            return None;
        }
    };
    let (channel, reply) = channel;
    // Subscribe before the join reply is written, so that a client that has
    // seen the reply misses nothing published after it; the fastlane holds
    // back what arrives until the reply is queued, so the reply still comes first.
    let hold = socket.hold.take();
    let gate = hold.as_ref().map(|(_, events)| Box::new(Gate { events: events.clone(), frames: Vec::new() }));
    let fastlane = Arc::new(Fastlane {
        outbox: outbox.clone(),
        mailbox: Arc::downgrade(&mailbox),
        intercept: C::INTERCEPT,
        held: parking_lot::Mutex::new(Some(Vec::new())),
        state: AtomicU8::new(if gate.is_some() { GATED } else { 0 }),
        gate: parking_lot::Mutex::new(gate),
        link,
    });
    let subscription = conn.pubsub.subscribe_as(id, &topic, fastlane.clone());
    if !outbox.can_carry(&reply) {
        // The join succeeded; a reply this client cannot receive must not turn it into an error.
        tracing::warn!(%topic, "join reply cannot be sent to this client; sending an empty one");
        outbox.push_reply(&reply_to_join("ok", Payload::empty()));
    } else {
        outbox.push_reply(&reply_to_join("ok", reply));
    }
    if let Some(close) = after_reply {
        let _ = outbox.push_message(&close);
    }
    if let Some((hold, _)) = hold {
        // The channel keeps some events back until it has pushed something first.
        hold.attach(&fastlane);
    }
    fastlane.open();
    tracing::debug!(%topic, "joined");
    if let Err(panic) = socket.finish_join() {
        tracing::error!(%topic, %panic, "channel crashed right after its join");
        drop(subscription);
        let _ = outbox.push_message(&wire::phx_error(join_ref, &topic));
        answer_leftovers(outbox, mailbox.close(), &topic);
        return None;
    }
    Some(Live { channel, socket, subscription, stored_join_ref: join_ref })
}

impl<C: Channel> Live<C> {
    /// Handles the channel's messages one at a time until it ends.
    async fn serve(self) {
        let Live { mut channel, mut socket, subscription, stored_join_ref } = self;
        let mailbox = socket.mailbox.clone();
        let outbox = socket.conn.outbox.clone();
        let topic = socket.topic.clone();
        let end = loop {
            // A channel with a long queue must not hold a worker thread: give
            // other tasks their turn as tokio's cooperative budget runs out.
            tokio::task::consume_budget().await;
            let Some(msg) = mailbox.recv().await else { break Ending::Silent };
            let step = match msg {
                ChannelMsg::In(m, _) if m.is_leave() => {
                    socket.write_reply(m.r#ref, Reply::ok_empty());
                    let _ = outbox.push_message(&wire::phx_close(stored_join_ref.clone(), &topic));
                    break Ending::Terminate(Terminate::Left);
                }
                ChannelMsg::In(m, ticket) => {
                    drop(ticket);
                    let Message { r#ref, event, payload, .. } = m;
                    socket.current_ref = r#ref.clone();
                    let r = guarded(channel.handle_in(&event, payload, &mut socket)).await;
                    socket.current_ref = None;
                    match r {
                        Ok(Ok(Some(reply))) => {
                            socket.write_reply(r#ref, reply);
                            Step::Continue
                        }
                        Ok(Ok(None)) => Step::Continue,
                        Ok(Err(stop)) => Step::Stop(stop, r#ref),
                        Err(panic) => Step::Crash(panic),
                    }
                }
                ChannelMsg::Info(info) => Step::from(guarded(channel.handle_info(info, &mut socket)).await),
                ChannelMsg::Out(b) => Step::from(guarded(channel.handle_out(&b.event, b.payload, &mut socket)).await),
                ChannelMsg::Shutdown => break Ending::Terminate(Terminate::Closed),
                ChannelMsg::Replaced => break Ending::Silent,
            };
            match step {
                Step::Continue => {}
                Step::Stop(stop, r#ref) => break stopped(&socket, &outbox, stop, r#ref, stored_join_ref.clone()),
                Step::Crash(panic) => {
                    tracing::error!(%topic, %panic, "channel crashed");
                    let _ = outbox.push_message(&wire::phx_error(stored_join_ref.clone(), &topic));
                    break Ending::Silent;
                }
            }
        };
        // Stop routing to this instance before terminate, so the client's next
        // messages for the topic are answered as for a topic not joined, and stop
        // its fastlane: a client that rejoins while a slow terminate runs would
        // otherwise get every broadcast twice.
        drop(subscription);
        answer_leftovers(&outbox, mailbox.close(), &topic);
        if let Ending::Terminate(reason) = end {
            if let Err(panic) = guarded(channel.terminate(reason, &mut socket)).await {
                tracing::error!(%topic, %panic, "terminate crashed");
            }
        }
    }
}

enum Ending {
    Terminate(Terminate),
    Silent,
}

/// The outcome of one callback.
enum Step {
    Continue,
    /// Stop, replying first to the message with this ref if the stop carries a reply.
    Stop(Stop, Option<Ref>),
    Crash(String),
}

impl From<Result<InfoResult, String>> for Step {
    fn from(r: Result<InfoResult, String>) -> Self {
        match r {
            Ok(Ok(())) => Step::Continue,
            Ok(Err(stop)) => Step::Stop(stop, None),
            Err(panic) => Step::Crash(panic),
        }
    }
}

fn stopped(socket: &ChannelSocket, outbox: &Outbox, stop: Stop, r#ref: Option<Ref>, stored: Option<Ref>) -> Ending {
    if let Some(reply) = stop.reply {
        socket.write_reply(r#ref, *reply);
    }
    match stop.reason {
        StopReason::Normal => {
            let _ = outbox.push_message(&wire::phx_close(stored, socket.topic()));
            Ending::Terminate(Terminate::Stopped)
        }
        StopReason::Error(reason) => {
            tracing::warn!(topic = socket.topic(), %reason, "channel stopped with an error");
            let _ = outbox.push_message(&wire::phx_error(stored, socket.topic()));
            Ending::Terminate(Terminate::Error(reason))
        }
    }
}

fn finish_without_channel(outbox: &Outbox, after_reply: Option<Message>, mailbox: &Mailbox<ChannelMsg>, topic: &str) {
    if let Some(close) = after_reply {
        let _ = outbox.push_message(&close);
    }
    answer_leftovers(outbox, mailbox.close(), topic);
}

/// Client messages that reached this instance after it stopped get the answer
/// a topic without a channel gets (PROTOCOL.md §4.2 rules 8 and 9).
fn answer_leftovers(outbox: &Outbox, leftovers: impl IntoIterator<Item = ChannelMsg>, topic: &str) {
    for m in leftovers {
        if let ChannelMsg::In(m, _) = m {
            let reply = if m.is_leave() {
                wire::leave_unjoined(m.join_ref, m.r#ref, topic)
            } else {
                wire::unmatched_topic(m.r#ref, topic)
            };
            outbox.push_reply(&reply);
        }
    }
}

/// A channel's subscription to its own topic: encoded frames go straight to
/// the connection, intercepted events to the channel.
pub(crate) struct Fastlane {
    /// Held strongly: the subscription ends with the channel, which ends with
    /// the connection, and a strong reference saves an atomic upgrade per
    /// subscriber on every broadcast.
    outbox: Arc<Outbox>,
    mailbox: Weak<Mailbox<ChannelMsg>>,
    intercept: &'static [&'static str],
    /// Frames that arrived before the join reply was queued, each with
    /// whether its event is gated; `None` once open.
    held: parking_lot::Mutex<Option<Vec<(bool, EncodedFrame)>>>,
    /// [`OPEN`] once `held` has been written (frames then go straight to the
    /// outbox), [`GATED`] while `gate` may be set: one load per broadcast
    /// tells the common case (open, no gate) from the others.
    state: AtomicU8,
    /// Events kept back after the join until the channel's
    /// [`BroadcastHold`](crate::BroadcastHold) is released.
    gate: parking_lot::Mutex<Option<Box<Gate>>>,
    link: Arc<Link>,
}

/// [`Fastlane::state`]: the join reply is queued and held frames written.
const OPEN: u8 = 1;
/// [`Fastlane::state`]: a [`Gate`] may hold some events back.
const GATED: u8 = 2;

/// Events held for a channel, and their frames so far.
pub(crate) struct Gate {
    events: Box<[Box<str>]>,
    frames: Vec<EncodedFrame>,
}

impl Gate {
    fn holds(&self, event: &str) -> bool {
        self.events.iter().any(|e| **e == *event)
    }
}

impl Fastlane {
    /// Writes the frames held back during the join, behind the join reply,
    /// and lets later ones through directly.
    fn open(&self) {
        let mut held = self.held.lock();
        for (gated, f) in held.take().into_iter().flatten() {
            if gated {
                if let Some(gate) = self.gate.lock().as_mut() {
                    gate.frames.push(f);
                    continue;
                }
            }
            self.outbox.push_frame(f);
        }
        self.state.fetch_or(OPEN, Ordering::Release);
    }

    /// Whether `event` is kept back now; its frame goes to the gate if so.
    fn gate_frame(&self, event: &str, frame: &EncodedFrame) -> bool {
        match self.gate.lock().as_mut() {
            Some(gate) if gate.holds(event) => {
                gate.frames.push(frame.clone());
                true
            }
            _ => false,
        }
    }

    /// Writes the gated frames and lets their events through from now on.
    /// Under the gate's lock, so a gated event delivered meanwhile follows them.
    pub(crate) fn release_gate(&self) {
        let mut gate = self.gate.lock();
        if let Some(g) = gate.take() {
            for f in g.frames {
                self.outbox.push_frame(f);
            }
        }
        self.state.fetch_and(!GATED, Ordering::Release);
    }
}

impl Subscriber for Fastlane {
    fn deliver(&self, broadcast: &Broadcast, frames: &mut FrameCache<'_>) {
        if self.link.is_muted() {
            return;
        }
        if self.intercept.contains(&broadcast.event.as_str()) {
            if let Some(m) = self.mailbox.upgrade() {
                let _ = m.push(ChannelMsg::Out(broadcast.clone()));
            }
            return;
        }
        if let Some(frame) = frames.frame(self.outbox.serializer()) {
            let state = self.state.load(Ordering::Acquire);
            if state & OPEN == 0 {
                // Re-checked under the lock: `open` may have run meanwhile.
                if let Some(held) = self.held.lock().as_mut() {
                    let gated =
                        state & GATED != 0 && self.gate.lock().as_ref().is_some_and(|g| g.holds(&broadcast.event));
                    held.push((gated, frame.clone()));
                    return;
                }
            }
            if state & GATED != 0 && self.gate_frame(&broadcast.event, frame) {
                return;
            }
            self.outbox.push_frame(frame.clone());
        }
    }
}
