//! A WebSocket echo server on Embercast's WebSocket layer, for the Autobahn
//! conformance suite (`scripts/autobahn.sh`). Not part of the product.
//!
//! Usage: `ws_echo [ADDR]` (default `127.0.0.1:0`); prints `listening on ADDR`.

use std::convert::Infallible;
use std::time::Duration;

use embercast_ws::{handshake, upgrade, Connection, Message, OpCode, ReadOutcome, Role};
use http_body_util::Empty;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;

/// Autobahn's largest cases send 16 MiB messages.
const MAX_MESSAGE: usize = 64 << 20;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:0".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on {}", listener.local_addr()?);
    loop {
        let (tcp, _) = listener.accept().await?;
        tokio::spawn(async move {
            let service = hyper::service::service_fn(handle);
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(tcp), service)
                .with_upgrades()
                .await;
        });
    }
}

async fn handle(mut req: Request<Incoming>) -> Result<Response<Empty<Bytes>>, Infallible> {
    let key = match handshake::check_request(req.method(), req.headers()) {
        Ok(key) => key.to_vec(),
        Err(_) => {
            let mut res = Response::new(Empty::new());
            *res.status_mut() = StatusCode::BAD_REQUEST;
            return Ok(res);
        }
    };
    let on_upgrade = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        if let Ok(io) = upgrade::upgraded(on_upgrade).await {
            echo(Connection::new(io, Role::Server, MAX_MESSAGE)).await;
        }
    });
    Ok(upgrade::switching_protocols(&key, None))
}

async fn echo<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(mut conn: Connection<S>) {
    let mut messages = Vec::new();
    loop {
        let outcome = match conn.drive(true, &mut messages).await {
            Ok(o) => o,
            Err(_) => return,
        };
        for m in messages.drain(..) {
            match m {
                Message::Text(t) => conn.queue_frame(OpCode::Text, &t),
                Message::Binary(b) => conn.queue_frame(OpCode::Binary, &b),
                _ => {}
            }
        }
        if outcome != ReadOutcome::Open {
            conn.finish(Duration::from_secs(2)).await;
            return;
        }
    }
}
