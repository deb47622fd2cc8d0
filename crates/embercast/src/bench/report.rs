//! What a run measured and the arithmetic that turns it into figures: HDR
//! histograms of latencies (microseconds), rates, per-connection memory and
//! server CPU per delivery. No I/O, so every formula has a unit test.

use std::fmt::Write as _;

use hdrhistogram::Histogram;
use serde::Serialize;

use super::procfs::{Sample, TICKS_PER_SECOND};

/// Latencies above one minute are recorded as one minute.
const MAX_MICROS: u64 = 60_000_000;

/// An empty latency histogram: microseconds, 3 significant digits.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_MICROS, 3).expect("constant bounds are valid")
}

/// A histogram as `(value, count)` pairs, to send it between processes;
/// [`merge_counts`] adds it back into a histogram bucket for bucket.
pub fn counts(h: &Histogram<u64>) -> Vec<(u64, u64)> {
    h.iter_recorded().map(|v| (v.value_iterated_to(), v.count_at_value())).collect()
}

/// Adds what [`counts`] produced into `h`.
pub fn merge_counts(h: &mut Histogram<u64>, counts: &[(u64, u64)]) {
    for &(value, n) in counts {
        h.saturating_record_n(value, n);
    }
}

/// Percentiles of a latency histogram, in milliseconds.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Latency {
    /// How many values were recorded.
    pub count: u64,
    /// Median.
    pub p50_ms: f64,
    /// 90th percentile.
    pub p90_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Largest.
    pub max_ms: f64,
}

impl Latency {
    /// `None` for an empty histogram.
    pub fn of(h: &Histogram<u64>) -> Option<Self> {
        let ms = |us: u64| us as f64 / 1000.0;
        (!h.is_empty()).then(|| Latency {
            count: h.len(),
            p50_ms: ms(h.value_at_quantile(0.50)),
            p90_ms: ms(h.value_at_quantile(0.90)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            max_ms: ms(h.max()),
        })
    }

    fn line(&self) -> String {
        format!(
            "p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            self.p50_ms, self.p90_ms, self.p99_ms, self.max_ms
        )
    }
}

/// The median of `values` (mean of the two middle ones for an even count).
pub fn median(values: &[u64]) -> Option<f64> {
    let mut v = values.to_vec();
    v.sort_unstable();
    let mid = v.len() / 2;
    match v.len() {
        0 => None,
        n if n % 2 == 1 => Some(v[mid] as f64),
        _ => Some((v[mid - 1] + v[mid]) as f64 / 2.0),
    }
}

/// Events per second; 0 when no time passed.
pub fn per_second(count: u64, micros: u64) -> f64 {
    if micros == 0 {
        0.0
    } else {
        count as f64 * 1e6 / micros as f64
    }
}

/// The server's user-space memory per connection, in bytes.
pub fn rss_per_connection(before: Sample, after: Sample, connections: u64) -> Option<f64> {
    (connections > 0).then(|| (after.rss_kb as f64 - before.rss_kb as f64) * 1024.0 / connections as f64)
}

/// Server CPU seconds spent between two samples.
pub fn cpu_seconds(before: Sample, after: Sample) -> f64 {
    after.cpu_ticks.saturating_sub(before.cpu_ticks) as f64 / TICKS_PER_SECOND as f64
}

/// CPU seconds per million events; numerically the same as CPU microseconds
/// per event.
pub fn per_million(cpu_seconds: f64, events: u64) -> Option<f64> {
    (events > 0).then(|| cpu_seconds * 1e6 / events as f64)
}

/// One run's figures; printed as a summary and as one JSON line. Fields a
/// scenario does not measure are left out.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    /// `fanout`, `connect` or `echo`.
    pub bench: &'static str,
    /// `phoenix` or `socketio`.
    pub proto: &'static str,
    /// Connections asked for.
    pub connections: u64,
    /// Connections that connected and joined.
    pub joined: u64,
    /// Connections that did not.
    pub failed: u64,
    /// Load processes (1: this process only).
    pub processes: usize,
    /// From the first connect to the last join reply.
    pub join_elapsed_ms: u64,
    /// Joined connections per second over that time.
    pub joins_per_s: f64,
    /// Connect + join latency of one connection.
    pub join_latency: Option<Latency>,
    /// Server VmRSS growth per joined connection (with `--server-pid`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_rss_per_connection_bytes: Option<f64>,
    /// Broadcasts published.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broadcasts: Option<u64>,
    /// Size of each broadcast's JSON payload.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload_bytes: Option<usize>,
    /// Deliveries (fanout) or replies (echo) expected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<u64>,
    /// Deliveries (fanout) or replies (echo) received.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub received: Option<u64>,
    /// Received per second, from the first publish to the last receipt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_s: Option<f64>,
    /// Publish-to-receipt (fanout) or push-to-reply (echo) latency.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency: Option<Latency>,
    /// Per broadcast, when its last subscriber got it: the median over broadcasts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_subscriber_median_ms: Option<f64>,
    /// The same, the slowest broadcast.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_subscriber_max_ms: Option<f64>,
    /// Server CPU (user + system) from the first publish to the last receipt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_cpu_s: Option<f64>,
    /// Server CPU seconds per million received (= µs per delivery or reply).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_cpu_s_per_million: Option<f64>,
    /// The load generator's own CPU seconds per million received, over the
    /// same window (it shares the machine with the server).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub load_cpu_s_per_million: Option<f64>,
}

