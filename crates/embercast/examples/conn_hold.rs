//! `conn_hold`: opens many Phoenix Channels connections (V2 JSON over
//! WebSocket), joins each to one topic, and holds them open, heartbeating as
//! phoenix.js does. It is the load client behind `scripts/memcheck.sh`, not
//! part of the product.
//!
//! ```text
//! cargo run --release -p embercast --example conn_hold -- \
//!     --url ws://127.0.0.1:4000/socket/websocket --connections 10000 \
//!     --source-addrs 127.0.0.1,127.0.0.2 --hold-secs 60
//! ```
//!
//! Standard output carries only lines meant for scripts:
//!
//! * `ALL JOINED <n> <elapsed_ms>`, once, when every connection has its `ok` join reply;
//! * `PUSHES <total>` whenever the number of pushes (other than `presence_*`) received changed (checked every 200 ms);
//! * `DONE joined=… failed=… dropped=… pushes=… presence_states=… presence_diffs=… last_presence_ms=…` at exit.
//!
//! Progress and errors go to standard error. The connections are held for
//! `--hold-secs`, or until SIGTERM/SIGINT, or until standard input closes when
//! it is a pipe or a terminal (a script's `</dev/null` is not watched, so a
//! backgrounded client does not stop at once). The exit status is 0 only if
//! every connection joined and none was dropped while held.

use std::io::Read;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use clap::Parser;
use embercast_protocol::{Frame, Message, Payload, Ref, Serializer, ServerMessage};
use embercast_ws::{handshake, CloseCode, Connection, Message as WsMessage, OpCode, ReadOutcome, Role};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{watch, Notify, Semaphore};
use tokio::time::{Instant, MissedTickBehavior};

/// Server messages are small replies and broadcasts; anything larger is a bug.
const MAX_MESSAGE: usize = 64 << 20;
/// A 101 response head larger than this is not one hyper would send.
const MAX_RESPONSE_HEAD: usize = 4096;
/// Error messages printed per failure kind; the rest are only counted.
const ERRORS_SHOWN: usize = 5;

#[derive(Parser)]
#[command(about = "Opens N Phoenix Channels connections, joins each to a topic and holds them")]
struct Args {
    /// WebSocket endpoint; `vsn=2.0.0` is added to the query.
    #[arg(long, default_value = "ws://127.0.0.1:4000/socket/websocket")]
    url: String,
    /// How many connections to open.
    #[arg(long, default_value_t = 1000)]
    connections: usize,
    /// The topic every connection joins (the demo routes `echo:*`, a channel
    /// without state; its rooms track presence, which load tests leave out).
    #[arg(long, default_value = "echo:mem")]
    topic: String,
    /// Spread the connections over this many topics, `<topic>-<i % rooms>`
    /// (e.g. `--topic room:mem --rooms 1000` for rooms of 10 with presence).
    #[arg(long, default_value_t = 1)]
    rooms: usize,
    /// Connections being opened and joined at the same time.
    #[arg(long, default_value_t = 100)]
    concurrency: usize,
    /// Local addresses to bind before connecting, used round-robin (Linux's
    /// connect() port search slows past ~14,000 connections per address).
    #[arg(long, value_delimiter = ',')]
    source_addrs: Vec<IpAddr>,
    /// How long to hold the joined connections before closing them.
    #[arg(long, default_value_t = 60)]
    hold_secs: u64,
    /// Heartbeat period while holding (phoenix.js uses 30 s; the server's idle timeout is 60 s).
    #[arg(long, default_value_t = 30)]
    heartbeat_secs: u64,
    /// Deadline for one connection's connect, upgrade and join together.
    #[arg(long, default_value_t = 30)]
    join_timeout_secs: u64,
}

/// Where and how to connect; shared by every connection task.
struct Target {
    server: SocketAddr,
    host: String,
    path_and_query: String,
    sources: Vec<IpAddr>,
    topic: String,
    rooms: usize,
    /// When the client started (presence timings are from here).
    start: Instant,
    heartbeat: Duration,
    join_timeout: Duration,
}

