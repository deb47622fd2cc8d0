//! Reassembles received bytes into WebSocket messages, with no I/O.

use bytes::Bytes;

use crate::close::{self, CloseCode, CloseError, CloseFrame};
use crate::frame::{self, HeaderError, OpCode};

/// Which end of the connection we are: servers require masked frames from
/// clients, clients require unmasked frames from servers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// We are the server.
    Server,
    /// We are the client.
    Client,
}

/// A complete message or control frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// A text message, already checked to be valid UTF-8.
    Text(Bytes),
    /// A binary message.
    Binary(Bytes),
    /// A ping; the payload must be echoed in a pong.
    Ping(Bytes),
    /// A pong.
    Pong(Bytes),
    /// A close frame, with its code and reason if it had one.
    Close(Option<CloseFrame>),
}

/// A violation that ends the connection with the given close code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProtocolError {
    /// The code to close with (1002, 1007 or 1009).
    pub code: CloseCode,
    /// A short reason for the log and the close frame.
    pub reason: &'static str,
}

impl ProtocolError {
    const fn new(code: CloseCode, reason: &'static str) -> Self {
        ProtocolError { code, reason }
    }
}

impl std::fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (close code {})", self.reason, self.code.0)
    }
}

impl std::error::Error for ProtocolError {}

/// A fragmented message being reassembled.
#[derive(Debug)]
struct Partial {
    text: bool,
    data: Vec<u8>,
    /// How far `data` is known to be valid UTF-8 (text messages only).
    utf8_checked: usize,
}

/// Turns received bytes into [`Message`]s.
///
/// The decoder keeps bytes only while a frame or a fragmented message is
/// incomplete, so an idle connection costs nothing here.
#[derive(Debug)]
pub struct Decoder {
    role: Role,
    max_message_size: usize,
    /// Bytes of an incomplete frame (header and payload so far).
    pending: Vec<u8>,
    message: Option<Partial>,
    closed: bool,
}

impl Decoder {
    /// A decoder for `role` that refuses messages larger than `max_message_size` bytes.
    pub fn new(role: Role, max_message_size: usize) -> Self {
        Decoder { role, max_message_size, pending: Vec::new(), message: None, closed: false }
    }

    /// Whether a close frame has been decoded; later bytes are ignored.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Bytes held for incomplete frames and messages.
    pub fn buffered(&self) -> usize {
        self.pending.len() + self.message.as_ref().map_or(0, |m| m.data.len())
    }

    /// Feeds received bytes, calling `on_message` for each complete message or
    /// control frame, in order. After an error the connection must be closed.
    pub fn decode(&mut self, input: &[u8], mut on_message: impl FnMut(Message)) -> Result<(), ProtocolError> {
        if self.closed {
            return Ok(());
        }
        if self.pending.is_empty() {
            let used = self.decode_frames(input, &mut on_message)?;
            if !self.closed {
                self.pending.extend_from_slice(&input[used..]);
            }
        } else {
            let mut pending = std::mem::take(&mut self.pending);
            pending.extend_from_slice(input);
            let used = self.decode_frames(&pending, &mut on_message)?;
            pending.drain(..used);
            if !self.closed && !pending.is_empty() {
                self.pending = pending;
            }
        }
        Ok(())
    }

    /// Decodes as many whole frames as `buf` holds; returns the bytes consumed.
    fn decode_frames(&mut self, buf: &[u8], on_message: &mut impl FnMut(Message)) -> Result<usize, ProtocolError> {
        let mut pos = 0;
        while !self.closed {
            let Some(h) = frame::parse_header(&buf[pos..]).map_err(header_error)? else { break };
            self.check_header(&h)?;
            let total = h.header_len + h.len as usize;
            if buf.len() - pos < total {
                break;
            }
            let mut payload = buf[pos + h.header_len..pos + total].to_vec();
            if let Some(mask) = h.mask {
                frame::apply_mask(&mut payload, mask, 0);
            }
            pos += total;
            self.frame(h.opcode, h.fin, payload, on_message)?;
        }
        Ok(pos)
    }

