//! The demo application behind `embercast serve`.

use std::time::{SystemTime, UNIX_EPOCH};

use embercast_presence::Presence;
use embercast_server::{
    Accept, Channel, ChannelSocket, CheckOrigin, HandleResult, JoinError, JoinResult, Payload, Reply, Socket,
};
use serde_json::{json, Value};

/// The demo socket: any params accepted; a `user_id` param sets the socket id
/// `user_socket:<id>`, so `disconnect` on that topic logs the user out.
/// Rooms track who is in them with [`Presence`] (one node, no peers).
pub fn socket(check_origin: &[String]) -> Socket {
    let socket = Socket::new();
    let presence = Presence::new(&socket.pubsub_handle());
    let socket = socket
        .assign(presence)
        .connect(|info| async move {
            let mut accept = Accept::new();
            if let Some(user) = info.params.get("user_id").filter(|u| !u.is_empty()) {
                accept = accept.id(format!("user_socket:{user}"));
            }
            Ok(accept)
        })
        .channel::<Room>("room:*")
        .channel::<Room>("rooms:*")
        .channel::<Echo>("echo:*")
        .channel::<Crash>("crash:*");
    if check_origin.is_empty() {
        socket
    } else {
        socket.check_origin(CheckOrigin::allow(check_origin))
    }
}

/// A chat room: `new_msg` is broadcast to the room with the sender's name.
///
/// The joiner is tracked under their name (join payload `name`, else
/// `anonymous`) with `online_at` (Unix seconds, as a string), and gets the
/// room's `presence_state` after the join reply; the room gets `presence_diff`s.
/// `status` `{"status": s}` updates the joiner's meta; `presence` replies with
/// the room's presence list.
struct Room {
    name: Value,
    /// The presence key and the meta tracked under it.
    tracked: Option<(String, Value)>,
}

impl Channel for Room {
    async fn join(_topic: &str, payload: Payload, socket: &mut ChannelSocket) -> JoinResult<Self> {
        let name = match &payload {
            Payload::Json(Value::Object(map)) => map.get("name").cloned().unwrap_or(Value::Null),
            Payload::Json(_) => Value::Null,
            Payload::Binary(_) => return Err(JoinError::reason("join payload must be JSON")),
        };
        let mut tracked = None;
        if let Some(presence) = socket.get::<Presence>().cloned() {
            let key = match &name {
                Value::String(s) if !s.is_empty() => s.clone(),
                Value::Null => "anonymous".to_owned(),
                other => other.to_string(),
            };
            let online_at = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
            let meta = json!({ "online_at": online_at.to_string() });
            match presence.track(socket, &key, meta.clone()) {
                Ok(_) => tracked = Some((key, meta)),
                Err(e) => tracing::warn!(%key, error = %e, "presence not tracked"),
            }
            presence.push_state(socket);
        }
        Ok(Room { name, tracked }.into())
    }

    async fn handle_in(&mut self, event: &str, payload: Payload, socket: &mut ChannelSocket) -> HandleResult {
        match event {
            "new_msg" => {
                let body = payload.as_json().and_then(|p| p.get("body")).cloned().unwrap_or(Value::Null);
                socket.broadcast("new_msg", json!({ "body": body, "name": self.name }))?;
                Ok(Some(Reply::ok_empty()))
            }
            "ping" => Ok(Some(Reply::ok(payload))),
            "status" => Ok(Some(self.set_status(&payload, socket))),
            "presence" => match socket.get::<Presence>() {
                Some(presence) => Ok(Some(Reply::ok(presence.list(socket.topic())))),
                None => Ok(Some(Reply::error(json!({ "reason": "presence is off" })))),
            },
            _ => Ok(Some(Reply::error(json!({ "reason": format!("unknown event {event}") })))),
        }
    }
}

impl Room {
    /// Sets `status` in the joiner's presence meta: one `presence_diff` with
    /// the key in both joins and leaves.
    fn set_status(&mut self, payload: &Payload, socket: &ChannelSocket) -> Reply {
        let status = payload.as_json().and_then(|p| p.get("status")).cloned().unwrap_or(Value::Null);
        let (Some(presence), Some((key, meta))) = (socket.get::<Presence>(), self.tracked.as_mut()) else {
            return Reply::error(json!({ "reason": "not tracked" }));
        };
        meta["status"] = status;
        match presence.update(socket, key, meta.clone()) {
            Ok(phx_ref) => Reply::ok(json!({ "phx_ref": phx_ref })),
            Err(e) => Reply::error(json!({ "reason": e.to_string() })),
        }
    }
}

/// Replies to every event with its payload, binary included.
struct Echo;

impl Channel for Echo {
    async fn join(_topic: &str, _payload: Payload, _socket: &mut ChannelSocket) -> JoinResult<Self> {
        Ok(Echo.into())
    }

    async fn handle_in(&mut self, _event: &str, payload: Payload, _socket: &mut ChannelSocket) -> HandleResult {
        Ok(Some(Reply::ok(payload)))
    }
}

/// Shows fault isolation: `boom` panics, which crashes this channel only;
/// the client rejoins by itself. `ping` replies with its payload.
struct Crash;

impl Channel for Crash {
    async fn join(_topic: &str, _payload: Payload, _socket: &mut ChannelSocket) -> JoinResult<Self> {
        Ok(Crash.into())
    }

    async fn handle_in(&mut self, event: &str, payload: Payload, _socket: &mut ChannelSocket) -> HandleResult {
        match event {
            "boom" => panic!("boom requested by the client"),
            _ => Ok(Some(Reply::ok(payload))),
        }
    }
}
