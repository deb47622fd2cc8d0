//! The LongPoll transport at `<mount>/longpoll` (PROTOCOL.md §7), exactly as
//! phoenix.js uses it, including its automatic fallback from WebSocket.
//!
//! A LongPoll "connection" is a server-side session addressed by a signed
//! token: the client holds one GET open at a time to receive frames and sends
//! its frames with POSTs. Every response is HTTP 200 with a JSON body whose
//! `status` carries the outcome:
//!
//! | request | answer |
//! |---|---|
//! | GET without a usable token | connect runs: `{"status":410,"token":T,"messages":[]}`, or `{"status":403}` |
//! | GET with a token | `{"status":200,"token":T,"messages":[…]}` as soon as frames are queued, `{"status":204,…}` after the window or as soon as a newer poll arrives, `{"status":410}` if the session ended |
//! | POST with a token | `{"status":200}` once every line is dispatched, in order |
//! | POST without a usable token | `{"status":410}` |
//! | POST over the limits (body size, 100 lines, frame size) | `{"status":413}`; a line that is neither JSON nor base64: `{"status":400}` |
//! | POST whose lines wait longer than the window for busy channels | `{"status":408}` |
//! | too many sessions | `{"status":503}` |
//! | origin refused | `{"status":403}` |
//!
//! Server-to-client bytes cannot travel over LongPoll (the client hands every
//! message to its JSON decoder; Phoenix fails the poll with HTTP 500). Here a
//! binary reply becomes an error reply `{"reason": "binary payloads need vsn
//! 2.0.0 over WebSocket"}`, a binary push fails in the channel with
//! [`PushError::is_binary_over_text`](crate::PushError::is_binary_over_text),
//! and a binary broadcast is skipped for LongPoll subscribers (logged at debug).

mod token;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use bytes::Bytes;
use embercast_protocol::Frame;
use http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use parking_lot::Mutex;
use tokio::sync::{watch, Notify};
use tokio::time::Instant;

use super::connect::{self, Refused};
use crate::outbox::{CloseReason, Outbox};
use crate::params::Params;
use crate::session::Session;
use crate::socket::SocketShared;
use token::TokenKey;

/// Frames one POST may carry, as in Phoenix ≥ 1.8.9 (clients ≥ 1.8.6 never send more).
const MAX_LINES: usize = 100;

/// LongPoll settings; enable with [`Socket::longpoll`](crate::Socket::longpoll).
#[derive(Clone, Debug)]
pub struct LongPoll {
    pub(crate) window: Duration,
    pub(crate) session_timeout: Duration,
    pub(crate) max_sessions: usize,
    pub(crate) max_body_bytes: usize,
    pub(crate) secret: Option<Vec<u8>>,
}

impl Default for LongPoll {
    fn default() -> Self {
        LongPoll {
            window: Duration::from_secs(10),
            session_timeout: Duration::from_secs(15),
            max_sessions: 100_000,
            max_body_bytes: 8 << 20,
            secret: None,
        }
    }
}

impl LongPoll {
    /// Phoenix's defaults: a 10 s poll window, sessions ended after 15 s without a poll.
    pub fn new() -> Self {
        LongPoll::default()
    }

    /// How long a poll is held when nothing is queued (default 10 s). The
    /// official client gives up on a request after 20 s.
    pub fn window(mut self, window: Duration) -> Self {
        self.window = window;
        self
    }

    /// How long a session lives without a poll before its channels terminate
    /// (default 15 s). POSTs do not count.
    pub fn session_timeout(mut self, timeout: Duration) -> Self {
        self.session_timeout = timeout;
        self
    }

    /// How many sessions may exist at once (default 100,000); beyond it a new
    /// session is refused with `{"status":503}`.
    pub fn max_sessions(mut self, max: usize) -> Self {
        self.max_sessions = max;
        self
    }

