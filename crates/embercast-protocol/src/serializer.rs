//! The serializer chosen for a connection, and the encoded frames it produces.

use bytes::Bytes;

use crate::error::{DecodeError, EncodeError, EncodeKind};
use crate::message::{Broadcast, Frame, FrameKind, Message, Payload, Reply, ServerMessage};
use crate::vsn::{self, VsnError};
use crate::{binary, v1, v2};

/// An encoded frame, ready to hand to a transport.
///
/// `data` is reference-counted so one encoding of a broadcast can be shared by
/// every subscriber that uses the same serializer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncodedFrame {
    /// Text (JSON) or binary.
    pub kind: FrameKind,
    /// The frame's bytes.
    pub data: Bytes,
}

impl EncodedFrame {
    fn text(data: Vec<u8>) -> Self {
        EncodedFrame { kind: FrameKind::Text, data: data.into() }
    }
    fn binary(data: Vec<u8>) -> Self {
        EncodedFrame { kind: FrameKind::Binary, data: data.into() }
    }
}

/// A JSON object serialized once, to be pushed to many clients without being
/// encoded again for each (e.g. one `presence_state` for every joiner of a
/// room): each frame copies these bytes between its own refs and topic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonObjectText(Bytes);

impl JsonObjectText {
    /// Serializes `object`; refused unless it is a JSON object (what both
    /// serializers can carry as a push payload).
    pub fn new(object: &serde_json::Value) -> Result<Self, EncodeError> {
        v2::require_object(object)?;
        Ok(JsonObjectText(serde_json::to_vec(object).expect("serializing a Value into a Vec").into()))
    }

    /// The serialized object.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// A protocol version: V1 (JSON objects) or V2 (JSON arrays and binary frames).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Serializer {
    /// `vsn` 1.x: JSON objects, text only.
    V1,
    /// `vsn` 2.x: JSON arrays, and binary frames for byte payloads.
    V2,
}

impl Serializer {
    /// Picks the serializer for a connect request's `vsn`: missing means V1,
    /// `1.x.y` V1, `2.x.y` V2; anything else is refused.
    pub fn from_vsn(vsn: Option<&str>) -> Result<Self, VsnError> {
        let Some(v) = vsn else {
            return Ok(Serializer::V1);
        };
        match vsn::major(v) {
            Some(1) => Ok(Serializer::V1),
            Some(2) => Ok(Serializer::V2),
            _ => Err(VsnError(v.to_owned())),
        }
    }

