//! `embercast bench fanout`: N subscribers on one topic, B broadcasts, every
//! delivery timestamped against the publish time.

use std::io;
use std::time::Duration;

use clap::{Args, ValueEnum};
use tokio::time::Instant;

use super::conn;
use super::procfs;
use super::publish::Publisher;
use super::report::{self, Latency};
use super::session::{self, Session, Work};
use super::{LoadArgs, Proto};

/// How the publisher reaches the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Via {
    /// POST /api/broadcast (Embercast) or POST /broadcast (the Socket.IO peer).
    Http,
    /// A Phoenix channel push of --event with `{"body": payload}`, which the
    /// channel broadcasts (e.g. the demo's `new_msg` in `room:*`).
    Channel,
}

/// Options of `embercast bench fanout`.
#[derive(Args, Debug)]
pub struct FanoutArgs {
    #[command(flatten)]
    load: LoadArgs,
    /// Broadcasts to publish.
    #[arg(long, default_value_t = 20)]
    broadcasts: u64,
    /// Time between two broadcasts, in milliseconds.
    #[arg(long, default_value_t = 500)]
    interval_ms: u64,
    /// Size of each broadcast's JSON payload.
    #[arg(long, default_value_t = 250)]
    payload_bytes: usize,
    /// The broadcast's event name.
    #[arg(long, default_value = "bench")]
    event: String,
    /// How broadcasts are published.
    #[arg(long, value_enum, default_value = "http")]
    via: Via,
    /// How long to wait for the last deliveries after the last broadcast, in seconds.
    #[arg(long, default_value_t = 10)]
    settle_secs: u64,
    /// The server's API key (`embercast serve --api-key`), sent as a bearer
    /// token with each HTTP broadcast.
    #[arg(long, env = "EMBERCAST_API_KEY")]
    api_key: Option<String>,
}

pub async fn run(a: FanoutArgs) -> io::Result<()> {
    if a.via == Via::Channel && a.load.proto != Proto::Phoenix {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "--via channel needs --proto phoenix"));
    }
    let pid = a.load.server_pid;
    let baseline = session::sample(pid);
    let work = Work { event: a.event.clone(), broadcasts: a.broadcasts, pushes: 0, payload_bytes: a.payload_bytes };
    let mut s = Session::start(a.load, work).await?;
    s.wait(s.deadline, Session::settled).await;
    let joined = session::settled_sample(pid).await;
    let publisher = match a.via {
        Via::Http => Publisher::Http {
            server: s.target.server,
            host: s.target.host.clone(),
            path: if s.args.proto == Proto::Phoenix { "/api/broadcast" } else { "/broadcast" },
            proto: s.args.proto,
            topic: s.args.topic.clone(),
            event: a.event.clone(),
            api_key: a.api_key.clone(),
        },
        Via::Channel => Publisher::channel(&s.target.url, &s.args.topic, &a.event).await?,
    };
    let subscribers = s.totals().0;
    s.expected = subscribers * a.broadcasts;
    eprintln!("bench: {subscribers} subscribers; publishing {} broadcasts, {} ms apart", a.broadcasts, a.interval_ms);
    let cpu_before = session::sample(pid);
    let load_before = s.load_cpu_ticks();
    let first_publish = conn::unix_micros();
    let start = Instant::now();
    let mut published = 0;
    for seq in 0..a.broadcasts {
        s.wait(start + Duration::from_millis(a.interval_ms * seq), |_| false).await;
        match publisher.publish(conn::payload(seq, a.payload_bytes)).await {
            Ok(()) => published += 1,
            Err(e) => eprintln!("bench: broadcast {seq} failed: {e}"),
        }
    }
    let expected = subscribers * published;
    s.wait(Instant::now() + Duration::from_secs(a.settle_secs), |s| s.totals().2 >= expected).await;
    let cpu_after = session::sample(pid);
    let load_cpu = s.load_cpu_ticks().saturating_sub(load_before) as f64 / procfs::TICKS_PER_SECOND as f64;
    publisher.close().await;
    let m = s.finish().await;

    let slowest: Vec<u64> = m.per_seq.iter().filter(|(n, _)| *n > 0).map(|&(_, max)| max).collect();
    let cpu = cpu_before.zip(cpu_after).map(|(b, a)| report::cpu_seconds(b, a));
    let mut r = m.base_report("fanout", &s, (baseline, joined));
    r.broadcasts = Some(published);
    r.payload_bytes = Some(a.payload_bytes);
    r.expected = Some(expected);
    r.received = Some(m.received);
    r.per_s = Some(report::per_second(m.received, m.last_receipt.saturating_sub(first_publish)));
    r.latency = Latency::of(&m.latency);
    r.last_subscriber_median_ms = report::median(&slowest).map(|us| us / 1000.0);
    r.last_subscriber_max_ms = slowest.iter().max().map(|&us| us as f64 / 1000.0);
    r.server_cpu_s = cpu;
    r.server_cpu_s_per_million = cpu.and_then(|c| report::per_million(c, m.received));
    r.load_cpu_s_per_million = report::per_million(load_cpu, m.received);
    session::print(&r);
    if m.received < expected || published < a.broadcasts {
        return Err(io::Error::other(format!(
            "{} of {expected} deliveries received, {published} of {} broadcasts published",
            m.received, a.broadcasts
        )));
    }
    Ok(())
}