    /// The largest POST body, in bytes (default 8 MiB, Plug's limit).
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
        self
    }

    /// The key session tokens are signed with. Without it a random key is
    /// made at start (sessions do not survive a restart anyway).
    pub fn secret(mut self, secret: impl Into<Vec<u8>>) -> Self {
        self.secret = Some(secret.into());
        self
    }
}

/// The live sessions of one socket mount.
pub(crate) struct Sessions {
    config: LongPoll,
    key: TokenKey,
    map: Mutex<HashMap<u64, Arc<LpSession>>>,
    /// Sessions being opened (their `connect` is running); changed only
    /// under the `map` lock, and counted with it against `max_sessions`.
    opening: std::sync::atomic::AtomicUsize,
}

impl Sessions {
    pub(crate) fn new(config: LongPoll) -> Self {
        let key = TokenKey::new(config.secret.as_deref());
        Sessions { config, key, map: Mutex::new(HashMap::new()), opening: Default::default() }
    }

    fn find(&self, token: &str) -> Option<Arc<LpSession>> {
        let id = self.key.verify(token)?;
        self.map.lock().get(&id).cloned()
    }

    /// A place for one more session, if there is one. Taken before
    /// `connect` runs: counting only finished sessions would let every
    /// request that arrives while `connect` is slow past the cap.
    fn reserve(&self) -> Option<Opening<'_>> {
        use std::sync::atomic::Ordering::Relaxed;
        let map = self.map.lock();
        if map.len() + self.opening.load(Relaxed) >= self.config.max_sessions {
            return None;
        }
        self.opening.fetch_add(1, Relaxed);
        Some(Opening(self))
    }
}

/// A reserved place in [`Sessions`], given back when dropped: after the
/// session is in the map, or instead of it when the open fails.
struct Opening<'a>(&'a Sessions);

impl Opening<'_> {
    /// Puts the session in its place.
    fn fill(self, id: u64, s: Arc<LpSession>) {
        self.0.map.lock().insert(id, s);
    }
}

