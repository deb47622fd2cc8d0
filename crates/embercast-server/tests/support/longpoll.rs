//! A LongPoll client that behaves like phoenix.js's `LongPoll` (PROTOCOL.md
//! §7.7): the first GET opens a session and yields its token; a background
//! task then keeps exactly one poll outstanding, on a keep-alive connection,
//! and queues every message it receives, in order; frames are sent as
//! `application/x-ndjson` POSTs (binary frames as base64 lines) on another
//! keep-alive connection, each POST waiting for its answer.
//!
//! Every answer is checked against §7.1 (HTTP 200, JSON body, the three
//! headers) by [`lp_json`]; a poll that breaks those rules is reported as
//! [`Received::Broken`], so a test fails with the reason instead of timing out.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use serde_json::Value;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio::task::AbortHandle;

use super::client::Received;
use super::http::{self, exchange, http_request, Response};
use super::DEADLINE;

/// How long the client waits for any one request. Far longer than any
/// window the tests configure: a poll is answered by the server's window,
/// not by this.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// `/socket/longpoll?<query>`, plus `&token=<token>` last, as phoenix.js 1.8 puts it.
pub fn lp_path(query: &str, token: Option<&str>) -> String {
    match (query.is_empty(), token) {
        (_, None) => format!("/socket/longpoll?{query}"),
        (true, Some(t)) => format!("/socket/longpoll?token={t}"),
        (false, Some(t)) => format!("/socket/longpoll?{query}&token={t}"),
    }
}

/// Checks what every JSON answer of the LongPoll endpoint must be
/// (HTTP 200, `content-type: application/json; charset=utf-8`,
/// `cache-control: no-store`, `access-control-allow-origin: *`, a JSON object
/// with a numeric `status`) and returns its body.
pub fn check_lp(res: &Response) -> Result<Value, String> {
    let body = String::from_utf8_lossy(&res.body);
    if res.status != 200 {
        return Err(format!("HTTP {} (LongPoll answers 200 with the status in the body): {body}", res.status));
    }
    for (name, value) in [
        ("content-type", "application/json; charset=utf-8"),
        ("cache-control", "no-store"),
        ("access-control-allow-origin", "*"),
    ] {
        if res.header(name) != Some(value) {
            return Err(format!("header {name} is {:?}, not {value:?}: {body}", res.header(name)));
        }
    }
    let v: Value = serde_json::from_slice(&res.body).map_err(|e| format!("body is not JSON ({e}): {body}"))?;
    if !v["status"].is_u64() {
        return Err(format!("no numeric status: {body}"));
    }
    Ok(v)
}

/// [`check_lp`], failing the test on a violation.
pub fn lp_json(res: &Response) -> Value {
    check_lp(res).unwrap_or_else(|e| panic!("LongPoll answer breaks §7.1: {e}"))
}

