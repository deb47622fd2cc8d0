//! Property tests: what one side encodes, the other side decodes to the same
//! message, for every serializer and frame kind; and no input makes a decoder panic.

mod support;

use embercast_protocol::{
    Broadcast, EncodedFrame, Frame, FrameKind, Message, Payload, Ref, Reply, Serializer, ServerMessage,
};
use proptest::prelude::*;
use serde_json::{Map, Number, Value};
use support::through_binary;

// ---- strategies --------------------------------------------------------------

/// Any Unicode text, control characters included, of at most `max` characters.
fn text(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(any::<char>(), 0..=max).prop_map(String::from_iter)
}

/// A string of at most 60 characters, so at most 240 bytes: always fits a
/// binary header field.
fn field() -> impl Strategy<Value = String> {
    text(60)
}

/// An event that is not `phx_reply`, which the client side reads as a reply.
fn event() -> impl Strategy<Value = String> {
    prop_oneof![field(), Just("phx_join".to_owned()), Just("phx_error".to_owned())]
        .prop_filter("phx_reply is a reply, not a push", |e| e != "phx_reply")
}

fn json_ref() -> impl Strategy<Value = Option<Ref>> {
    prop_oneof![
        Just(None),
        field().prop_map(|s| Some(Ref::String(s))),
        any::<u64>().prop_map(|n| Some(Ref::Number(n.into()))),
        any::<i64>().prop_map(|n| Some(Ref::Number(n.into()))),
    ]
}

/// A float with a short exact decimal form, so that it survives a trip through
/// text without depending on the last bit of float parsing.
fn float() -> impl Strategy<Value = Number> {
    (any::<i32>(), 0..4u32).prop_map(|(m, e)| Number::from_f64(f64::from(m) / f64::from(1u32 << e)).unwrap())
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        float().prop_map(Value::Number),
        text(12).prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((text(8), inner), 0..6).prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

fn json_object() -> impl Strategy<Value = Value> {
    prop::collection::vec((text(8), json_value()), 0..6)
        .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>()))
}

fn bytes() -> impl Strategy<Value = Payload> {
    prop::collection::vec(any::<u8>(), 0..300).prop_map(Payload::from)
}

fn message(payload: impl Strategy<Value = Payload>) -> impl Strategy<Value = Message> {
    (json_ref(), json_ref(), field(), event(), payload).prop_map(|(join_ref, r#ref, topic, event, payload)| Message {
        join_ref,
        r#ref,
        topic,
        event,
        payload,
    })
}

fn reply(payload: impl Strategy<Value = Payload>) -> impl Strategy<Value = Reply> {
    (json_ref(), json_ref(), field(), field(), payload).prop_map(|(join_ref, r#ref, topic, status, payload)| Reply {
        join_ref,
        r#ref,
        topic,
        status,
        payload,
    })
}

fn broadcast(payload: impl Strategy<Value = Payload>) -> impl Strategy<Value = Broadcast> {
    (field(), event(), payload).prop_map(|(topic, event, payload)| Broadcast { topic, event, payload })
}

fn any_json() -> impl Strategy<Value = Payload> {
    json_value().prop_map(Payload::Json)
}

fn object() -> impl Strategy<Value = Payload> {
    json_object().prop_map(Payload::Json)
}

// ---- helpers -----------------------------------------------------------------

fn frame(encoded: &EncodedFrame) -> Frame<'_> {
    match encoded.kind {
        FrameKind::Text => Frame::Text(&encoded.data),
        FrameKind::Binary => Frame::Binary(&encoded.data),
    }
}

/// Decodes what a server sent, and checks that the client re-encodes it to the same bytes.
fn client_reads(ser: Serializer, encoded: &EncodedFrame) -> ServerMessage {
    let got = ser.decode_server(frame(encoded)).expect("the client decodes what the server encoded");
    let again = match &got {
        ServerMessage::Reply(r) => ser.encode_reply(r),
        ServerMessage::Message(m) if m.join_ref.is_none() && m.r#ref.is_none() && encoded.data.first() == Some(&2) => {
            // Only a broadcast starts a binary frame with kind 2.
            let b = Broadcast { topic: m.topic.clone(), event: m.event.clone(), payload: m.payload.clone() };
            ser.encode_broadcast(&b)
        }
        ServerMessage::Message(m) => ser.encode_push(m),
    };
    assert_eq!(again.expect("re-encoding what the client read"), *encoded, "not re-encoded to the same frame");
    got
}

