//! Small JSON writing and field-reading helpers shared by the V1 and V2 codecs.

use serde_json::Value;

use crate::error::DecodeError;
use crate::message::{event, Message, Payload, Ref, Reply, ServerMessage};

pub(crate) fn write_ref(out: &mut Vec<u8>, r: Option<&Ref>) {
    match r {
        None => out.extend_from_slice(b"null"),
        Some(Ref::String(s)) => write_str(out, s),
        Some(Ref::Number(n)) => out.extend_from_slice(n.to_string().as_bytes()),
    }
}

pub(crate) fn write_str(out: &mut Vec<u8>, s: &str) {
    // Writing into a Vec cannot fail and a &str always serializes.
    serde_json::to_writer(&mut *out, s).expect("serializing a str into a Vec");
}

pub(crate) fn write_value(out: &mut Vec<u8>, v: &Value) {
    serde_json::to_writer(&mut *out, v).expect("serializing a Value into a Vec");
}

/// Writes `{"response":<response>,"status":<status>}`.
pub(crate) fn write_reply_payload(out: &mut Vec<u8>, status: &str, response: &Value) {
    out.extend_from_slice(b"{\"response\":");
    write_value(out, response);
    out.extend_from_slice(b",\"status\":");
    write_str(out, status);
    out.push(b'}');
}

/// A ref field: string, number or null; anything else is a shape error.
pub(crate) fn take_ref(v: Value, field: &str) -> Result<Option<Ref>, DecodeError> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(Ref::String(s))),
        Value::Number(n) => Ok(Some(Ref::Number(n))),
        other => Err(DecodeError::shape(format!("{field} must be a string, a number or null, got {}", kind(&other)))),
    }
}

pub(crate) fn take_string(v: Value, field: &str) -> Result<String, DecodeError> {
    match v {
        Value::String(s) => Ok(s),
        other => Err(DecodeError::shape(format!("{field} must be a string, got {}", kind(&other)))),
    }
}

/// Turns a decoded text frame into what a client sees: a `phx_reply` whose payload
/// is an object with a string `status` becomes a [`Reply`] (a missing `response` is
/// null); every other frame stays a [`Message`].
///
/// A `phx_reply` of another shape is passed on as a plain message rather than
/// refused: Phoenix writes `"status":null` for a reply whose status is `nil`, and
/// phoenix.js takes such a frame without error (it just matches no push).
pub(crate) fn server_message(msg: Message) -> ServerMessage {
    let Message { join_ref, r#ref, topic, event, payload } = msg;
    match payload {
        Payload::Json(Value::Object(mut map))
            if event == event::REPLY && map.get("status").is_some_and(Value::is_string) =>
        {
            let Some(Value::String(status)) = map.remove("status") else { unreachable!("checked above") };
            let response = map.remove("response").unwrap_or(Value::Null);
            ServerMessage::Reply(Reply { join_ref, r#ref, topic, status, payload: Payload::Json(response) })
        }
        payload => ServerMessage::Message(Message { join_ref, r#ref, topic, event, payload }),
    }
}

pub(crate) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

pub(crate) fn parse(text: &[u8]) -> Result<Value, DecodeError> {
    serde_json::from_slice(text).map_err(DecodeError::json)
}
