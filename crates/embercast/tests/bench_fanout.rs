//! `embercast bench fanout` against a real `embercast serve`: every
//! broadcast reaches every subscriber, and the JSON report says so.

mod support;

use std::process::{Command, Output};

use serde_json::Value;
use support::{Served, BIN};

/// Runs `embercast bench fanout` with `extra` arguments; returns the JSON line.
fn fanout(server: &Served, extra: &[&str]) -> Value {
    let (pid, url) = (server.child.id().to_string(), server.url());
    let mut args = vec!["bench", "fanout", "--url", &url, "--server-pid", &pid, "--max-secs", "60"];
    args.extend_from_slice(extra);
    let Output { status, stdout, stderr } = Command::new(BIN).args(&args).output().expect("bench runs");
    let stdout = String::from_utf8_lossy(&stdout);
    assert!(status.success(), "bench failed: {stdout}\n{}", String::from_utf8_lossy(&stderr));
    let last = stdout.lines().last().expect("a JSON line");
    serde_json::from_str(last).expect("the last line is JSON")
}

#[test]
fn every_subscriber_gets_every_broadcast() {
    let server = Served::start();
    let r = fanout(&server, &["-n", "50", "--broadcasts", "4", "--interval-ms", "20"]);
    assert_eq!(r["bench"], "fanout");
    assert_eq!(r["proto"], "phoenix");
    assert_eq!(r["joined"], 50);
    assert_eq!(r["failed"], 0);
    assert_eq!(r["broadcasts"], 4);
    assert_eq!(r["expected"], 200);
    assert_eq!(r["received"], r["expected"]);
    assert_eq!(r["latency"]["count"], 200);
    assert!(r["latency"]["p50_ms"].as_f64().unwrap() <= r["latency"]["max_ms"].as_f64().unwrap());
    assert!(r["last_subscriber_median_ms"].as_f64().is_some());
    assert!(r["server_cpu_s_per_million"].as_f64().is_some(), "{r}");
    assert!(r["server_rss_per_connection_bytes"].as_f64().is_some(), "{r}");
}

#[test]
fn worker_processes_add_up() {
    let server = Served::start();
    let r = fanout(&server, &["-n", "30", "--processes", "2", "--broadcasts", "2", "--interval-ms", "20"]);
    assert_eq!(r["processes"], 2);
    assert_eq!(r["joined"], 30);
    assert_eq!(r["expected"], 60);
    assert_eq!(r["received"], 60);
}
