//! The Phoenix Channels wire protocol, without any I/O.
//!
//! This crate holds the message model shared by every part of Embercast and the
//! three encodings a Phoenix client may speak:
//!
//! | `vsn`   | frames                                   | module   |
//! |---------|------------------------------------------|----------|
//! | `1.x.y` | JSON objects, text only                  | [`v1`]   |
//! | `2.x.y` | JSON arrays, text                        | [`v2`]   |
//! | `2.x.y` | binary frames for raw byte payloads      | [`binary`] |
//!
//! [`Serializer`] picks the right one for a negotiated version and exposes both
//! directions: the server side (decode what a client sends, encode what a server
//! sends) and the client side (the reverse), so that the server and the Rust
//! client share one codec.
//!
//! ```
//! use embercast_protocol::{Frame, Serializer};
//!
//! let ser = Serializer::from_vsn(Some("2.0.0")).unwrap();
//! let msg = ser
//!     .decode_client(Frame::Text(br#"["3","3","room:lobby","phx_join",{}]"#))
//!     .unwrap();
//! assert_eq!(msg.topic, "room:lobby");
//! assert!(msg.is_join());
//! ```
//!
//! Decoding is strict and never panics: wrong arity, wrong types, truncated
//! binary headers and invalid UTF-8 all come back as a [`DecodeError`].

mod error;
mod json;
mod message;
mod serializer;
mod vsn;

pub mod binary;
pub mod v1;
pub mod v2;

pub use error::{DecodeError, EncodeError};
pub use message::{event, Broadcast, Frame, FrameKind, Message, Payload, Ref, Reply, ServerMessage};
pub use serializer::{EncodedFrame, JsonObjectText, Serializer};
pub use vsn::VsnError;