    fn check_header(&self, h: &frame::Header) -> Result<(), ProtocolError> {
        match (self.role, h.mask.is_some()) {
            (Role::Server, false) => return Err(ProtocolError::new(CloseCode::PROTOCOL, "client frame not masked")),
            (Role::Client, true) => return Err(ProtocolError::new(CloseCode::PROTOCOL, "server frame masked")),
            _ => {}
        }
        let so_far = self.message.as_ref().map_or(0, |m| m.data.len()) as u64;
        if !h.opcode.is_control() && so_far + h.len > self.max_message_size as u64 {
            return Err(ProtocolError::new(CloseCode::TOO_BIG, "message too big"));
        }
        Ok(())
    }

    fn frame(
        &mut self,
        opcode: OpCode,
        fin: bool,
        payload: Vec<u8>,
        on_message: &mut impl FnMut(Message),
    ) -> Result<(), ProtocolError> {
        match opcode {
            OpCode::Ping => on_message(Message::Ping(payload.into())),
            OpCode::Pong => on_message(Message::Pong(payload.into())),
            OpCode::Close => {
                let frame = close::parse_payload(&payload).map_err(|e| match e {
                    CloseError::Protocol => ProtocolError::new(CloseCode::PROTOCOL, "invalid close frame"),
                    CloseError::InvalidUtf8 => ProtocolError::new(CloseCode::INVALID_PAYLOAD, "close reason not UTF-8"),
                })?;
                self.closed = true;
                self.pending = Vec::new();
                self.message = None;
                on_message(Message::Close(frame));
            }
            OpCode::Text | OpCode::Binary => {
                if self.message.is_some() {
                    return Err(ProtocolError::new(CloseCode::PROTOCOL, "new message before the last one ended"));
                }
                let mut partial = Partial { text: opcode == OpCode::Text, data: payload, utf8_checked: 0 };
                if fin {
                    on_message(finish(partial)?);
                } else {
                    check_utf8_prefix(&mut partial)?;
                    self.message = Some(partial);
                }
            }
            OpCode::Continuation => {
                let Some(mut partial) = self.message.take() else {
                    return Err(ProtocolError::new(CloseCode::PROTOCOL, "continuation without a message"));
                };
                partial.data.extend_from_slice(&payload);
                if fin {
                    on_message(finish(partial)?);
                } else {
                    check_utf8_prefix(&mut partial)?;
                    self.message = Some(partial);
                }
            }
        }
        Ok(())
    }
}

const BAD_UTF8: ProtocolError = ProtocolError::new(CloseCode::INVALID_PAYLOAD, "text is not valid UTF-8");

/// Fails fast on a fragment that can no longer become valid UTF-8, while
/// allowing a code point split across fragments.
fn check_utf8_prefix(p: &mut Partial) -> Result<(), ProtocolError> {
    if !p.text {
        return Ok(());
    }
    match std::str::from_utf8(&p.data[p.utf8_checked..]) {
        Ok(_) => p.utf8_checked = p.data.len(),
        Err(e) if e.error_len().is_none() => p.utf8_checked += e.valid_up_to(),
        Err(_) => return Err(BAD_UTF8),
    }
    Ok(())
}

fn finish(p: Partial) -> Result<Message, ProtocolError> {
    if p.text {
        std::str::from_utf8(&p.data[p.utf8_checked..]).map_err(|_| BAD_UTF8)?;
        Ok(Message::Text(p.data.into()))
    } else {
        Ok(Message::Binary(p.data.into()))
    }
}

