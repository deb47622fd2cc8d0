//! Decoding is strict: malformed frames of every kind are refused with the right
//! error, never a panic, and never a partly filled message (PROTOCOL.md §3.5).

mod support;

use embercast_protocol::{DecodeError, Frame, Message, Payload, Ref, Serializer, ServerMessage};
use serde_json::json;
use support::hex;

fn v2(text: &str) -> Result<Message, DecodeError> {
    Serializer::V2.decode_client(Frame::Text(text.as_bytes()))
}

fn v1(text: &str) -> Result<Message, DecodeError> {
    Serializer::V1.decode_client(Frame::Text(text.as_bytes()))
}

fn bin(frame: &[u8]) -> Result<Message, DecodeError> {
    Serializer::V2.decode_client(Frame::Binary(frame))
}

fn bin_server(frame: &[u8]) -> Result<ServerMessage, DecodeError> {
    Serializer::V2.decode_server(Frame::Binary(frame))
}

/// Asserts that both the server-side and the client-side decoder refuse a text
/// frame as a shape error (they read the same fields).
#[track_caller]
fn assert_shape_error(ser: Serializer, text: &str) {
    let err = ser.decode_client(Frame::Text(text.as_bytes())).expect_err(text);
    assert!(err.is_shape(), "{text}: {err:?}");
    let err = ser.decode_server(Frame::Text(text.as_bytes())).expect_err(text);
    assert!(err.is_shape(), "{text} (client side): {err:?}");
}

// ---- V2 text -----------------------------------------------------------------

#[test]
fn v2_fewer_than_five_elements_is_an_error() {
    for text in ["[]", r#"[null]"#, r#"[null,"1","t","e"]"#] {
        assert_shape_error(Serializer::V2, text);
    }
}

