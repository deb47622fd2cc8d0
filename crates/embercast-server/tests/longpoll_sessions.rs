//! LongPoll sessions and their answers (PROTOCOL.md §7.1–7.5,
//! `shared/vectors/longpoll.json`): the first GET opens a session (410 with
//! a token), polls answer 200 with everything queued, in order, or 204 after
//! the window, POSTs answer 200 once their lines are dispatched; a token that
//! does not name a live session is never another session (GET: a new
//! session; POST: 410); where the token is read from; what `connect` gets.

#[macro_use]
mod support;

use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use embercast_server::{Channel, ChannelSocket, HandleResult, JoinResult, Payload, Reply, Socket};
use serde_json::{json, Value};
use support::*;

/// The channel of the vector `open_join_poll_publish`: `a` and `b` reply ok,
/// `bin` records its bytes and does not reply.
struct Lobby;

impl Channel for Lobby {
    async fn join(_: &str, _: Payload, _: &mut ChannelSocket) -> JoinResult<Self> {
        Ok(Lobby.into())
    }

    async fn handle_in(&mut self, event: &str, payload: Payload, socket: &mut ChannelSocket) -> HandleResult {
        match (event, payload) {
            ("a" | "b", _) => Ok(Some(Reply::ok_empty())),
            ("bin", Payload::Binary(bytes)) => {
                let probe = socket.get::<Probe>().expect("assigned").clone();
                probe.update(|s| s.binaries.push(("bin".into(), bytes.to_vec())));
                Ok(None)
            }
            (other, p) => panic!("unexpected {other} {p:?}"),
        }
    }
}

async fn vector_server() -> Server {
    let probe = Probe::default();
    let recorder = probe.clone();
    let socket =
        Socket::new().assign(probe.clone()).channel::<Lobby>("room:*").longpoll(lp_config()).connect(move |info| {
            let probe = recorder.clone();
            async move { default_connect(&probe, info) }
        });
    serve(socket, probe).await
}