impl Drop for Opening<'_> {
    fn drop(&mut self) {
        let _map = self.0.map.lock();
        self.0.opening.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// One LongPoll session: a [`Session`] plus the outbox polls drain.
struct LpSession {
    id: u64,
    token: String,
    outbox: Arc<Outbox>,
    /// `None` once the session has ended.
    session: Mutex<Option<Session>>,
    last_poll: Mutex<Instant>,
    /// Polls being held open right now: a client waiting in a poll is active,
    /// however long the window is compared with the session timeout.
    polls: std::sync::atomic::AtomicUsize,
    /// The number of the newest poll. Only the newest poll takes frames, as
    /// in Phoenix (the latest poll is the session's one listener): an older
    /// poll still held (its client gave up on it and polled again) would
    /// otherwise take frames into a connection nobody reads.
    newest_poll: Mutex<u64>,
    /// Wakes older polls when a newer one arrives; they answer 204.
    superseded: Notify,
    ended: Notify,
}

impl LpSession {
    fn touch(&self) {
        *self.last_poll.lock() = Instant::now();
    }

    /// Whether the client shows no sign of life: no poll held open and none
    /// received within `timeout`.
    fn is_inactive(&self, timeout: Duration) -> bool {
        self.polls.load(std::sync::atomic::Ordering::Acquire) == 0 && self.last_poll.lock().elapsed() >= timeout
    }

    fn is_ended(&self) -> bool {
        self.session.lock().is_none()
    }

    /// Ends the session: its channels terminate, pending polls answer 410.
    fn end(&self, sessions: &Sessions, why: &str) {
        sessions.map.lock().remove(&self.id);
        let session = self.session.lock().take();
        if let Some(mut session) = session {
            tracing::info!(session = self.id, why, "longpoll session ended");
            session.close();
            self.outbox.kill();
            self.ended.notify_waiters();
        }
    }
}

pub(crate) async fn handle(State(socket): State<Arc<SocketShared>>, req: Request) -> Response {
    let sessions = socket.longpoll.clone().expect("the longpoll route exists only when enabled");
    let (parts, body) = req.into_parts();
    let origin = parts.headers.get(header::ORIGIN).map(|o| o.to_str().unwrap_or("\u{0}"));
    if !socket.config.check_origin.allows(origin) {
        tracing::warn!(?origin, "longpoll request refused: origin not allowed");
        return status(403);
    }
    let params = Params::parse(parts.uri.query().unwrap_or(""));
    let token = session_token(&parts.headers, &params);
    match parts.method {
        Method::OPTIONS => preflight(&parts.headers),
        Method::GET => match token.as_deref().and_then(|t| sessions.find(t)) {
            Some(s) => poll(&sessions, s).await,
            None => {
                let auth_token =
                    parts.headers.get("x-phoenix-authtoken").and_then(|v| v.to_str().ok()).map(str::to_owned);
                create(socket, sessions, &parts, params, auth_token).await
            }
        },
        Method::POST => match token.as_deref().and_then(|t| sessions.find(t)) {
            Some(s) => publish(&socket, &sessions, s, &parts.headers, body).await,
            None => status(410),
        },
        _ => status(405),
    }
}

/// The session token: the `x-phoenix-longpoll-token` header (1.9 clients) wins
/// over the `token` query parameter (1.8 clients), of which the last one is
/// the session's (an app's own `token` param comes first).
fn session_token(headers: &HeaderMap, params: &Params) -> Option<String> {
    headers
        .get("x-phoenix-longpoll-token")
        .and_then(|v| v.to_str().ok())
        .or_else(|| params.get("token"))
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

async fn create(
    socket: Arc<SocketShared>,
    sessions: Arc<Sessions>,
    parts: &http::request::Parts,
    params: Params,
    auth_token: Option<String>,
) -> Response {
    let Some(opening) = sessions.reserve() else {
        tracing::warn!(max = sessions.config.max_sessions, "longpoll session refused: too many sessions");
        return status(503);
    };
    let (serializer, accept) = match connect::admit(&socket, parts, params, auth_token, "longpoll").await {
        Ok(admitted) => admitted,
        Err(Refused::Origin | Refused::Vsn | Refused::Connect(_)) => return status(403),
    };
    let drain = socket.drain.subscribe();
    let (session, outbox) = connect::open(socket, serializer, accept, false, "longpoll");
    let id = token::random_id();
    let s = Arc::new(LpSession {
        id,
        token: sessions.key.sign(id),
        outbox,
        session: Mutex::new(Some(session)),
        last_poll: Mutex::new(Instant::now()),
        polls: Default::default(),
        newest_poll: Mutex::new(0),
        superseded: Notify::new(),
        ended: Notify::new(),
    });
    opening.fill(id, s.clone());
    let token = s.token.clone();
    tokio::spawn(keep(sessions, s, drain));
    json(format!(r#"{{"status":410,"token":{},"messages":[]}}"#, quoted(&token)))
}

/// Ends a session when no poll came for the session timeout, on a close
/// request (`disconnect`, a client that stopped polling while frames piled
/// up) or when the socket drains.
async fn keep(sessions: Arc<Sessions>, s: Arc<LpSession>, mut drain: watch::Receiver<bool>) {
    let timeout = sessions.config.session_timeout;
    let mut draining = *drain.borrow_and_update();
    while !draining {
        let deadline = *s.last_poll.lock() + timeout;
        tokio::select! {
            _ = tokio::time::sleep_until(deadline) => {
                if s.is_inactive(timeout) {
                    return s.end(&sessions, "no poll within the session timeout");
                }
                if s.polls.load(std::sync::atomic::Ordering::Acquire) > 0 {
                    // A poll is held open: look again a full timeout from now.
                    s.touch();
                }
            }
            reason = s.outbox.close_requested() => {
                return s.end(&sessions, close_reason_text(reason));
            }
            r = drain.changed() => draining = r.is_err() || *drain.borrow(),
            _ = s.ended.notified() => return,
        }
    }
    s.end(&sessions, "server shutting down");
}

fn close_reason_text(reason: CloseReason) -> &'static str {
    crate::wire::close_code(reason).1
}

/// Counts a poll as held open for as long as it exists (also when the client
/// goes away and hyper drops the request).
struct Held<'a>(&'a LpSession);

impl<'a> Held<'a> {
    fn new(s: &'a LpSession) -> Self {
        s.polls.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        Held(s)
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.0.touch();
        self.0.polls.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}

async fn poll(sessions: &Sessions, s: Arc<LpSession>) -> Response {
    s.touch();
    let _held = Held::new(&s);
    let me = {
        let mut newest = s.newest_poll.lock();
        *newest += 1;
        *newest
    };
    s.superseded.notify_waiters();
    let deadline = Instant::now() + sessions.config.window;
    loop {
        let ended = s.ended.notified();
        let superseded = s.superseded.notified();
        let ready = s.outbox.ready();
        if s.is_ended() {
            return status(410);
        }
        // Checked and drained under one lock: once a newer poll has its
        // number, no older poll takes another frame.
        let drained = {
            let newest = s.newest_poll.lock();
            (*newest == me).then(|| s.outbox.drain())
        };
        let Some(drained) = drained else {
            return messages(&s.token, 204, std::iter::empty());
        };
        if !drained.frames.is_empty() {
            s.touch();
            return messages(&s.token, 200, drained.frames.iter().map(|f| &f.data));
        }
        if let Some(reason) = drained.close {
            s.end(sessions, close_reason_text(reason));
            return status(410);
        }
        tokio::select! {
            _ = ready => {}
            _ = ended => {}
            _ = superseded => {}
            _ = tokio::time::sleep_until(deadline) => {
                s.touch();
                return messages(&s.token, 204, std::iter::empty());
            }
        }
    }
}

async fn publish(
    socket: &SocketShared,
    sessions: &Sessions,
    s: Arc<LpSession>,
    headers: &HeaderMap,
    body: Body,
) -> Response {
    let Ok(body) = axum::body::to_bytes(body, sessions.config.max_body_bytes).await else {
        tracing::warn!(limit = sessions.config.max_body_bytes, "longpoll POST refused: body too large");
        return status(413);
    };
    let ndjson = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-ndjson"));
    let frames = match split_frames(&body, ndjson, socket.config.max_frame_size) {
        Ok(frames) => frames,
        Err(code) => return status(code),
    };
    let deadline = Instant::now() + sessions.config.window;
    for frame in frames {
        // Wait for busy channels as the WebSocket transport stops reading;
        // answer 408 like Phoenix if they do not catch up within the window.
        let resumed = {
            let guard = s.session.lock();
            match guard.as_ref() {
                None => return status(410),
                Some(session) if session.reading_paused() => Some(session.reading_resumed()),
                Some(_) => None,
            }
        };
        if let Some(resumed) = resumed {
            if tokio::time::timeout_at(deadline, resumed).await.is_err() {
                return status(408);
            }
        }
        let mut guard = s.session.lock();
        let Some(session) = guard.as_mut() else { return status(410) };
        match &frame {
            Line::Text(t) => session.handle_frame(Frame::Text(t)),
            Line::Binary(b) => session.handle_frame(Frame::Binary(b)),
        }
    }
    status(200)
}

enum Line {
    Text(Bytes),
    Binary(Vec<u8>),
}

/// Splits a POST body into frames: ndjson lines (JSON text, or base64 of a
/// binary frame), or the whole body as one text frame for other content types.
fn split_frames(body: &Bytes, ndjson: bool, max_frame: usize) -> Result<Vec<Line>, u16> {
    if !ndjson {
        if body.len() > max_frame {
            return Err(413);
        }
        return Ok(vec![Line::Text(body.clone())]);
    }
    let mut frames = Vec::new();
    let mut start = 0;
    for line in body.split(|b| *b == b'\n') {
        let begin = start;
        start += line.len() + 1;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if frames.len() == MAX_LINES {
            tracing::warn!(max = MAX_LINES, "longpoll POST refused: too many lines");
            return Err(413);
        }
        if line.len() > max_frame.saturating_mul(4) / 3 + 4 {
            return Err(413);
        }
        let frame = match line.first() {
            Some(b'[' | b'{') => Line::Text(body.slice(begin..begin + line.len())),
            _ => match base64::engine::general_purpose::STANDARD.decode(line) {
                Ok(bytes) => Line::Binary(bytes),
                Err(_) => {
                    tracing::warn!("longpoll POST refused: a line is neither JSON nor base64");
                    return Err(400);
                }
            },
        };
        let len = match &frame {
            Line::Text(t) => t.len(),
            Line::Binary(b) => b.len(),
        };
        if len > max_frame {
            return Err(413);
        }
        frames.push(frame);
    }
    Ok(frames)
}

/// CORS preflight: allowed, with the requested headers echoed.
fn preflight(headers: &HeaderMap) -> Response {
    let mut res = StatusCode::OK.into_response();
    let h = res.headers_mut();
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("get, post, options"));
    h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("3600"));
    let requested: Vec<&str> =
        headers.get_all(header::ACCESS_CONTROL_REQUEST_HEADERS).iter().filter_map(|v| v.to_str().ok()).collect();
    if let Ok(v) = HeaderValue::from_str(&requested.join(", ")) {
        h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, v);
    }
    res
}

