//! Helpers shared by the integration tests.

// Each file under tests/ is its own crate and uses only some of these.
#![allow(dead_code)]

use embercast_protocol::Ref;
use serde_json::Value;

/// Decodes lowercase or uppercase hex, with optional spaces between bytes.
pub fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    assert!(digits.len() % 2 == 0, "odd number of hex digits in {s:?}");
    digits
        .chunks(2)
        .map(|pair| {
            let text = std::str::from_utf8(pair).expect("hex digits are ASCII");
            u8::from_str_radix(text, 16).unwrap_or_else(|_| panic!("bad hex byte {text:?} in {s:?}"))
        })
        .collect()
}

/// Encodes bytes as lowercase hex, for readable assertion failures.
pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A ref as the JSON value it travels as in a text frame (so the type shows).
pub fn ref_value(r: Option<&Ref>) -> Value {
    match r {
        None => Value::Null,
        Some(Ref::String(s)) => Value::String(s.clone()),
        Some(Ref::Number(n)) => Value::Number(n.clone()),
    }
}

/// The ref a JSON value in a text frame stands for; panics on other types.
pub fn value_ref(v: &Value) -> Option<Ref> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(Ref::String(s.clone())),
        Value::Number(n) => Some(Ref::Number(n.clone())),
        other => panic!("not a ref: {other}"),
    }
}

/// What a ref becomes after a trip through a binary frame: numbers are written
/// as their decimal text, and an empty string reads back as null.
pub fn through_binary(r: Option<&Ref>) -> Option<Ref> {
    r.map(|r| r.as_text().into_owned()).filter(|s| !s.is_empty()).map(Ref::String)
}

/// Parses an encoded text frame, so frames compare without regard to key order.
pub fn parse(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|e| panic!("encoder wrote invalid JSON ({e}): {}", String::from_utf8_lossy(bytes)))
}