impl Target {
    async fn from_args(args: &Args) -> Result<Self, String> {
        let rest = args.url.strip_prefix("ws://").ok_or("--url must start with ws://")?;
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let path = if path.is_empty() { "/" } else { path };
        let path_and_query = match path.split_once('?') {
            None => format!("{path}?vsn=2.0.0"),
            Some((_, q)) if q.split('&').any(|kv| kv.starts_with("vsn=")) => path.to_owned(),
            Some(_) => format!("{path}&vsn=2.0.0"),
        };
        let server = tokio::net::lookup_host(authority)
            .await
            .map_err(|e| format!("cannot resolve {authority}: {e}"))?
            .next()
            .ok_or_else(|| format!("{authority} resolves to no address"))?;
        if let Some(bad) = args.source_addrs.iter().find(|a| a.is_ipv4() != server.is_ipv4()) {
            return Err(format!("source address {bad} is not of the server's family ({server})"));
        }
        Ok(Target {
            server,
            host: authority.to_owned(),
            path_and_query,
            sources: args.source_addrs.clone(),
            topic: args.topic.clone(),
            rooms: args.rooms.max(1),
            start: Instant::now(),
            heartbeat: Duration::from_secs(args.heartbeat_secs.max(1)),
            join_timeout: Duration::from_secs(args.join_timeout_secs.max(1)),
        })
    }
}

/// Why a connection did not join.
#[derive(Clone, Copy, Debug)]
enum Failure {
    /// connect() was refused (backlog full, or no server).
    Refused,
    /// connect() failed otherwise (e.g. no free local port).
    Connect,
    /// The HTTP upgrade was answered with something other than a valid 101.
    Upgrade,
    /// The join was answered with an error reply.
    Join,
    /// The server closed the connection before the join reply.
    Closed,
    /// Connect, upgrade and join did not finish within the deadline.
    Timeout,
}

const FAILURE_KINDS: [(Failure, &str); 6] = [
    (Failure::Refused, "refused"),
    (Failure::Connect, "connect"),
    (Failure::Upgrade, "upgrade"),
    (Failure::Join, "join"),
    (Failure::Closed, "closed"),
    (Failure::Timeout, "timeout"),
];

/// Counters shared by every task; the main task reads them to report.
#[derive(Default)]
struct Stats {
    joined: AtomicUsize,
    failed: [AtomicUsize; FAILURE_KINDS.len()],
    /// Connections the server closed while they were held.
    dropped: AtomicUsize,
    pushes: AtomicU64,
    /// `presence_state` and `presence_diff` frames received (the demo's rooms).
    presence_states: AtomicU64,
    presence_diffs: AtomicU64,
    /// When the last presence frame arrived, in ms since the client started.
    last_presence_ms: AtomicU64,
    heartbeat_errors: AtomicUsize,
    /// Woken whenever a connection joins or fails.
    settled: Notify,
}

impl Stats {
    fn failed_total(&self) -> usize {
        self.failed.iter().map(|f| f.load(Ordering::Relaxed)).sum()
    }

    fn fail(&self, kind: Failure, i: usize, detail: &str) {
        let seen = self.failed[kind as usize].fetch_add(1, Ordering::Relaxed);
        if seen < ERRORS_SHOWN {
            eprintln!("conn_hold: connection {i}: {}: {detail}", FAILURE_KINDS[kind as usize].1);
        }
        self.settled.notify_one();
    }

    fn failures(&self) -> String {
        let parts: Vec<String> = FAILURE_KINDS
            .iter()
            .map(|(k, name)| (name, self.failed[*k as usize].load(Ordering::Relaxed)))
            .filter(|(_, n)| *n > 0)
            .map(|(name, n)| format!("{name}={n}"))
            .collect();
        if parts.is_empty() {
            "none".into()
        } else {
            parts.join(",")
        }
    }
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let code = run(args).await;
    // Exit without waiting for the thread blocked reading stdin.
    std::process::exit(code);
}

