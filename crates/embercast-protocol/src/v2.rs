//! V2 JSON text frames: `[join_ref, ref, topic, event, payload]` (PROTOCOL.md §3.3).

use serde_json::Value;

use crate::error::{DecodeError, EncodeError, EncodeKind};
use crate::json::{self, write_ref, write_str, write_value};
use crate::message::{Broadcast, Message, Payload, Ref, Reply, ServerMessage};

/// Decodes a client's text frame. Elements after the fifth are ignored, as in
/// Phoenix; fewer than five is an error. The payload may be any JSON value.
pub fn decode(text: &[u8]) -> Result<Message, DecodeError> {
    let [join_ref, r#ref, topic, event, payload] = five(json::parse(text)?)?;
    Ok(Message {
        join_ref: json::take_ref(join_ref, "join_ref")?,
        r#ref: json::take_ref(r#ref, "ref")?,
        topic: json::take_string(topic, "topic")?,
        event: json::take_string(event, "event")?,
        payload: Payload::Json(payload),
    })
}

/// Decodes a server's text frame, as a client does; `phx_reply` frames with a
/// string `status` become a [`Reply`].
pub fn decode_server(text: &[u8]) -> Result<ServerMessage, DecodeError> {
    decode(text).map(json::server_message)
}

/// Encodes a message with any JSON payload (used for client frames and for
/// server pushes once the payload has been checked).
pub fn encode_message(
    join_ref: Option<&Ref>,
    r#ref: Option<&Ref>,
    topic: &str,
    event: &str,
    payload: &Value,
) -> Vec<u8> {
    encode_message_with(join_ref, r#ref, topic, event, |out| write_value(out, payload))
}

/// [`encode_message`] with the payload written by `payload`.
pub(crate) fn encode_message_with(
    join_ref: Option<&Ref>,
    r#ref: Option<&Ref>,
    topic: &str,
    event: &str,
    payload: impl FnOnce(&mut Vec<u8>),
) -> Vec<u8> {
    let mut out = Vec::with_capacity(32 + topic.len() + event.len());
    out.push(b'[');
    write_ref(&mut out, join_ref);
    out.push(b',');
    write_ref(&mut out, r#ref);
    out.push(b',');
    write_str(&mut out, topic);
    out.push(b',');
    write_str(&mut out, event);
    out.push(b',');
    payload(&mut out);
    out.push(b']');
    out
}

/// Encodes a reply: `[join_ref, ref, topic, "phx_reply", {"response":…,"status":…}]`.
pub fn encode_reply(reply: &Reply, response: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + reply.topic.len());
    out.push(b'[');
    write_ref(&mut out, reply.join_ref.as_ref());
    out.push(b',');
    write_ref(&mut out, reply.r#ref.as_ref());
    out.push(b',');
    write_str(&mut out, &reply.topic);
    out.extend_from_slice(b",\"phx_reply\",");
    json::write_reply_payload(&mut out, &reply.status, response);
    out.push(b']');
    out
}

/// Encodes a broadcast: `[null, null, topic, event, payload]`; the payload must be an object.
pub fn encode_broadcast(b: &Broadcast, payload: &Value) -> Result<Vec<u8>, EncodeError> {
    require_object(payload)?;
    Ok(encode_message(None, None, &b.topic, &b.event, payload))
}

pub(crate) fn require_object(payload: &Value) -> Result<(), EncodeError> {
    if payload.is_object() {
        Ok(())
    } else {
        Err(EncodeError(EncodeKind::NotAnObject))
    }
}

fn five(v: Value) -> Result<[Value; 5], DecodeError> {
    let Value::Array(items) = v else {
        return Err(DecodeError::shape(format!("V2 expects a JSON array, got {}", json::kind(&v))));
    };
    if items.len() < 5 {
        return Err(DecodeError::shape(format!("V2 expects 5 elements, got {}", items.len())));
    }
    let mut it = items.into_iter();
    let mut next = || it.next().expect("length checked");
    Ok([next(), next(), next(), next(), next()])
}