/// Sends one request on a new connection and returns the JSON answer, checked by [`lp_json`].
pub async fn lp_request(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Value {
    lp_json(&lp_raw(addr, method, path, headers, body).await)
}

/// Sends one request on a new connection and returns the answer unchecked.
pub async fn lp_raw(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Response {
    let req = http_request(method, path, headers, body);
    exchange(http::connect(addr).await, &req, REQUEST_TIMEOUT)
        .await
        .unwrap_or_else(|e| panic!("{method} {path} failed: {e}"))
}

/// `{"status":410,"token":T,"messages":[]}` → `T`; fails the test on anything else.
pub fn new_session_token(body: &Value) -> String {
    assert_eq!(body["status"], 410, "a new session: {body}");
    assert_eq!(body["messages"], serde_json::json!([]), "{body}");
    let token = body["token"].as_str().unwrap_or_else(|| panic!("a new session has a token: {body}"));
    assert!(!token.is_empty(), "{body}");
    token.to_owned()
}

/// One answered poll, as the client saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Poll {
    pub status: u64,
    pub messages: usize,
}

struct Shared {
    addr: SocketAddr,
    query: String,
    headers: Vec<(String, String)>,
    token: Mutex<String>,
    /// Every answered poll, in order.
    polls: Mutex<Vec<Poll>>,
    /// How many polls were answered: lets a test wait for a poll boundary.
    answered: watch::Sender<usize>,
}

impl Shared {
    fn token(&self) -> String {
        self.token.lock().unwrap().clone()
    }

    fn header_refs(&self) -> Vec<(&str, &str)> {
        self.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
    }
}

/// One LongPoll session of the test server.
pub struct LpClient {
    shared: Arc<Shared>,
    /// The keep-alive connection POSTs go on, once one exists.
    post: Option<TcpStream>,
    inbox_tx: mpsc::UnboundedSender<Received>,
    inbox: mpsc::UnboundedReceiver<Received>,
    poller: Option<AbortHandle>,
    local_addr: SocketAddr,
}

impl Drop for LpClient {
    fn drop(&mut self) {
        self.stop_polling();
    }
}

impl LpClient {
    /// Opens a session: GET `/socket/longpoll?<query>` with `headers` (sent
    /// on every poll too, as phoenix.js sends its auth token), then starts polling.
    /// Fails the test unless the answer is a new session.
    pub async fn connect(addr: SocketAddr, query: &str, headers: &[(&str, &str)]) -> LpClient {
        match LpClient::try_connect(addr, query, headers).await {
            Ok(c) => c,
            Err(body) => panic!("LongPoll session refused: {body}"),
        }
    }

    /// Like [`LpClient::connect`]; a refusal returns its JSON body.
    pub async fn try_connect(addr: SocketAddr, query: &str, headers: &[(&str, &str)]) -> Result<LpClient, Value> {
        let stream = http::connect(addr).await;
        let local_addr = stream.local_addr().expect("local address");
        let req = http_request("GET", &lp_path(query, None), headers, b"");
        let res = exchange(stream, &req, DEADLINE).await.unwrap_or_else(|e| panic!("first GET failed: {e}"));
        let body = lp_json(&res);
        if body["status"] != 410 {
            return Err(body);
        }
        let token = new_session_token(&body);
        let (inbox_tx, inbox) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            addr,
            query: query.to_owned(),
            headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            token: Mutex::new(token),
            polls: Mutex::new(Vec::new()),
            answered: watch::Sender::new(0),
        });
        let mut c = LpClient { shared, post: None, inbox_tx, inbox, poller: None, local_addr };
        c.start_polling(res.keeps_alive().then(|| res.into_stream()));
        Ok(c)
    }

    /// The session token.
    pub fn token(&self) -> String {
        self.shared.token()
    }

    /// The address of the session-creating GET (what `connect` saw as the peer).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The path of every request after the first: the query, then `&token=`.
    pub fn path(&self) -> String {
        lp_path(&self.shared.query, Some(&self.token()))
    }

    // ---- polling ----------------------------------------------------------

    fn start_polling(&mut self, stream: Option<TcpStream>) {
        assert!(self.poller.is_none(), "one poller at a time");
        let task = tokio::spawn(poll_loop(self.shared.clone(), self.inbox_tx.clone(), stream));
        self.poller = Some(task.abort_handle());
    }

    /// Stops polling, as a client that went away: the outstanding poll's
    /// connection is dropped and no new poll is made.
    pub fn stop_polling(&mut self) {
        if let Some(p) = self.poller.take() {
            p.abort();
        }
    }

    /// Polls again after [`LpClient::stop_polling`], on a new connection.
    pub fn resume_polling(&mut self) {
        if self.poller.is_none() {
            self.start_polling(None);
        }
    }

    pub fn is_polling(&self) -> bool {
        self.poller.as_ref().is_some_and(|p| !p.is_finished())
    }

    /// Every poll answered so far.
    pub fn polls(&self) -> Vec<Poll> {
        self.shared.polls.lock().unwrap().clone()
    }

    /// Watches the number of answered polls: a change is a poll boundary
    /// (the messages of that poll are already in the inbox).
    pub fn answered_polls(&self) -> watch::Receiver<usize> {
        self.shared.answered.subscribe()
    }

    /// Waits (at most [`DEADLINE`]) until `n` polls in total have been answered.
    pub async fn polls_answered(&self, n: usize) {
        let mut rx = self.shared.answered.subscribe();
        tokio::time::timeout(DEADLINE, rx.wait_for(|a| *a >= n))
            .await
            .unwrap_or_else(|_| panic!("{n} polls not answered within {DEADLINE:?}: {:?}", self.polls()))
            .expect("the counter lives as long as the client");
    }

    /// The next message (or the end of the session). Cancel-safe.
    pub async fn next(&mut self) -> Received {
        self.inbox.recv().await.unwrap_or(Received::Eof)
    }

    // ---- sending ----------------------------------------------------------

    /// POSTs `body` with this content type (none: no header) and returns the
    /// JSON answer; the keep-alive connection is reused when the server allows.
    pub async fn post(&mut self, content_type: Option<&str>, body: &[u8]) -> Value {
        let headers: Vec<(&str, &str)> = content_type.map(|ct| ("Content-Type", ct)).into_iter().collect();
        let req = http_request("POST", &self.path(), &headers, body);
        let res = match self.post.take() {
            Some(reused) => match exchange(reused, &req, REQUEST_TIMEOUT).await {
                Ok(res) => res,
                // The server closed the idle connection: a browser retries on a new one.
                Err(_) => self.post_on_new_connection(&req).await,
            },
            None => self.post_on_new_connection(&req).await,
        };
        let json = lp_json(&res);
        if res.keeps_alive() {
            self.post = Some(res.into_stream());
        }
        json
    }

    async fn post_on_new_connection(&self, req: &[u8]) -> Response {
        exchange(http::connect(self.shared.addr).await, req, REQUEST_TIMEOUT)
            .await
            .unwrap_or_else(|e| panic!("POST failed: {e}"))
    }

    /// POSTs these lines as one `application/x-ndjson` body; returns the status.
    pub async fn post_lines<S: AsRef<str>>(&mut self, lines: &[S]) -> u64 {
        let body = lines.iter().map(AsRef::as_ref).collect::<Vec<_>>().join("\n");
        let answer = self.post(Some("application/x-ndjson"), body.as_bytes()).await;
        answer["status"].as_u64().expect("status")
    }

    /// POSTs lines and checks the answer is `{"status":200}`.
    pub async fn send_lines<S: AsRef<str>>(&mut self, lines: &[S]) {
        let body = lines.iter().map(AsRef::as_ref).collect::<Vec<_>>().join("\n");
        let answer = self.post(Some("application/x-ndjson"), body.as_bytes()).await;
        assert_eq!(answer, serde_json::json!({"status": 200}), "POST of {} line(s)", lines.len());
    }

    /// POSTs one text frame as one ndjson line.
    pub async fn send_text(&mut self, text: &str) {
        assert!(!text.contains('\n'), "one ndjson line cannot hold a newline: {text:?}");
        self.send_lines(&[text]).await;
    }

    /// POSTs one binary frame as one base64 ndjson line.
    pub async fn send_binary(&mut self, data: &[u8]) {
        self.send_lines(&[base64_line(data)]).await;
    }
}

