//! Presence fed by a channel's events from a real server: the state pushed
//! after the join, then diffs (an opaque `__proto__` key, an update).

mod support;

use embercast_client::Presence;
use serde_json::{json, Value};
use support::{client, within, TestServer};

#[tokio::test]
async fn presence_follows_state_and_diffs() {
    let server = TestServer::start().await;
    let socket = client(&server.url()).connect().unwrap();
    let room = socket.channel("presence:lobby", json!({}));
    let mut events = room.events();
    within("the join", room.join()).await.unwrap();
    let proto = json!({"joins": {"__proto__": {"metas": [{"phx_ref": "p1"}]}}, "leaves": {}});
    let update = json!({
        "joins": {"alice": {"metas": [{"phx_ref": "a2", "phx_ref_prev": "a1", "status": "away"}]}},
        "leaves": {"alice": {"metas": [{"phx_ref": "a1"}]}},
    });
    within("the first diff", room.push("diff", proto)).await.unwrap();
    within("the second diff", room.push("diff", update)).await.unwrap();

    let mut presence = Presence::new();
    let mut syncs = 0;
    while syncs < 3 {
        let event = within("a presence event", events.recv()).await.expect("channel open");
        syncs += usize::from(presence.handle(&event).is_some());
    }
    let list: Vec<(&str, Value)> = presence.list().map(|(k, v)| (k, v.clone())).collect();
    assert_eq!(
        list,
        [
            ("alice", json!({"metas": [{"phx_ref": "a2", "phx_ref_prev": "a1", "status": "away"}]})),
            ("__proto__", json!({"metas": [{"phx_ref": "p1"}]})),
        ]
    );
}