async fn run(args: Args) -> i32 {
    let target = match Target::from_args(&args).await {
        Ok(t) => Arc::new(t),
        Err(e) => {
            eprintln!("conn_hold: {e}");
            return 2;
        }
    };
    let n = args.connections;
    let stats = Arc::new(Stats::default());
    let (stop_tx, stop_rx) = watch::channel(());
    let shutdown = shutdown_requested();
    tokio::pin!(shutdown);
    let start = Instant::now();

    let connecting = async {
        let permits = Arc::new(Semaphore::new(args.concurrency.max(1)));
        let mut tasks = tokio::task::JoinSet::new();
        let mut last_report = Instant::now();
        for i in 0..n {
            let permit = permits.clone().acquire_owned().await.expect("never closed");
            tasks.spawn(connection(i, target.clone(), stats.clone(), permit, stop_rx.clone()));
            if last_report.elapsed() >= Duration::from_secs(1) {
                report_progress(&stats, i + 1, n, start);
                last_report = Instant::now();
            }
        }
        loop {
            let notified = stats.settled.notified();
            if stats.joined.load(Ordering::Relaxed) + stats.failed_total() >= n {
                break;
            }
            if tokio::time::timeout(Duration::from_secs(1), notified).await.is_err() {
                report_progress(&stats, n, n, start);
            }
        }
        tasks
    };
    let (mut tasks, interrupted) = tokio::select! {
        tasks = connecting => (Some(tasks), false),
        _ = &mut shutdown => (None, true),
    };
    let joined = stats.joined.load(Ordering::Relaxed);
    let all_joined = !interrupted && joined == n;
    if all_joined {
        println!("ALL JOINED {n} {}", start.elapsed().as_millis());
        eprintln!(
            "conn_hold: all {n} joined in {:.1} s; holding for up to {} s",
            start.elapsed().as_secs_f64(),
            args.hold_secs
        );
        let hold = tokio::time::sleep(Duration::from_secs(args.hold_secs));
        tokio::select! {
            _ = hold => {}
            _ = &mut shutdown => {}
            _ = report_pushes(&stats) => {}
        }
    } else {
        eprintln!("conn_hold: {joined}/{n} joined; failures: {}", stats.failures());
    }

    // Ask every held connection to close, and give them a bounded time to.
    drop(stop_tx);
    if let Some(tasks) = tasks.as_mut() {
        let closing = async { while tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(Duration::from_secs(5), closing).await.is_err() {
            eprintln!("conn_hold: {} connections still closing after 5 s; leaving them", tasks.len());
        }
    }
    let dropped = stats.dropped.load(Ordering::Relaxed);
    println!(
        "DONE joined={joined} failed={} dropped={dropped} pushes={} presence_states={} presence_diffs={} \
         last_presence_ms={} heartbeat_errors={} failures={}",
        stats.failed_total(),
        stats.pushes.load(Ordering::Relaxed),
        stats.presence_states.load(Ordering::Relaxed),
        stats.presence_diffs.load(Ordering::Relaxed),
        stats.last_presence_ms.load(Ordering::Relaxed),
        stats.heartbeat_errors.load(Ordering::Relaxed),
        stats.failures(),
    );
    if all_joined && dropped == 0 {
        0
    } else {
        1
    }
}

fn report_progress(stats: &Stats, started: usize, n: usize, start: Instant) {
    eprintln!(
        "conn_hold: {:.1} s: {started}/{n} started, {} joined, {} failed",
        start.elapsed().as_secs_f64(),
        stats.joined.load(Ordering::Relaxed),
        stats.failed_total(),
    );
}

/// Prints `PUSHES <total>` whenever the count changed; never returns.
async fn report_pushes(stats: &Stats) {
    let mut shown = 0;
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    loop {
        tick.tick().await;
        let now = stats.pushes.load(Ordering::Relaxed);
        if now != shown {
            println!("PUSHES {now}");
            shown = now;
        }
    }
}

/// Resolves on SIGTERM, SIGINT, or end of standard input when it is a pipe,
/// socket or terminal.
async fn shutdown_requested() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler");
    let (eof_tx, eof_rx) = tokio::sync::oneshot::channel::<()>();
    if stdin_is_watched() {
        // A plain thread: tokio's stdin read cannot be cancelled at exit.
        std::thread::spawn(move || {
            let mut sink = [0u8; 256];
            let mut stdin = std::io::stdin();
            while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
            let _ = eof_tx.send(());
        });
    } else {
        std::mem::forget(eof_tx);
    }
    tokio::select! {
        _ = term.recv() => eprintln!("conn_hold: SIGTERM"),
        _ = int.recv() => eprintln!("conn_hold: SIGINT"),
        Ok(()) = eof_rx => eprintln!("conn_hold: stdin closed"),
    }
}

fn stdin_is_watched() -> bool {
    use std::io::IsTerminal;
    use std::os::unix::fs::FileTypeExt;
    if std::io::stdin().is_terminal() {
        return true;
    }
    std::fs::metadata("/proc/self/fd/0").map(|m| m.file_type().is_fifo() || m.file_type().is_socket()).unwrap_or(false)
}

