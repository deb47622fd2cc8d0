//! Transports: how frames reach a [`Session`](crate::session::Session).

pub(crate) mod websocket;
