//! What each serializer will and will not encode, and the exact frames it writes
//! (PROTOCOL.md §3.2–3.4).

mod support;

use embercast_protocol::{Broadcast, Frame, FrameKind, Message, Payload, Ref, Reply, Serializer, ServerMessage};
use serde_json::json;
use support::{hex, parse, to_hex};

fn push(join_ref: Option<Ref>, r#ref: Option<Ref>, payload: Payload) -> Message {
    Message { join_ref, r#ref, topic: "room:lobby".into(), event: "new_msg".into(), payload }
}

fn reply(join_ref: Option<Ref>, r#ref: Option<Ref>, payload: Payload) -> Reply {
    Reply { join_ref, r#ref, topic: "room:lobby".into(), status: "ok".into(), payload }
}

fn broadcast(payload: Payload) -> Broadcast {
    Broadcast { topic: "room:lobby".into(), event: "new_msg".into(), payload }
}

fn text(data: &[u8]) -> &str {
    std::str::from_utf8(data).unwrap()
}

#[test]
fn v2_text_frames_are_written_exactly_as_phoenix_writes_them() {
    let v2 = Serializer::V2;
    let r = v2.encode_reply(&reply(Some("3".into()), Some("3".into()), Payload::empty())).unwrap();
    assert_eq!(r.kind, FrameKind::Text);
    assert_eq!(text(&r.data), r#"["3","3","room:lobby","phx_reply",{"response":{},"status":"ok"}]"#);
    let b = v2.encode_broadcast(&broadcast(json!({"body": "hi"}).into())).unwrap();
    assert_eq!(text(&b.data), r#"[null,null,"room:lobby","new_msg",{"body":"hi"}]"#);
    let p = v2.encode_push(&push(Some("3".into()), None, json!({"status": "connected"}).into())).unwrap();
    assert_eq!(text(&p.data), r#"["3",null,"room:lobby","new_msg",{"status":"connected"}]"#);
}

#[test]
fn v1_frames_are_written_in_phoenix_key_order_without_join_ref() {
    let v1 = Serializer::V1;
    let r = v1.encode_reply(&reply(Some("1".into()), Some("1".into()), Payload::empty())).unwrap();
    assert_eq!(r.kind, FrameKind::Text);
    assert_eq!(
        text(&r.data),
        r#"{"event":"phx_reply","payload":{"response":{},"status":"ok"},"ref":"1","topic":"room:lobby"}"#
    );
    // join_ref is never emitted in V1, even when the message has one.
    let p = v1.encode_push(&push(Some("1".into()), None, json!({"body": "hi"}).into())).unwrap();
    assert_eq!(text(&p.data), r#"{"event":"new_msg","payload":{"body":"hi"},"ref":null,"topic":"room:lobby"}"#);
    let b = v1.encode_broadcast(&broadcast(json!({"body": "hi"}).into())).unwrap();
    assert_eq!(b, p);
}

#[test]
fn v2_push_and_broadcast_need_an_object_payload() {
    for payload in [json!(null), json!("m"), json!([1]), json!(1), json!(false)] {
        let err = Serializer::V2.encode_push(&push(None, None, payload.clone().into())).unwrap_err();
        assert!(err.is_not_an_object(), "{payload}: {err:?}");
        let err = Serializer::V2.encode_broadcast(&broadcast(payload.clone().into())).unwrap_err();
        assert!(err.is_not_an_object(), "{payload}: {err:?}");
        // The same payload is fine in V1, in a V2 reply, and from a V2 client.
        let p = Serializer::V1.encode_push(&push(None, None, payload.clone().into())).unwrap();
        assert_eq!(parse(&p.data)["payload"], payload);
        assert!(Serializer::V1.encode_broadcast(&broadcast(payload.clone().into())).is_ok());
        assert!(Serializer::V2.encode_client(&push(None, None, payload.clone().into())).is_ok());
    }
}

#[test]
fn v2_reply_response_may_be_any_json_value() {
    for response in [json!("s"), json!([1, "a"]), json!(null), json!(2.5), json!(true), json!({"a": {}})] {
        let frame =
            Serializer::V2.encode_reply(&reply(Some("3".into()), Some("4".into()), response.clone().into())).unwrap();
        assert_eq!(
            parse(&frame.data),
            json!(["3", "4", "room:lobby", "phx_reply", {"response": response, "status": "ok"}])
        );
        let v1 = Serializer::V1.encode_reply(&reply(None, Some("4".into()), response.clone().into())).unwrap();
        assert_eq!(parse(&v1.data)["payload"]["response"], response);
    }
}

#[test]
fn v1_cannot_carry_binary_payloads() {
    let bytes = Payload::Binary(vec![1, 2, 3].into());
    let v1 = Serializer::V1;
    let errors = [
        v1.encode_push(&push(None, None, bytes.clone())).unwrap_err(),
        v1.encode_reply(&reply(None, None, bytes.clone())).unwrap_err(),
        v1.encode_broadcast(&broadcast(bytes.clone())).unwrap_err(),
        v1.encode_client(&push(None, None, bytes.clone())).unwrap_err(),
    ];
    for err in errors {
        assert!(err.is_binary_unsupported(), "{err:?}");
        assert!(!err.to_string().is_empty());
    }
}

#[test]
fn byte_payloads_become_v2_binary_frames() {
    let bytes = Payload::Binary(vec![0, 1].into());
    let v2 = Serializer::V2;
    let frames = [
        v2.encode_push(&push(Some("3".into()), None, bytes.clone())).unwrap(),
        v2.encode_reply(&reply(Some("3".into()), Some("5".into()), bytes.clone())).unwrap(),
        v2.encode_broadcast(&broadcast(bytes.clone())).unwrap(),
        v2.encode_client(&push(Some("3".into()), Some("5".into()), bytes.clone())).unwrap(),
    ];
    let kinds: Vec<u8> = frames.iter().map(|f| f.data[0]).collect();
    assert_eq!(kinds, [0, 1, 2, 0]);
    assert!(frames.iter().all(|f| f.kind == FrameKind::Binary));
}

#[test]
fn a_binary_server_push_has_no_ref_field() {
    let with_ref = push(Some("3".into()), Some("9".into()), Payload::Binary(vec![0, 1].into()));
    let frame = Serializer::V2.encode_push(&with_ref).unwrap();
    // kind, three lengths (join_ref, topic, event), "3", "room:lobby", "new_msg", payload.
    assert_eq!(frame.data, hex("00 01 0a 07 33 726f6f6d3a6c6f626279 6e65775f6d7367 0001"));
}

#[test]
fn numeric_refs_are_echoed_as_numbers_in_text_frames() {
    let msg = Serializer::V2.decode_client(Frame::Text(br#"[12,-3,"t","e",{}]"#)).unwrap();
    let answer = Reply {
        join_ref: msg.join_ref.clone(),
        r#ref: msg.r#ref.clone(),
        topic: msg.topic,
        status: "ok".into(),
        payload: Payload::empty(),
    };
    let frame = Serializer::V2.encode_reply(&answer).unwrap();
    assert_eq!(text(&frame.data), r#"[12,-3,"t","phx_reply",{"response":{},"status":"ok"}]"#);

    let v1 = Serializer::V1.encode_reply(&answer).unwrap();
    assert_eq!(parse(&v1.data)["ref"], json!(-3));

    // phx_error carries the join_ref in both ref positions, with its type.
    let error = Message {
        join_ref: Some(Ref::Number(u64::MAX.into())),
        r#ref: Some(Ref::Number(u64::MAX.into())),
        topic: "t".into(),
        event: "phx_error".into(),
        payload: json!({"reason": "channel_crash"}).into(),
    };
    let frame = Serializer::V2.encode_push(&error).unwrap();
    assert_eq!(parse(&frame.data), json!([u64::MAX, u64::MAX, "t", "phx_error", {"reason": "channel_crash"}]));

    let float = Serializer::V2.decode_client(Frame::Text(br#"[null,2.5,"t","e",{}]"#)).unwrap();
    let frame = Serializer::V2.encode_push(&float).unwrap();
    assert_eq!(parse(&frame.data)[1], json!(2.5));
}

#[test]
fn numeric_refs_are_stringified_in_binary_frames() {
    let answer =
        reply(Some(Ref::Number(12.into())), Some(Ref::Number(123.into())), Payload::Binary(b"efg".to_vec().into()));
    let answer = Reply { topic: "topic".into(), ..answer };
    let frame = Serializer::V2.encode_reply(&answer).unwrap();
    // Byte for byte the vector phoenix_test_server_reply, whose refs are "12" and "123".
    assert_eq!(to_hex(&frame.data), "01020305023132313233746f7069636f6b656667");
    let negative =
        push(Some(Ref::Number((-7).into())), Some(Ref::Number(0.into())), Payload::Binary(Default::default()));
    let frame = Serializer::V2.encode_client(&negative).unwrap();
    let back = Serializer::V2.decode_client(Frame::Binary(&frame.data)).unwrap();
    assert_eq!((back.join_ref, back.r#ref), (Some("-7".into()), Some("0".into())));
}

#[test]
fn null_binary_refs_are_written_as_empty_fields() {
    let frame = Serializer::V2.encode_client(&push(None, None, Payload::Binary(vec![9].into()))).unwrap();
    assert_eq!(&frame.data[..3], &[0, 0, 0]);
    let frame = Serializer::V2.encode_reply(&reply(None, None, Payload::Binary(Default::default()))).unwrap();
    assert_eq!(frame.data, hex("01 00 00 0a 02 726f6f6d3a6c6f626279 6f6b"));
}

#[test]
fn strings_are_escaped_in_text_frames() {
    let odd = "q\"uote\\back\nline\u{0}nul\u{2028}🚀";
    let msg = Message {
        join_ref: Some(odd.into()),
        r#ref: Some(odd.into()),
        topic: odd.into(),
        event: odd.into(),
        payload: json!({odd: odd}).into(),
    };
    for ser in [Serializer::V1, Serializer::V2] {
        let frame = ser.encode_client(&msg).unwrap();
        assert_eq!(ser.decode_client(Frame::Text(&frame.data)).unwrap(), msg, "{ser:?} client frame");
        let pushed = ser.encode_push(&msg).unwrap();
        let ServerMessage::Message(back) = ser.decode_server(Frame::Text(&pushed.data)).unwrap() else {
            panic!("{ser:?}: a push read back as a reply")
        };
        let join_ref = if ser == Serializer::V1 { None } else { msg.join_ref.clone() };
        assert_eq!(back, Message { join_ref, ..msg.clone() }, "{ser:?} push");
    }
}
