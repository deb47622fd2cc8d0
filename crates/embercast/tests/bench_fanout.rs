//! `embercast bench fanout` against a real `embercast serve`: every
//! broadcast reaches every subscriber, and the JSON report says so.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_embercast");

/// An `embercast serve --port 0`, stopped when dropped.
struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn start() -> Server {
        let mut child = Command::new(BIN)
            .args(["serve", "--port", "0"])
            .env("EMBERCAST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("embercast serve starts");
        let stdout = child.stdout.take().expect("piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(addr) = line.strip_prefix("embercast listening on ") {
                    let _ = tx.send(addr.to_owned());
                }
            }
        });
        let url = rx.recv_timeout(Duration::from_secs(30)).expect("the server prints its address");
        Server { child, url }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `embercast bench fanout` with `extra` arguments; returns the JSON line.
fn fanout(server: &Server, extra: &[&str]) -> Value {
    let pid = server.child.id().to_string();
    let mut args = vec!["bench", "fanout", "--url", &server.url, "--server-pid", &pid, "--max-secs", "60"];
    args.extend_from_slice(extra);
    let Output { status, stdout, stderr } = Command::new(BIN).args(&args).output().expect("bench runs");
    let stdout = String::from_utf8_lossy(&stdout);
    assert!(status.success(), "bench failed: {stdout}\n{}", String::from_utf8_lossy(&stderr));
    let last = stdout.lines().last().expect("a JSON line");
    serde_json::from_str(last).expect("the last line is JSON")
}

#[test]
fn every_subscriber_gets_every_broadcast() {
    let server = Server::start();
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
    let server = Server::start();
    let r = fanout(&server, &["-n", "30", "--processes", "2", "--broadcasts", "2", "--interval-ms", "20"]);
    assert_eq!(r["processes"], 2);
    assert_eq!(r["joined"], 30);
    assert_eq!(r["expected"], 60);
    assert_eq!(r["received"], 60);
}