/// Vector `open_join_poll_publish`, request for request, with the exact
/// message strings: the client's own `token` param before the session's,
/// the auth token header, a join, a 3-line POST whose last line is a base64
/// binary push, the replies in order, then a 204.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vector_open_join_poll_publish() {
    let server = vector_server().await;
    // The first GET as phoenix.js 1.8.16 sends it (trailing `&`).
    let s = RawSession::open(server.addr, "token=user-abc&vsn=2.0.0&", &[("x-phoenix-authtoken", "s3cret")]).await;
    let info = server.probe.read(|st| st.connects[0].clone());
    assert_eq!(info.params.get("token"), Some("user-abc"), "the app's own token param reaches connect");
    assert_eq!(info.auth_token.as_deref(), Some("s3cret"));

    // Later requests: `?token=user-abc&vsn=2.0.0&token=TKN`, the session's token last.
    let s = RawSession { query: "token=user-abc&vsn=2.0.0".into(), ..s };
    assert_eq!(s.post_lines(&[r#"["3","3","room:lobby","phx_join",{}]"#]).await, json!({"status": 200}));
    assert_eq!(s.get_messages().await, [r#"["3","3","room:lobby","phx_reply",{"response":{},"status":"ok"}]"#]);

    let lines = [
        r#"["3","4","room:lobby","a",{"n":1}]"#,
        r#"["3","5","room:lobby","b",{"n":2}]"#,
        "AAEBCgMzNnJvb206bG9iYnliaW4BAgM=",
    ];
    assert_eq!(s.post_lines(&lines).await, json!({"status": 200}));
    assert_eq!(
        s.get_messages().await,
        [
            r#"["3","4","room:lobby","phx_reply",{"response":{},"status":"ok"}]"#,
            r#"["3","5","room:lobby","phx_reply",{"response":{},"status":"ok"}]"#,
        ]
    );
    let bin = server.probe.wait_for("the binary push", |st| st.binaries.first().cloned()).await;
    assert_eq!(bin, ("bin".to_owned(), vec![1, 2, 3]));

    let started = Instant::now();
    assert_eq!(s.get().await, json!({"status": 204, "token": s.token, "messages": []}));
    assert!(started.elapsed() >= LP_WINDOW - Duration::from_millis(50), "held for the window");
    assert_eq!(server.probe.read(|st| st.connects.len()), 1, "connect ran for the first GET only");
}

/// Vector `v1_non_ndjson_post`: without the ndjson content type the whole
/// body is one text frame (V1 clients, old clients); V1 frames are objects.
/// With no content type at all the same (PROTOCOL.md §12 case 70).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vector_v1_non_ndjson_post() {
    let server = start().await;
    let s = RawSession::open(server.addr, "vsn=1.0.0", &[]).await;
    let join = br#"{"topic":"room:lobby","event":"phx_join","ref":"1","payload":{}}"#;
    assert_eq!(s.post(Some("application/json"), join).await, json!({"status": 200}));
    assert_eq!(
        s.get_messages().await,
        [r#"{"event":"phx_reply","payload":{"response":{},"status":"ok"},"ref":"1","topic":"room:lobby"}"#]
    );
    let ping = br#"{"topic":"room:lobby","event":"ping","ref":"2","payload":{"a":1}}"#;
    assert_eq!(s.post(None, ping).await, json!({"status": 200}));
    assert_eq!(
        s.get_messages().await,
        [r#"{"event":"phx_reply","payload":{"response":{"a":1},"status":"ok"},"ref":"2","topic":"room:lobby"}"#]
    );
}

for_each_vsn! {
    /// Everything queued before a poll comes back in that one poll, in the
    /// order it was queued: replies to a batch, then broadcasts.
    async fn poll_answers_200_with_everything_queued_in_order(vsn: Vsn) {
        let server = start().await;
        let s = RawSession::open(server.addr, vsn.query(), &[]).await;
        let mut lines = vec![encode(vsn, &json!(["3", "3", "room:lobby", "phx_join", {}]))];
        lines.extend((0..5).map(|n| encode(vsn, &json!(["3", format!("{n}"), "room:lobby", "seq", {"n": n}]))));
        // Once the channel waits in `slow`, every reply before it is queued.
        lines.push(encode(vsn, &json!(["3", "slow", "room:lobby", "slow", {}])));
        assert_eq!(s.post_lines(&lines).await, json!({"status": 200}));
        server.probe.at_gate(1).await;
        for n in 0..3 {
            server.pubsub.broadcast("room:lobby", "news", json!({"n": n})).unwrap();
        }
        let got: Vec<Value> = s.get_messages().await.iter().map(|m| normalize(vsn, m)).collect();
        let mut expected = vec![json!(["3", "3", "room:lobby", "phx_reply", ok(json!({}))])];
        expected.extend((0..5).map(|n| json!(["3", format!("{n}"), "room:lobby", "phx_reply", ok(json!({"n": n}))])));
        expected.extend((0..3).map(|n| json!([null, null, "room:lobby", "news", {"n": n}])));
        if vsn == Vsn::V1 {
            expected.iter_mut().for_each(|f| f[0] = Value::Null);
        }
        assert_eq!(got, expected);
        server.probe.open_gate(1);
        let got: Vec<Value> = s.get_messages().await.iter().map(|m| normalize(vsn, m)).collect();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0][1], "slow");
    }

    /// A poll with nothing queued is held for the window, then answered
    /// `{"status":204,"token":T,"messages":[]}`.
    async fn poll_with_nothing_queued_answers_204_after_the_window(vsn: Vsn) {
        let window = Duration::from_millis(300);
        let server = start_with(|s| s.longpoll(lp_config().window(window))).await;
        let s = RawSession::open(server.addr, vsn.query(), &[]).await;
        let started = Instant::now();
        assert_eq!(s.get().await, json!({"status": 204, "token": s.token, "messages": []}));
        let held = started.elapsed();
        assert!(held >= window - Duration::from_millis(10), "answered after {held:?}, before the window");
        assert!(held < window + Duration::from_secs(2), "answered after {held:?}");
    }

    /// A held poll answers as soon as a message is queued, well before the
    /// window; messages published at varied moments after the GET was sent
    /// (some while it is held, some before it arrives) are each delivered by
    /// the poll that is outstanding.
    async fn held_poll_answers_as_soon_as_something_is_queued(vsn: Vsn) {
        let server = start_with(|s| s.longpoll(lp_config().window(Duration::from_secs(10)))).await;
        let s = RawSession::open(server.addr, vsn.query(), &[]).await;
        let join = encode(vsn, &json!(["3", "3", "room:lobby", "phx_join", {}]));
        assert_eq!(s.post_lines(&[join]).await, json!({"status": 200}));
        assert_eq!(s.get_messages().await.len(), 1);
        for round in 0..10u64 {
            let started = Instant::now();
            let poll = tokio::spawn({
                let s = s.clone();
                async move { s.get_messages().await }
            });
            // Deliberately varied timing, not synchronisation: the answer
            // must come right after the publish whichever side wins.
            tokio::time::sleep(Duration::from_millis(round * 3)).await;
            server.pubsub.broadcast("room:lobby", "news", json!({"round": round})).unwrap();
            let messages = tokio::time::timeout(DEADLINE, poll).await.expect("answered").unwrap();
            assert_eq!(messages.len(), 1, "{messages:?}");
            assert!(messages[0].contains(&format!("\"round\":{round}")), "{messages:?}");
            assert!(started.elapsed() < Duration::from_secs(3), "answered after {:?}", started.elapsed());
        }
    }

    /// A POST answers `{"status":200}` once its lines are dispatched, in
    /// order; what they produce comes with the next poll, not in the POST answer.
    async fn post_answers_200_after_dispatching_its_lines_in_order(vsn: Vsn) {
        let server = start().await;
        let mut c = Client::connect(&server, Transport::LongPoll, vsn).await;
        c.join("room:lobby", "3").await;
        let lines: Vec<String> =
            (0..100).map(|n| encode(vsn, &json!(["3", format!("{n}"), "room:lobby", "seq", {"n": n}]))).collect();
        assert_eq!(c.lp().post_lines(&lines).await, 200);
        for n in 0..100 {
            c.expect(json!(["3", format!("{n}"), "room:lobby", "phx_reply", ok(json!({"n": n}))])).await;
        }
        let handled: Vec<i64> = server.probe.read(|st| st.seq.iter().map(|(_, n)| *n).collect());
        assert_eq!(handled, (0..100).collect::<Vec<_>>());
    }
}

/// Tokens that name no live session: made up, of the right shape, another
/// session's with a byte changed, truncated, padded, garbage.
fn bad_tokens(real: &str) -> Vec<String> {
    let mut raw = URL_SAFE_NO_PAD.decode(real).expect("a base64url token");
    let mut out = vec![
        URL_SAFE_NO_PAD.encode([7u8; 24]),
        URL_SAFE_NO_PAD.encode([0u8; 24]),
        real[..real.len() - 1].to_owned(),
        format!("{real}A"),
        format!("{real}="),
        real.to_uppercase(),
        "EXPIRED".into(),
        "user-abc".into(),
        "%00".into(),
        "x".repeat(5000),
    ];
    for i in 0..raw.len() {
        raw[i] ^= 0x01;
        out.push(URL_SAFE_NO_PAD.encode(&raw));
        raw[i] ^= 0x01;
    }
    out.retain(|t| t != real);
    out
}

/// A POST with a token that names no live session is `{"status":410}` and
/// dispatches nothing, whatever the token; the real session is untouched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn post_with_an_unknown_forged_or_tampered_token_is_410() {
    let server = start().await;
    let mut real = Client::connect(&server, Transport::LongPoll, Vsn::V2).await;
    real.join("room:lobby", "3").await;
    let ping = r#"["3","9","room:lobby","seq",{"n":9}]"#;
    for bad in bad_tokens(&real.lp().token()) {
        let answer = lp_request(
            server.addr,
            "POST",
            &lp_path("vsn=2.0.0", Some(&bad)),
            &[("Content-Type", "application/x-ndjson")],
            ping.as_bytes(),
        )
        .await;
        assert_eq!(answer, json!({"status": 410}), "token {bad:?}");
        // In the header too.
        let answer = lp_request(
            server.addr,
            "POST",
            "/socket/longpoll?vsn=2.0.0",
            &[("Content-Type", "application/x-ndjson"), ("X-Phoenix-Longpoll-Token", &bad)],
            ping.as_bytes(),
        )
        .await;
        assert_eq!(answer, json!({"status": 410}), "header token {bad:?}");
    }
    // Vector `post_without_session`, and no token at all.
    assert_eq!(
        lp_request(server.addr, "POST", "/socket/longpoll?vsn=2.0.0&token=EXPIRED", &[], b"[]").await,
        json!({"status": 410})
    );
    assert_eq!(lp_request(server.addr, "POST", "/socket/longpoll?vsn=2.0.0", &[], b"[]").await, json!({"status": 410}));
    real.expect_heartbeat_next().await;
    assert!(server.probe.read(|st| st.seq.is_empty()), "nothing reached the channel");
    assert_eq!(server.probe.read(|st| st.connects.len()), 1, "a POST never opens a session");
}

/// A GET with a token that names no live session opens a new session, with
/// a new token (vector `poll_with_dead_session`), never the session the
/// token was made from: the new one sees none of its messages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_with_an_unknown_forged_or_tampered_token_opens_a_new_session() {
    let server = start().await;
    let mut real = Client::connect(&server, Transport::LongPoll, Vsn::V2).await;
    real.join("room:lobby", "3").await;
    let real_token = real.lp().token();
    let bad = bad_tokens(&real_token);
    for (i, t) in bad.iter().enumerate() {
        let body = lp_request(server.addr, "GET", &lp_path("vsn=2.0.0", Some(t)), &[], b"").await;
        let new = new_session_token(&body);
        assert_ne!(new, real_token, "token {t:?}");
        assert_eq!(server.probe.read(|st| st.connects.len()), 2 + i, "connect ran for token {t:?}");
    }
    // Each new session is its own: a message for the real one does not reach it.
    let body = lp_request(server.addr, "GET", &lp_path("vsn=2.0.0", Some(&bad[0])), &[], b"").await;
    let other = RawSession { addr: server.addr, query: "vsn=2.0.0".into(), token: new_session_token(&body) };
    server.pubsub.broadcast("room:lobby", "news", json!({"for": "real"})).unwrap();
    real.expect(json!([null, null, "room:lobby", "news", {"for": "real"}])).await;
    let started = Instant::now();
    assert_eq!(other.get().await["status"], 204, "the new session has nothing");
    assert!(started.elapsed() >= LP_WINDOW - Duration::from_millis(50));
}

/// Vector `token_in_header`: `x-phoenix-longpoll-token` wins over the
/// `token` query parameter, both ways, for POST and GET.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_in_the_header_wins_over_the_query_param() {
    let server = start().await;
    let s = RawSession::open(server.addr, "vsn=2.0.0", &[]).await;
    let heartbeat = br#"[null,"7","phoenix","heartbeat",{}]"#;
    let reply = r#"[null,"7","phoenix","phx_reply",{"response":{},"status":"ok"}]"#;
    let bogus_param = lp_path("vsn=2.0.0", Some("bogus"));
    let valid_param = s.path();
    let request = |method: &'static str, path: String, header: String| async move {
        let ndjson = ("Content-Type", "application/x-ndjson");
        let body: &[u8] = if method == "POST" { heartbeat } else { b"" };
        lp_request(server.addr, method, &path, &[ndjson, ("X-Phoenix-Longpoll-Token", &header)], body).await
    };
    // A valid header, a bogus param: the header's session, for POST and GET.
    assert_eq!(request("POST", bogus_param.clone(), s.token.clone()).await, json!({"status": 200}));
    let polled = request("GET", bogus_param.clone(), s.token.clone()).await;
    assert_eq!(polled, json!({"status": 200, "token": s.token, "messages": [reply]}));
    // A bogus header, a valid param: still the header; a POST finds no
    // session, a GET opens a new one.
    assert_eq!(request("POST", valid_param.clone(), "bogus".into()).await, json!({"status": 410}));
    assert_ne!(new_session_token(&request("GET", valid_param, "bogus".into()).await), s.token);
}

