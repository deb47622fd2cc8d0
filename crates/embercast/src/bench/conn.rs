//! One load connection's life, for either protocol: connect and join, then
//! timestamp every broadcast delivered, or push and await replies once told
//! to go. What it measures goes into its worker's [`Tally`].

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use embercast_client::{Payload, Socket};
use hdrhistogram::Histogram;
use serde_json::{json, Value};
use tokio::sync::{watch, OwnedSemaphorePermit};
use tokio::time::Instant;

use super::report;
use super::sio::SioConn;
use super::socketio::{self, Packet};
use super::worker::Plan;
use super::Proto;

/// phoenix.js's heartbeat period; the server closes sockets silent for 60 s.
const HEARTBEAT: Duration = Duration::from_secs(30);
/// The event echo pushes (the demo's `echo:*` and the Socket.IO peer answer it).
pub const ECHO_EVENT: &str = "ping";

/// What a worker tells its connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Joined connections wait for broadcasts.
    Hold,
    /// Start the echo pushes.
    Go,
    /// Close.
    Stop,
}

/// Microseconds since the Unix epoch: the clock publishers and receivers
/// share, even across processes.
pub fn unix_micros() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros() as u64)
}

/// A broadcast's payload: its sequence number, when it was published, and
/// padding so that the JSON object is `bytes` long.
pub fn payload(seq: u64, bytes: usize) -> Value {
    let mut p = json!({ "seq": seq, "t": unix_micros(), "pad": "" });
    let len = p.to_string().len();
    p["pad"] = Value::String("x".repeat(bytes.saturating_sub(len)));
    p
}

/// What a worker's connections measured, behind one lock (a delivery holds
/// it for a few hundred nanoseconds).
pub struct Stats {
    /// Connect + join latency.
    pub joins: Histogram<u64>,
    /// Publish-to-receipt (fanout) or push-to-reply (echo) latency.
    pub latency: Histogram<u64>,
    /// Per broadcast sequence number: deliveries, and the slowest (µs).
    pub per_seq: Vec<(u64, u64)>,
    /// When the last delivery or reply arrived (Unix µs).
    pub last_receipt: u64,
    /// When the last join reply arrived, from the worker's start (µs).
    pub last_join: u64,
}

/// A worker's shared state: its plan, counters and measurements.
pub struct Tally {
    pub plan: Plan,
    pub server: SocketAddr,
    pub start: Instant,
    pub joined: AtomicU64,
    pub failed: AtomicU64,
    pub received: AtomicU64,
    pub stats: Mutex<Stats>,
}

impl Tally {
    pub fn new(plan: Plan, server: SocketAddr) -> Self {
        let per_seq = vec![(0, 0); plan.broadcasts as usize];
        Tally {
            plan,
            server,
            start: Instant::now(),
            joined: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            received: AtomicU64::new(0),
            stats: Mutex::new(Stats {
                joins: report::histogram(),
                latency: report::histogram(),
                per_seq,
                last_receipt: 0,
                last_join: 0,
            }),
        }
    }

    fn stats(&self) -> std::sync::MutexGuard<'_, Stats> {
        self.stats.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The source address of the worker's `i`th connection: one address per
    /// `per_source` connections (Linux's port search slows past ~14,000 per address).
    fn source(&self, i: u64) -> Option<IpAddr> {
        let sources = &self.plan.sources;
        let block = (self.plan.first + i) / self.plan.per_source.max(1);
        (!sources.is_empty()).then(|| sources[block as usize % sources.len()])
    }

    fn joined(&self, took: Duration) {
        let since_start = self.start.elapsed().as_micros() as u64;
        let mut s = self.stats();
        s.joins.saturating_record(took.as_micros() as u64);
        s.last_join = s.last_join.max(since_start);
        drop(s);
        self.joined.fetch_add(1, Ordering::Relaxed);
    }

    /// Records a broadcast: `{"seq", "t"}` at the top level, or in `body`
    /// when it went through a chat room's `new_msg`.
    fn deliver(&self, payload: &Value) {
        let now = unix_micros();
        let p = payload.get("body").filter(|b| b.is_object()).unwrap_or(payload);
        let (Some(seq), Some(t)) = (p.get("seq").and_then(Value::as_u64), p.get("t").and_then(Value::as_u64)) else {
            return;
        };
        let latency = now.saturating_sub(t);
        let mut s = self.stats();
        let Some(slot) = s.per_seq.get_mut(seq as usize) else { return };
        slot.0 += 1;
        slot.1 = slot.1.max(latency);
        s.latency.saturating_record(latency);
        s.last_receipt = s.last_receipt.max(now);
        drop(s);
        self.received.fetch_add(1, Ordering::Relaxed);
    }

    fn reply(&self, took: Duration) {
        let mut s = self.stats();
        s.latency.saturating_record(took.as_micros() as u64);
        s.last_receipt = s.last_receipt.max(unix_micros());
        drop(s);
        self.received.fetch_add(1, Ordering::Relaxed);
    }
}

