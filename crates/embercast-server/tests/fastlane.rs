//! The fastlane (PROTOCOL.md §8.4): a broadcast is encoded once per
//! serializer in use, and those same bytes go to every subscriber of that
//! serializer.
//!
//! There is no counting hook in the server, so this pins it through the
//! public `Subscriber` trait: every subscriber of one dispatch that asks its
//! `FrameCache` for a serializer gets the same `Bytes` (same pointer), and
//! those are exactly the bytes the clients receive, over either transport.

#[macro_use]
mod support;

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use embercast_protocol::{FrameKind, Serializer};
use embercast_server::{Broadcast, FrameCache, Payload, Subscriber};
use serde_json::json;
use support::*;

/// A frame as a `FrameCache` handed it out (`None`: not encodable for that serializer).
type Handed = Option<(FrameKind, Bytes)>;

/// Records the frames its `FrameCache` hands it, per serializer.
#[derive(Default)]
struct Recorder {
    seen: Mutex<Vec<(Serializer, Handed)>>,
}

impl Subscriber for Recorder {
    fn deliver(&self, _: &Broadcast, frames: &mut FrameCache<'_>) {
        let mut seen = self.seen.lock().unwrap();
        for s in [Serializer::V2, Serializer::V1] {
            seen.push((s, frames.frame(s).map(|f| (f.kind, f.data.clone()))));
        }
    }
}

impl Recorder {
    fn frame(&self, s: Serializer) -> Handed {
        self.seen.lock().unwrap().iter().find(|(x, _)| *x == s).and_then(|(_, f)| f.clone())
    }
}

/// Two custom subscribers and twelve clients (V1 and V2, WebSocket and
/// LongPoll) on one topic: the subscribers get the same allocation per
/// serializer, and the clients receive exactly those bytes (LongPoll: as the
/// `messages` string), whatever their transport.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_encoding_per_serializer_is_shared_by_every_subscriber() {
    let server = start().await;
    let mut clients = Vec::new();
    for i in 0..12 {
        let vsn = if i % 2 == 0 { Vsn::V1 } else { Vsn::V2 };
        let t = if i % 4 < 2 { Transport::WebSocket } else { Transport::LongPoll };
        let mut c = Client::connect(&server, t, vsn).await;
        c.join("room:lobby", "3").await;
        clients.push(c);
    }
    let (r1, r2) = (Arc::new(Recorder::default()), Arc::new(Recorder::default()));
    let _s1 = server.pubsub.subscribe("room:lobby", r1.clone());
    let _s2 = server.pubsub.subscribe("room:lobby", r2.clone());

    server.pubsub.broadcast("room:lobby", "new_msg", json!({"body": "hi"})).unwrap();

    let (k1, v1) = r1.frame(Serializer::V1).expect("V1 frame");
    let (k2, v2) = r1.frame(Serializer::V2).expect("V2 frame");
    assert_eq!((k1, k2), (FrameKind::Text, FrameKind::Text));
    assert_eq!(r2.frame(Serializer::V1).unwrap().1.as_ptr(), v1.as_ptr(), "V1 encoded once per dispatch");
    assert_eq!(r2.frame(Serializer::V2).unwrap().1.as_ptr(), v2.as_ptr(), "V2 encoded once per dispatch");
    assert_ne!(v1.as_ptr(), v2.as_ptr());
    for c in &mut clients {
        let expected = if c.vsn == Vsn::V1 { &v1 } else { &v2 };
        assert_eq!(c.recv().await, Received::Text(String::from_utf8(expected.to_vec()).unwrap()));
    }
}

/// Bytes: one binary frame shared for V2; V1 has none (those subscribers are skipped).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_broadcast_is_encoded_once_for_v2_and_not_for_v1() {
    let server = start().await;
    let mut v2 = Client::connect_ws(&server, Vsn::V2).await;
    v2.join("room:lobby", "3").await;
    let (r1, r2) = (Arc::new(Recorder::default()), Arc::new(Recorder::default()));
    let _s1 = server.pubsub.subscribe("room:lobby", r1.clone());
    let _s2 = server.pubsub.subscribe("room:lobby", r2.clone());

    server.pubsub.broadcast("room:lobby", "frame", Payload::Binary(Bytes::from_static(&[1, 2]))).unwrap();

    assert!(r1.frame(Serializer::V1).is_none());
    let (kind, data) = r1.frame(Serializer::V2).expect("V2 frame");
    assert_eq!(kind, FrameKind::Binary);
    assert_eq!(r2.frame(Serializer::V2).unwrap().1.as_ptr(), data.as_ptr());
    assert_eq!(v2.recv_binary().await, data.to_vec());
}

/// Each broadcast is a new dispatch with its own encoding.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_broadcast_gets_its_own_encoding() {
    let server = start().await;
    let r = Arc::new(Recorder::default());
    let _s = server.pubsub.subscribe("room:lobby", r.clone());
    server.pubsub.broadcast("room:lobby", "a", json!({"n": 1})).unwrap();
    server.pubsub.broadcast("room:lobby", "b", json!({"n": 2})).unwrap();
    let seen = r.seen.lock().unwrap();
    let v2: Vec<&Bytes> =
        seen.iter().filter(|(s, _)| *s == Serializer::V2).map(|(_, f)| &f.as_ref().unwrap().1).collect();
    assert_eq!(v2.len(), 2);
    assert_eq!(v2[0].as_ref(), br#"[null,null,"room:lobby","a",{"n":1}]"#);
    assert_eq!(v2[1].as_ref(), br#"[null,null,"room:lobby","b",{"n":2}]"#);
}
