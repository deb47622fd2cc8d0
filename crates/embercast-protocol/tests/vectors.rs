//! Golden frames from the shared spec (PROTOCOL.md §3), checked in both directions.
//!
//! The vector files are copied under `tests/vectors/` so that a clean clone runs
//! them. When the shared spec directory sits beside the repository (as it does on
//! developer machines and in CI) its own files are checked as well, so a vector
//! added upstream is exercised before anyone refreshes the copies.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use embercast_protocol::{
    Broadcast, EncodeError, EncodedFrame, Frame, FrameKind, Message, Payload, Ref, Reply, Serializer, ServerMessage,
};
use serde_json::{Map, Value};
use support::{hex, parse, ref_value, to_hex, value_ref};

const V1: &str = "v1_frames.json";
const V2_TEXT: &str = "v2_text_frames.json";
const V2_BINARY: &str = "v2_binary_frames.json";

/// Cases the message model cannot express on the server side, and why.
/// Phoenix's own serializer test builds a reply with a `nil` status, which is
/// written as `"status":null`; a [`Reply`]'s status is a `String`.
const NOT_ENCODABLE: &[&str] = &["v1_frames.json/phoenix_serializer_test_reply"];

/// The directories to read vectors from: our copies, then the shared spec if present.
fn vector_dirs() -> Vec<PathBuf> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut dirs = vec![manifest.join("tests/vectors")];
    let shared = manifest.join("../../../shared/vectors");
    if shared.is_dir() {
        for file in [V1, V2_TEXT, V2_BINARY] {
            let ours = std::fs::read(dirs[0].join(file)).ok();
            if ours != std::fs::read(shared.join(file)).ok() {
                eprintln!("note: tests/vectors/{file} differs from {}; refresh the copy", shared.display());
            }
        }
        dirs.push(shared);
    }
    dirs
}

fn load(dir: &Path, file: &str) -> Value {
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_else(|| panic!("{key} is not a string in {v}"))
}

// ---- text frames (V1 and V2) ------------------------------------------------

/// The five logical fields of a text frame, as JSON values.
struct Fields {
    join_ref: Value,
    r#ref: Value,
    topic: String,
    event: String,
    payload: Value,
}

fn fields(ser: Serializer, frame: &Value) -> Fields {
    match ser {
        Serializer::V1 => {
            let obj = frame.as_object().expect("a V1 frame is an object");
            Fields {
                join_ref: obj.get("join_ref").cloned().unwrap_or(Value::Null),
                r#ref: obj["ref"].clone(),
                topic: str_of(frame, "topic").to_owned(),
                event: str_of(frame, "event").to_owned(),
                payload: obj["payload"].clone(),
            }
        }
        Serializer::V2 => {
            let arr = frame.as_array().expect("a V2 text frame is an array");
            assert_eq!(arr.len(), 5, "a V2 vector frame has five elements: {frame}");
            Fields {
                join_ref: arr[0].clone(),
                r#ref: arr[1].clone(),
                topic: arr[2].as_str().expect("topic").to_owned(),
                event: arr[3].as_str().expect("event").to_owned(),
                payload: arr[4].clone(),
            }
        }
    }
}

