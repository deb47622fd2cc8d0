//! The WebSocket transport at `<mount>/websocket`.
//!
//! Checks run in this order, all before the upgrade so a refusal costs one
//! HTTP response and leaves nothing behind: handshake headers (400), origin
//! (403), `vsn` (403), subprotocols (403), then the app's `connect` (403 or
//! its chosen status).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use embercast_protocol::{Frame, FrameKind};
use embercast_ws::{handshake, upgrade, Connection, Message as WsMessage, OpCode, ReadOutcome, Role};
use http::StatusCode;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;
use tokio::time::Instant;

use super::connect::{self, Refused};
use crate::outbox::{CloseReason, Outbox};
use crate::params::Params;
use crate::session::Session;
use crate::socket::SocketShared;
use crate::wire;

/// phoenix.js passes its `authToken` as this subprotocol prefix plus the token
/// in unpadded standard base64.
const AUTH_TOKEN_PREFIX: &str = "base64url.bearer.phx.";
/// Bytes moved from the outbox to the socket buffer while the socket is slow;
/// the rest waits in the outbox, where its size limit applies.
const MAX_SOCKET_BACKLOG: usize = 256 * 1024;
/// How long a closing connection waits for the client's close frame.
const CLOSE_LINGER: Duration = Duration::from_secs(2);

