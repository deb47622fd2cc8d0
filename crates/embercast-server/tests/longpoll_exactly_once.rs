//! Exactly-once delivery over LongPoll (PROTOCOL.md §7.4): a message
//! published at any moment (while a poll is held, as a poll is being
//! answered, between a poll's answer and the next poll, as the window runs
//! out) is delivered once, in the next poll, in publish order: none lost,
//! none duplicated.
//!
//! The moments are random; the seed is printed, and `EMBERCAST_SEED=<seed>`
//! replays a run.

#[macro_use]
mod support;

use std::time::Duration;

use serde_json::{json, Value};
use support::*;

/// Short, so a few seconds cover hundreds of poll boundaries.
const WINDOW: Duration = Duration::from_millis(60);
const MESSAGES: u64 = 600;

/// xorshift64*: enough randomness to scatter publishes, and replayable.
struct Rng(u64);

impl Rng {
    fn seeded() -> (Rng, u64) {
        let seed = std::env::var("EMBERCAST_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
            let mut b = [0u8; 8];
            getrandom::fill(&mut b).expect("OS randomness");
            u64::from_le_bytes(b)
        });
        (Rng(seed | 1), seed)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

/// Receives `n` broadcasts `"m"` and checks they are 0, 1, 2, … in order.
async fn expect_sequence(c: &mut Client, n: u64) {
    for expected in 0..n {
        let f: Value = c.recv_json().await;
        assert_eq!(
            (&f[2], &f[3], &f[4]["n"]),
            (&json!("room:stream"), &json!("m"), &json!(expected)),
            "{:?} {:?} client: message {expected} lost, duplicated or out of order: got {f}",
            c.transport,
            c.vsn
        );
    }
}

/// ≥ 500 publishes at random moments around poll boundaries: every
/// LongPoll session (V1 and V2) and a WebSocket control client get each
/// message exactly once, in order; nothing follows the last one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_message_published_around_poll_boundaries_is_delivered_exactly_once() {
    let (mut rng, seed) = Rng::seeded();
    eprintln!("seed {seed} (EMBERCAST_SEED={seed} replays this run)");
    let server = start_with(|s| s.longpoll(lp_config().window(WINDOW))).await;
    let mut clients = vec![
        Client::connect(&server, Transport::LongPoll, Vsn::V2).await,
        Client::connect(&server, Transport::LongPoll, Vsn::V1).await,
        Client::connect(&server, Transport::WebSocket, Vsn::V2).await,
    ];
    for c in &mut clients {
        c.join("room:stream", "3").await;
    }
    let mut boundaries = [clients[0].lp().answered_polls(), clients[1].lp().answered_polls()];

    let pubsub = server.pubsub.clone();
    let publisher = tokio::spawn(async move {
        let mut moments = [0u32; 4];
        let mut n = 0;
        while n < MESSAGES {
            // Deliberately scattered timing (not synchronisation): where in
            // the poll cycle each burst lands is what the test varies.
            let moment = match rng.below(100) {
                // Now, wherever the polls are.
                0..=34 => 0,
                // Right as a poll is answered, before the next one is made.
                35..=59 => {
                    let b = &mut boundaries[rng.below(2) as usize];
                    b.borrow_and_update();
                    b.changed().await.expect("the client lives");
                    1
                }
                // While a poll is held.
                60..=89 => {
                    tokio::time::sleep(Duration::from_micros(rng.below(20_000))).await;
                    2
                }
                // As the window runs out, racing the 204.
                _ => {
                    tokio::time::sleep(WINDOW - Duration::from_millis(10) + Duration::from_micros(rng.below(20_000)))
                        .await;
                    3
                }
            };
            moments[moment] += 1;
            for _ in 0..=rng.below(4) {
                if n < MESSAGES {
                    pubsub.broadcast("room:stream", "m", json!({"n": n})).unwrap();
                    n += 1;
                }
            }
        }
        moments
    });

