//! A push whose payload was serialized once ([`JsonObjectText`]) is
//! byte-for-byte the push encoded from the object, for both serializers.

use embercast_protocol::{JsonObjectText, Message, Payload, Ref, Serializer};
use serde_json::json;

#[test]
fn a_pre_serialized_payload_encodes_exactly_like_the_object() {
    let payloads = [
        json!({}),
        json!({"alice": {"metas": [{"phx_ref": "F1", "online_at": "1700000000"}]}, "__proto__": {"metas": []}}),
        json!({"quote\"d": "\u{1F600} ü \n", "n": [1, 2.5, null, true]}),
    ];
    for payload in payloads {
        for join_ref in [None, Some(Ref::from("3")), Some(Ref::Number(7.into()))] {
            let msg = Message {
                join_ref: join_ref.clone(),
                r#ref: None,
                topic: "room:lobby".into(),
                event: "presence_state".into(),
                payload: Payload::Json(payload.clone()),
            };
            let text = JsonObjectText::new(&payload).unwrap();
            for s in [Serializer::V1, Serializer::V2] {
                let expected = s.encode_push(&msg).unwrap();
                let got = s.encode_push_text(join_ref.as_ref(), "room:lobby", "presence_state", &text);
                assert_eq!(got, expected, "{s:?} {payload}");
            }
        }
    }
}

#[test]
fn only_objects_can_be_pre_serialized() {
    for v in [json!([]), json!(1), json!("x"), json!(null)] {
        assert!(JsonObjectText::new(&v).is_err(), "{v}");
    }
}