/// Runs connection `i` of a worker until told to stop.
pub async fn run(tally: Arc<Tally>, i: u64, permit: OwnedSemaphorePermit, phase: watch::Receiver<Phase>) {
    match tally.plan.proto {
        Proto::Phoenix => phoenix(tally, i, permit, phase).await,
        Proto::Socketio => socketio(tally, i, permit, phase).await,
    }
}

async fn phoenix(tally: Arc<Tally>, i: u64, permit: OwnedSemaphorePermit, mut phase: watch::Receiver<Phase>) {
    let started = Instant::now();
    let timeout = Duration::from_millis(tally.plan.join_timeout_ms);
    let mut builder = Socket::builder(tally.plan.url.as_str()).timeout(timeout).heartbeat_interval(Some(HEARTBEAT));
    if let Some(source) = tally.source(i) {
        builder = builder.local_addr(source);
    }
    let Ok(socket) = builder.connect() else {
        tally.failed.fetch_add(1, Ordering::Relaxed);
        return;
    };
    let channel = socket.channel(tally.plan.topic.as_str(), json!({}));
    let mut events = channel.on(tally.plan.event.as_str());
    let joined = tokio::time::timeout(timeout, channel.join()).await;
    drop(permit);
    if !matches!(joined, Ok(Ok(_))) {
        tally.failed.fetch_add(1, Ordering::Relaxed);
        return;
    }
    tally.joined(started.elapsed());
    loop {
        tokio::select! {
            event = events.recv() => match event {
                Some(event) => if let Payload::Json(p) = &event.payload { tally.deliver(p) },
                None => return,
            },
            changed = phase.changed() => {
                let now = *phase.borrow();
                match (changed, now) {
                    (Err(_), _) | (_, Phase::Stop) => return,
                    (_, Phase::Go) => break,
                    _ => {}
                }
            }
        }
    }
    // Echo: pushes one after another, each awaiting its reply.
    let body = json!({ "pad": "x".repeat(tally.plan.payload_bytes.saturating_sub(12)) });
    for _ in 0..tally.plan.pushes {
        let sent = Instant::now();
        tokio::select! {
            reply = channel.push(ECHO_EVENT, body.clone()) => match reply {
                Ok(_) => tally.reply(sent.elapsed()),
                Err(_) => return,
            },
            _ = phase.wait_for(|p| *p == Phase::Stop) => return,
        }
    }
    let _ = phase.wait_for(|p| *p == Phase::Stop).await;
}

async fn socketio(tally: Arc<Tally>, i: u64, permit: OwnedSemaphorePermit, mut phase: watch::Receiver<Phase>) {
    let started = Instant::now();
    let timeout = Duration::from_millis(tally.plan.join_timeout_ms);
    let open = SioConn::open(tally.server, tally.source(i), &tally.plan.host, &tally.plan.url);
    let opened = tokio::time::timeout(timeout, open).await;
    drop(permit);
    let Ok(Ok(mut conn)) = opened else {
        tally.failed.fetch_add(1, Ordering::Relaxed);
        return;
    };
    tally.joined(started.elapsed());
    let body = json!({ "pad": "x".repeat(tally.plan.payload_bytes.saturating_sub(12)) });
    // Echo state: pushes left, and when the one in flight was sent.
    let mut echo: Option<(u64, Instant)> = None;
    let mut packets = Vec::new();
    loop {
        tokio::select! {
            read = conn.read(&mut packets) => {
                if !matches!(read, Ok(true)) {
                    return;
                }
                let mut acked = false;
                for packet in packets.drain(..) {
                    match packet {
                        Packet::Event { name, data, .. } if name == tally.plan.event => tally.deliver(&data),
                        Packet::Ack { .. } => {
                            if let Some((left, sent)) = echo.as_mut() {
                                tally.reply(sent.elapsed());
                                *left -= 1;
                                acked = true;
                            }
                        }
                        Packet::Close | Packet::Disconnect => return,
                        _ => {}
                    }
                }
                match echo {
                    Some((0, _)) => echo = None,
                    Some((left, _)) if acked => {
                        echo = Some((left, Instant::now()));
                        if conn.send(&socketio::encode_event(ECHO_EVENT, &body, Some(left))).await.is_err() {
                            return;
                        }
                    }
                    _ => {}
                }
            }
            changed = phase.changed() => {
                let now = *phase.borrow();
                match (changed, now) {
                    (Err(_), _) | (_, Phase::Stop) => return,
                    (_, Phase::Go) if echo.is_none() && tally.plan.pushes > 0 => {
                        echo = Some((tally.plan.pushes, Instant::now()));
                        if conn.send(&socketio::encode_event(ECHO_EVENT, &body, Some(tally.plan.pushes))).await.is_err() {
                            return;
                        }
                    }
                    _ => {}
                }
            }
        }
    }
}