/// One connection, from connect to close. Holds the concurrency permit only
/// until the join is answered.
async fn connection(
    i: usize,
    target: Arc<Target>,
    stats: Arc<Stats>,
    permit: tokio::sync::OwnedSemaphorePermit,
    stop: watch::Receiver<()>,
) {
    let conn = match tokio::time::timeout(target.join_timeout, open_and_join(i, &target, &stats)).await {
        Ok(Ok(conn)) => conn,
        Ok(Err((kind, detail))) => return stats.fail(kind, i, &detail),
        Err(_) => return stats.fail(Failure::Timeout, i, "no join reply before the deadline"),
    };
    drop(permit);
    stats.joined.fetch_add(1, Ordering::Relaxed);
    stats.settled.notify_one();
    hold(conn, &target, &stats, stop).await;
}

type Setup<T> = Result<T, (Failure, String)>;

async fn open_and_join(i: usize, target: &Target, stats: &Stats) -> Setup<Connection<TcpStream>> {
    let socket = if target.server.is_ipv4() { TcpSocket::new_v4() } else { TcpSocket::new_v6() };
    let socket = socket.map_err(|e| (Failure::Connect, format!("socket: {e}")))?;
    if !target.sources.is_empty() {
        let source = target.sources[i % target.sources.len()];
        socket.bind(SocketAddr::new(source, 0)).map_err(|e| (Failure::Connect, format!("bind {source}: {e}")))?;
    }
    let stream = socket.connect(target.server).await.map_err(|e| match e.kind() {
        std::io::ErrorKind::ConnectionRefused => (Failure::Refused, e.to_string()),
        _ => (Failure::Connect, e.to_string()),
    })?;
    let _ = stream.set_nodelay(true);
    let stream = upgrade(stream, target).await?;

    let mut conn = Connection::new(stream, Role::Client, MAX_MESSAGE);
    let join = Message {
        join_ref: Some(Ref::from("1")),
        r#ref: Some(Ref::from("1")),
        topic: if target.rooms > 1 { format!("{}-{}", target.topic, i % target.rooms) } else { target.topic.clone() },
        event: "phx_join".into(),
        payload: Payload::Json(serde_json::json!({ "name": format!("u{i}") })),
    };
    let frame = Serializer::V2.encode_client(&join).map_err(|e| (Failure::Join, e.to_string()))?;
    conn.queue_frame(OpCode::Text, &frame.data);
    let mut received = Vec::new();
    loop {
        match conn.drive(true, &mut received).await {
            Ok(ReadOutcome::Open) => {}
            Ok(outcome) => return Err((Failure::Closed, format!("{outcome:?}"))),
            Err(e) => return Err((Failure::Closed, e.to_string())),
        }
        let mut batch = received.drain(..);
        while let Some(m) = batch.next() {
            if let Some(ServerMessage::Reply(reply)) = decode(&m) {
                if reply.r#ref == join.r#ref {
                    // What came in the same read as the reply is counted too.
                    for m in batch {
                        count_presence(&m, stats, target);
                    }
                    return match reply.status.as_str() {
                        "ok" => Ok(conn),
                        status => Err((Failure::Join, format!("{status}: {:?}", reply.payload))),
                    };
                }
            }
        }
    }
}

/// The HTTP/1.1 upgrade, by hand: the request, then the 101 response head.
async fn upgrade(mut stream: TcpStream, target: &Target) -> Setup<TcpStream> {
    let upgrade_err = |e: String| (Failure::Upgrade, e);
    let key = client_key();
    let request = handshake::client_request(&target.path_and_query, &target.host, &key, None);
    stream.write_all(request.as_bytes()).await.map_err(|e| upgrade_err(e.to_string()))?;
    // Heap, not stack: a buffer held across an await would enlarge every held task.
    let mut head = Vec::with_capacity(512);
    let end = loop {
        if head.len() > MAX_RESPONSE_HEAD {
            return Err(upgrade_err("response head too large".into()));
        }
        if stream.read_buf(&mut head).await.map_err(|e| upgrade_err(e.to_string()))? == 0 {
            return Err(upgrade_err("closed during the upgrade".into()));
        }
        if let Some(pos) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos + 4;
        }
    };
    // The server sends nothing after the 101 before it gets the join, and
    // `Connection` cannot be handed bytes already read.
    if end != head.len() {
        return Err(upgrade_err("unexpected bytes after the 101 response".into()));
    }
    let text = String::from_utf8_lossy(&head[..end]);
    handshake::check_response(&text, &key).map_err(upgrade_err)?;
    Ok(stream)
}

