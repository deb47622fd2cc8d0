//! The binary under test: an `embercast serve --port 0` child process, whose
//! address is read from its `embercast listening on http://ADDR` line.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The `embercast` binary Cargo built for these tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_embercast");

/// How long the server may take to print its address.
const START_DEADLINE: Duration = Duration::from_secs(30);

/// An `embercast serve --port 0`, killed when dropped (however the test ends).
pub struct Served {
    pub child: Child,
    pub addr: SocketAddr,
}

impl Served {
    pub fn start() -> Served {
        let mut child = Command::new(BIN)
            .args(["serve", "--port", "0"])
            .env("EMBERCAST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start embercast serve");
        let stdout = child.stdout.take().expect("stdout");
        // Read the line on a thread so a server that never prints it fails
        // the test at the deadline instead of hanging it.
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(addr) = line.strip_prefix("embercast listening on http://") {
                    let _ = tx.send(addr.trim().to_owned());
                }
            }
        });
        let addr = match rx.recv_timeout(START_DEADLINE) {
            Ok(addr) => addr.parse().expect("a socket address"),
            Err(_) => {
                let _ = child.kill();
                panic!("embercast serve did not print its listening line within {START_DEADLINE:?}");
            }
        };
        Served { child, addr }
    }

    /// `http://ADDR`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
