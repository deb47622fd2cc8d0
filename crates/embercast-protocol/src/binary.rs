//! V2 binary frames (PROTOCOL.md §3.4).
//!
//! Every header length is one byte, so each header field is at most 255 bytes of
//! UTF-8; the payload runs to the end of the frame. A null ref is written as an
//! empty string, and an empty string decodes back to null.
//!
//! | kind | direction | layout after the kind byte |
//! |------|-----------|----------------------------|
//! | 0 push | client → server | jr_len ref_len topic_len event_len, jr ref topic event payload |
//! | 0 push | server → client | jr_len topic_len event_len, jr topic event payload (no ref) |
//! | 1 reply | server → client | jr_len ref_len topic_len status_len, jr ref topic status payload |
//! | 2 broadcast | server → client | topic_len event_len, topic event payload |

use bytes::Bytes;

use crate::error::{DecodeError, DecodeKind, EncodeError, EncodeKind};
use crate::message::{event, Broadcast, Message, Payload, Ref, Reply, ServerMessage};

/// Kind byte of a push.
pub const KIND_PUSH: u8 = 0;
/// Kind byte of a reply.
pub const KIND_REPLY: u8 = 1;
/// Kind byte of a broadcast.
pub const KIND_BROADCAST: u8 = 2;

/// Encodes a server push (kind 0, no ref field).
pub fn encode_server_push(
    join_ref: Option<&Ref>,
    topic: &str,
    event: &str,
    payload: &[u8],
) -> Result<Vec<u8>, EncodeError> {
    let jr = ref_text(join_ref);
    encode(KIND_PUSH, &[("join_ref", &jr), ("topic", topic), ("event", event)], payload)
}