fn header_error(e: HeaderError) -> ProtocolError {
    let reason = match e {
        HeaderError::ReservedBits => "reserved bits set",
        HeaderError::ReservedOpcode(_) => "reserved opcode",
        HeaderError::BadControlFrame => "fragmented or oversized control frame",
        HeaderError::BadLength => "invalid payload length",
    };
    ProtocolError::new(CloseCode::PROTOCOL, reason)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::write_header;

    fn client_frame(opcode: OpCode, fin: bool, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        write_header(&mut out, opcode, payload.len(), Some([0x11, 0x22, 0x33, 0x44]));
        if !fin {
            out[0] &= 0x7f;
        }
        let mut p = payload.to_vec();
        frame::apply_mask(&mut p, [0x11, 0x22, 0x33, 0x44], 0);
        out.extend_from_slice(&p);
        out
    }

    fn decode_all(d: &mut Decoder, bytes: &[u8]) -> Result<Vec<Message>, ProtocolError> {
        let mut out = Vec::new();
        d.decode(bytes, |m| out.push(m))?;
        Ok(out)
    }

    #[test]
    fn byte_by_byte_feeding_yields_the_same_messages() {
        let mut wire = client_frame(OpCode::Text, false, "héllo ".as_bytes());
        wire.extend(client_frame(OpCode::Ping, true, b"p"));
        wire.extend(client_frame(OpCode::Continuation, true, "wörld".as_bytes()));
        wire.extend(client_frame(OpCode::Binary, true, &[0u8; 300]));
        let mut d = Decoder::new(Role::Server, 1 << 20);
        let mut got = Vec::new();
        for b in &wire {
            d.decode(std::slice::from_ref(b), |m| got.push(m)).unwrap();
        }
        assert_eq!(
            got,
            vec![
                Message::Ping(Bytes::from_static(b"p")),
                Message::Text(Bytes::from("héllo wörld")),
                Message::Binary(Bytes::from(vec![0u8; 300])),
            ]
        );
        assert_eq!(d.buffered(), 0, "nothing held once every frame is complete");
    }

    #[test]
    fn code_point_split_across_fragments_is_accepted() {
        let euro = "€".as_bytes();
        let mut wire = client_frame(OpCode::Text, false, &euro[..1]);
        wire.extend(client_frame(OpCode::Continuation, true, &euro[1..]));
        let mut d = Decoder::new(Role::Server, 1024);
        assert_eq!(decode_all(&mut d, &wire).unwrap(), vec![Message::Text(Bytes::from("€"))]);
    }

    #[test]
    fn invalid_utf8_fails_fast_on_the_first_bad_fragment() {
        let mut d = Decoder::new(Role::Server, 1024);
        let err = decode_all(&mut d, &client_frame(OpCode::Text, false, &[b'a', 0xff])).unwrap_err();
        assert_eq!(err.code, CloseCode::INVALID_PAYLOAD);
    }

    #[test]
    fn oversized_message_is_refused_from_its_header() {
        let mut d = Decoder::new(Role::Server, 10);
        let mut wire = client_frame(OpCode::Binary, true, &[0; 11]);
        wire.truncate(6); // only the header arrived
        assert_eq!(decode_all(&mut d, &wire).unwrap_err().code, CloseCode::TOO_BIG);
        let mut d = Decoder::new(Role::Server, 10);
        let mut wire = client_frame(OpCode::Binary, false, &[0; 6]);
        wire.extend(client_frame(OpCode::Continuation, true, &[0; 6]));
        assert_eq!(decode_all(&mut d, &wire).unwrap_err().code, CloseCode::TOO_BIG, "fragments add up");
    }

    #[test]
    fn protocol_violations_close_with_1002() {
        let cases: Vec<Vec<u8>> = vec![
            {
                let mut f = client_frame(OpCode::Text, true, b"x");
                f[1] &= 0x7f; // unmasked
                f
            },
            client_frame(OpCode::Continuation, true, b"x"),
            [client_frame(OpCode::Text, false, b"x"), client_frame(OpCode::Text, true, b"y")].concat(),
            client_frame(OpCode::Close, true, &[3]),
        ];
        for wire in cases {
            let mut d = Decoder::new(Role::Server, 1024);
            assert_eq!(decode_all(&mut d, &wire).unwrap_err().code, CloseCode::PROTOCOL);
        }
    }

    #[test]
    fn bytes_after_close_are_ignored() {
        let mut wire = client_frame(OpCode::Close, true, &[3, 232]);
        wire.extend(client_frame(OpCode::Text, true, b"late"));
        let mut d = Decoder::new(Role::Server, 1024);
        let got = decode_all(&mut d, &wire).unwrap();
        assert_eq!(got.len(), 1);
        assert!(d.is_closed());
        assert_eq!(d.buffered(), 0);
    }
}
