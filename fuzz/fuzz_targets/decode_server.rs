//! The client-side decoders (`decode_server`) on untrusted server frames: the
//! first byte picks the serializer and frame kind, the rest is the frame.
#![no_main]

use embercast_protocol::{Broadcast, Frame, Serializer, ServerMessage};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, frame)) = data.split_first() else { return };
    let (ser, frame) = match selector % 3 {
        0 => (Serializer::V1, Frame::Text(frame)),
        1 => (Serializer::V2, Frame::Text(frame)),
        _ => (Serializer::V2, Frame::Binary(frame)),
    };
    let Ok(got) = ser.decode_server(frame) else { return };
    let Frame::Binary(bytes) = frame else { return };
    // A binary server frame loses nothing in decoding: the server's encoder for
    // its kind writes the same bytes back.
    let again = match got {
        ServerMessage::Reply(reply) => ser.encode_reply(&reply),
        ServerMessage::Message(m) if bytes[0] == 2 => {
            ser.encode_broadcast(&Broadcast { topic: m.topic, event: m.event, payload: m.payload })
        }
        ServerMessage::Message(m) => ser.encode_push(&m),
    };
    assert_eq!(&again.expect("fields read from one length byte fit one").data[..], bytes);
});