pub(crate) async fn upgrade(State(socket): State<Arc<SocketShared>>, req: Request) -> Response {
    let (mut parts, _body) = req.into_parts();
    let key = match handshake::check_request(&parts.method, &parts.headers) {
        Ok(key) => key.to_vec(),
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    let Ok((auth_token, protocol)) = subprotocols(&parts.headers) else {
        tracing::warn!("connection refused: no acceptable subprotocol offered");
        return StatusCode::FORBIDDEN.into_response();
    };
    let params = Params::parse(parts.uri.query().unwrap_or(""));
    let (serializer, accept) = match connect::admit(&socket, &parts, params, auth_token, "websocket").await {
        Ok(admitted) => admitted,
        Err(Refused::Connect(reject)) => return reject.status.into_response(),
        Err(Refused::Origin | Refused::Vsn) => return StatusCode::FORBIDDEN.into_response(),
    };
    let Some(on_upgrade) = parts.extensions.remove::<hyper::upgrade::OnUpgrade>() else {
        tracing::error!("the HTTP server does not support upgrades");
        return (StatusCode::INTERNAL_SERVER_ERROR, "upgrades unsupported").into_response();
    };
    let peer = parts.extensions.get::<axum::extract::ConnectInfo<SocketAddr>>().map(|c| c.0);
    let limits = Limits { idle: socket.config.idle_timeout, max_frame_size: socket.config.max_frame_size };
    let drain = socket.drain.subscribe();
    // The session (and its socket id subscription) exists before the 101 is
    // sent, so a `disconnect` broadcast after the client saw the 101 closes it.
    let (session, outbox) = connect::open(socket, serializer, accept, true, "websocket");
    tokio::spawn(serve(session, outbox, limits, drain, on_upgrade, peer));
    upgrade::switching_protocols::<Body>(&key, protocol)
}

#[derive(Clone, Copy)]
struct Limits {
    idle: Duration,
    max_frame_size: usize,
}

/// The connection's task: waits for hyper to hand over the upgraded stream,
/// runs the connection, then finishes the close handshake.
async fn serve(
    session: Session,
    outbox: Arc<Outbox>,
    limits: Limits,
    drain: watch::Receiver<bool>,
    on_upgrade: hyper::upgrade::OnUpgrade,
    peer: Option<SocketAddr>,
) {
    let io = match upgrade::upgraded(on_upgrade).await {
        Ok(io) => io,
        Err(e) => return tracing::warn!(error = %e, "websocket upgrade failed"),
    };
    let conn = Connection::new(io, Role::Server, limits.max_frame_size);
    if let Some(conn) = run(session, outbox, limits.idle, drain, conn, peer).await {
        // Boxed: the close handshake is rare and should not enlarge every connection's task.
        Box::pin(conn.finish(CLOSE_LINGER)).await;
    }
}

/// Splits the offered subprotocols into the auth token and the protocol to
/// answer with. Offering protocols without `phoenix` is refused: a browser
/// aborts a handshake whose answer selects none of its offers.
fn subprotocols(headers: &http::HeaderMap) -> Result<(Option<String>, Option<&'static str>), ()> {
    // An offer we cannot read is an offer we cannot accept.
    if headers.get_all(http::header::SEC_WEBSOCKET_PROTOCOL).iter().any(|v| v.to_str().is_err()) {
        return Err(());
    }
    let mut token = None;
    let mut phoenix = false;
    let mut others = false;
    for p in handshake::offered_protocols(headers) {
        if let Some(b64) = p.strip_prefix(AUTH_TOKEN_PREFIX) {
            let raw =
                base64::engine::general_purpose::STANDARD_NO_PAD.decode(b64.trim_end_matches('=')).map_err(|_| ())?;
            token = Some(String::from_utf8(raw).map_err(|_| ())?);
        } else if p == "phoenix" {
            phoenix = true;
        } else {
            others = true;
        }
    }
    match (phoenix, others || token.is_some()) {
        (true, _) => Ok((token, Some("phoenix"))),
        (false, false) => Ok((None, None)),
        (false, true) => Err(()),
    }
}

/// Runs the connection until it ends; returns it if the close handshake
/// should be finished.
async fn run<S: AsyncRead + AsyncWrite + Unpin>(
    mut session: Session,
    outbox: Arc<Outbox>,
    idle: Duration,
    mut drain: watch::Receiver<bool>,
    mut conn: Connection<S>,
    peer: Option<SocketAddr>,
) -> Option<Connection<S>> {
    if *drain.borrow_and_update() {
        outbox.close(CloseReason::Shutdown);
    }
    let mut drain_open = true;
    let mut last_read = Instant::now();
    let idle_timer = tokio::time::sleep(idle);
    tokio::pin!(idle_timer);
    let mut received = Vec::new();

    let ending = loop {
        // Stop reading while channels are behind on this client's input, or
        // while the client is not reading what we write (pongs included):
        // either way its sending must not grow our memory.
        let backlogged = conn.queued_bytes() > MAX_SOCKET_BACKLOG;
        let paused = session.reading_paused() || backlogged;
        // One future borrows the connection: while backlogged it only writes,
        // and ends when the backlog is written so reading can resume.
        let io = async {
            if backlogged {
                conn.flush().await.map(|()| None)
            } else {
                conn.drive(!paused, &mut received).await.map(Some)
            }
        };
        tokio::select! {
            _ = outbox.ready() => {}
            r = io => match r {
                // The backlog is written: reading may resume.
                Ok(None) => {}
                Ok(Some(outcome)) => {
                    match outcome {
                        ReadOutcome::Open => {}
                        ReadOutcome::Closed => break Ending::Clean,
                        ReadOutcome::Failed(e) => {
                            tracing::warn!(?peer, error = %e, "closing: websocket protocol error");
                            break Ending::Clean;
                        }
                    }
                    last_read = Instant::now();
                    // Taken, not drained: an idle connection should not keep the Vec's capacity.
                    for m in std::mem::take(&mut received) {
                        match m {
                            WsMessage::Text(t) => session.handle_frame(Frame::Text(&t)),
                            WsMessage::Binary(b) => session.handle_frame(Frame::Binary(&b)),
                            _ => {}
                        }
                    }
                }
                Err(_) => break Ending::Gone,
            },
            _ = session.reading_resumed(), if paused && !backlogged => {}
            r = drain.changed(), if drain_open => {
                match r {
                    Ok(()) if *drain.borrow() => outbox.close(CloseReason::Shutdown),
                    Ok(()) => {}
                    Err(_) => drain_open = false,
                }
            }
            _ = &mut idle_timer => {
                // Nothing read for the idle timeout, because the client sent
                // nothing or because it kept us from reading (flooding a stuck
                // channel, not reading our frames): either way it goes.
                if last_read.elapsed() >= idle {
                    outbox.close(CloseReason::IdleTimeout);
                } else {
                    idle_timer.as_mut().reset(last_read + idle);
                }
            }
        }
        if let Some(reason) = move_to_socket(&outbox, &mut conn) {
            let (code, text) = wire::close_code(reason);
            tracing::info!(?peer, code = code.0, text, "closing connection");
            if reason == CloseReason::SlowConsumer {
                break Ending::Gone;
            }
            conn.queue_close(code, text);
            break Ending::Clean;
        }
    };
    session.close();
    outbox.kill();
    drop(session);
    tracing::info!(?peer, "disconnected");
    match ending {
        Ending::Clean => Some(conn),
        Ending::Gone => None,
    }
}

enum Ending {
    /// Finish the close handshake politely.
    Clean,
    /// The socket is unusable, or the client must be dropped now.
    Gone,
}

/// Moves queued frames into the socket's write buffer while it is not backed
/// up; returns the close reason once every frame before it has moved, or at
/// once while the socket is backed up (a client that does not read would
/// otherwise never be closed, not even for being too slow).
fn move_to_socket<S: AsyncRead + AsyncWrite + Unpin>(outbox: &Outbox, conn: &mut Connection<S>) -> Option<CloseReason> {
    if conn.queued_bytes() > MAX_SOCKET_BACKLOG {
        return outbox.close_reason();
    }
    let drained = outbox.drain();
    for f in &drained.frames {
        let op = match f.kind {
            FrameKind::Text => OpCode::Text,
            FrameKind::Binary => OpCode::Binary,
        };
        conn.queue_frame(op, &f.data);
    }
    drained.close
}
