//! The server's V2 decoder on untrusted binary frames.
#![no_main]

use embercast_protocol::{Frame, Serializer};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(msg) = Serializer::V2.decode_client(Frame::Binary(data)) {
        // Binary decoding loses nothing (an empty ref field reads as null and is
        // written back empty), so what was accepted re-encodes to the same bytes.
        let encoded = Serializer::V2.encode_client(&msg).expect("fields read from one length byte fit one");
        assert_eq!(&encoded.data[..], data);
    }
});