// ---- client → server -----------------------------------------------------------

proptest! {
    #[test]
    fn text_client_frames_decode_to_the_message_sent(msg in message(any_json())) {
        for ser in [Serializer::V1, Serializer::V2] {
            let encoded = ser.encode_client(&msg).unwrap();
            prop_assert_eq!(encoded.kind, FrameKind::Text);
            prop_assert_eq!(ser.decode_client(frame(&encoded)).unwrap(), msg.clone(), "{:?}", ser);
        }
    }

    #[test]
    fn binary_client_frames_decode_to_the_message_sent(msg in message(bytes())) {
        let encoded = Serializer::V2.encode_client(&msg).unwrap();
        prop_assert_eq!(encoded.kind, FrameKind::Binary);
        let expected = Message {
            join_ref: through_binary(msg.join_ref.as_ref()),
            r#ref: through_binary(msg.r#ref.as_ref()),
            ..msg.clone()
        };
        prop_assert_eq!(Serializer::V2.decode_client(frame(&encoded)).unwrap(), expected);
        prop_assert!(Serializer::V1.encode_client(&msg).unwrap_err().is_binary_unsupported());
    }
}

// ---- server → client -----------------------------------------------------------

proptest! {
    #[test]
    fn v1_server_frames_decode_to_what_was_sent(
        push in message(any_json()),
        answer in reply(any_json()),
        b in broadcast(any_json()),
    ) {
        let v1 = Serializer::V1;
        // V1 never writes join_ref.
        let got = client_reads(v1, &v1.encode_push(&push).unwrap());
        prop_assert_eq!(got, ServerMessage::Message(Message { join_ref: None, ..push }));
        let got = client_reads(v1, &v1.encode_reply(&answer).unwrap());
        prop_assert_eq!(got, ServerMessage::Reply(Reply { join_ref: None, ..answer }));
        let got = client_reads(v1, &v1.encode_broadcast(&b).unwrap());
        let Broadcast { topic, event, payload } = b;
        prop_assert_eq!(got, ServerMessage::Message(Message { join_ref: None, r#ref: None, topic, event, payload }));
    }

    #[test]
    fn v2_text_server_frames_decode_to_what_was_sent(
        push in message(object()),
        answer in reply(any_json()),
        b in broadcast(object()),
    ) {
        let v2 = Serializer::V2;
        let got = client_reads(v2, &v2.encode_push(&push).unwrap());
        prop_assert_eq!(got, ServerMessage::Message(push));
        let got = client_reads(v2, &v2.encode_reply(&answer).unwrap());
        prop_assert_eq!(got, ServerMessage::Reply(answer));
        let got = client_reads(v2, &v2.encode_broadcast(&b).unwrap());
        let Broadcast { topic, event, payload } = b;
        prop_assert_eq!(got, ServerMessage::Message(Message { join_ref: None, r#ref: None, topic, event, payload }));
    }

    #[test]
    fn v2_binary_server_frames_decode_to_what_was_sent(
        push in message(bytes()),
        answer in reply(bytes()),
        b in broadcast(bytes()),
    ) {
        let v2 = Serializer::V2;
        // A binary push has no ref field; its join_ref is written as text.
        let got = client_reads(v2, &v2.encode_push(&push).unwrap());
        let join_ref = through_binary(push.join_ref.as_ref());
        prop_assert_eq!(got, ServerMessage::Message(Message { join_ref, r#ref: None, ..push }));
        let got = client_reads(v2, &v2.encode_reply(&answer).unwrap());
        let (join_ref, r#ref) = (through_binary(answer.join_ref.as_ref()), through_binary(answer.r#ref.as_ref()));
        prop_assert_eq!(got, ServerMessage::Reply(Reply { join_ref, r#ref, ..answer }));
        let got = client_reads(v2, &v2.encode_broadcast(&b).unwrap());
        let Broadcast { topic, event, payload } = b;
        prop_assert_eq!(got, ServerMessage::Message(Message { join_ref: None, r#ref: None, topic, event, payload }));
    }

    #[test]
    fn v2_push_and_broadcast_refuse_payloads_that_are_not_objects(
        msg in message(any_json()),
    ) {
        let is_object = msg.payload.as_json().is_some_and(Value::is_object);
        let b = Broadcast { topic: msg.topic.clone(), event: msg.event.clone(), payload: msg.payload.clone() };
        for result in [Serializer::V2.encode_push(&msg), Serializer::V2.encode_broadcast(&b)] {
            match result {
                Ok(_) => prop_assert!(is_object),
                Err(e) => prop_assert!(!is_object && e.is_not_an_object()),
            }
        }
    }
}

// ---- no input makes a decoder panic -----------------------------------------------

/// Runs every decoder on the input; only a panic fails the test.
fn decode_everything(data: &[u8]) {
    for ser in [Serializer::V1, Serializer::V2] {
        for frame in [Frame::Text(data), Frame::Binary(data)] {
            let _ = ser.decode_client(frame);
            let _ = ser.decode_server(frame);
        }
    }
}

/// Bytes that look like a binary frame: a kind near the valid ones, then small
/// lengths and short fields, so that the header walk is exercised.
fn binary_like() -> impl Strategy<Value = Vec<u8>> {
    (0..5u8, prop::collection::vec(0..12u8, 0..6), prop::collection::vec(any::<u8>(), 0..40)).prop_map(
        |(kind, lens, rest)| {
            let mut out = vec![kind];
            out.extend(lens);
            out.extend(rest);
            out
        },
    )
}

/// Text made of JSON tokens, most of it close to a frame of some shape.
fn json_like() -> impl Strategy<Value = Vec<u8>> {
    let token = prop::sample::select(vec![
        "[",
        "]",
        "{",
        "}",
        ",",
        ":",
        "null",
        "true",
        "1",
        "-2.5e3",
        "\"t\"",
        "\"phx_reply\"",
        "\"status\"",
        "\"ok\"",
        "\"response\"",
        "\"topic\"",
        "\"event\"",
        "\"payload\"",
        "\"ref\"",
        "\"join_ref\"",
        "\"\\ud800\"",
        "\"\\u00e9\"",
        "\"\u{ff}\"",
    ]);
    prop::collection::vec(token, 0..30).prop_map(|t| t.concat().into_bytes())
}

/// A valid frame of any kind, then damaged: truncated, and one byte changed.
fn damaged_frame() -> impl Strategy<Value = Vec<u8>> {
    let valid = prop_oneof![
        message(any_json()).prop_map(|m| Serializer::V1.encode_client(&m).unwrap()),
        message(any_json()).prop_map(|m| Serializer::V2.encode_client(&m).unwrap()),
        message(bytes()).prop_map(|m| Serializer::V2.encode_client(&m).unwrap()),
        reply(bytes()).prop_map(|r| Serializer::V2.encode_reply(&r).unwrap()),
        reply(any_json()).prop_map(|r| Serializer::V1.encode_reply(&r).unwrap()),
    ];
    (valid, any::<prop::sample::Index>(), any::<prop::sample::Index>(), any::<u8>()).prop_map(
        |(encoded, cut, at, byte)| {
            let mut data = encoded.data.to_vec();
            data.truncate(cut.index(data.len() + 1));
            if !data.is_empty() {
                let i = at.index(data.len());
                data[i] = byte;
            }
            data
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn decoders_never_panic_on_arbitrary_bytes(data in prop::collection::vec(any::<u8>(), 0..512)) {
        decode_everything(&data);
    }

    #[test]
    fn decoders_never_panic_on_binary_like_bytes(data in binary_like()) {
        decode_everything(&data);
    }

    #[test]
    fn decoders_never_panic_on_json_like_text(data in json_like()) {
        decode_everything(&data);
    }

    #[test]
    fn decoders_never_panic_on_damaged_frames(data in damaged_frame()) {
        decode_everything(&data);
    }
}
