//! A lean RFC 6455 WebSocket layer for Embercast.
//!
//! Built for very many mostly idle connections:
//!
//! * [`Decoder`] turns received bytes into messages with no I/O: it unmasks,
//!   reassembles fragments, validates UTF-8 incrementally and enforces the
//!   message size limit. It holds no buffer while nothing is half-received.
//! * [`frame`] writes frame headers; server frames are not masked, so one
//!   encoded payload can be shared by every receiver of a broadcast.
//! * [`Connection`] drives any async stream, reading into a buffer on the
//!   stack, so an idle connection owns no read or write buffer at all.
//! * [`handshake`] checks an upgrade request and computes `Sec-WebSocket-Accept`;
//!   [`upgrade`] builds the 101 response and awaits hyper's upgrade.

pub mod close;
mod connection;
mod decoder;
pub mod frame;
pub mod handshake;
pub mod upgrade;

pub use close::{CloseCode, CloseFrame};
pub use connection::{Connection, ReadOutcome};
pub use decoder::{Decoder, Message, ProtocolError, Role};
pub use frame::OpCode;
