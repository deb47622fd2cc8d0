//! Close codes (RFC 6455 §7.4) and close frame payloads.

/// A WebSocket close status code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CloseCode(pub u16);

impl CloseCode {
    /// 1000: normal closure. Phoenix clients before 1.8.16 do not reconnect after it.
    pub const NORMAL: CloseCode = CloseCode(1000);
    /// 1001: going away; the client reconnects.
    pub const GOING_AWAY: CloseCode = CloseCode(1001);
    /// 1002: protocol error.
    pub const PROTOCOL: CloseCode = CloseCode(1002);
    /// 1003: unsupported data.
    pub const UNSUPPORTED: CloseCode = CloseCode(1003);
    /// 1007: invalid payload data (e.g. text that is not UTF-8).
    pub const INVALID_PAYLOAD: CloseCode = CloseCode(1007);
    /// 1008: policy violation.
    pub const POLICY: CloseCode = CloseCode(1008);
    /// 1009: message too big.
    pub const TOO_BIG: CloseCode = CloseCode(1009);
    /// 1011: internal server error.
    pub const INTERNAL: CloseCode = CloseCode(1011);
    /// 1012: service restart.
    pub const RESTART: CloseCode = CloseCode(1012);
    /// 1013: try again later.
    pub const TRY_AGAIN_LATER: CloseCode = CloseCode(1013);

    /// Whether a peer may send this code in a close frame. 1005, 1006 and 1015
    /// are reserved for local use, and codes below 3000 must be registered.
    pub fn is_allowed_on_wire(self) -> bool {
        matches!(self.0, 1000..=1003 | 1007..=1014 | 3000..=4999)
    }
}

/// The content of a close frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloseFrame {
    /// The status code.
    pub code: CloseCode,
    /// A UTF-8 reason, at most 123 bytes.
    pub reason: String,
}

/// Why a received close frame is invalid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloseError {
    /// A one-byte payload, or a code that may not appear on the wire.
    Protocol,
    /// The reason is not valid UTF-8.
    InvalidUtf8,
}

/// Parses a received close payload; `None` means no status code was given.
pub fn parse_payload(payload: &[u8]) -> Result<Option<CloseFrame>, CloseError> {
    match payload.len() {
        0 => Ok(None),
        1 => Err(CloseError::Protocol),
        _ => {
            let code = CloseCode(u16::from_be_bytes([payload[0], payload[1]]));
            if !code.is_allowed_on_wire() {
                return Err(CloseError::Protocol);
            }
            let reason = std::str::from_utf8(&payload[2..]).map_err(|_| CloseError::InvalidUtf8)?;
            Ok(Some(CloseFrame { code, reason: reason.to_owned() }))
        }
    }
}

/// Encodes a close payload; the reason is cut to fit 125 bytes on a char boundary.
pub fn encode_payload(code: CloseCode, reason: &str) -> Vec<u8> {
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    let mut out = Vec::with_capacity(2 + end);
    out.extend_from_slice(&code.0.to_be_bytes());
    out.extend_from_slice(&reason.as_bytes()[..end]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_and_unregistered_codes_are_refused() {
        for code in [0u16, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000] {
            assert_eq!(parse_payload(&code.to_be_bytes()), Err(CloseError::Protocol), "{code}");
        }
        for code in [1000u16, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 3000, 3999, 4000, 4999] {
            assert!(parse_payload(&code.to_be_bytes()).unwrap().is_some(), "{code}");
        }
    }

    #[test]
    fn close_payload_shapes() {
        assert_eq!(parse_payload(&[]), Ok(None));
        assert_eq!(parse_payload(&[3]), Err(CloseError::Protocol));
        assert_eq!(parse_payload(&[3, 232, 0xff]), Err(CloseError::InvalidUtf8));
        let long = "é".repeat(100);
        let p = encode_payload(CloseCode::GOING_AWAY, &long);
        assert!(p.len() <= 125);
        assert_eq!(parse_payload(&p).unwrap().unwrap().code, CloseCode::GOING_AWAY);
    }
}