/// A binary frame as phoenix.js puts it in an ndjson body: standard base64, padded.
pub fn base64_line(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// Keeps one poll outstanding until the session ends or polling stops.
async fn poll_loop(shared: Arc<Shared>, inbox: mpsc::UnboundedSender<Received>, mut stream: Option<TcpStream>) {
    let broken = |why: String| {
        let _ = inbox.send(Received::Broken(why));
    };
    loop {
        let conn = match stream.take() {
            Some(s) => s,
            None => match TcpStream::connect(shared.addr).await {
                Ok(s) => s,
                Err(e) => return broken(format!("cannot connect to poll: {e}")),
            },
        };
        let _ = conn.set_nodelay(true);
        let token = shared.token();
        let req = http_request("GET", &lp_path(&shared.query, Some(&token)), &shared.header_refs(), b"");
        let res = match exchange(conn, &req, REQUEST_TIMEOUT).await {
            Ok(res) => res,
            Err(e) => {
                let _ = inbox.send(Received::Eof);
                return tracing::debug!(error = %e, "poll failed");
            }
        };
        let body = match check_lp(&res) {
            Ok(body) => body,
            Err(e) => return broken(format!("poll: {e}")),
        };
        let status = body["status"].as_u64().expect("checked");
        let messages = body["messages"].as_array().cloned().unwrap_or_default();
        let record = |n| {
            shared.polls.lock().unwrap().push(Poll { status, messages: n });
            shared.answered.send_modify(|a| *a += 1);
        };
        match status {
            200 | 204 => {
                if body["token"] != token.as_str() {
                    return broken(format!("a poll answered with another session's token: {body}"));
                }
                if status == 204 && !messages.is_empty() {
                    return broken(format!("204 with messages: {body}"));
                }
                if status == 200 && messages.is_empty() {
                    return broken(format!("200 without messages: {body}"));
                }
                for m in &messages {
                    let Some(text) = m.as_str() else { return broken(format!("a message is not a string: {body}")) };
                    let _ = inbox.send(Received::Text(text.to_owned()));
                }
                // Messages are queued before the poll counts as answered, so
                // a test that saw the count change finds them in the inbox.
                record(messages.len());
            }
            410 => {
                record(0);
                let _ = inbox.send(Received::SessionGone);
                return;
            }
            other => {
                record(0);
                let _ = inbox.send(Received::PollStatus(other));
                return;
            }
        }
        stream = res.keeps_alive().then(|| res.into_stream());
    }
}

/// A session driven by hand, one request at a time and no background poll,
/// for tests that pin what each single answer is.
#[derive(Clone)]
pub struct RawSession {
    pub addr: SocketAddr,
    /// The query every request carries before `&token=`.
    pub query: String,
    pub token: String,
}

impl RawSession {
    /// Opens a session with GET `?<query>` (and `headers`); fails the test
    /// unless the answer is exactly `{"status":410,"token":T,"messages":[]}`.
    pub async fn open(addr: SocketAddr, query: &str, headers: &[(&str, &str)]) -> RawSession {
        let body = lp_request(addr, "GET", &lp_path(query, None), headers, b"").await;
        let token = new_session_token(&body);
        let keys: Vec<&String> = body.as_object().expect("an object").keys().collect();
        assert_eq!(keys, ["status", "token", "messages"], "{body}");
        RawSession { addr, query: query.to_owned(), token }
    }

    /// `/socket/longpoll?<query>&token=<token>`.
    pub fn path(&self) -> String {
        lp_path(&self.query, Some(&self.token))
    }

    /// One poll.
    pub async fn get(&self) -> Value {
        lp_request(self.addr, "GET", &self.path(), &[], b"").await
    }

    /// One poll that must answer 200; returns its messages.
    pub async fn get_messages(&self) -> Vec<String> {
        let body = self.get().await;
        assert_eq!(
            (&body["status"], &body["token"]),
            (&serde_json::json!(200), &serde_json::json!(self.token)),
            "{body}"
        );
        let messages = body["messages"].as_array().expect("messages").iter();
        messages.map(|m| m.as_str().expect("a message is a string").to_owned()).collect()
    }

    /// One POST of these ndjson lines; returns the answer.
    pub async fn post_lines<S: AsRef<str>>(&self, lines: &[S]) -> Value {
        let body = lines.iter().map(AsRef::as_ref).collect::<Vec<_>>().join("\n");
        self.post(Some("application/x-ndjson"), body.as_bytes()).await
    }

    /// One POST of `body` with this content type (none: no header).
    pub async fn post(&self, content_type: Option<&str>, body: &[u8]) -> Value {
        let headers: Vec<(&str, &str)> = content_type.map(|ct| ("Content-Type", ct)).into_iter().collect();
        lp_request(self.addr, "POST", &self.path(), &headers, body).await
    }
}