    for c in &mut clients {
        expect_sequence(c, MESSAGES).await;
    }
    let moments = publisher.await.unwrap();
    for c in &mut clients {
        c.expect_heartbeat_next().await;
    }
    for c in &mut clients[..2] {
        let polls = c.lp().polls();
        let count = |f: &dyn Fn(&Poll) -> bool| polls.iter().filter(|p| f(p)).count();
        let (empty, single, batched) =
            (count(&|p| p.status == 204), count(&|p| p.messages == 1), count(&|p| p.messages > 1));
        eprintln!(
            "{:?}: {} polls: {empty} × 204, {single} × 1 message, {batched} × several; moments {moments:?}",
            c.vsn,
            polls.len()
        );
        assert!(polls.iter().all(|p| p.status == 200 || p.status == 204), "{polls:?}");
        assert!(empty > 0 && single > 0 && batched > 0, "the run did not cover every kind of poll: {polls:?}");
    }
}

for_each_vsn! {
    /// Between two polls (the last one answered, the next not yet made) the
    /// session has no poll outstanding: messages published then wait, and
    /// all come with the next poll, once.
    async fn messages_published_between_two_polls_come_with_the_next_one(vsn: Vsn) {
        let server = start_with(|s| s.longpoll(lp_config().window(Duration::from_secs(30)))).await;
        let s = RawSession::open(server.addr, vsn.query(), &[]).await;
        let join = encode(vsn, &json!(["3", "3", "room:stream", "phx_join", {}]));
        assert_eq!(s.post_lines(&[join]).await, json!({"status": 200}));
        assert_eq!(s.get_messages().await.len(), 1, "the join reply");
        for round in 0..5u64 {
            for n in 0..20 {
                server.pubsub.broadcast("room:stream", "m", json!({"n": round * 20 + n})).unwrap();
            }
            let got = s.get_messages().await;
            let ns: Vec<u64> = got.iter().map(|m| normalize(vsn, m)[4]["n"].as_u64().expect("n")).collect();
            assert_eq!(ns, (round * 20..round * 20 + 20).collect::<Vec<_>>());
        }
    }

    /// A newer poll takes over from an older one still held (a client that
    /// gave up on a poll and polled again; Phoenix keeps only the newest
    /// listener too): the older one answers 204 at once, and messages
    /// published afterwards come with the newer one, not into a poll the
    /// client may no longer read.
    async fn a_newer_poll_takes_over_from_an_older_one(vsn: Vsn) {
        let server = start_with(|s| s.longpoll(lp_config().window(Duration::from_secs(30)))).await;
        let s = RawSession::open(server.addr, vsn.query(), &[]).await;
        for round in 0..5u64 {
            let older = tokio::spawn({
                let s = s.clone();
                async move { s.get().await }
            });
            let newer = tokio::spawn({
                let s = s.clone();
                async move { s.get().await }
            });
            // Whichever arrived last is the newest; the other answers 204 at once.
            let mut polls = [older, newer];
            let (first, answer) = tokio::time::timeout(DEADLINE, async {
                let [a, b] = &mut polls;
                tokio::select! {
                    r = a => (0, r.unwrap()),
                    r = b => (1, r.unwrap()),
                }
            })
            .await
            .expect("the superseded poll answers at once, not after the window");
            let [a, b] = polls;
            let (superseded, newest) = (answer, if first == 0 { b } else { a });
            assert_eq!(superseded, json!({"status": 204, "token": s.token, "messages": []}));
            let heartbeat = encode(vsn, &json!([null, format!("n{round}"), "phoenix", "heartbeat", {}]));
            assert_eq!(s.post_lines(&[heartbeat]).await, json!({"status": 200}));
            let answer = tokio::time::timeout(DEADLINE, newest).await.expect("the newest poll answers").unwrap();
            assert_eq!(answer["status"], 200, "{answer}");
            assert!(answer["messages"][0].as_str().unwrap().contains(&format!("n{round}")), "{answer}");
        }
    }
}
