//! Frame headers (RFC 6455 §5.2): parsing, writing and masking.

/// A frame opcode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpCode {
    /// Continuation of a fragmented message.
    Continuation,
    /// A text (UTF-8) data frame.
    Text,
    /// A binary data frame.
    Binary,
    /// Close control frame.
    Close,
    /// Ping control frame.
    Ping,
    /// Pong control frame.
    Pong,
}

impl OpCode {
    fn from_u8(b: u8) -> Option<Self> {
        Some(match b {
            0 => OpCode::Continuation,
            1 => OpCode::Text,
            2 => OpCode::Binary,
            8 => OpCode::Close,
            9 => OpCode::Ping,
            10 => OpCode::Pong,
            _ => return None,
        })
    }

    fn as_u8(self) -> u8 {
        match self {
            OpCode::Continuation => 0,
            OpCode::Text => 1,
            OpCode::Binary => 2,
            OpCode::Close => 8,
            OpCode::Ping => 9,
            OpCode::Pong => 10,
        }
    }

    /// Whether this is a control opcode (close, ping, pong).
    pub fn is_control(self) -> bool {
        matches!(self, OpCode::Close | OpCode::Ping | OpCode::Pong)
    }
}

/// A parsed frame header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Final fragment of a message.
    pub fin: bool,
    /// The opcode.
    pub opcode: OpCode,
    /// The masking key, if the frame is masked.
    pub mask: Option<[u8; 4]>,
    /// Payload length in bytes.
    pub len: u64,
    /// Header length in bytes (2 to 14).
    pub header_len: usize,
}

/// Why a header is invalid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderError {
    /// A reserved bit is set, but no extension was negotiated.
    ReservedBits,
    /// The opcode is reserved.
    ReservedOpcode(u8),
    /// A control frame is fragmented or longer than 125 bytes.
    BadControlFrame,
    /// The 64-bit length has its most significant bit set.
    BadLength,
}

/// Parses a header from the start of `buf`; `Ok(None)` means more bytes are needed.
pub fn parse_header(buf: &[u8]) -> Result<Option<Header>, HeaderError> {
    if buf.len() < 2 {
        return Ok(None);
    }
    let (b0, b1) = (buf[0], buf[1]);
    if b0 & 0x70 != 0 {
        return Err(HeaderError::ReservedBits);
    }
    let opcode = OpCode::from_u8(b0 & 0x0f).ok_or(HeaderError::ReservedOpcode(b0 & 0x0f))?;
    let fin = b0 & 0x80 != 0;
    let masked = b1 & 0x80 != 0;
    let (len, mut pos) = match b1 & 0x7f {
        126 => {
            let Some(b) = buf.get(2..4) else { return Ok(None) };
            (u16::from_be_bytes([b[0], b[1]]) as u64, 4)
        }
        127 => {
            let Some(b) = buf.get(2..10) else { return Ok(None) };
            let len = u64::from_be_bytes(b.try_into().expect("8 bytes"));
            if len >> 63 != 0 {
                return Err(HeaderError::BadLength);
            }
            (len, 10)
        }
        n => (n as u64, 2),
    };
    if opcode.is_control() && (!fin || len > 125) {
        return Err(HeaderError::BadControlFrame);
    }
    let mask = if masked {
        let Some(m) = buf.get(pos..pos + 4) else { return Ok(None) };
        pos += 4;
        Some(m.try_into().expect("4 bytes"))
    } else {
        None
    };
    Ok(Some(Header { fin, opcode, mask, len, header_len: pos }))
}

/// The largest header [`write_header`] produces.
pub const MAX_HEADER_LEN: usize = 14;

/// Appends a final (`FIN`) frame header for `len` payload bytes to `out`.
///
/// With a mask (client frames) the caller must mask the payload with [`apply_mask`].
pub fn write_header(out: &mut Vec<u8>, opcode: OpCode, len: usize, mask: Option<[u8; 4]>) {
    out.push(0x80 | opcode.as_u8());
    let mask_bit = if mask.is_some() { 0x80 } else { 0 };
    if len < 126 {
        out.push(mask_bit | len as u8);
    } else if len <= u16::MAX as usize {
        out.push(mask_bit | 126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(mask_bit | 127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    if let Some(m) = mask {
        out.extend_from_slice(&m);
    }
}

/// XORs `data` with the mask, starting at byte `offset` of the payload.
pub fn apply_mask(data: &mut [u8], mask: [u8; 4], offset: usize) {
    let mut m = mask;
    m.rotate_left(offset % 4);
    let word = u64::from_ne_bytes([m[0], m[1], m[2], m[3], m[0], m[1], m[2], m[3]]);
    let mut chunks = data.chunks_exact_mut(8);
    for c in &mut chunks {
        let v = u64::from_ne_bytes((&*c).try_into().expect("8 bytes")) ^ word;
        c.copy_from_slice(&v.to_ne_bytes());
    }
    for (i, b) in chunks.into_remainder().iter_mut().enumerate() {
        *b ^= m[i % 4];
    }
}

/// A fresh masking key for a client frame.
///
/// Masks exist to stop intermediaries from misreading frames as HTTP; they
/// must be unpredictable to the page, not cryptographically strong, so the
/// standard library's randomly seeded hasher is enough.
pub fn random_mask() -> [u8; 4] {
    use std::hash::{BuildHasher, RandomState};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    (RandomState::new().hash_one(n) as u32).to_ne_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trip_for_every_length_class() {
        for len in [0usize, 125, 126, 65535, 65536, 1 << 20] {
            let mut out = Vec::new();
            write_header(&mut out, OpCode::Binary, len, Some([1, 2, 3, 4]));
            let h = parse_header(&out).unwrap().unwrap();
            assert_eq!((h.len, h.header_len, h.fin, h.opcode), (len as u64, out.len(), true, OpCode::Binary));
            assert_eq!(h.mask, Some([1, 2, 3, 4]));
            assert_eq!(parse_header(&out[..out.len() - 1]).unwrap(), None, "truncated header is incomplete");
        }
    }

    #[test]
    fn masking_twice_is_identity_at_any_offset() {
        let orig: Vec<u8> = (0..=255u8).collect();
        for offset in 0..8 {
            let mut d = orig.clone();
            apply_mask(&mut d, [9, 8, 7, 6], offset);
            let bytewise: Vec<u8> = orig.iter().enumerate().map(|(i, b)| b ^ [9, 8, 7, 6][(i + offset) % 4]).collect();
            assert_eq!(d, bytewise);
            apply_mask(&mut d, [9, 8, 7, 6], offset);
            assert_eq!(d, orig);
        }
    }

    #[test]
    fn invalid_headers_are_rejected() {
        assert_eq!(parse_header(&[0x81 | 0x40, 0]), Err(HeaderError::ReservedBits));
        assert_eq!(parse_header(&[0x83, 0]), Err(HeaderError::ReservedOpcode(3)));
        assert_eq!(parse_header(&[0x09, 0]), Err(HeaderError::BadControlFrame), "fragmented ping");
        assert_eq!(parse_header(&[0x89, 126, 0, 126]), Err(HeaderError::BadControlFrame), "ping over 125");
        let mut big = vec![0x82, 127];
        big.extend_from_slice(&u64::MAX.to_be_bytes());
        assert_eq!(parse_header(&big), Err(HeaderError::BadLength));
    }
}
