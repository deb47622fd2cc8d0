//! `embercast`: the command-line entry point. Argument parsing and wiring only.

mod api;
mod bench;
mod demo;
mod web;

use std::io::IsTerminal;
use std::time::Duration;

use clap::{Parser, Subcommand};
use embercast_server::{LongPoll, Server};

#[derive(Parser)]
#[command(name = "embercast", version, about = "Phoenix Channels, in Rust")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the demo server: a socket at /socket with chat rooms (room:*, rooms:*) and an echo channel.
    Serve(ServeArgs),
    /// Load scenarios against a Phoenix-protocol or Socket.IO server (fanout, connect, echo).
    Bench(bench::BenchArgs),
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 4000)]
    port: u16,
    /// Require `Authorization: Bearer <key>` on POST /api/broadcast.
    #[arg(long, env = "EMBERCAST_API_KEY")]
    api_key: Option<String>,
    /// Only accept browser connections from these origins (e.g. //example.com, //*.example.com).
    #[arg(long = "check-origin", value_name = "ORIGIN")]
    check_origin: Vec<String>,
    /// Refuse WebSocket upgrades, leaving LongPoll (to try phoenix.js's fallback).
    #[arg(long)]
    no_websocket: bool,
    /// How long a LongPoll request is held when nothing is queued, in milliseconds.
    #[arg(long, default_value_t = 10_000, value_name = "MS")]
    longpoll_window_ms: u64,
    /// How long a LongPoll session lives without a poll, in milliseconds.
    #[arg(long, default_value_t = 15_000, value_name = "MS")]
    longpoll_timeout_ms: u64,
    /// Close WebSockets that send nothing for this long, in milliseconds.
    #[arg(long, default_value_t = 60_000, value_name = "MS")]
    idle_timeout_ms: u64,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("EMBERCAST_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let done = match Cli::parse().command {
        Command::Serve(args) => serve(args).await,
        Command::Bench(args) => bench::run(args).await,
    };
    match done {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // A sentence, not the error's debug form.
            eprintln!("embercast: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn serve(args: ServeArgs) -> std::io::Result<()> {
    let longpoll = LongPoll::new()
        .window(Duration::from_millis(args.longpoll_window_ms))
        .session_timeout(Duration::from_millis(args.longpoll_timeout_ms));
    let socket = demo::socket(&args.check_origin)
        .longpoll(longpoll)
        .websocket(!args.no_websocket)
        .idle_timeout(Duration::from_millis(args.idle_timeout_ms));
    let pubsub = socket.pubsub_handle();
    let drain = socket.drain_handle();
    let app = axum::Router::new()
        .nest("/socket", socket.router())
        .merge(api::router(pubsub, args.api_key))
        .merge(web::router());
    let listener = tokio::net::TcpListener::bind((args.host.as_str(), args.port)).await.map_err(|e| {
        let hint = match e.kind() {
            std::io::ErrorKind::AddrInUse => " (pick another port with --port N; --port 0 picks a free one)",
            _ => "",
        };
        std::io::Error::new(e.kind(), format!("cannot listen on {}:{}: {e}{hint}", args.host, args.port))
    })?;
    let addr = listener.local_addr()?;
    // Tests and scripts wait for this exact line on stdout.
    println!("embercast listening on http://{addr}");
    tracing::info!(%addr, "demo: open http://{addr}/ ; socket at ws://{addr}/socket/websocket");
    // Server: TCP_NODELAY, a deadline for request headers, bounded shutdown.
    Server::new(listener, app)
        .run(async move {
            shutdown_signal().await;
            // Close every WebSocket with 1012 so clients reconnect (to this
            // server once it is back, or to another node), then stop.
            drain.drain();
            if !drain.closed(Duration::from_secs(5)).await {
                tracing::warn!(open = drain.connections(), "connections still open after 5 s; stopping anyway");
            }
        })
        .await
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("signal handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutting down");
}
