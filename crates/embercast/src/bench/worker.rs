//! A worker holds a share of the load connections: in this process, or in a
//! child process (`embercast bench worker`) once one process would run out
//! of file descriptors. Both kinds speak the same messages: a [`Plan`] in,
//! [`Command`]s in, [`Event`]s out; a child carries them as JSON lines on its
//! standard input and output.

use std::net::{IpAddr, SocketAddr};
use std::process::Stdio;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command as Process};
use tokio::sync::{mpsc, watch, Semaphore};

use super::conn::{self, Phase, Tally};
use super::report;
use super::Proto;

/// How often a worker reports its counters.
const PROGRESS_EVERY: Duration = Duration::from_millis(200);

/// What one worker does.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Plan {
    pub proto: Proto,
    /// Phoenix: the socket URL (`ws://host:port/socket`); Socket.IO: the request path.
    pub url: String,
    /// The server's `host:port` (the Host header; resolved to connect).
    pub host: String,
    pub topic: String,
    /// The broadcast event to timestamp.
    pub event: String,
    /// Global index of this worker's first connection (picks source addresses).
    pub first: u64,
    pub count: u64,
    pub sources: Vec<IpAddr>,
    pub per_source: u64,
    /// Connections connecting and joining at once.
    pub concurrency: usize,
    pub join_timeout_ms: u64,
    /// Broadcast sequence numbers to expect: 0..broadcasts.
    pub broadcasts: u64,
    /// Echo pushes per connection after [`Command::Go`].
    pub pushes: u64,
    pub payload_bytes: usize,
    /// The worker stops by itself after this long, whatever happens.
    pub max_secs: u64,
}

/// What the coordinator tells a worker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Command {
    /// Start the echo pushes.
    Go,
    /// Close every connection and report.
    Stop,
}

/// What a worker tells the coordinator.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    /// Counters so far.
    Progress { joined: u64, failed: u64, received: u64 },
    /// The final measurements; the worker then ends.
    Report(WorkerReport),
}

/// A worker's measurements; histograms as `(value, count)` pairs.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct WorkerReport {
    pub joined: u64,
    pub failed: u64,
    pub received: u64,
    /// From the worker's start to its last join reply (µs).
    pub last_join_us: u64,
    pub joins: Vec<(u64, u64)>,
    pub latency: Vec<(u64, u64)>,
    /// Per broadcast: deliveries and the slowest (µs).
    pub per_seq: Vec<(u64, u64)>,
    /// Unix µs of the last delivery or reply.
    pub last_receipt: u64,
}

/// Runs a worker until [`Command::Stop`], a closed command channel or its deadline.
pub async fn run(plan: Plan, mut commands: mpsc::UnboundedReceiver<Command>, events: mpsc::UnboundedSender<Event>) {
    let server = match tokio::net::lookup_host(plan.host.as_str()).await.map(|mut a| a.next()) {
        Ok(Some(addr)) => addr,
        _ => SocketAddr::from(([127, 0, 0, 1], 0)),
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(plan.max_secs);
    let tally = Arc::new(Tally::new(plan, server));
    let (phase_tx, phase) = watch::channel(Phase::Hold);
    let permits = Arc::new(Semaphore::new(tally.plan.concurrency.max(1)));
    let launcher = {
        let (tally, phase) = (tally.clone(), phase.clone());
        tokio::spawn(async move {
            for i in 0..tally.plan.count {
                let Ok(permit) = permits.clone().acquire_owned().await else { return };
                tokio::spawn(conn::run(tally.clone(), i, permit, phase.clone()));
            }
        })
    };
    let mut tick = tokio::time::interval(PROGRESS_EVERY);
    let mut last = (u64::MAX, 0, 0);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let now = counters(&tally);
                if now != last {
                    last = now;
                    let (joined, failed, received) = now;
                    let _ = events.send(Event::Progress { joined, failed, received });
                }
            }
            command = commands.recv() => match command {
                Some(Command::Go) => { let _ = phase_tx.send(Phase::Go); }
                Some(Command::Stop) | None => break,
            },
            _ = tokio::time::sleep_until(deadline) => break,
        }
    }
    launcher.abort();
    let _ = phase_tx.send(Phase::Stop);
    let _ = events.send(Event::Report(worker_report(&tally)));
}

fn counters(tally: &Tally) -> (u64, u64, u64) {
    (tally.joined.load(Ordering::Relaxed), tally.failed.load(Ordering::Relaxed), tally.received.load(Ordering::Relaxed))
}

