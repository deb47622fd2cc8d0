//! `embercast bench echo`: round trips under load. Every connection pushes
//! `ping` and awaits the reply, back to back (the demo's `echo:*` and the
//! Socket.IO peer answer with the payload).

use std::io;
use std::time::Duration;

use clap::Args;
use tokio::time::Instant;

use super::conn;
use super::procfs;
use super::report::{self, Latency};
use super::session::{self, Session, Work};
use super::worker::Command;
use super::LoadArgs;

/// Options of `embercast bench echo`.
#[derive(Args, Debug)]
pub struct EchoArgs {
    #[command(flatten)]
    load: LoadArgs,
    /// Pushes per connection.
    #[arg(long, default_value_t = 100)]
    pushes: u64,
    /// Size of each push's JSON payload.
    #[arg(long, default_value_t = 250)]
    payload_bytes: usize,
    /// Stop waiting for replies after this many seconds.
    #[arg(long, default_value_t = 60)]
    duration_secs: u64,
}

pub async fn run(a: EchoArgs) -> io::Result<()> {
    let pid = a.load.server_pid;
    let baseline = session::sample(pid);
    let work = Work { event: String::new(), broadcasts: 0, pushes: a.pushes, payload_bytes: a.payload_bytes };
    let mut s = Session::start(a.load, work).await?;
    s.wait(s.deadline, Session::settled).await;
    let joined = session::settled_sample(pid).await;
    let expected = s.totals().0 * a.pushes;
    s.expected = expected;
    let cpu_before = session::sample(pid);
    let load_before = s.load_cpu_ticks();
    let go = conn::unix_micros();
    s.command(Command::Go);
    s.wait(Instant::now() + Duration::from_secs(a.duration_secs), |s| s.totals().2 >= expected).await;
    let cpu_after = session::sample(pid);
    let load_cpu = s.load_cpu_ticks().saturating_sub(load_before) as f64 / procfs::TICKS_PER_SECOND as f64;
    let m = s.finish().await;

    let cpu = cpu_before.zip(cpu_after).map(|(b, a)| report::cpu_seconds(b, a));
    let mut r = m.base_report("echo", &s, (baseline, joined));
    r.payload_bytes = Some(a.payload_bytes);
    r.expected = Some(expected);
    r.received = Some(m.received);
    r.per_s = Some(report::per_second(m.received, m.last_receipt.saturating_sub(go)));
    r.latency = Latency::of(&m.latency);
    r.server_cpu_s = cpu;
    r.server_cpu_s_per_million = cpu.and_then(|c| report::per_million(c, m.received));
    r.load_cpu_s_per_million = report::per_million(load_cpu, m.received);
    session::print(&r);
    if m.received < expected {
        return Err(io::Error::other(format!("{} of {expected} replies received", m.received)));
    }
    Ok(())
}
