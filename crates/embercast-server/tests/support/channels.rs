//! Test channels. What they do is chosen by the test: the join payload picks
//! the join outcome, the event name picks the `handle_in` result, and a
//! [`Cmd`] sent through a [`ChannelHandle`] picks what `handle_info` does.
//!
//! | route | channel |
//! |---|---|
//! | `room:*` | [`Room`]: every join outcome and `handle_in` result |
//! | `intercept:*` | [`Intercepting`]: intercepts `new_msg`, `hidden` and `boom_out` |
//!
//! [`ChannelHandle`]: embercast_server::ChannelHandle

use bytes::Bytes;
use embercast_server::{
    Channel, ChannelSocket, HandleResult, Info, InfoResult, JoinError, JoinResult, Joined, Payload, Reply, Stop,
    Terminate,
};
use serde_json::{json, Value};

use super::probe::{JoinSeen, Probe, Terminated};

/// A value `connect` assigns from the `user` query parameter.
#[derive(Clone, Debug)]
pub struct User(pub String);

/// The auth token `connect` received, assigned for channels to read.
#[derive(Clone, Debug)]
pub struct AuthToken(pub String);

/// What a test can ask a channel to do from outside, through its `ChannelHandle`.
#[derive(Debug)]
pub enum Cmd {
    /// Push an event to the client.
    Push(String, Payload),
    /// Panic in `handle_info`.
    Panic,
    /// Return `Stop::normal()` from `handle_info`.
    Stop,
}

fn probe(socket: &ChannelSocket) -> Probe {
    socket.get::<Probe>().expect("the test server assigns a Probe").clone()
}

fn json_of(p: &Payload) -> Value {
    p.as_json().cloned().unwrap_or(Value::Null)
}

fn ref_json(socket: &ChannelSocket) -> Value {
    socket.join_ref().map_or(Value::Null, ref_to_json)
}

fn ref_to_json(r: &embercast_server::Ref) -> Value {
    match r {
        embercast_server::Ref::String(s) => Value::String(s.clone()),
        embercast_server::Ref::Number(n) => Value::Number(n.clone()),
    }
}

fn field(v: &Value, key: &str) -> Value {
    v.get(key).cloned().unwrap_or(Value::Null)
}

/// Assigned to a channel instance by the join payload key `guard`; records
/// `(topic, join_ref)` in the probe's `dropped` when the instance drops it.
struct Guard {
    probe: Probe,
    topic: String,
    join_ref: Value,
}

impl Drop for Guard {
    fn drop(&mut self) {
        let seen = (self.topic.clone(), self.join_ref.clone());
        self.probe.update(|s| s.dropped.push(seen));
    }
}

/// The general-purpose test channel.
///
/// Join payload keys: `refuse` (refuse with that response), `panic` (panic),
/// `reply` (join reply response), `after_join` (broadcast `user_entered` and
/// push `joined` from inside `join`), `push_then_refuse` (push, then refuse),
/// `send_self` (push `after_join` from `handle_info`), `slow` (wait at the
/// probe's gate), `slow_terminate` (wait at the gate in `terminate`),
/// `reply_binary` (join reply with these bytes), `guard` (assign a value
/// that records its drop), `after_join_push` (push `after_join_push` with this
/// body from [`ChannelSocket::after_join`]), `after_join_panic` (panic there),
/// `hold` (hold broadcasts of these events until the event `release`).
pub struct Room {
    slow_terminate: bool,
    /// From `hold_broadcasts` (join payload key `hold`), until `release`.
    hold: Option<embercast_server::BroadcastHold>,
}