/// A fresh `Sec-WebSocket-Key`: 16 bytes that need only be unpredictable
/// enough to defeat caches, so std's randomly keyed hasher is enough.
fn client_key() -> String {
    use std::hash::{BuildHasher, RandomState};
    let state = RandomState::new();
    let mut raw = [0u8; 16];
    raw[..8].copy_from_slice(&state.hash_one(1u8).to_ne_bytes());
    raw[8..].copy_from_slice(&state.hash_one(2u8).to_ne_bytes());
    base64::engine::general_purpose::STANDARD.encode(raw)
}

/// The counter of a `presence_state` or `presence_diff` V2 text frame,
/// recognised from its head (`[join_ref,null,"topic","event",…`) without
/// parsing the payload.
fn presence_event<'s>(m: &WsMessage, stats: &'s Stats) -> Option<&'s AtomicU64> {
    let WsMessage::Text(t) = m else { return None };
    let head = &t[..t.len().min(300)];
    let has = |needle: &[u8]| head.windows(needle.len()).any(|w| w == needle);
    if has(b"\",\"presence_state\",") {
        Some(&stats.presence_states)
    } else if has(b"\",\"presence_diff\",") {
        Some(&stats.presence_diffs)
    } else {
        None
    }
}

/// Counts `m` if it is a presence frame; says whether it was.
fn count_presence(m: &WsMessage, stats: &Stats, target: &Target) -> bool {
    let Some(counter) = presence_event(m, stats) else { return false };
    counter.fetch_add(1, Ordering::Relaxed);
    stats.last_presence_ms.fetch_max(target.start.elapsed().as_millis() as u64, Ordering::Relaxed);
    true
}

fn decode(m: &WsMessage) -> Option<ServerMessage> {
    match m {
        WsMessage::Text(t) => Serializer::V2.decode_server(Frame::Text(t)).ok(),
        WsMessage::Binary(b) => Serializer::V2.decode_server(Frame::Binary(b)).ok(),
        _ => None,
    }
}

/// Holds a joined connection: counts pushes, heartbeats every period, and
/// closes politely when `stop` fires.
async fn hold(mut conn: Connection<TcpStream>, target: &Target, stats: &Stats, mut stop: watch::Receiver<()>) {
    // The first beat is one period after the join, so beats are spread as the joins were.
    let mut beat = tokio::time::interval_at(Instant::now() + target.heartbeat, target.heartbeat);
    beat.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut next_ref: u64 = 2;
    let mut received = Vec::new();
    loop {
        tokio::select! {
            r = conn.drive(true, &mut received) => {
                if !matches!(r, Ok(ReadOutcome::Open)) {
                    stats.dropped.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                for m in received.drain(..) {
                    // Presence traffic of the demo's rooms is counted apart, by
                    // its event name only: a big room's states are large.
                    if count_presence(&m, stats, target) {
                        continue;
                    }
                    match decode(&m) {
                        Some(ServerMessage::Message(_)) => {
                            stats.pushes.fetch_add(1, Ordering::Relaxed);
                        }
                        Some(ServerMessage::Reply(r)) if r.status != "ok" => {
                            stats.heartbeat_errors.fetch_add(1, Ordering::Relaxed);
                        }
                        _ => {}
                    }
                }
            }
            _ = beat.tick() => {
                let heartbeat = Message {
                    join_ref: None,
                    r#ref: Some(Ref::String(next_ref.to_string())),
                    topic: "phoenix".into(),
                    event: "heartbeat".into(),
                    payload: Payload::empty(),
                };
                next_ref += 1;
                if let Ok(frame) = Serializer::V2.encode_client(&heartbeat) {
                    conn.queue_frame(OpCode::Text, &frame.data);
                }
            }
            _ = stop.changed() => break,
        }
    }
    conn.queue_close(CloseCode::NORMAL, "");
    conn.finish(Duration::from_secs(2)).await;
}