#[test]
fn v2_elements_after_the_fifth_are_ignored() {
    let msg = v2(r#"["1","2","t","e",{"a":1},"extra",{"more":[1,2]},null]"#).unwrap();
    assert_eq!(msg.join_ref, Some("1".into()));
    assert_eq!(msg.r#ref, Some("2".into()));
    assert_eq!((msg.topic.as_str(), msg.event.as_str()), ("t", "e"));
    assert_eq!(msg.payload, Payload::Json(json!({"a": 1})));
}

#[test]
fn v2_field_of_the_wrong_type_is_an_error() {
    for text in [
        r#"[null,"1",7,"e",{}]"#,
        r#"[null,"1",null,"e",{}]"#,
        r#"[null,"1",["t"],"e",{}]"#,
        r#"[null,"1","t",null,{}]"#,
        r#"[null,"1","t",1,{}]"#,
        r#"[null,"1","t",{"e":1},{}]"#,
        r#"[null,true,"t","e",{}]"#,
        r#"[null,{},"t","e",{}]"#,
        r#"[null,["1"],"t","e",{}]"#,
        r#"[false,"1","t","e",{}]"#,
        r#"[{"a":1},"1","t","e",{}]"#,
        r#"[[],"1","t","e",{}]"#,
    ] {
        assert_shape_error(Serializer::V2, text);
    }
}

#[test]
fn v2_payload_may_be_any_json_value_on_decode() {
    for payload in [json!(null), json!("s"), json!(1.5), json!([1, "a"]), json!(true), json!({"k": {}})] {
        let text = json!([null, "1", "t", "e", payload]).to_string();
        assert_eq!(v2(&text).unwrap().payload, Payload::Json(payload));
    }
}

#[test]
fn v2_frame_that_is_not_an_array_is_an_error() {
    for text in [r#"{"topic":"t","event":"e","payload":{},"ref":"1"}"#, r#""[]""#, "5", "null", "true"] {
        assert_shape_error(Serializer::V2, text);
    }
}

#[test]
fn v1_frame_that_is_not_an_object_is_an_error() {
    for text in [r#"[null,"1","t","e",{}]"#, r#""t""#, "1", "null", "false"] {
        assert_shape_error(Serializer::V1, text);
    }
}

// ---- V1 text -----------------------------------------------------------------

#[test]
fn v1_missing_required_key_is_an_error() {
    // topic, event, payload and ref are required; ref may be null.
    for text in [
        r#"{"event":"e","payload":{},"ref":"1"}"#,
        r#"{"topic":"t","payload":{},"ref":"1"}"#,
        r#"{"topic":"t","event":"e","ref":"1"}"#,
        r#"{"topic":"t","event":"e","payload":{}}"#,
        "{}",
    ] {
        assert_shape_error(Serializer::V1, text);
    }
}

#[test]
fn v1_null_ref_and_missing_join_ref_are_accepted() {
    let msg = v1(r#"{"topic":"t","event":"e","payload":"any","ref":null}"#).unwrap();
    assert_eq!((msg.join_ref, msg.r#ref), (None, None));
    assert_eq!(msg.payload, Payload::Json(json!("any")));
}

#[test]
fn v1_unknown_keys_are_ignored() {
    let msg = v1(r#"{"topic":"t","event":"e","payload":{},"ref":"1","extra":[1],"join_ref":"2"}"#).unwrap();
    assert_eq!(msg.join_ref, Some("2".into()));
}

#[test]
fn v1_field_of_the_wrong_type_is_an_error() {
    for text in [
        r#"{"topic":1,"event":"e","payload":{},"ref":"1"}"#,
        r#"{"topic":null,"event":"e","payload":{},"ref":"1"}"#,
        r#"{"topic":"t","event":null,"payload":{},"ref":"1"}"#,
        r#"{"topic":"t","event":["e"],"payload":{},"ref":"1"}"#,
        r#"{"topic":"t","event":"e","payload":{},"ref":true}"#,
        r#"{"topic":"t","event":"e","payload":{},"ref":{}}"#,
        r#"{"topic":"t","event":"e","payload":{},"ref":[]}"#,
        r#"{"topic":"t","event":"e","payload":{},"ref":"1","join_ref":false}"#,
        r#"{"topic":"t","event":"e","payload":{},"ref":"1","join_ref":{"a":1}}"#,
    ] {
        assert_shape_error(Serializer::V1, text);
    }
}

#[test]
fn v1_reads_a_binary_websocket_frame_as_json_text() {
    let frame = br#"{"topic":"t","event":"e","payload":{},"ref":"1"}"#;
    let msg = Serializer::V1.decode_client(Frame::Binary(frame)).unwrap();
    assert_eq!(msg.topic, "t");
    let err = Serializer::V1.decode_client(Frame::Binary(&hex("0001010a033335"))).unwrap_err();
    assert!(err.is_json(), "{err:?}");
}

// ---- text in general ---------------------------------------------------------

#[test]
fn invalid_json_is_a_json_error() {
    for text in ["", " ", "[", r#"[null,"1","t","e",{}"#, r#"[null,"1","t","e",{}] x"#, "{'a':1}", "[01]"] {
        for ser in [Serializer::V1, Serializer::V2] {
            let err = ser.decode_client(Frame::Text(text.as_bytes())).expect_err(text);
            assert!(err.is_json(), "{ser:?} {text:?}: {err:?}");
            assert!(ser.decode_server(Frame::Text(text.as_bytes())).unwrap_err().is_json());
        }
    }
}

#[test]
fn invalid_utf8_in_a_text_frame_is_an_error() {
    let frames: [&[u8]; 5] = [
        b"[null,\"1\",\"t\xff\",\"e\",{}]",
        b"[null,\"1\",\"t\",\"e\",{\"k\":\"\xc3\x28\"}]",
        b"{\"topic\":\"\xed\xa0\x80\",\"event\":\"e\",\"payload\":{},\"ref\":null}",
        b"\xff",
        // A lone surrogate escape is valid JSON syntax but not a Unicode string.
        br#"[null,"\ud800","t","e",{}]"#,
    ];
    for frame in frames {
        for ser in [Serializer::V1, Serializer::V2] {
            let err = ser.decode_client(Frame::Text(frame)).expect_err("invalid UTF-8 accepted");
            assert!(err.is_json(), "{ser:?} {frame:?}: {err:?}");
            assert!(ser.decode_server(Frame::Text(frame)).is_err());
        }
    }
}

#[test]
fn deeply_nested_json_is_refused_without_overflowing_the_stack() {
    let depth = 100_000;
    let text = format!("[null,\"1\",\"t\",\"e\",{}{}]", "[".repeat(depth), "]".repeat(depth));
    assert!(v2(&text).unwrap_err().is_json());
    let text =
        format!(r#"{{"topic":"t","event":"e","ref":null,"payload":{}{}}}"#, "[".repeat(depth), "]".repeat(depth));
    assert!(v1(&text).unwrap_err().is_json());
}

#[test]
fn refs_keep_their_json_type_when_decoded() {
    let msg = v2(r#"[1,"1","t","e",{}]"#).unwrap();
    assert_eq!(msg.join_ref, Some(Ref::Number(1.into())));
    assert_eq!(msg.r#ref, Some(Ref::String("1".into())));
    // Phoenix compares refs strictly, so 1 and "1" are different refs.
    assert_ne!(msg.join_ref, msg.r#ref);

    let msg = v1(r#"{"topic":"t","event":"e","payload":{},"ref":-2,"join_ref":2.5}"#).unwrap();
    assert_eq!(msg.r#ref, Some(Ref::Number((-2).into())));
    assert_eq!(msg.join_ref.unwrap().to_string(), "2.5");

    // In text frames an empty string is a ref like any other, not null.
    assert_eq!(v2(r#"["","","t","e",{}]"#).unwrap().r#ref, Some("".into()));
}

#[test]
fn client_side_reply_needs_a_string_status_to_be_a_reply() {
    let ok = Serializer::V2.decode_server(Frame::Text(br#"["3","4","t","phx_reply",{"status":"ok"}]"#)).unwrap();
    let ServerMessage::Reply(reply) = ok else { panic!("not a reply: {ok:?}") };
    assert_eq!(reply.status, "ok");
    assert_eq!(reply.payload, Payload::Json(json!(null)), "a missing response reads as null");

    // Other shapes (Phoenix writes "status":null for a nil status) are passed on
    // untouched as a message rather than refused, as phoenix.js does.
    for payload in [json!({"status": null, "response": null}), json!({"response": {}}), json!("ok"), json!([1])] {
        for (ser, text) in [
            (Serializer::V2, json!(["3", "4", "t", "phx_reply", payload]).to_string()),
            (Serializer::V1, json!({"topic": "t", "event": "phx_reply", "payload": payload, "ref": "4"}).to_string()),
        ] {
            match ser.decode_server(Frame::Text(text.as_bytes())).unwrap() {
                ServerMessage::Message(m) => {
                    assert_eq!(m.event, "phx_reply");
                    assert_eq!(m.payload, Payload::Json(payload.clone()));
                }
                other => panic!("{text}: {other:?}"),
            }
        }
    }
}

// ---- binary ------------------------------------------------------------------

#[test]
fn empty_binary_frame_is_an_error() {
    assert!(bin(&[]).unwrap_err().is_binary());
    assert!(bin_server(&[]).unwrap_err().is_binary());
}

#[test]
fn unknown_binary_kind_is_an_error() {
    for kind in [3u8, 4, 0x7f, 0xff] {
        let frame = [kind, 0, 0, 0, 0, 1, 2];
        assert!(bin(&frame).unwrap_err().is_binary(), "kind {kind}");
        assert!(bin_server(&frame).unwrap_err().is_binary(), "kind {kind}");
    }
}

#[test]
fn client_may_only_send_binary_pushes() {
    // Well-formed server reply and broadcast frames from the spec.
    let reply = hex("0101010a023335726f6f6d3a6c6f6262796f6b0102030304");
    let broadcast = hex("020a05726f6f6d3a6c6f6262796672616d65deadbeef");
    for frame in [reply, broadcast] {
        let err = bin(&frame).unwrap_err();
        assert!(err.is_binary(), "{err:?}");
        assert!(bin_server(&frame).is_ok(), "the client side reads it");
    }
}

#[test]
fn truncated_binary_header_is_an_error() {
    // A client push needs four length bytes after the kind, a server push three,
    // a reply four and a broadcast two.
    for frame in [&[0u8][..], &[0, 0], &[0, 0, 0], &[0, 0, 0, 0]] {
        assert!(bin(frame).unwrap_err().is_binary(), "{frame:?}");
    }
    for frame in [&[0u8][..], &[0, 0], &[0, 0, 0], &[1, 0, 0, 0], &[2], &[2, 0]] {
        assert!(bin_server(frame).unwrap_err().is_binary(), "{frame:?}");
    }
    // Exactly enough length bytes, all zero: valid, with empty fields and payload.
    assert!(bin(&[0, 0, 0, 0, 0]).is_ok());
    assert!(bin_server(&[2, 0, 0]).is_ok());
}

#[test]
fn binary_field_running_past_the_end_is_an_error() {
    let full = hex("0001010a033335726f6f6d3a6c6f62627962696e010203");
    // Cut inside each field: join_ref, ref, topic, event (the payload is open-ended).
    for cut in [5, 6, 7, 16, 17, 19] {
        let err = bin(&full[..cut]).unwrap_err();
        assert!(err.is_binary(), "cut at {cut}: {err:?}");
    }
    // Lengths that claim more than the frame has.
    assert!(bin(&[0, 0xff, 0, 0, 0, b'x']).unwrap_err().is_binary());
    assert!(bin(&[0, 0, 0, 0, 0xff]).unwrap_err().is_binary());
    assert!(bin_server(&[1, 0, 0, 0, 3, b'o', b'k']).unwrap_err().is_binary());
    assert!(bin_server(&[2, 1, 1, b't']).unwrap_err().is_binary());
    // The field ending exactly at the end of the frame leaves an empty payload.
    let m = bin(&full[..20]).unwrap();
    assert_eq!((m.event.as_str(), m.payload), ("bin", Payload::Binary(Default::default())));
}

#[test]
fn invalid_utf8_in_a_binary_header_field_is_an_error() {
    // One bad byte in each of the four client push fields in turn.
    let fields = [b"3".to_vec(), b"5".to_vec(), b"room".to_vec(), b"ev".to_vec()];
    for bad in 0..fields.len() {
        let mut frame = vec![0u8];
        frame.extend(fields.iter().map(|f| f.len() as u8));
        for (i, f) in fields.iter().enumerate() {
            if i == bad {
                frame.extend_from_slice(&f[..f.len() - 1]);
                frame.push(0xff);
            } else {
                frame.extend_from_slice(f);
            }
        }
        let err = bin(&frame).unwrap_err();
        assert!(err.is_utf8(), "field {bad}: {err:?}");
    }
    // A character split across two fields is invalid in both.
    let split = [0u8, 0, 0, 1, 1, 0xc3, 0xa9];
    assert!(bin(&split).unwrap_err().is_utf8());
    // Server-side kinds check their fields too.
    assert!(bin_server(&[1, 0, 0, 0, 2, 0xc3, 0x28]).unwrap_err().is_utf8());
    assert!(bin_server(&[2, 1, 0, 0x80]).unwrap_err().is_utf8());
    // The payload is bytes, never checked as UTF-8.
    assert!(bin(&[0, 0, 0, 0, 0, 0xff, 0xfe]).is_ok());
}

#[test]
fn binary_header_lengths_count_utf8_bytes() {
    let msg = Message {
        join_ref: Some("🚀".into()),
        r#ref: Some("1".into()),
        topic: "room:café".into(),
        event: "π".into(),
        payload: Payload::Binary(vec![1].into()),
    };
    let frame = Serializer::V2.encode_client(&msg).unwrap();
    // 🚀 is 4 bytes, "room:café" 10 (é is 2), π 2.
    assert_eq!(&frame.data[..5], &[0, 4, 1, 10, 2]);
    assert_eq!(frame.data.len(), 5 + 4 + 1 + 10 + 2 + 1);
    assert_eq!(bin(&frame.data).unwrap(), msg);
}

#[test]
fn empty_binary_refs_decode_as_null() {
    let msg = bin(&hex("000000010174656600")).unwrap();
    assert_eq!((msg.join_ref, msg.r#ref), (None, None));
    assert_eq!((msg.topic.as_str(), msg.event.as_str()), ("t", "e"));
    let ServerMessage::Reply(reply) = bin_server(&hex("0100000102746f6bff")).unwrap_or_else(|e| panic!("{e}")) else {
        panic!("kind 1 is a reply")
    };
    assert_eq!((reply.join_ref, reply.r#ref), (None, None));
}

#[test]
fn binary_payload_runs_to_the_end_of_the_frame() {
    let payload: Vec<u8> = (0..=255).collect();
    let mut frame = vec![0, 0, 0, 1, 1, b't', b'e'];
    frame.extend_from_slice(&payload);
    assert_eq!(bin(&frame).unwrap().payload, Payload::Binary(payload.into()));
}
