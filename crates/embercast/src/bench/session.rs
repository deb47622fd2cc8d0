//! The coordinator's side of a run: splits the connections over workers,
//! shows progress while they connect and receive, and merges their reports.

use std::io;
use std::time::Duration;

use hdrhistogram::Histogram;
use tokio::time::Instant;

use super::procfs::{self, Sample};
use super::report::{self, Latency, Report};
use super::worker::{Command, Event, Plan, Pool, WorkerReport};
use super::{LoadArgs, Target};

/// How often progress is printed.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);
/// File descriptors a process keeps for itself (stdio, epoll, the publisher, ...).
const SPARE_FDS: u64 = 100;

/// What a scenario asks of every connection besides joining.
pub struct Work {
    /// The broadcast event timestamped by receivers.
    pub event: String,
    /// Broadcasts to expect.
    pub broadcasts: u64,
    /// Echo pushes per connection.
    pub pushes: u64,
    pub payload_bytes: usize,
}

/// One run in progress.
pub struct Session {
    pub args: LoadArgs,
    pub target: Target,
    pub processes: usize,
    /// Deliveries or replies expected, for the progress line.
    pub expected: u64,
    /// The whole run must be over by then.
    pub deadline: Instant,
    pool: Pool,
    progress: Vec<(u64, u64, u64)>,
    reports: Vec<Option<WorkerReport>>,
    started: Instant,
    last_print: Instant,
}

/// Every worker's measurements together.
pub struct Merged {
    pub joined: u64,
    pub failed: u64,
    pub received: u64,
    pub join_elapsed_us: u64,
    pub joins: Histogram<u64>,
    pub latency: Histogram<u64>,
    pub per_seq: Vec<(u64, u64)>,
    pub last_receipt: u64,
}

/// How many processes hold `connections`, at most `per_process` each unless
/// `processes` is forced; and whether that is this process alone.
fn split(connections: u64, per_process: u64, processes: Option<usize>) -> (usize, bool) {
    match processes {
        Some(p) => (p.max(1), false),
        None => {
            let n = connections.div_ceil(per_process.max(1)).max(1) as usize;
            (n, n == 1)
        }
    }
}

impl Session {
    /// Resolves the target and starts the workers; they begin connecting at once.
    pub async fn start(args: LoadArgs, work: Work) -> io::Result<Session> {
        let target = Target::resolve(&args).await?;
        let fd_room = procfs::own_open_files_limit().map_or(u64::MAX, |l| l.saturating_sub(SPARE_FDS).max(1));
        let (processes, in_process) = split(args.connections, args.max_per_process.min(fd_room), args.processes);
        let chunk = args.connections.div_ceil(processes as u64);
        let plans: Vec<Plan> = (0..processes as u64)
            .map(|k| Plan {
                proto: args.proto,
                url: target.url.clone(),
                host: target.host.clone(),
                topic: args.topic.clone(),
                event: work.event.clone(),
                first: k * chunk,
                count: chunk.min(args.connections.saturating_sub(k * chunk)),
                sources: target.sources.clone(),
                per_source: args.per_source,
                concurrency: args.concurrency,
                join_timeout_ms: args.join_timeout_secs * 1000,
                broadcasts: work.broadcasts,
                pushes: work.pushes,
                payload_bytes: work.payload_bytes,
                // Workers outlive the coordinator's deadline only by a margin.
                max_secs: args.max_secs + 30,
            })
            .collect();
        eprintln!(
            "bench: {} {} connections to {} over {processes} process(es){}, sources {:?}",
            args.connections,
            args.proto.name(),
            target.host,
            if in_process { " (this one)" } else { "" },
            target.sources
        );
        let pool = Pool::start(plans, in_process)?;
        let now = Instant::now();
        Ok(Session {
            deadline: now + Duration::from_secs(args.max_secs),
            args,
            target,
            processes,
            expected: 0,
            pool,
            progress: vec![(0, 0, 0); processes],
            reports: (0..processes).map(|_| None).collect(),
            started: now,
            last_print: now,
        })
    }

    /// Joined, failed and received, over every worker.
    pub fn totals(&self) -> (u64, u64, u64) {
        self.progress.iter().fold((0, 0, 0), |a, p| (a.0 + p.0, a.1 + p.1, a.2 + p.2))
    }

    /// Whether every connection has joined or failed.
    pub fn settled(&self) -> bool {
        let (joined, failed, _) = self.totals();
        joined + failed >= self.args.connections
    }

    /// Takes workers' events until `done` holds or `until` (capped by the
    /// run's deadline) passes, printing progress; returns whether `done` held.
    pub async fn wait(&mut self, until: Instant, done: impl Fn(&Session) -> bool) -> bool {
        let until = until.min(self.deadline);
        loop {
            if done(self) {
                return true;
            }
            if self.last_print.elapsed() >= PROGRESS_EVERY {
                self.print_progress();
            }
            let next_print = self.last_print + PROGRESS_EVERY;
            tokio::select! {
                event = self.pool.next() => match event {
                    Some((i, event)) => self.absorb(i, event),
                    None => return done(self),
                },
                _ = tokio::time::sleep_until(next_print.min(until)) => {
                    if Instant::now() >= until {
                        return done(self);
                    }
                }
            }
        }
    }

