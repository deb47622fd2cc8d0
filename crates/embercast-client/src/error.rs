//! [`ChannelError`]: why a join, push or leave did not get an `ok` reply.

use std::fmt;

use embercast_protocol::{EncodeError, Payload};

/// Why a join, push or leave has no `ok` reply.
#[derive(Debug, Clone, PartialEq)]
pub enum ChannelError {
    /// The server replied with status `error`; this is its response.
    Reply(Payload),
    /// The server replied with another status than `ok` or `error`.
    Status(String, Payload),
    /// No reply came within the timeout. For a join, the channel keeps
    /// rejoining with backoff, as phoenix.js does.
    Timeout,
    /// The channel was closed (left, closed by the server, or the socket was
    /// disconnected) before the reply came.
    Closed,
    /// The payload cannot be sent with this socket's serializer (bytes over
    /// V1, or a binary-frame field over 255 bytes).
    Encode(EncodeError),
    /// `join` was called a second time on the same channel.
    AlreadyJoined,
}

impl ChannelError {
    /// The server's response, for [`ChannelError::Reply`] and [`ChannelError::Status`].
    pub fn response(&self) -> Option<&Payload> {
        match self {
            ChannelError::Reply(p) | ChannelError::Status(_, p) => Some(p),
            _ => None,
        }
    }

    /// Maps a reply's status to a result, as phoenix.js's `receive` hooks do:
    /// the status string is matched literally.
    pub(crate) fn from_status(status: &str, response: Payload) -> Result<Payload, ChannelError> {
        match status {
            "ok" => Ok(response),
            "error" => Err(ChannelError::Reply(response)),
            other => Err(ChannelError::Status(other.to_owned(), response)),
        }
    }
}

impl fmt::Display for ChannelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChannelError::Reply(p) => write!(f, "error reply: {}", show(p)),
            ChannelError::Status(s, p) => write!(f, "{s} reply: {}", show(p)),
            ChannelError::Timeout => f.write_str("no reply within the timeout"),
            ChannelError::Closed => f.write_str("channel closed before the reply"),
            ChannelError::Encode(e) => write!(f, "cannot encode: {e}"),
            ChannelError::AlreadyJoined => f.write_str("join called twice on the same channel"),
        }
    }
}

fn show(p: &Payload) -> String {
    match p {
        Payload::Json(v) => v.to_string(),
        Payload::Binary(b) => format!("<{} bytes>", b.len()),
    }
}

impl std::error::Error for ChannelError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ChannelError::Encode(e) => Some(e),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn statuses_map_literally() {
        let p = Payload::Json(json!({"a": 1}));
        assert_eq!(ChannelError::from_status("ok", p.clone()), Ok(p.clone()));
        assert_eq!(ChannelError::from_status("error", p.clone()), Err(ChannelError::Reply(p.clone())));
        let other = ChannelError::from_status("OK", p.clone()).unwrap_err();
        assert_eq!(other, ChannelError::Status("OK".into(), p.clone()));
        assert_eq!(other.response(), Some(&p));
        assert_eq!(other.to_string(), r#"OK reply: {"a":1}"#);
    }
}
