//! The server's V2 decoder on untrusted text frames.
#![no_main]

use embercast_protocol::{Frame, Serializer};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(msg) = Serializer::V2.decode_client(Frame::Text(data)) {
        // Payload numbers may be re-rounded by a float round trip, so only the
        // header fields are compared.
        let encoded = Serializer::V2.encode_client(&msg).expect("a decoded JSON message encodes");
        let again = Serializer::V2.decode_client(Frame::Text(&encoded.data)).expect("re-encoded frame decodes");
        assert_eq!((&again.topic, &again.event), (&msg.topic, &msg.event));
    }
});