impl Report {
    /// The human-readable summary (several lines).
    pub fn summary(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "== embercast bench {} ({}) ==", self.bench, self.proto);
        let _ = writeln!(
            s,
            "connections        {} joined of {} ({} failed) over {} process(es) in {} ms: {:.0} joins/s",
            self.joined, self.connections, self.failed, self.processes, self.join_elapsed_ms, self.joins_per_s
        );
        if let Some(l) = &self.join_latency {
            let _ = writeln!(s, "connect+join       {}", l.line());
        }
        if let Some(b) = self.server_rss_per_connection_bytes {
            let _ = writeln!(s, "server memory      {b:.0} bytes of RSS per joined connection");
        }
        if let (Some(e), Some(r)) = (self.expected, self.received) {
            let what = if self.bench == "echo" { "replies" } else { "deliveries" };
            let _ = writeln!(s, "{what:<18} {r} received of {e} expected");
        }
        if let Some(b) = self.broadcasts {
            let _ = writeln!(s, "broadcasts         {b} of {} bytes", self.payload_bytes.unwrap_or(0));
        }
        if let Some(p) = self.per_s {
            let _ = writeln!(s, "throughput         {p:.0} per second");
        }
        if let Some(l) = &self.latency {
            let _ = writeln!(s, "latency            {}", l.line());
        }
        if let (Some(m), Some(x)) = (self.last_subscriber_median_ms, self.last_subscriber_max_ms) {
            let _ = writeln!(s, "last subscriber    median {m:.1} ms, slowest broadcast {x:.1} ms");
        }
        if let (Some(c), Some(m)) = (self.server_cpu_s, self.server_cpu_s_per_million) {
            let _ = writeln!(s, "server CPU         {c:.2} s, {m:.2} s per million ({m:.2} µs each)");
        }
        if let Some(m) = self.load_cpu_s_per_million {
            let _ = writeln!(s, "load CPU           {m:.2} s per million (this tool, for comparison)");
        }
        s
    }

    /// The JSON line.
    pub fn json(&self) -> String {
        serde_json::to_string(self).expect("a report serializes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_in_milliseconds() {
        let mut h = histogram();
        for us in 1..=1000 {
            h.record(us * 1000).unwrap();
        }
        let l = Latency::of(&h).unwrap();
        assert_eq!(l.count, 1000);
        // 3 significant digits: within 0.1%.
        assert!((l.p50_ms - 500.0).abs() <= 0.5, "{l:?}");
        assert!((l.p90_ms - 900.0).abs() <= 0.9, "{l:?}");
        assert!((l.p99_ms - 990.0).abs() <= 1.0, "{l:?}");
        assert!((l.max_ms - 1000.0).abs() <= 1.0, "{l:?}");
        assert_eq!(Latency::of(&histogram()), None);
    }

    #[test]
    fn histograms_survive_the_trip_between_processes() {
        let mut a = histogram();
        let mut b = histogram();
        for v in [3, 70, 70, 1_500, 250_000, 90_000_000] {
            a.saturating_record(v);
        }
        merge_counts(&mut b, &counts(&a));
        assert_eq!(b.len(), 6);
        assert_eq!(b.max(), a.max());
        assert_eq!(b.value_at_quantile(0.5), a.value_at_quantile(0.5));
        merge_counts(&mut b, &counts(&a));
        assert_eq!(b.len(), 12);
    }

    #[test]
    fn medians() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[7]), Some(7.0));
        assert_eq!(median(&[9, 1, 5]), Some(5.0));
        assert_eq!(median(&[4, 1, 3, 2]), Some(2.5));
    }

    #[test]
    fn rates_memory_and_cpu() {
        assert_eq!(per_second(500, 250_000), 2000.0);
        assert_eq!(per_second(5, 0), 0.0);
        let before = Sample { cpu_ticks: 1_000, rss_kb: 5_000 };
        let after = Sample { cpu_ticks: 1_360, rss_kb: 15_000 };
        assert_eq!(rss_per_connection(before, after, 1_000), Some(10_240.0));
        assert_eq!(rss_per_connection(before, after, 0), None);
        // 3.6 s of CPU for 360,000 deliveries: 10 µs each, 10 s per million.
        let cpu = cpu_seconds(before, after);
        assert!((cpu - 3.6).abs() < 1e-9);
        assert!((per_million(cpu, 360_000).unwrap() - 10.0).abs() < 1e-9);
        assert_eq!(per_million(cpu, 0), None);
        assert_eq!(cpu_seconds(after, before), 0.0);
    }

    #[test]
    fn json_leaves_out_what_was_not_measured() {
        let r = Report { bench: "connect", proto: "phoenix", connections: 2, joined: 2, ..Default::default() };
        let v: serde_json::Value = serde_json::from_str(&r.json()).unwrap();
        assert_eq!(v["bench"], "connect");
        assert_eq!(v["joined"], 2);
        assert!(v.get("received").is_none());
        assert!(r.summary().contains("2 joined of 2"));
    }
}