/// A client frame: decoded by the server, and written identically by the client.
fn check_c2s_text(ser: Serializer, frame: &Value, ctx: &str) {
    let bytes = serde_json::to_vec(frame).unwrap();
    let msg = ser.decode_client(Frame::Text(&bytes)).unwrap_or_else(|e| panic!("{ctx}: decode_client: {e}"));
    let f = fields(ser, frame);
    // Compared as JSON values, so a string ref that came back as a number fails.
    assert_eq!(ref_value(msg.join_ref.as_ref()), f.join_ref, "{ctx}: join_ref");
    assert_eq!(ref_value(msg.r#ref.as_ref()), f.r#ref, "{ctx}: ref");
    assert_eq!(msg.topic, f.topic, "{ctx}: topic");
    assert_eq!(msg.event, f.event, "{ctx}: event");
    assert_eq!(msg.payload, Payload::Json(f.payload), "{ctx}: payload");

    let encoded = ser.encode_client(&msg).unwrap_or_else(|e| panic!("{ctx}: encode_client: {e}"));
    assert_eq!(encoded.kind, FrameKind::Text, "{ctx}");
    let mut expected = frame.clone();
    if let Value::Object(obj) = &mut expected {
        // Our V1 client always writes join_ref, null when it has none.
        obj.entry("join_ref").or_insert(Value::Null);
    }
    assert_eq!(parse(&encoded.data), expected, "{ctx}: encode_client");
}

/// The message a server frame stands for, or `None` if [`Reply`] cannot hold it.
fn server_message(ser: Serializer, frame: &Value, ctx: &str) -> Option<ServerMessage> {
    if ser == Serializer::V1 {
        assert!(frame.get("join_ref").is_none(), "{ctx}: a V1 server frame never has join_ref");
    }
    let f = fields(ser, frame);
    let (join_ref, r#ref) = (value_ref(&f.join_ref), value_ref(&f.r#ref));
    if f.event != "phx_reply" {
        let payload = Payload::Json(f.payload);
        return Some(ServerMessage::Message(Message { join_ref, r#ref, topic: f.topic, event: f.event, payload }));
    }
    let status = f.payload.get("status")?.as_str()?.to_owned();
    let response = f.payload.get("response").cloned().expect("a reply vector has a response");
    Some(ServerMessage::Reply(Reply { join_ref, r#ref, topic: f.topic, status, payload: Payload::Json(response) }))
}

/// Encodes as the server would: replies, broadcasts (no refs) and pushes.
fn encode_server(ser: Serializer, msg: &ServerMessage) -> Result<EncodedFrame, EncodeError> {
    match msg {
        ServerMessage::Reply(reply) => ser.encode_reply(reply),
        ServerMessage::Message(m) if m.join_ref.is_none() && m.r#ref.is_none() => {
            let b = Broadcast { topic: m.topic.clone(), event: m.event.clone(), payload: m.payload.clone() };
            let broadcast = ser.encode_broadcast(&b)?;
            // A push without refs is the same frame as a broadcast.
            assert_eq!(ser.encode_push(m)?, broadcast, "push and broadcast without refs differ");
            Ok(broadcast)
        }
        ServerMessage::Message(m) => ser.encode_push(m),
    }
}

/// A server frame: written identically by the server, read by the client, and
/// written again from what the client read.
fn check_s2c_text(ser: Serializer, frame: &Value, ctx: &str, not_encodable: &mut BTreeSet<String>) {
    let expected = server_message(ser, frame, ctx);
    match &expected {
        Some(msg) => {
            let encoded = encode_server(ser, msg).unwrap_or_else(|e| panic!("{ctx}: server encode: {e}"));
            assert_eq!(encoded.kind, FrameKind::Text, "{ctx}");
            assert_eq!(parse(&encoded.data), *frame, "{ctx}: server encode");
        }
        None => {
            not_encodable.insert(ctx.split(" step").next().unwrap().to_owned());
        }
    }

    let bytes = serde_json::to_vec(frame).unwrap();
    let decoded = ser.decode_server(Frame::Text(&bytes)).unwrap_or_else(|e| panic!("{ctx}: decode_server: {e}"));
    if let Some(expected) = &expected {
        assert_eq!(&decoded, expected, "{ctx}: decode_server");
    }
    let again = match &decoded {
        ServerMessage::Reply(reply) => ser.encode_reply(reply),
        ServerMessage::Message(m) => ser.encode_push(m),
    };
    let again = again.unwrap_or_else(|e| panic!("{ctx}: re-encoding what the client decoded: {e}"));
    assert_eq!(parse(&again.data), *frame, "{ctx}: re-encoded after decode_server");
}

fn check_text_file(ser: Serializer, file: &str) -> BTreeSet<String> {
    let mut not_encodable = BTreeSet::new();
    for dir in vector_dirs() {
        let doc = load(&dir, file);
        let cases = doc["cases"].as_array().expect("cases");
        assert!(!cases.is_empty(), "{file} has no cases");
        for case in cases {
            let name = str_of(case, "name");
            for (i, step) in case["steps"].as_array().expect("steps").iter().enumerate() {
                let ctx = format!("{file}/{name} step {i}");
                match str_of(step, "dir") {
                    "c2s" => check_c2s_text(ser, &step["frame"], &ctx),
                    "s2c" => check_s2c_text(ser, &step["frame"], &ctx, &mut not_encodable),
                    other => panic!("{ctx}: unknown dir {other}"),
                }
            }
        }
    }
    not_encodable
}

#[test]
fn v1_frames() {
    let not_encodable = check_text_file(Serializer::V1, V1);
    let allowed: BTreeSet<String> = NOT_ENCODABLE.iter().map(|s| s.to_string()).collect();
    assert_eq!(not_encodable, allowed, "server frames the message model cannot express");
}

#[test]
fn v2_text_frames() {
    let not_encodable = check_text_file(Serializer::V2, V2_TEXT);
    assert!(not_encodable.is_empty(), "V2 server frames the model cannot express: {not_encodable:?}");
}

#[test]
fn v1_decode_errors() {
    for dir in vector_dirs() {
        let doc = load(&dir, V1);
        let cases = doc["decode_errors"].as_array().expect("decode_errors");
        assert!(!cases.is_empty());
        for case in cases {
            let input = str_of(case, "input");
            let err =
                Serializer::V1.decode_client(Frame::Text(input.as_bytes())).expect_err(&format!("V1 decoded {input}"));
            assert!(err.is_shape(), "{input}: {err}");
            // The vector's wording follows "error: ", and our message carries it.
            let wanted = str_of(case, "expect").trim_start_matches("error:").trim();
            assert!(err.to_string().contains(wanted), "{input}: {err:?} does not say {wanted:?}");
            // The client side reads the same keys and refuses the same frames.
            assert!(Serializer::V1.decode_server(Frame::Text(input.as_bytes())).is_err(), "{input}");
        }
    }
}

// ---- binary frames -----------------------------------------------------------

/// A ref as the vectors write it for a binary frame: null or "" both mean none.
fn binary_ref(v: &Value) -> Option<Ref> {
    match v {
        Value::Null => None,
        Value::String(s) if s.is_empty() => None,
        Value::String(s) => Some(Ref::String(s.clone())),
        other => panic!("binary vector ref {other} is not a string or null"),
    }
}

fn check_binary_c2s(frame: &[u8], decoded: &Value, ctx: &str) {
    let expected = Message {
        join_ref: binary_ref(&decoded["join_ref"]),
        r#ref: binary_ref(&decoded["ref"]),
        topic: str_of(decoded, "topic").to_owned(),
        event: str_of(decoded, "event").to_owned(),
        payload: Payload::Binary(hex(str_of(decoded, "payload_hex")).into()),
    };
    let msg =
        Serializer::V2.decode_client(Frame::Binary(frame)).unwrap_or_else(|e| panic!("{ctx}: decode_client: {e}"));
    assert_eq!(msg, expected, "{ctx}: decode_client");

    let encoded = Serializer::V2.encode_client(&expected).unwrap_or_else(|e| panic!("{ctx}: encode_client: {e}"));
    assert_eq!(encoded.kind, FrameKind::Binary, "{ctx}");
    assert_eq!(to_hex(&encoded.data), to_hex(frame), "{ctx}: encode_client");
}

fn check_binary_s2c(kind: u64, frame: &[u8], decoded: &Value, ctx: &str) {
    let topic = str_of(decoded, "topic").to_owned();
    let event = str_of(decoded, "event").to_owned();
    let join_ref = binary_ref(&decoded["join_ref"]);
    let r#ref = binary_ref(&decoded["ref"]);
    let (expected, encoded) = match kind {
        0 => {
            assert_eq!(r#ref, None, "{ctx}: a server push has no ref");
            let payload = Payload::Binary(hex(str_of(decoded, "payload_hex")).into());
            let msg = Message { join_ref, r#ref, topic, event, payload };
            let encoded = Serializer::V2.encode_push(&msg);
            (ServerMessage::Message(msg), encoded)
        }
        1 => {
            assert_eq!(event, "phx_reply", "{ctx}");
            let status = str_of(&decoded["payload"], "status").to_owned();
            let payload = Payload::Binary(hex(str_of(&decoded["payload"], "response_hex")).into());
            let reply = Reply { join_ref, r#ref, topic, status, payload };
            let encoded = Serializer::V2.encode_reply(&reply);
            (ServerMessage::Reply(reply), encoded)
        }
        2 => {
            assert_eq!((&join_ref, &r#ref), (&None, &None), "{ctx}: a broadcast has no refs");
            let payload = Payload::Binary(hex(str_of(decoded, "payload_hex")).into());
            let b = Broadcast { topic, event, payload };
            let encoded = Serializer::V2.encode_broadcast(&b);
            let msg = Message { join_ref, r#ref, topic: b.topic, event: b.event, payload: b.payload };
            (ServerMessage::Message(msg), encoded)
        }
        k => panic!("{ctx}: unknown kind {k}"),
    };
    let encoded = encoded.unwrap_or_else(|e| panic!("{ctx}: server encode: {e}"));
    assert_eq!(encoded.kind, FrameKind::Binary, "{ctx}");
    assert_eq!(to_hex(&encoded.data), to_hex(frame), "{ctx}: server encode");

    let got =
        Serializer::V2.decode_server(Frame::Binary(frame)).unwrap_or_else(|e| panic!("{ctx}: decode_server: {e}"));
    assert_eq!(got, expected, "{ctx}: decode_server");
}

#[test]
fn v2_binary_frames() {
    for dir in vector_dirs() {
        let doc = load(&dir, V2_BINARY);
        let frames = doc["frames"].as_array().expect("frames");
        assert!(!frames.is_empty());
        for f in frames {
            let ctx = format!("{V2_BINARY}/{}", str_of(f, "name"));
            let frame = hex(str_of(f, "hex"));
            let kind = f["kind"].as_u64().expect("kind");
            assert_eq!(u64::from(frame[0]), kind, "{ctx}: kind byte");
            if let Some(b64) = f["base64"].as_str() {
                let standard = base64::engine::general_purpose::STANDARD;
                assert_eq!(standard.encode(&frame), b64, "{ctx}: base64 column");
            }
            match str_of(f, "dir") {
                "c2s" => check_binary_c2s(&frame, &f["decoded"], &ctx),
                "s2c" => check_binary_s2c(kind, &frame, &f["decoded"], &ctx),
                other => panic!("{ctx}: unknown dir {other}"),
            }
        }
    }
}

/// Every binary encoding that writes `field`, with that field set to `value`.
fn binary_encodings(field: &str, value: &str) -> Vec<(&'static str, Result<EncodedFrame, EncodeError>)> {
    let mut msg = Message {
        join_ref: Some("3".into()),
        r#ref: Some("5".into()),
        topic: "room:lobby".into(),
        event: "bin".into(),
        payload: Payload::Binary(vec![1, 2, 3].into()),
    };
    let mut status = "ok".to_owned();
    match field {
        "join_ref" => msg.join_ref = Some(value.into()),
        "ref" => msg.r#ref = Some(value.into()),
        "topic" => msg.topic = value.into(),
        "event" => msg.event = value.into(),
        "status" => status = value.into(),
        other => panic!("unknown field {other}"),
    }
    let reply = Reply {
        join_ref: msg.join_ref.clone(),
        r#ref: msg.r#ref.clone(),
        topic: msg.topic.clone(),
        status,
        payload: msg.payload.clone(),
    };
    let broadcast = Broadcast { topic: msg.topic.clone(), event: msg.event.clone(), payload: msg.payload.clone() };
    let ser = Serializer::V2;
    let mut out = Vec::new();
    if field != "status" {
        out.push(("client push", ser.encode_client(&msg)));
    }
    if matches!(field, "join_ref" | "topic" | "event") {
        // A server push has no ref field, so a long ref is not an error there.
        out.push(("server push", ser.encode_push(&msg)));
    }
    if matches!(field, "join_ref" | "ref" | "topic" | "status") {
        out.push(("reply", ser.encode_reply(&reply)));
    }
    if matches!(field, "topic" | "event") {
        out.push(("broadcast", ser.encode_broadcast(&broadcast)));
    }
    out
}

/// A string of exactly `len` bytes; with `wide`, mostly two-byte characters, so
/// that a limit counted in characters rather than bytes would be caught.
fn of_len(len: usize, wide: bool) -> String {
    let s = if wide { "é".repeat(len / 2) + &"x".repeat(len % 2) } else { "x".repeat(len) };
    assert_eq!(s.len(), len);
    s
}

#[test]
fn binary_encode_errors() {
    let mut fields_seen = BTreeSet::new();
    for dir in vector_dirs() {
        let doc = load(&dir, V2_BINARY);
        for case in doc["encode_errors"].as_array().expect("encode_errors") {
            let field = str_of(case, "field");
            let len = case["value_len_bytes"].as_u64().expect("value_len_bytes") as usize;
            fields_seen.insert(field.to_owned());
            for wide in [false, true] {
                for (what, result) in binary_encodings(field, &of_len(len, wide)) {
                    let err = result.expect_err(&format!("{what} accepted a {len}-byte {field}"));
                    assert!(err.is_field_too_long(), "{what} {field}: {err:?}");
                    assert!(err.to_string().contains(field), "{what}: {err} does not name {field}");
                }
            }
        }
    }
    assert_eq!(fields_seen.len(), 4, "expected vectors for join_ref, ref, topic, event");
}

/// The header fields of a binary frame, decoded by the side that receives it.
fn decoded_fields(what: &str, data: &[u8]) -> BTreeMap<&'static str, String> {
    let text = |r: Option<Ref>| r.map(|r| r.to_string()).unwrap_or_default();
    if what == "client push" {
        let m = Serializer::V2.decode_client(Frame::Binary(data)).unwrap();
        return BTreeMap::from([
            ("join_ref", text(m.join_ref)),
            ("ref", text(m.r#ref)),
            ("topic", m.topic),
            ("event", m.event),
        ]);
    }
    match Serializer::V2.decode_server(Frame::Binary(data)).unwrap() {
        ServerMessage::Reply(r) => BTreeMap::from([
            ("join_ref", text(r.join_ref)),
            ("ref", text(r.r#ref)),
            ("topic", r.topic),
            ("status", r.status),
        ]),
        ServerMessage::Message(m) => {
            BTreeMap::from([("join_ref", text(m.join_ref)), ("topic", m.topic), ("event", m.event)])
        }
    }
}

#[test]
fn binary_fields_of_255_bytes_encode_and_decode() {
    for field in ["join_ref", "ref", "topic", "event", "status"] {
        for wide in [false, true] {
            let value = of_len(255, wide);
            for (what, result) in binary_encodings(field, &value) {
                let frame = result.unwrap_or_else(|e| panic!("{what} refused a 255-byte {field}: {e}"));
                let fields = decoded_fields(what, &frame.data);
                assert_eq!(fields.get(field), Some(&value), "{what}: the 255-byte {field} did not come back");
            }
        }
    }
}

/// The V1 vectors hold objects whose keys the V1 decoder must find by name,
/// whatever their order: check that a reordered client frame decodes the same.
#[test]
fn v1_key_order_is_not_significant() {
    let frame: Map<String, Value> =
        serde_json::from_str(r#"{"ref":"1","payload":{"a":1},"join_ref":"1","event":"phx_join","topic":"room:lobby"}"#)
            .unwrap();
    let msg = Serializer::V1.decode_client(Frame::Text(&serde_json::to_vec(&frame).unwrap())).unwrap();
    assert_eq!(msg.topic, "room:lobby");
    assert_eq!(msg.event, "phx_join");
    assert_eq!(msg.r#ref, Some("1".into()));
    assert_eq!(msg.join_ref, Some("1".into()));
}