    fn absorb(&mut self, i: usize, event: Event) {
        match event {
            Event::Progress { joined, failed, received } => self.progress[i] = (joined, failed, received),
            Event::Report(r) => {
                self.progress[i] = (r.joined, r.failed, r.received);
                self.reports[i] = Some(r);
            }
        }
    }

    fn print_progress(&mut self) {
        self.last_print = Instant::now();
        let (joined, failed, received) = self.totals();
        let mut line = format!(
            "bench: {:>6.1} s  joined {joined}/{}  failed {failed}",
            self.started.elapsed().as_secs_f64(),
            self.args.connections
        );
        if self.expected > 0 {
            line.push_str(&format!("  received {received}/{}", self.expected));
        }
        eprintln!("{line}");
    }

    /// CPU ticks the load processes (this one and its workers) have used.
    pub fn load_cpu_ticks(&self) -> u64 {
        self.pool.pids().into_iter().filter_map(|pid| procfs::sample(pid).ok()).map(|s| s.cpu_ticks).sum()
    }

    /// Tells every worker `command`.
    pub fn command(&self, command: Command) {
        self.pool.broadcast(command);
    }

    /// Stops every worker and merges their reports (those that report within 30 s).
    pub async fn finish(&mut self) -> Merged {
        self.command(Command::Stop);
        let grace = Instant::now() + Duration::from_secs(30);
        self.deadline = self.deadline.max(grace);
        self.wait(grace, |s| s.reports.iter().all(Option::is_some)).await;
        self.pool.reap(Duration::from_secs(5)).await;
        let mut m = Merged {
            joined: 0,
            failed: 0,
            received: 0,
            join_elapsed_us: 0,
            joins: report::histogram(),
            latency: report::histogram(),
            per_seq: Vec::new(),
            last_receipt: 0,
        };
        for (i, r) in self.reports.iter().enumerate() {
            let Some(r) = r else {
                eprintln!("bench: worker {i} sent no report; its connections count as failed");
                m.failed += self.progress[i].0 + self.progress[i].1;
                continue;
            };
            m.joined += r.joined;
            m.failed += r.failed;
            m.received += r.received;
            m.join_elapsed_us = m.join_elapsed_us.max(r.last_join_us);
            report::merge_counts(&mut m.joins, &r.joins);
            report::merge_counts(&mut m.latency, &r.latency);
            if m.per_seq.len() < r.per_seq.len() {
                m.per_seq.resize(r.per_seq.len(), (0, 0));
            }
            for (total, (n, slowest)) in m.per_seq.iter_mut().zip(&r.per_seq) {
                total.0 += n;
                total.1 = total.1.max(*slowest);
            }
            m.last_receipt = m.last_receipt.max(r.last_receipt);
        }
        m
    }
}

/// Prints the summary and then the JSON line, as the last line, to standard output.
pub fn print(r: &Report) {
    print!("{}", r.summary());
    println!("{}", r.json());
}

/// The server's CPU and memory now, if a pid was given and is readable.
pub fn sample(pid: Option<u32>) -> Option<Sample> {
    let pid = pid?;
    procfs::sample(pid).map_err(|e| eprintln!("bench: cannot read server pid {pid}: {e}")).ok()
}

/// The server's sample once its RSS has settled: two readings 250 ms apart
/// within 1%, or whatever it is after 5 s.
pub async fn settled_sample(pid: Option<u32>) -> Option<Sample> {
    let mut prev = sample(pid)?;
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let now = sample(pid)?;
        if now.rss_kb.abs_diff(prev.rss_kb) * 100 < prev.rss_kb.max(1) {
            return Some(now);
        }
        prev = now;
    }
    Some(prev)
}

impl Merged {
    /// The figures every scenario has: connections, joins and server memory.
    pub fn base_report(&self, bench: &'static str, s: &Session, rss: (Option<Sample>, Option<Sample>)) -> Report {
        Report {
            bench,
            proto: s.args.proto.name(),
            connections: s.args.connections,
            joined: self.joined,
            failed: self.failed,
            processes: s.processes,
            join_elapsed_ms: self.join_elapsed_us / 1000,
            joins_per_s: report::per_second(self.joined, self.join_elapsed_us),
            join_latency: Latency::of(&self.joins),
            server_rss_per_connection_bytes: match rss {
                (Some(before), Some(after)) => report::rss_per_connection(before, after, self.joined),
                _ => None,
            },
            ..Report::default()
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn connections_are_split_over_as_few_processes_as_fit() {
        assert_eq!(super::split(50, 19_000, None), (1, true));
        assert_eq!(super::split(19_000, 19_000, None), (1, true));
        assert_eq!(super::split(19_001, 19_000, None), (2, false));
        assert_eq!(super::split(100_000, 19_000, None), (6, false));
        assert_eq!(super::split(50, 19_000, Some(2)), (2, false));
        assert_eq!(super::split(50, 19_000, Some(1)), (1, false));
    }
}