impl Channel for Room {
    async fn join(topic: &str, payload: Payload, socket: &mut ChannelSocket) -> JoinResult<Self> {
        let probe = probe(socket);
        let p = json_of(&payload);
        probe.update(|s| {
            s.joins.push(JoinSeen { topic: topic.to_owned(), join_ref: ref_json(socket), handle: socket.handle() })
        });
        if p.get("guard").is_some() {
            // Recorded when the instance's own assigns are dropped.
            socket.assign(Guard { probe: probe.clone(), topic: topic.to_owned(), join_ref: ref_json(socket) });
        }
        if let Some(body) = p.get("after_join_push") {
            let body = body.clone();
            socket.after_join(move |s| s.push("after_join_push", body).expect("push after join"));
        }
        if p.get("after_join_panic").is_some() {
            socket.after_join(|_| panic!("after_join panics on purpose"));
        }
        if p.get("slow").is_some() {
            probe.pass_gate().await;
        }
        if p.get("panic").is_some() {
            panic!("join of {topic} panics on purpose");
        }
        if let Some(refusal) = p.get("refuse") {
            return Err(JoinError::new(refusal.clone()));
        }
        if p.get("push_then_refuse").is_some() {
            socket.push("never_sent", json!({})).expect("push");
            socket.broadcast("never_broadcast", json!({})).expect("broadcast");
            return Err(JoinError::reason("refused after pushing"));
        }
        if let Some(after) = p.get("after_join") {
            socket.broadcast("user_entered", after.clone()).expect("broadcast in join");
            socket.push("joined", json!({"status": "connected"})).expect("push in join");
        }
        if p.get("send_self").is_some() {
            socket.send_self(Cmd::Push("after_join".into(), json!({"from": "handle_info"}).into()));
        }
        let hold = match p.get("hold") {
            Some(Value::Array(events)) => {
                let events: Vec<&str> = events.iter().filter_map(Value::as_str).collect();
                socket.hold_broadcasts(&events)
            }
            _ => None,
        };
        let room = Room { slow_terminate: p.get("slow_terminate").is_some(), hold };
        if let Some(bytes) = p.get("reply_binary") {
            let bytes: Vec<u8> = serde_json::from_value(bytes.clone()).expect("reply_binary: [u8]");
            return Ok(Joined::new(room).reply(Bytes::from(bytes)));
        }
        match p.get("reply") {
            Some(r) => Ok(Joined::new(room).reply(r.clone())),
            None => Ok(room.into()),
        }
    }

