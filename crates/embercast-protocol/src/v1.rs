//! V1 JSON object frames (PROTOCOL.md §3.2). Text only; the server never emits `join_ref`.

use serde_json::{Map, Value};

use crate::error::DecodeError;
use crate::json::{self, write_ref, write_str, write_value};
use crate::message::{Message, Payload, Ref, Reply, ServerMessage};

/// Decodes a client's V1 frame: an object with `topic`, `event`, `payload` and
/// `ref` (all required, `ref` may be null) and an optional `join_ref`.
pub fn decode(text: &[u8]) -> Result<Message, DecodeError> {
    let mut map = object(json::parse(text)?)?;
    let topic = json::take_string(required(&mut map, "topic")?, "topic")?;
    let event = json::take_string(required(&mut map, "event")?, "event")?;
    let payload = required(&mut map, "payload")?;
    let r#ref = json::take_ref(required(&mut map, "ref")?, "ref")?;
    let join_ref = json::take_ref(map.remove("join_ref").unwrap_or(Value::Null), "join_ref")?;
    Ok(Message { join_ref, r#ref, topic, event, payload: Payload::Json(payload) })
}

/// Decodes a server's V1 frame, as a client does; `phx_reply` frames with a
/// string `status` become a [`Reply`]. Reads the same keys as [`decode`].
pub fn decode_server(text: &[u8]) -> Result<ServerMessage, DecodeError> {
    decode(text).map(json::server_message)
}

/// Encodes a server frame: `{"event":…,"payload":…,"ref":…,"topic":…}` (keys in
/// Phoenix's order; no `join_ref`). Any JSON payload is allowed.
pub fn encode_server(r#ref: Option<&Ref>, topic: &str, event: &str, payload: &Value) -> Vec<u8> {
    encode_server_with(r#ref, topic, event, |out| write_value(out, payload))
}

/// [`encode_server`] with the payload written by `payload`.
pub(crate) fn encode_server_with(
    r#ref: Option<&Ref>,
    topic: &str,
    event: &str,
    payload: impl FnOnce(&mut Vec<u8>),
) -> Vec<u8> {
    let mut out = Vec::with_capacity(48 + topic.len() + event.len());
    out.extend_from_slice(b"{\"event\":");
    write_str(&mut out, event);
    out.extend_from_slice(b",\"payload\":");
    payload(&mut out);
    finish(&mut out, r#ref, topic);
    out
}

/// Encodes a server reply: event `phx_reply`, payload `{"response":…,"status":…}`.
pub fn encode_reply(reply: &Reply, response: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(80 + reply.topic.len());
    out.extend_from_slice(b"{\"event\":\"phx_reply\",\"payload\":");
    json::write_reply_payload(&mut out, &reply.status, response);
    finish(&mut out, reply.r#ref.as_ref(), &reply.topic);
    out
}

/// Encodes a client frame: `{"topic","event","payload","ref","join_ref"}`.
pub fn encode_client(msg: &Message, payload: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + msg.topic.len());
    out.extend_from_slice(b"{\"topic\":");
    write_str(&mut out, &msg.topic);
    out.extend_from_slice(b",\"event\":");
    write_str(&mut out, &msg.event);
    out.extend_from_slice(b",\"payload\":");
    write_value(&mut out, payload);
    out.extend_from_slice(b",\"ref\":");
    write_ref(&mut out, msg.r#ref.as_ref());
    out.extend_from_slice(b",\"join_ref\":");
    write_ref(&mut out, msg.join_ref.as_ref());
    out.push(b'}');
    out
}

fn finish(out: &mut Vec<u8>, r#ref: Option<&Ref>, topic: &str) {
    out.extend_from_slice(b",\"ref\":");
    write_ref(out, r#ref);
    out.extend_from_slice(b",\"topic\":");
    write_str(out, topic);
    out.push(b'}');
}

fn object(v: Value) -> Result<Map<String, Value>, DecodeError> {
    match v {
        Value::Object(map) => Ok(map),
        other => Err(DecodeError::shape(format!("V1 expects a JSON object, got {}", json::kind(&other)))),
    }
}

fn required(map: &mut Map<String, Value>, key: &'static str) -> Result<Value, DecodeError> {
    map.remove(key).ok_or_else(|| DecodeError::shape(format!("missing key {key}")))
}