/// Encodes a server reply (kind 1).
pub fn encode_server_reply(reply: &Reply, payload: &[u8]) -> Result<Vec<u8>, EncodeError> {
    let jr = ref_text(reply.join_ref.as_ref());
    let r = ref_text(reply.r#ref.as_ref());
    encode(KIND_REPLY, &[("join_ref", &jr), ("ref", &r), ("topic", &reply.topic), ("status", &reply.status)], payload)
}

/// Encodes a server broadcast (kind 2).
pub fn encode_server_broadcast(topic: &str, event: &str, payload: &[u8]) -> Result<Vec<u8>, EncodeError> {
    encode(KIND_BROADCAST, &[("topic", topic), ("event", event)], payload)
}

/// Encodes a client push (kind 0 with a ref field), as a client sends it.
pub fn encode_client_push(msg: &Message, payload: &[u8]) -> Result<Vec<u8>, EncodeError> {
    let jr = ref_text(msg.join_ref.as_ref());
    let r = ref_text(msg.r#ref.as_ref());
    encode(KIND_PUSH, &[("join_ref", &jr), ("ref", &r), ("topic", &msg.topic), ("event", &msg.event)], payload)
}

/// Decodes a frame sent by a client: only kind 0 (push) is valid.
pub fn decode_client(frame: &[u8]) -> Result<Message, DecodeError> {
    let mut r = Reader::new(frame)?;
    if r.kind != KIND_PUSH {
        return Err(DecodeError::binary(format!("a client may only send kind 0, got {}", r.kind)));
    }
    let [jr, rf, topic, ev] = r.fields(["join_ref", "ref", "topic", "event"])?;
    Ok(Message {
        join_ref: opt_ref(jr),
        r#ref: opt_ref(rf),
        topic: topic.to_owned(),
        event: ev.to_owned(),
        payload: Payload::Binary(r.payload()),
    })
}

/// Decodes a frame sent by a server: push, reply or broadcast.
pub fn decode_server(frame: &[u8]) -> Result<ServerMessage, DecodeError> {
    let mut r = Reader::new(frame)?;
    match r.kind {
        KIND_PUSH => {
            let [jr, topic, ev] = r.fields(["join_ref", "topic", "event"])?;
            let (join_ref, topic, event) = (opt_ref(jr), topic.to_owned(), ev.to_owned());
            Ok(ServerMessage::Message(Message {
                join_ref,
                r#ref: None,
                topic,
                event,
                payload: Payload::Binary(r.payload()),
            }))
        }
        KIND_REPLY => {
            let [jr, rf, topic, status] = r.fields(["join_ref", "ref", "topic", "status"])?;
            let (join_ref, r#ref) = (opt_ref(jr), opt_ref(rf));
            let (topic, status) = (topic.to_owned(), status.to_owned());
            Ok(ServerMessage::Reply(Reply { join_ref, r#ref, topic, status, payload: Payload::Binary(r.payload()) }))
        }
        KIND_BROADCAST => {
            let [topic, ev] = r.fields(["topic", "event"])?;
            let (topic, event) = (topic.to_owned(), ev.to_owned());
            Ok(ServerMessage::Message(Message {
                join_ref: None,
                r#ref: None,
                topic,
                event,
                payload: Payload::Binary(r.payload()),
            }))
        }
        k => Err(DecodeError::binary(format!("unknown binary frame kind {k}"))),
    }
}

/// A broadcast's binary encoding, used by [`crate::Serializer::encode_broadcast`].
pub(crate) fn broadcast(b: &Broadcast, bytes: &[u8]) -> Result<Vec<u8>, EncodeError> {
    encode_server_broadcast(&b.topic, &b.event, bytes)
}

/// The reply event's name, for callers turning a kind 1 frame into an event.
pub const REPLY_EVENT: &str = event::REPLY;

fn ref_text(r: Option<&Ref>) -> std::borrow::Cow<'_, str> {
    r.map(Ref::as_text).unwrap_or(std::borrow::Cow::Borrowed(""))
}

fn opt_ref(s: &str) -> Option<Ref> {
    (!s.is_empty()).then(|| Ref::String(s.to_owned()))
}

fn encode(kind: u8, fields: &[(&'static str, &str)], payload: &[u8]) -> Result<Vec<u8>, EncodeError> {
    let header: usize = fields.iter().map(|(_, f)| f.len()).sum();
    let mut out = Vec::with_capacity(1 + fields.len() + header + payload.len());
    out.push(kind);
    for (name, f) in fields {
        let len = u8::try_from(f.len()).map_err(|_| EncodeError(EncodeKind::FieldTooLong(name, f.len())))?;
        out.push(len);
    }
    for (_, f) in fields {
        out.extend_from_slice(f.as_bytes());
    }
    out.extend_from_slice(payload);
    Ok(out)
}

/// Walks a binary frame's header, checking every length against the frame.
struct Reader<'a> {
    kind: u8,
    frame: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(frame: &'a [u8]) -> Result<Self, DecodeError> {
        let kind = *frame.first().ok_or_else(|| DecodeError::binary("empty frame"))?;
        Ok(Reader { kind, frame, pos: 1 })
    }

    fn fields<const N: usize>(&mut self, names: [&'static str; N]) -> Result<[&'a str; N], DecodeError> {
        let lens = self
            .frame
            .get(self.pos..self.pos + N)
            .ok_or_else(|| DecodeError::binary(format!("header needs {N} length bytes")))?;
        let mut lens_arr = [0usize; N];
        for (i, l) in lens.iter().enumerate() {
            lens_arr[i] = *l as usize;
        }
        self.pos += N;
        let mut out = [""; N];
        for i in 0..N {
            let end = self.pos + lens_arr[i];
            let bytes = self
                .frame
                .get(self.pos..end)
                .ok_or_else(|| DecodeError::binary(format!("field {} runs past the end of the frame", names[i])))?;
            out[i] = std::str::from_utf8(bytes).map_err(|_| DecodeError(DecodeKind::Utf8(names[i])))?;
            self.pos = end;
        }
        Ok(out)
    }

    fn payload(&self) -> Bytes {
        Bytes::copy_from_slice(&self.frame[self.pos..])
    }
}
