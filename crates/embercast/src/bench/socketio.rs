//! The Socket.IO 4 wire format over engine.io v4, WebSocket transport only,
//! default namespace only: what `--proto socketio` sends and reads. No I/O.
//!
//! Each WebSocket text message is one engine.io packet: a type digit and its
//! data. `0{...}` opens the session (the server speaks first), `2`/`3` are the
//! server's ping and our pong, `4...` carries a Socket.IO packet: `40` connects
//! the namespace, `42["event",data]` is an event, `42<id>[...]` asks for an
//! acknowledgement answered by `43<id>[...]`.

use serde_json::Value;

/// One decoded text message.
#[derive(Debug, PartialEq)]
pub enum Packet {
    /// engine.io `0`: the handshake, with its JSON (`sid`, `pingInterval`, ...).
    Open(Value),
    /// engine.io `1`: the server closes the session.
    Close,
    /// engine.io `2`: a heartbeat to answer with [`PONG`].
    Ping,
    /// Socket.IO `40`: the namespace is connected (JSON carries the `sid`).
    Connect,
    /// Socket.IO `41`: the namespace was disconnected by the server.
    Disconnect,
    /// Socket.IO `44`: the connection to the namespace was refused.
    ConnectError(Value),
    /// Socket.IO `42[<ack id>][name, args...]`.
    Event {
        /// The ack id the sender wants answered, if any.
        ack: Option<u64>,
        /// The event name.
        name: String,
        /// The first argument (`null` when there is none).
        data: Value,
    },
    /// Socket.IO `43<id>[args...]`: the answer to an event we sent.
    Ack {
        /// The id of the event it answers.
        id: u64,
        /// The first argument (`null` when there is none).
        data: Value,
    },
    /// Anything else the bench does not act on (pong, noop, binary events,
    /// other namespaces).
    Other,
}

/// Why a message could not be decoded.
#[derive(Debug, PartialEq, Eq)]
pub struct DecodeError(pub &'static str);

/// Our answer to the server's ping.
pub const PONG: &str = "3";
/// Connects the default namespace.
pub const CONNECT: &str = "40";

/// Decodes one WebSocket text message.
pub fn decode(text: &str) -> Result<Packet, DecodeError> {
    let mut chars = text.chars();
    match chars.next() {
        Some('0') => {
            serde_json::from_str(&text[1..]).map(Packet::Open).map_err(|_| DecodeError("open packet is not JSON"))
        }
        Some('1') => Ok(Packet::Close),
        Some('2') => Ok(Packet::Ping),
        Some('4') => decode_socketio(&text[1..]),
        Some(_) => Ok(Packet::Other),
        None => Err(DecodeError("empty message")),
    }
}

fn decode_socketio(s: &str) -> Result<Packet, DecodeError> {
    let Some(kind) = s.chars().next() else {
        return Err(DecodeError("empty Socket.IO packet"));
    };
    let rest = &s[1..];
    if rest.starts_with('/') {
        // A namespace other than the default one.
        return Ok(Packet::Other);
    }
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let id = if digits == 0 {
        None
    } else {
        Some(rest[..digits].parse::<u64>().map_err(|_| DecodeError("ack id out of range"))?)
    };
    let json = &rest[digits..];
    let parse = |json: &str| serde_json::from_str::<Value>(json).map_err(|_| DecodeError("payload is not JSON"));
    match kind {
        '0' => Ok(Packet::Connect),
        '1' => Ok(Packet::Disconnect),
        '2' => match parse(json)? {
            Value::Array(mut args) if matches!(args.first(), Some(Value::String(_))) => {
                let data = if args.len() > 1 { args.swap_remove(1) } else { Value::Null };
                let Value::String(name) = args.swap_remove(0) else { unreachable!("checked above") };
                Ok(Packet::Event { ack: id, name, data })
            }
            _ => Err(DecodeError("event is not an array starting with its name")),
        },
        '3' => match (id, parse(json)?) {
            (Some(id), Value::Array(mut args)) => {
                let data = if args.is_empty() { Value::Null } else { args.swap_remove(0) };
                Ok(Packet::Ack { id, data })
            }
            _ => Err(DecodeError("ack without an id or an array")),
        },
        '4' => Ok(Packet::ConnectError(parse(json).unwrap_or(Value::Null))),
        _ => Ok(Packet::Other),
    }
}

/// `42[<ack>]["name",data]`: an event, asking for an acknowledgement when `ack` is set.
pub fn encode_event(name: &str, data: &Value, ack: Option<u64>) -> String {
    let args = Value::Array(vec![Value::String(name.to_owned()), data.clone()]);
    match ack {
        Some(id) => format!("42{id}{args}"),
        None => format!("42{args}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn engine_io_packets() {
        let open = r#"0{"sid":"C2cI0ZnzIdmiwprtAAAA","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#;
        match decode(open).unwrap() {
            Packet::Open(v) => assert_eq!(v["pingInterval"], 25000),
            other => panic!("{other:?}"),
        }
        assert_eq!(decode("1"), Ok(Packet::Close));
        assert_eq!(decode("2"), Ok(Packet::Ping));
        assert_eq!(decode("3"), Ok(Packet::Other));
        assert_eq!(decode("6"), Ok(Packet::Other));
        assert!(decode("").is_err());
        assert!(decode("0{not json").is_err());
    }

    #[test]
    fn socket_io_packets() {
        assert_eq!(decode(r#"40{"sid":"wZX3oN0bSVIhsaknAAAI"}"#), Ok(Packet::Connect));
        assert_eq!(decode("41"), Ok(Packet::Disconnect));
        assert_eq!(
            decode(r#"44{"message":"Not authorized"}"#),
            Ok(Packet::ConnectError(json!({"message": "Not authorized"})))
        );
        assert_eq!(
            decode(r#"42["bench",{"seq":3,"t":17}]"#),
            Ok(Packet::Event { ack: None, name: "bench".into(), data: json!({"seq": 3, "t": 17}) })
        );
        assert_eq!(
            decode(r#"4212["ping"]"#),
            Ok(Packet::Event { ack: Some(12), name: "ping".into(), data: Value::Null })
        );
        assert_eq!(decode(r#"4312[{"t":5}]"#), Ok(Packet::Ack { id: 12, data: json!({"t": 5}) }));
        assert_eq!(decode(r#"42/admin,["x"]"#), Ok(Packet::Other));
        assert!(decode(r#"42{"not":"an array"}"#).is_err());
        assert!(decode(r#"42[1,2]"#).is_err());
        assert!(decode(r#"43[1]"#).is_err());
        assert!(decode("4").is_err());
    }

    #[test]
    fn events_round_trip() {
        let data = json!({"seq": 1, "pad": "x\"y"});
        let plain = encode_event("bench", &data, None);
        assert_eq!(plain, r#"42["bench",{"seq":1,"pad":"x\"y"}]"#);
        assert_eq!(decode(&plain), Ok(Packet::Event { ack: None, name: "bench".into(), data: data.clone() }));
        let asked = encode_event("ping", &data, Some(7));
        assert!(asked.starts_with("427["));
        assert_eq!(decode(&asked), Ok(Packet::Event { ack: Some(7), name: "ping".into(), data }));
    }
}
