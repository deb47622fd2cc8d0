//! The one place where server-side outcomes become frames, close codes and
//! HTTP statuses (PROTOCOL.md §4.13, §2.11). Read this file to know what the
//! client sees in each situation.

use embercast_protocol::{event, Message, Payload, Ref, Reply};
use embercast_ws::CloseCode;
use serde_json::json;

use crate::outbox::CloseReason;

/// `[null, ref, "phoenix", "phx_reply", {"response":{},"status":"ok"}]`: the
/// heartbeat answer never carries a join_ref.
pub(crate) fn heartbeat_reply(r#ref: Option<Ref>) -> Reply {
    reply(None, r#ref, event::HEARTBEAT_TOPIC, "ok", Payload::empty())
}

/// A push or join for a topic with no channel (or no route): join_ref is null.
pub(crate) fn unmatched_topic(r#ref: Option<Ref>, topic: &str) -> Reply {
    reply(None, r#ref, topic, "error", json!({"reason": "unmatched topic"}).into())
}

/// A message whose topic is over the configured length: refused like an
/// unmatched topic (null join_ref), with its own reason.
pub(crate) fn topic_too_long(r#ref: Option<Ref>, topic: &str) -> Reply {
    reply(None, r#ref, topic, "error", json!({"reason": "topic too long"}).into())
}

/// A leave for a topic that is not joined: ok, echoing the message's join_ref.
pub(crate) fn leave_unjoined(join_ref: Option<Ref>, r#ref: Option<Ref>, topic: &str) -> Reply {
    reply(join_ref, r#ref, topic, "ok", Payload::empty())
}

/// A join refused because the connection already has the maximum of channels.
pub(crate) fn too_many_channels(join_ref: Option<Ref>, r#ref: Option<Ref>, topic: &str) -> Reply {
    reply(join_ref, r#ref, topic, "error", json!({"reason": "too many channels joined"}).into())
}

/// A join whose callback panicked.
pub(crate) fn join_crashed(join_ref: Option<Ref>, r#ref: Option<Ref>, topic: &str) -> Reply {
    reply(join_ref, r#ref, topic, "error", json!({"reason": "join crashed"}).into())
}

/// A reply the connection cannot carry: bytes on V1 or LongPoll, or a binary
/// reply whose header fields (refs, topic, status) are over 255 bytes.
pub(crate) fn reply_not_encodable(join_ref: Option<Ref>, r#ref: Option<Ref>, topic: &str, too_long: bool) -> Reply {
    let reason = if too_long {
        "binary reply cannot be encoded: a ref, the topic or the status is over 255 bytes"
    } else {
        "binary payloads need vsn 2.0.0 over WebSocket"
    };
    reply(join_ref, r#ref, topic, "error", json!({ "reason": reason }).into())
}

/// `phx_close`: the channel ended on purpose; the client will not rejoin.
/// Both refs are the join_ref stored when the channel was created.
pub(crate) fn phx_close(join_ref: Option<Ref>, topic: &str) -> Message {
    Message {
        join_ref: join_ref.clone(),
        r#ref: join_ref,
        topic: topic.into(),
        event: event::CLOSE.into(),
        payload: Payload::empty(),
    }
}

/// `phx_error`: the channel crashed; the client rejoins with backoff.
pub(crate) fn phx_error(join_ref: Option<Ref>, topic: &str) -> Message {
    Message {
        join_ref: join_ref.clone(),
        r#ref: join_ref,
        topic: topic.into(),
        event: event::ERROR.into(),
        payload: json!({"reason": "channel_crash"}).into(),
    }
}

/// The WebSocket close code for a server-initiated close. Never 1000: every
/// one of these should make the client reconnect (clients before 1.8.16 do not
/// reconnect after 1000).
pub(crate) fn close_code(reason: CloseReason) -> (CloseCode, &'static str) {
    match reason {
        CloseReason::Disconnect => (CloseCode::GOING_AWAY, "disconnected"),
        CloseReason::IdleTimeout => (CloseCode::GOING_AWAY, "idle timeout"),
        CloseReason::SlowConsumer => (CloseCode::TRY_AGAIN_LATER, "client too slow"),
        CloseReason::Shutdown => (CloseCode::RESTART, "server restart"),
    }
}

fn reply(join_ref: Option<Ref>, r#ref: Option<Ref>, topic: &str, status: &str, payload: Payload) -> Reply {
    Reply { join_ref, r#ref, topic: topic.into(), status: status.into(), payload }
}
