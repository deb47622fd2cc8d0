//! Small JSON writing and field-reading helpers shared by the V1 and V2 codecs.

use serde_json::Value;

use crate::error::DecodeError;
use crate::message::{Payload, Ref};

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

/// Splits a text reply payload `{"status":..,"response":..}` into its parts.
pub(crate) fn split_reply(payload: Value) -> Result<(String, Payload), Value> {
    match payload {
        Value::Object(mut map) if matches!(map.get("status"), Some(Value::String(_))) => {
            let status = match map.remove("status") {
                Some(Value::String(s)) => s,
                _ => unreachable!("checked above"),
            };
            let response = map.remove("response").unwrap_or(Value::Null);
            Ok((status, Payload::Json(response)))
        }
        other => Err(other),
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
