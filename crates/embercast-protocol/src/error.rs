//! Decode and encode errors. Their kinds are private; callers ask `is_*()`.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DecodeKind {
    /// The text is not valid JSON, or not valid UTF-8.
    Json(String),
    /// Valid JSON of the wrong shape (array vs object, arity, field type).
    Shape(String),
    /// A binary frame whose header does not fit, or of a kind not allowed here.
    Binary(String),
    /// A binary header field that is not valid UTF-8.
    Utf8(&'static str),
}

/// A frame that could not be decoded into a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(pub(crate) DecodeKind);

impl DecodeError {
    pub(crate) fn json(e: impl fmt::Display) -> Self {
        DecodeError(DecodeKind::Json(e.to_string()))
    }
    pub(crate) fn shape(msg: impl Into<String>) -> Self {
        DecodeError(DecodeKind::Shape(msg.into()))
    }
    pub(crate) fn binary(msg: impl Into<String>) -> Self {
        DecodeError(DecodeKind::Binary(msg.into()))
    }

    /// The frame was not valid JSON (or its text was not UTF-8).
    pub fn is_json(&self) -> bool {
        matches!(self.0, DecodeKind::Json(_))
    }
    /// The JSON was valid but not a message of the expected shape.
    pub fn is_shape(&self) -> bool {
        matches!(self.0, DecodeKind::Shape(_))
    }
    /// A binary frame was truncated, of an unknown kind, or not allowed.
    pub fn is_binary(&self) -> bool {
        matches!(self.0, DecodeKind::Binary(_))
    }
    /// A binary header field was not valid UTF-8.
    pub fn is_utf8(&self) -> bool {
        matches!(self.0, DecodeKind::Utf8(_))
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            DecodeKind::Json(e) => write!(f, "invalid JSON: {e}"),
            DecodeKind::Shape(e) => write!(f, "malformed message: {e}"),
            DecodeKind::Binary(e) => write!(f, "malformed binary frame: {e}"),
            DecodeKind::Utf8(field) => write!(f, "binary frame field {field} is not valid UTF-8"),
        }
    }
}

impl std::error::Error for DecodeError {}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EncodeKind {
    FieldTooLong(&'static str, usize),
    NotAnObject,
    BinaryUnsupported,
}

/// A message that cannot be encoded with the chosen serializer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodeError(pub(crate) EncodeKind);

impl EncodeError {
    /// A binary frame header field (topic, event, status, ref or join_ref) is over 255 bytes.
    pub fn is_field_too_long(&self) -> bool {
        matches!(self.0, EncodeKind::FieldTooLong(..))
    }
    /// A V2 push or broadcast payload was JSON but not an object.
    pub fn is_not_an_object(&self) -> bool {
        matches!(self.0, EncodeKind::NotAnObject)
    }
    /// A binary payload was given to the V1 serializer, which has no binary frames.
    pub fn is_binary_unsupported(&self) -> bool {
        matches!(self.0, EncodeKind::BinaryUnsupported)
    }
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            EncodeKind::FieldTooLong(field, len) => {
                write!(f, "binary frame field {field} is {len} bytes, at most 255 allowed")
            }
            EncodeKind::NotAnObject => f.write_str("V2 push and broadcast payloads must be JSON objects"),
            EncodeKind::BinaryUnsupported => f.write_str("the V1 serializer cannot carry binary payloads"),
        }
    }
}

impl std::error::Error for EncodeError {}
