//! Broadcasts reach the other clients of a topic as events.

#[macro_use]
mod support;

use embercast_client::{Payload, Serializer};
use serde_json::json;
use support::{client, within, TestServer};

for_each_vsn! {
    async fn broadcast_reaches_another_client(vsn: Serializer) {
        let server = TestServer::start().await;
        let alice = client(&server.url()).vsn(vsn).connect().unwrap();
        let bob = client(&server.url()).vsn(vsn).connect().unwrap();
        let a = alice.channel("room:chat", json!({}));
        let b = bob.channel("room:chat", json!({}));
        let mut shouts = b.on("shout");
        let mut everything = b.events();
        within("alice joins", a.join()).await.unwrap();
        within("bob joins", b.join()).await.unwrap();
        within("the shout", a.push("shout", json!({"body": "hi"}))).await.unwrap();
        let got = within("the broadcast", shouts.recv()).await.expect("an event");
        assert_eq!((got.event.as_str(), &got.payload), ("shout", &Payload::Json(json!({"body": "hi"}))));
        assert!(got.join_ref.is_some(), "events carry the channel's join_ref");
        let same = within("the broadcast on the all-events stream", everything.recv()).await.unwrap();
        assert_eq!(same, got);
    }
}
