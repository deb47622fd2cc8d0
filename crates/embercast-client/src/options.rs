//! [`Builder`]: a socket's settings, with phoenix.js's defaults.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use embercast_protocol::Serializer;

use crate::backoff::Backoff;
use crate::endpoint::{Endpoint, EndpointError};
use crate::socket::Socket;

/// The settings a socket's task reads; fixed once connected.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) endpoint: Endpoint,
    pub(crate) params: Vec<(String, String)>,
    pub(crate) auth_token: Option<String>,
    pub(crate) serializer: Serializer,
    pub(crate) heartbeat_interval: Option<Duration>,
    pub(crate) timeout: Duration,
    pub(crate) reconnect: Backoff,
    pub(crate) rejoin: Backoff,
    pub(crate) max_message_size: usize,
    pub(crate) local_addr: Option<IpAddr>,
}

/// Configures a [`Socket`]; [`Builder::connect`] starts it.
///
/// Defaults follow phoenix.js: `vsn` 2.0.0, a heartbeat every 30 s, 10 s for
/// replies, reconnects from 10 ms growing to 5 s, rejoins from 1 s to 10 s
/// (both with jitter).
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `connect` is called"]
pub struct Builder {
    url: String,
    options: Options,
}

impl Builder {
    pub(crate) fn new(url: String) -> Self {
        Builder {
            url,
            options: Options {
                endpoint: Endpoint::default(),
                params: Vec::new(),
                auth_token: None,
                serializer: Serializer::V2,
                heartbeat_interval: Some(Duration::from_secs(30)),
                timeout: Duration::from_secs(10),
                reconnect: Backoff::default_reconnect(),
                rejoin: Backoff::default_rejoin(),
                max_message_size: 8 << 20,
                local_addr: None,
            },
        }
    }

    /// Adds a connect parameter, sent in the query string before `vsn` (the
    /// server's `connect` sees it). Nested values are written in bracket form
    /// by the caller, e.g. `param("user[id]", "7")`.
    pub fn param(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.options.params.push((key.into(), value.into()));
        self
    }

    /// A token sent in the `Sec-WebSocket-Protocol` header rather than the URL
    /// (phoenix.js's `authToken`); the server must have auth tokens enabled.
    pub fn auth_token(mut self, token: impl Into<String>) -> Self {
        self.options.auth_token = Some(token.into());
        self
    }

    /// The protocol version: [`Serializer::V2`] (the default, `vsn=2.0.0`, with
    /// binary payloads) or [`Serializer::V1`] (`vsn=1.0.0`, JSON only).
    pub fn vsn(mut self, serializer: Serializer) -> Self {
        self.options.serializer = serializer;
        self
    }

    /// How often to heartbeat; `None` turns heartbeats off. A heartbeat not
    /// answered within one interval closes the connection and reconnects.
    pub fn heartbeat_interval(mut self, interval: Option<Duration>) -> Self {
        self.options.heartbeat_interval = interval.filter(|d| !d.is_zero());
        self
    }

    /// The default time to wait for a reply to a join, push or leave, and for
    /// the connection to open.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.options.timeout = timeout;
        self
    }

    /// Delays between reconnect attempts after the connection is lost.
    pub fn reconnect_backoff(mut self, backoff: Backoff) -> Self {
        self.options.reconnect = backoff;
        self
    }

    /// Delays between rejoin attempts of a channel whose join failed or that
    /// the server reported crashed.
    pub fn rejoin_backoff(mut self, backoff: Backoff) -> Self {
        self.options.rejoin = backoff;
        self
    }

    /// The largest message accepted from the server (default 8 MiB); a larger
    /// one closes the connection, which is then reconnected.
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.options.max_message_size = bytes;
        self
    }

    /// A local address to connect from, e.g. `127.0.0.2` to use another
    /// range of source ports when opening tens of thousands of connections.
    pub fn local_addr(mut self, addr: IpAddr) -> Self {
        self.options.local_addr = Some(addr);
        self
    }

    #[cfg(test)]
    pub(crate) fn into_options(self) -> Options {
        self.options
    }

    /// Starts the socket: one task that connects, and reconnects whenever the
    /// connection is lost, until [`Socket::disconnect`] or until every
    /// [`Socket`] and [`Channel`](crate::Channel) handle is dropped.
    ///
    /// Returns at once; watch [`Socket::state`] to know when it is open.
    /// Must be called inside a tokio runtime.
    pub fn connect(self) -> Result<Socket, EndpointError> {
        let mut options = self.options;
        options.endpoint = Endpoint::parse(&self.url)?;
        Ok(Socket::start(Arc::new(options)))
    }
}