/// PROTOCOL.md §7.4: phoenix.js 1.8 appends `&token=<session>` after the
/// app's params, so an app param named `token` comes first; the session's
/// token is the last one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_token_query_param_is_the_sessions() {
    let server = start().await;
    let s = RawSession::open(server.addr, "token=user-abc&vsn=2.0.0", &[]).await;
    let heartbeat = br#"[null,"7","phoenix","heartbeat",{}]"#;
    let post = |query: String| async move {
        lp_request(server.addr, "POST", &format!("/socket/longpoll?{query}"), &[], heartbeat).await
    };
    let t = &s.token;
    assert_eq!(post(format!("token=user-abc&vsn=2.0.0&token={t}")).await, json!({"status": 200}));
    assert_eq!(post(format!("token={t}&vsn=2.0.0&token=user-abc")).await, json!({"status": 410}));
    assert_eq!(post(format!("token={t}&token=")).await, json!({"status": 410}), "an empty last token is no token");
    // GET: the last one decides too.
    let body =
        lp_request(server.addr, "GET", &format!("/socket/longpoll?token={t}&token=user-abc&vsn=2.0.0"), &[], b"").await;
    assert_ne!(new_session_token(&body), *t, "a new session: the last token is the app's");
    assert_eq!(server.probe.read(|st| st.connects[1].params.get("token").map(str::to_owned)), Some("user-abc".into()));
    let messages = s.get_messages().await;
    assert_eq!(messages, [r#"[null,"7","phoenix","phx_reply",{"response":{},"status":"ok"}]"#]);
}

for_each_vsn! {
    /// The auth token comes in the `X-Phoenix-AuthToken` header of the
    /// session-creating GET and reaches `connect` (and so the channels).
    async fn auth_token_header_reaches_connect(vsn: Vsn) {
        let server = start().await;
        let token = "s3cret +/= token";
        let lp = LpClient::connect(server.addr, vsn.query(), &[("X-Phoenix-AuthToken", token)]).await;
        let mut c = Client::from_lp(lp, vsn);
        assert_eq!(server.probe.read(|st| st.connects[0].auth_token.clone()), Some(token.to_owned()));
        assert_eq!(server.probe.read(|st| st.connects[0].transport), "longpoll");
        c.join("room:lobby", "3").await;
        c.send(json!(["3", "4", "room:lobby", "whoami", {}])).await;
        assert_eq!(c.recv_json().await[4]["response"]["auth_token"], token);
        // Without the header there is none.
        let mut c = Client::connect(&server, Transport::LongPoll, vsn).await;
        c.join("room:lobby", "3").await;
        c.send(json!(["3", "4", "room:lobby", "whoami", {}])).await;
        assert_eq!(c.recv_json().await[4]["response"]["auth_token"], Value::Null);
    }

    /// Vector `connect_refused`: `{"status":403}`, whatever status or
    /// reason the app chose; no session is left (no socket id subscription).
    async fn refused_connect_is_403(vsn: Vsn) {
        let server = start().await;
        for reject in ["403", "429"] {
            let query = format!("reject={reject}&socket_id=user:1&{}", vsn.query());
            let body = lp_request(server.addr, "GET", &lp_path(&query, None), &[], b"").await;
            assert_eq!(body, json!({"status": 403}), "reject={reject}");
        }
        assert_eq!(server.pubsub.subscriber_count("user:1"), 0);
        // Vector `bad_vsn`.
        let body = lp_request(server.addr, "GET", "/socket/longpoll?vsn=123.1.1", &[], b"").await;
        assert_eq!(body, json!({"status": 403}));
    }
}