    async fn handle_in(&mut self, event: &str, payload: Payload, socket: &mut ChannelSocket) -> HandleResult {
        let p = json_of(&payload);
        match event {
            // Answers with the payload it got (JSON or bytes).
            "ping" => Ok(Some(Reply::ok(payload))),
            "reply_error" => Ok(Some(Reply::error(payload))),
            "reply_empty" => Ok(Some(Reply::ok_empty())),
            "reply_status" => Ok(Some(Reply::status(p["status"].as_str().expect("status"), field(&p, "response")))),
            "reply_binary" => {
                let bytes: Vec<u8> = serde_json::from_value(field(&p, "bytes")).expect("bytes: [u8]");
                Ok(Some(Reply::ok(Bytes::from(bytes))))
            }
            "noreply" => Ok(None),
            // Says what reached the channel: `{"bytes": [..]}` or `{"json": ..}`.
            "inspect" => Ok(Some(Reply::ok(match &payload {
                Payload::Binary(b) => json!({"bytes": b.to_vec()}),
                Payload::Json(v) => json!({"json": v}),
            }))),
            "async" => {
                let handle = socket.reply_handle().expect("a push with a ref has a reply handle");
                let r#ref = field(&p, "ref");
                probe(socket).update(|s| s.reply_handles.push((r#ref, handle)));
                Ok(None)
            }
            "release" => {
                // A snapshot first, then the broadcasts held since the join.
                socket.push("snapshot", p)?;
                let hold = self.hold.take().expect("joined with hold");
                assert!(socket.hold_broadcasts(&["x"]).is_none(), "no hold after the join");
                hold.release();
                Ok(Some(Reply::ok_empty()))
            }
            "push_handle" => {
                // Pushes from another task, once with the object and once pre-serialized.
                let handle = socket.push_handle();
                let text = embercast_server::JsonObjectText::new(&p).expect("an object");
                tokio::spawn(async move {
                    handle.push("from_handle", p).expect("push from the handle");
                    handle.push_text("from_text", &text);
                });
                Ok(None)
            }
            "stop" => Err(Stop::normal()),
            "stop_reply" => Err(Stop::normal().with_reply(Reply::ok(json!({"bye": true})))),
            "stop_error" => Err(Stop::error("stopped with an error on purpose")),
            "boom" => panic!("handle_in panics on purpose"),
            "broadcast" => {
                socket.broadcast(p["event"].as_str().expect("event"), field(&p, "payload"))?;
                Ok(Some(Reply::ok_empty()))
            }
            "broadcast_from" => {
                socket.broadcast_from(p["event"].as_str().expect("event"), field(&p, "payload"))?;
                Ok(Some(Reply::ok_empty()))
            }
            "push" => {
                socket.push(p["event"].as_str().expect("event"), field(&p, "payload"))?;
                Ok(Some(Reply::ok_empty()))
            }
            "push_binary" => {
                let bytes: Vec<u8> = serde_json::from_value(field(&p, "bytes")).expect("bytes: [u8]");
                match socket.push(p["event"].as_str().expect("event"), Bytes::from(bytes)) {
                    Ok(()) => Ok(Some(Reply::ok_empty())),
                    Err(e) => Ok(Some(Reply::error(json!({
                        "reason": e.to_string(),
                        "binary_over_text": e.is_binary_over_text(),
                        "encode": e.is_encode(),
                    })))),
                }
            }
            "slow" => {
                probe(socket).pass_gate().await;
                Ok(Some(Reply::ok(json!({"slow": "done"}))))
            }
            "seq" => {
                let n = p["n"].as_i64().expect("n");
                let topic = socket.topic().to_owned();
                probe(socket).update(|s| s.seq.push((topic, n)));
                Ok(Some(Reply::ok(p)))
            }
            "subscribe" => {
                socket.subscribe(p["topic"].as_str().expect("topic"));
                Ok(Some(Reply::ok_empty()))
            }
            "whoami" => Ok(Some(Reply::ok(json!({
                "topic": socket.topic(),
                "join_ref": ref_json(socket),
                "user": socket.get::<User>().map(|u| u.0.clone()),
                "auth_token": socket.get::<AuthToken>().map(|t| t.0.clone()),
                "socket_id": socket.socket_id(),
            })))),
            other => Ok(Some(Reply::error(json!({"reason": format!("unknown event {other}")})))),
        }
    }

    async fn handle_info(&mut self, info: Info, socket: &mut ChannelSocket) -> InfoResult {
        match info.downcast::<Cmd>() {
            Ok(Cmd::Push(event, payload)) => socket.push(&event, payload)?,
            Ok(Cmd::Panic) => panic!("handle_info panics on purpose"),
            Ok(Cmd::Stop) => return Err(Stop::normal()),
            // A broadcast on a topic subscribed with `subscribe`: relayed by
            // the channel itself, so it carries the channel's join_ref.
            Err(Info::Broadcast(b)) => socket.push(&format!("relayed:{}", b.event), b.payload)?,
            Err(other) => panic!("unexpected info {other:?}"),
        }
        Ok(())
    }

    async fn terminate(&mut self, reason: Terminate, socket: &mut ChannelSocket) {
        let probe = probe(socket);
        if self.slow_terminate {
            probe.pass_gate().await;
        }
        let t = Terminated { topic: socket.topic().to_owned(), join_ref: ref_json(socket), reason };
        probe.update(|s| s.terminated.push(t));
    }
}

/// A channel that intercepts `new_msg` (re-pushed with `"intercepted": true`
/// added), `hidden` (dropped) and `boom_out` (panics).
pub struct Intercepting;

impl Channel for Intercepting {
    const INTERCEPT: &'static [&'static str] = &["new_msg", "hidden", "boom_out"];

    async fn join(topic: &str, _: Payload, socket: &mut ChannelSocket) -> JoinResult<Self> {
        let probe = probe(socket);
        probe.update(|s| {
            s.joins.push(JoinSeen { topic: topic.to_owned(), join_ref: ref_json(socket), handle: socket.handle() })
        });
        Ok(Intercepting.into())
    }

    /// Every event is broadcast to the topic under its own name, then answered `ok`.
    async fn handle_in(&mut self, event: &str, payload: Payload, socket: &mut ChannelSocket) -> HandleResult {
        socket.broadcast(event, payload)?;
        Ok(Some(Reply::ok_empty()))
    }

    async fn handle_out(&mut self, event: &str, payload: Payload, socket: &mut ChannelSocket) -> InfoResult {
        let (topic, ev) = (socket.topic().to_owned(), event.to_owned());
        probe(socket).update(|s| s.handle_out.push((topic, ev)));
        match event {
            "new_msg" => {
                let mut p = json_of(&payload);
                p["intercepted"] = json!(true);
                socket.push(event, p)?;
            }
            "hidden" => {}
            "boom_out" => panic!("handle_out panics on purpose"),
            other => panic!("{other} is not intercepted"),
        }
        Ok(())
    }
}