fn worker_report(tally: &Tally) -> WorkerReport {
    let (joined, failed, received) = counters(tally);
    let stats = tally.stats.lock().unwrap_or_else(|e| e.into_inner());
    WorkerReport {
        joined,
        failed,
        received,
        last_join_us: stats.last_join,
        joins: report::counts(&stats.joins),
        latency: report::counts(&stats.latency),
        per_seq: stats.per_seq.clone(),
        last_receipt: stats.last_receipt,
    }
}

/// `embercast bench worker`: reads its plan from the first line of standard
/// input, commands from the next ones (end of input means stop), and writes
/// events as JSON lines to standard output.
pub async fn child_main() -> std::io::Result<()> {
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let first = lines.next_line().await?.unwrap_or_default();
    let plan: Plan = serde_json::from_str(&first)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("bad worker plan: {e}")))?;
    let (command_tx, commands) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Ok(command) = serde_json::from_str(&line) {
                if command_tx.send(command).is_err() {
                    return;
                }
            }
        }
    });
    let (events_tx, mut events) = mpsc::unbounded_channel();
    let worker = tokio::spawn(run(plan, commands, events_tx));
    let mut stdout = tokio::io::stdout();
    while let Some(event) = events.recv().await {
        let mut line = serde_json::to_string(&event).expect("events serialize");
        line.push('\n');
        stdout.write_all(line.as_bytes()).await?;
        stdout.flush().await?;
    }
    let _ = worker.await;
    Ok(())
}

/// The coordinator's side of every worker.
pub struct Pool {
    commands: Vec<mpsc::UnboundedSender<Command>>,
    events: mpsc::UnboundedReceiver<(usize, Event)>,
    children: Vec<Child>,
}

impl Pool {
    /// Starts one worker per plan: in this process when `in_process`, else
    /// each in a child process running this same executable.
    pub fn start(plans: Vec<Plan>, in_process: bool) -> std::io::Result<Pool> {
        let (events_tx, events) = mpsc::unbounded_channel();
        let mut pool = Pool { commands: Vec::new(), events, children: Vec::new() };
        for (index, plan) in plans.into_iter().enumerate() {
            let (command_tx, commands) = mpsc::unbounded_channel();
            let (tx, mut rx) = mpsc::unbounded_channel();
            if in_process {
                tokio::spawn(run(plan, commands, tx));
            } else {
                pool.children.push(spawn_child(&plan, commands, tx)?);
            }
            let events_tx = events_tx.clone();
            tokio::spawn(async move {
                while let Some(event) = rx.recv().await {
                    if events_tx.send((index, event)).is_err() {
                        return;
                    }
                }
            });
            pool.commands.push(command_tx);
        }
        Ok(pool)
    }

    /// Sends `command` to every worker.
    pub fn broadcast(&self, command: Command) {
        for c in &self.commands {
            let _ = c.send(command);
        }
    }

    /// The next event of any worker (`None` once all have ended).
    pub async fn next(&mut self) -> Option<(usize, Event)> {
        self.events.recv().await
    }

    /// The pids of the processes holding connections: this one and the children.
    pub fn pids(&self) -> Vec<u32> {
        let mut pids = vec![std::process::id()];
        pids.extend(self.children.iter().filter_map(Child::id));
        pids
    }

    /// Waits for child processes to exit, killing those still running after `grace`.
    pub async fn reap(&mut self, grace: Duration) {
        for child in &mut self.children {
            if tokio::time::timeout(grace, child.wait()).await.is_err() {
                let _ = child.kill().await;
            }
        }
    }
}

fn spawn_child(
    plan: &Plan,
    mut commands: mpsc::UnboundedReceiver<Command>,
    events: mpsc::UnboundedSender<Event>,
) -> std::io::Result<Child> {
    let mut child = Process::new(std::env::current_exe()?)
        .args(["bench", "worker"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()?;
    let mut stdin = child.stdin.take().expect("piped");
    let stdout = child.stdout.take().expect("piped");
    let first = serde_json::to_string(plan).expect("plans serialize") + "\n";
    tokio::spawn(async move {
        if stdin.write_all(first.as_bytes()).await.is_err() {
            return;
        }
        // Closing stdin (dropping it) tells the child to stop.
        while let Some(command) = commands.recv().await {
            let line = serde_json::to_string(&command).expect("commands serialize") + "\n";
            if stdin.write_all(line.as_bytes()).await.is_err() || command == Command::Stop {
                return;
            }
        }
    });
    tokio::spawn(async move {
        let mut lines = BufReader::new(stdout).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            match serde_json::from_str(&line) {
                Ok(event) => {
                    if events.send(event).is_err() {
                        return;
                    }
                }
                Err(e) => eprintln!("bench: unreadable line from a worker ({e}): {line}"),
            }
        }
    });
    Ok(child)
}
