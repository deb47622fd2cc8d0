//! The server's V1 decoder on untrusted client frames (text, and binary frames,
//! which V1 reads as JSON text too).
#![no_main]

use embercast_protocol::{Frame, Serializer};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for frame in [Frame::Text(data), Frame::Binary(data)] {
        if let Ok(msg) = Serializer::V1.decode_client(frame) {
            // Whatever was accepted must survive the client's encoding unchanged
            // in its strings (payload numbers may be re-rounded, so not compared).
            let encoded = Serializer::V1.encode_client(&msg).expect("a decoded V1 message encodes");
            let again = Serializer::V1.decode_client(Frame::Text(&encoded.data)).expect("re-encoded V1 frame decodes");
            assert_eq!((&again.topic, &again.event), (&msg.topic, &msg.event));
        }
    }
});
