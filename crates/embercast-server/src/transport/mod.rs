//! Transports: how frames reach a [`Session`](crate::session::Session).
//!
//! Every transport admits a connection through [`connect`] and then drives
//! the same `Session` and `Outbox`, so no channel behaviour exists twice.

pub(crate) mod connect;
pub(crate) mod longpoll;
pub(crate) mod websocket;