/// `{"status":N}`.
fn status(code: u16) -> Response {
    json(format!(r#"{{"status":{code}}}"#))
}

/// `{"status":N,"token":T,"messages":[…]}`, each frame as a JSON string.
fn messages<'a>(token: &str, code: u16, frames: impl Iterator<Item = &'a Bytes>) -> Response {
    let mut out = format!(r#"{{"status":{code},"token":{},"messages":["#, quoted(token));
    for (i, f) in frames.enumerate() {
        if i > 0 {
            out.push(',');
        }
        // Text frames are JSON the serializer wrote: valid UTF-8.
        out.push_str(&quoted(&String::from_utf8_lossy(f)));
    }
    out.push_str("]}");
    json(out)
}

fn quoted(s: &str) -> String {
    serde_json::to_string(s).expect("a str serializes")
}

/// An HTTP 200 JSON response with the headers Phoenix sends on every LongPoll answer.
fn json(body: String) -> Response {
    let mut res = Response::new(Body::from(body));
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(body: &str) -> Result<Vec<Line>, u16> {
        split_frames(&Bytes::from(body.to_owned()), true, 1 << 20)
    }

    #[test]
    fn ndjson_lines_are_text_or_base64_and_blank_lines_are_skipped() {
        let frames = split("[\"3\",\"4\",\"t\",\"a\",{}]\r\n\nAAEBCgMzNnJvb206bG9iYnliaW4BAgM=\n").unwrap();
        assert_eq!(frames.len(), 2);
        assert!(matches!(&frames[0], Line::Text(t) if t.as_ref() == br#"["3","4","t","a",{}]"#));
        assert!(matches!(&frames[1], Line::Binary(b) if b[0] == 0 && b.ends_with(&[1, 2, 3])));
    }

    #[test]
    fn over_a_hundred_lines_or_bad_base64_are_refused() {
        let ok = "[]\n".repeat(100);
        assert_eq!(split(&ok).unwrap().len(), 100);
        assert_eq!(split(&"[]\n".repeat(101)).err(), Some(413));
        assert_eq!(split("not base64!").err(), Some(400));
    }

    #[test]
    fn a_line_over_the_frame_limit_is_refused() {
        let big = format!("[\"{}\"]", "x".repeat(100));
        assert_eq!(split_frames(&Bytes::from(big), true, 50).err(), Some(413));
    }
}