    /// The version string a client sends for this serializer.
    pub fn vsn(self) -> &'static str {
        match self {
            Serializer::V1 => "1.0.0",
            Serializer::V2 => "2.0.0",
        }
    }

    /// An index in `0..Serializer::COUNT`, for per-serializer caches.
    pub fn index(self) -> usize {
        self as usize
    }

    /// How many serializers exist.
    pub const COUNT: usize = 2;

    // ---- server side -------------------------------------------------------

    /// Decodes a frame received from a client. The input is untrusted.
    ///
    /// V1 reads binary frames as JSON text too (V1 has no binary encoding).
    pub fn decode_client(self, frame: Frame<'_>) -> Result<Message, DecodeError> {
        match (self, frame) {
            (Serializer::V1, Frame::Text(t) | Frame::Binary(t)) => v1::decode(t),
            (Serializer::V2, Frame::Text(t)) => v2::decode(t),
            (Serializer::V2, Frame::Binary(b)) => binary::decode_client(b),
        }
    }

    /// Encodes a server push (`ref` is usually null) or a `phx_error` / `phx_close`.
    ///
    /// V2 requires a JSON object or bytes; V1 accepts any JSON value and no bytes.
    pub fn encode_push(self, msg: &Message) -> Result<EncodedFrame, EncodeError> {
        match (self, &msg.payload) {
            (Serializer::V1, Payload::Json(p)) => {
                Ok(EncodedFrame::text(v1::encode_server(msg.r#ref.as_ref(), &msg.topic, &msg.event, p)))
            }
            (Serializer::V2, Payload::Json(p)) => {
                v2::require_object(p)?;
                Ok(EncodedFrame::text(v2::encode_message(
                    msg.join_ref.as_ref(),
                    msg.r#ref.as_ref(),
                    &msg.topic,
                    &msg.event,
                    p,
                )))
            }
            (Serializer::V2, Payload::Binary(b)) => {
                binary::encode_server_push(msg.join_ref.as_ref(), &msg.topic, &msg.event, b).map(EncodedFrame::binary)
            }
            (Serializer::V1, Payload::Binary(_)) => Err(EncodeError(EncodeKind::BinaryUnsupported)),
        }
    }

    /// Encodes a server push (null `ref`) whose payload was serialized before:
    /// the same frame [`encode_push`](Self::encode_push) makes from that object.
    pub fn encode_push_text(
        self,
        join_ref: Option<&crate::Ref>,
        topic: &str,
        event: &str,
        payload: &JsonObjectText,
    ) -> EncodedFrame {
        let write = |out: &mut Vec<u8>| out.extend_from_slice(payload.as_bytes());
        EncodedFrame::text(match self {
            Serializer::V1 => v1::encode_server_with(None, topic, event, write),
            Serializer::V2 => v2::encode_message_with(join_ref, None, topic, event, write),
        })
    }

    /// Encodes a reply. The response may be any JSON value, or bytes in V2.
    pub fn encode_reply(self, reply: &Reply) -> Result<EncodedFrame, EncodeError> {
        match (self, &reply.payload) {
            (Serializer::V1, Payload::Json(p)) => Ok(EncodedFrame::text(v1::encode_reply(reply, p))),
            (Serializer::V2, Payload::Json(p)) => Ok(EncodedFrame::text(v2::encode_reply(reply, p))),
            (Serializer::V2, Payload::Binary(b)) => binary::encode_server_reply(reply, b).map(EncodedFrame::binary),
            (Serializer::V1, Payload::Binary(_)) => Err(EncodeError(EncodeKind::BinaryUnsupported)),
        }
    }

    /// Encodes a broadcast (both refs null). V2 requires a JSON object or bytes.
    pub fn encode_broadcast(self, b: &Broadcast) -> Result<EncodedFrame, EncodeError> {
        match (self, &b.payload) {
            (Serializer::V1, Payload::Json(p)) => {
                Ok(EncodedFrame::text(v1::encode_server(None, &b.topic, &b.event, p)))
            }
            (Serializer::V2, Payload::Json(p)) => v2::encode_broadcast(b, p).map(EncodedFrame::text),
            (Serializer::V2, Payload::Binary(bytes)) => binary::broadcast(b, bytes).map(EncodedFrame::binary),
            (Serializer::V1, Payload::Binary(_)) => Err(EncodeError(EncodeKind::BinaryUnsupported)),
        }
    }

    // ---- client side -------------------------------------------------------

    /// Encodes a message as a client sends it.
    pub fn encode_client(self, msg: &Message) -> Result<EncodedFrame, EncodeError> {
        match (self, &msg.payload) {
            (Serializer::V1, Payload::Json(p)) => Ok(EncodedFrame::text(v1::encode_client(msg, p))),
            (Serializer::V2, Payload::Json(p)) => Ok(EncodedFrame::text(v2::encode_message(
                msg.join_ref.as_ref(),
                msg.r#ref.as_ref(),
                &msg.topic,
                &msg.event,
                p,
            ))),
            (Serializer::V2, Payload::Binary(b)) => binary::encode_client_push(msg, b).map(EncodedFrame::binary),
            (Serializer::V1, Payload::Binary(_)) => Err(EncodeError(EncodeKind::BinaryUnsupported)),
        }
    }

    /// Decodes a frame received from a server, as a client does.
    pub fn decode_server(self, frame: Frame<'_>) -> Result<ServerMessage, DecodeError> {
        match (self, frame) {
            (Serializer::V1, Frame::Text(t) | Frame::Binary(t)) => v1::decode_server(t),
            (Serializer::V2, Frame::Text(t)) => v2::decode_server(t),
            (Serializer::V2, Frame::Binary(b)) => binary::decode_server(b),
        }
    }
}
