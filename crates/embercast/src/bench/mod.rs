//! `embercast bench`: load scenarios against a Phoenix-protocol server
//! (`embercast serve`) or a Socket.IO 4 server (bench/socketio/).
//!
//! * `fanout`: N connections join one topic; a publisher broadcasts through
//!   the HTTP API (or a channel event) and every receiver timestamps delivery.
//! * `connect`: connect + join rate and latency.
//! * `echo`: every connection pushes and awaits the reply, back to back.
//!
//! Connections are held by workers ([`worker`]): this process, or child
//! processes of the same binary once one would run out of file descriptors.
//! Each prints a summary and one JSON line ([`report::Report`]).

mod conn;
mod connect;
mod echo;
mod fanout;
mod procfs;
mod publish;
mod report;
mod session;
mod sio;
mod socketio;
mod worker;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use clap::{Args, Subcommand, ValueEnum};
use serde::{Deserialize, Serialize};

/// `embercast bench ...`
#[derive(Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Subcommand)]
enum Scenario {
    /// N connections join one topic; broadcasts are published and every receiver timestamps delivery.
    Fanout(fanout::FanoutArgs),
    /// Connect + join rate and latency.
    Connect(LoadArgs),
    /// Round-trip latency under load: every connection pushes and awaits the reply, back to back.
    Echo(echo::EchoArgs),
    /// A child process holding a share of the connections (started by the bench itself).
    #[command(hide = true)]
    Worker,
}

/// The protocol the load connections speak.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    /// Phoenix Channels (V2 JSON over WebSocket), through embercast-client.
    Phoenix,
    /// Socket.IO 4 (engine.io v4 over WebSocket, default namespace).
    Socketio,
}

impl Proto {
    fn name(self) -> &'static str {
        match self {
            Proto::Phoenix => "phoenix",
            Proto::Socketio => "socketio",
        }
    }
}

/// Options every scenario shares.
#[derive(Args, Clone, Debug)]
pub struct LoadArgs {
    /// Protocol to speak.
    #[arg(long, value_enum, default_value = "phoenix")]
    proto: Proto,
    /// The server's HTTP address [default: http://127.0.0.1:4000, or :3000 with --proto socketio].
    #[arg(long)]
    url: Option<String>,
    /// Where the Phoenix socket is mounted.
    #[arg(long, default_value = "/socket")]
    socket_path: String,
    /// The topic to join (Phoenix). The demo's `echo:*` keeps no state; its
    /// rooms track presence, which sends every join to the whole room.
    #[arg(long, default_value = "echo:bench")]
    topic: String,
    /// Connections to open.
    #[arg(short = 'n', long, default_value_t = 1000)]
    connections: u64,
    /// Connections connecting and joining at the same time, per process.
    #[arg(long, default_value_t = 100)]
    concurrency: usize,
    /// Source addresses, one per --per-source connections in turn
    /// [default: 127.0.0.2, 127.0.0.3, ... for a server on 127.0.0.1].
    #[arg(long, value_delimiter = ',')]
    source_addrs: Vec<IpAddr>,
    /// Connections per source address (connect()'s port search slows past ~14,000).
    #[arg(long, default_value_t = 10_000)]
    per_source: u64,
    /// Most connections one process holds (the open-file limit caps it too).
    #[arg(long, default_value_t = 19_000)]
    max_per_process: u64,
    /// Spread over exactly this many worker processes (default: as few as fit; 1 runs in this process).
    #[arg(long)]
    processes: Option<usize>,
    /// The server's pid, to report its memory per connection and its CPU time.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Deadline for one connection's connect and join, in seconds.
    #[arg(long, default_value_t = 30)]
    join_timeout_secs: u64,
    /// Deadline for the whole run, in seconds.
    #[arg(long, default_value_t = 600)]
    max_secs: u64,
}

/// Runs `embercast bench <scenario>`.
pub async fn run(args: BenchArgs) -> std::io::Result<()> {
    match args.scenario {
        Scenario::Fanout(a) => fanout::run(a).await,
        Scenario::Connect(a) => connect::run(a).await,
        Scenario::Echo(a) => echo::run(a).await,
        Scenario::Worker => worker::child_main().await,
    }
}

/// Where the server is, resolved from [`LoadArgs`].
struct Target {
    server: SocketAddr,
    /// `host:port`, for Host headers.
    host: String,
    /// Phoenix: the socket URL; Socket.IO: the WebSocket request path.
    url: String,
    sources: Vec<IpAddr>,
}

impl Target {
    async fn resolve(args: &LoadArgs) -> std::io::Result<Target> {
        let invalid = |why: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, why);
        let default = match args.proto {
            Proto::Phoenix => "http://127.0.0.1:4000",
            Proto::Socketio => "http://127.0.0.1:3000",
        };
        let url = args.url.as_deref().unwrap_or(default);
        let rest =
            url.strip_prefix("http://").ok_or_else(|| invalid(format!("--url {url}: expected http://host:port")))?;
        let host = rest.trim_end_matches('/').to_owned();
        let server = tokio::net::lookup_host(host.as_str())
            .await?
            .next()
            .ok_or_else(|| invalid(format!("{host} resolves to no address")))?;
        // A load generator aimed at another machine is a denial of service.
        if !server.ip().is_loopback() {
            return Err(invalid(format!("{server} is not a loopback address; the bench only loads this machine")));
        }
        let url = match args.proto {
            Proto::Phoenix => format!("ws://{host}{}", args.socket_path),
            Proto::Socketio => "/socket.io/?EIO=4&transport=websocket".to_owned(),
        };
        let sources = if !args.source_addrs.is_empty() {
            args.source_addrs.clone()
        } else if server.ip() == IpAddr::V4(Ipv4Addr::LOCALHOST) {
            let blocks = args.connections.div_ceil(args.per_source.max(1)).clamp(1, 250);
            (0..blocks).map(|b| IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2 + b as u8))).collect()
        } else {
            Vec::new()
        };
        Ok(Target { server, host, url, sources })
    }
}
