//! The demo application behind `embercast serve`.

use embercast_server::{
    Accept, Channel, ChannelSocket, CheckOrigin, HandleResult, JoinError, JoinResult, Payload, Reply, Socket,
};
use serde_json::{json, Value};

/// The demo socket: any params accepted; a `user_id` param sets the socket id
/// `user_socket:<id>`, so `disconnect` on that topic logs the user out.
pub fn socket(check_origin: &[String]) -> Socket {
    let socket = Socket::new()
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
struct Room {
    name: Value,
}

impl Channel for Room {
    async fn join(_topic: &str, payload: Payload, _socket: &mut ChannelSocket) -> JoinResult<Self> {
        let name = match &payload {
            Payload::Json(Value::Object(map)) => map.get("name").cloned().unwrap_or(Value::Null),
            Payload::Json(_) => Value::Null,
            Payload::Binary(_) => return Err(JoinError::reason("join payload must be JSON")),
        };
        Ok(Room { name }.into())
    }

    async fn handle_in(&mut self, event: &str, payload: Payload, socket: &mut ChannelSocket) -> HandleResult {
        match event {
            "new_msg" => {
                let body = payload.as_json().and_then(|p| p.get("body")).cloned().unwrap_or(Value::Null);
                socket.broadcast("new_msg", json!({ "body": body, "name": self.name }))?;
                Ok(Some(Reply::ok_empty()))
            }
            "ping" => Ok(Some(Reply::ok(payload))),
            _ => Ok(Some(Reply::error(json!({ "reason": format!("unknown event {event}") })))),
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
