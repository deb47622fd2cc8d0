//! Join-storm benchmark of the presence tracker (issue 4): many tracks at once
//! over many topics, with a reader listing topics all along.
//!
//! ```sh
//! cargo run --release -p embercast-presence --example join_storm            # 10,000 tracks over 1,000 topics
//! cargo run --release -p embercast-presence --example join_storm -- 100000 1000 8 4
//! ```
//!
//! Arguments: tracks (10,000), topics (1,000), writer tasks (8), shards (1,
//! Phoenix's default pool size). Reports the
//! latency of each `track`, of `list` during the storm and when quiet, the
//! time until every `presence_diff` was delivered to one listener per topic,
//! and the growth of the process's resident memory per presence (VmRSS; use
//! 100,000 tracks for a steadier figure).
//! Prints a summary and one JSON line.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use embercast_presence::{Owner, Presence, ShardConfig};
use embercast_server::PubSub;
use serde_json::json;

/// This process's resident memory in bytes (VmRSS).
fn rss() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).expect("a VmRSS line");
    let kb: usize = line.split_whitespace().nth(1).expect("a number").parse().expect("kB");
    kb * 1024
}

fn arg(n: usize, default: usize) -> usize {
    std::env::args().nth(n).map_or(default, |a| a.parse().expect("a number"))
}

fn percentiles(mut samples: Vec<Duration>) -> [Duration; 4] {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize];
    [at(0.5), at(0.99), at(0.999), *samples.last().expect("samples")]
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn main() {
    let (tracks, topics, writers, shards) = (arg(1, 10_000), arg(2, 1_000), arg(3, 8), arg(4, 1));
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(run(tracks, topics, writers, shards));
}

async fn run(tracks: usize, topics: usize, writers: usize, shards: usize) {
    let pubsub = PubSub::new();
    // A short tick, so the pending delta is folded away soon after the storm.
    let config = ShardConfig { broadcast_period: Duration::from_millis(100), ..ShardConfig::default() };
    let presence = Presence::builder().pool_size(shards).shard_config(config).start(&pubsub).unwrap();
    let topic = |i: usize| format!("room:{}", i % topics);
    // One listener per topic stands for the topic's subscribers, so every diff
    // is grouped, encoded and delivered as it would be to a channel.
    let listeners: Vec<_> = (0..topics).map(|t| pubsub.listen(&topic(t))).collect();
    let baseline = rss();

    let storming = Arc::new(AtomicBool::new(true));
    let reader = {
        let (presence, storming) = (presence.clone(), storming.clone());
        tokio::spawn(async move {
            let mut samples = Vec::new();
            let mut i = 0;
            while storming.load(Ordering::Relaxed) {
                let t = Instant::now();
                std::hint::black_box(presence.list(&format!("room:{}", i % topics)));
                samples.push(t.elapsed());
                i += 7;
                tokio::task::yield_now().await;
            }
            samples
        })
    };

    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..writers {
        let presence = presence.clone();
        tasks.push(tokio::spawn(async move {
            let mut owners = Vec::new();
            let mut samples = Vec::new();
            for i in (w..tracks).step_by(writers) {
                let owner = Owner::new();
                let meta = json!({ "online_at": "1700000000", "name": format!("user {i}") });
                let t = Instant::now();
                presence.track_owner(&owner, &format!("room:{}", i % topics), &format!("user{i}"), meta).unwrap();
                samples.push(t.elapsed());
                owners.push(owner);
                if i % 64 == 0 {
                    tokio::task::yield_now().await;
                }
            }
            (owners, samples)
        }));
    }
    let mut owners = Vec::new();
    let mut track_samples = Vec::new();
    for t in tasks {
        let (o, s) = t.await.unwrap();
        owners.extend(o);
        track_samples.extend(s);
    }
    let storm = started.elapsed();
    storming.store(false, Ordering::Relaxed);
    let list_storm = reader.await.unwrap();

    // Every join reaches its topic's listener.
    let mut delivered = 0;
    for l in &listeners {
        let mut seen = 0;
        while seen < tracks / topics {
            let b = l.recv().await;
            seen += b.payload.as_json().unwrap()["joins"].as_object().unwrap().len();
        }
        delivered += seen;
    }
    let all_delivered = started.elapsed();
    assert_eq!(delivered, tracks);

    let mut list_quiet = Vec::new();
    for t in 0..topics {
        let at = Instant::now();
        let list = presence.list(&topic(t));
        list_quiet.push(at.elapsed());
        assert_eq!(list.as_object().unwrap().len(), tracks / topics);
    }

    // Let the shard take its pending delta, then read what is held.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let held = rss().saturating_sub(baseline);
    let per_presence = held as f64 / tracks as f64;
    assert_eq!(presence.stored_len(), tracks);
    drop(owners);

    let [t50, t99, t999, tmax] = percentiles(track_samples);
    let [ls50, ls99, _, lsmax] = percentiles(list_storm.clone());
    let [lq50, lq99, _, lqmax] = percentiles(list_quiet);
    println!(
        "join storm: {tracks} tracks over {topics} topics from {writers} tasks, {shards} shard(s) (metas of 2 fields)"
    );
    println!(
        "  storm took {:.1} ms ({:.0} tracks/s); every diff delivered after {:.1} ms",
        storm.as_secs_f64() * 1e3,
        tracks as f64 / storm.as_secs_f64(),
        all_delivered.as_secs_f64() * 1e3
    );
    println!(
        "  track latency   p50 {:.1} µs  p99 {:.1} µs  p99.9 {:.1} µs  max {:.1} µs",
        us(t50),
        us(t99),
        us(t999),
        us(tmax)
    );
    println!(
        "  list during storm ({} lists)  p50 {:.1} µs  p99 {:.1} µs  max {:.1} µs",
        list_storm.len(),
        us(ls50),
        us(ls99),
        us(lsmax)
    );
    println!(
        "  list when quiet  p50 {:.1} µs  p99 {:.1} µs  max {:.1} µs  ({} presences per topic)",
        us(lq50),
        us(lq99),
        us(lqmax),
        tracks / topics
    );
    println!("  memory per presence {per_presence:.0} B of RSS growth (owner included; {held} B in all)");
    println!(
        "{}",
        json!({
            "tracks": tracks, "topics": topics, "writers": writers, "shards": shards,
            "storm_ms": storm.as_secs_f64() * 1e3, "delivered_ms": all_delivered.as_secs_f64() * 1e3,
            "track_us": {"p50": us(t50), "p99": us(t99), "p999": us(t999), "max": us(tmax)},
            "list_storm_us": {"p50": us(ls50), "p99": us(ls99), "max": us(lsmax), "count": list_storm.len()},
            "list_quiet_us": {"p50": us(lq50), "p99": us(lq99), "max": us(lqmax)},
            "rss_bytes_per_presence": per_presence,
        })
    );
}
