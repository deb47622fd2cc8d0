//! [`Socket`]: a socket mount's configuration, connect callback and channel routes.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, StatusCode, Uri};
use tokio::sync::watch;

use crate::assigns::Assigns;
use crate::channel::Channel;
use crate::origin::CheckOrigin;
use crate::params::Params;
use crate::pubsub::PubSub;
use crate::router::Router;
use crate::runtime::Factory;
use crate::transport::longpoll::{LongPoll, Sessions};

/// What `connect` receives about the connection request. All of it is
/// untrusted client input except `peer_addr`.
#[derive(Debug, Clone)]
pub struct ConnectInfo {
    /// The query parameters (the client's `params`, plus `vsn`).
    pub params: Params,
    /// The token from phoenix.js's `authToken` option, if the client sent one.
    pub auth_token: Option<String>,
    /// The TCP peer, when the server was started with connect info
    /// (`into_make_service_with_connect_info::<SocketAddr>()`).
    pub peer_addr: Option<SocketAddr>,
    /// The request headers.
    pub headers: HeaderMap,
    /// The request URI.
    pub uri: Uri,
    /// `"websocket"` or `"longpoll"`.
    pub transport: &'static str,
}

/// A successful connect: the connection's assigns and optional socket id.
#[derive(Debug, Default)]
pub struct Accept {
    pub(crate) assigns: Assigns,
    pub(crate) id: Option<String>,
}

impl Accept {
    /// Accepts with no assigns and no id.
    pub fn new() -> Self {
        Accept::default()
    }

    /// Adds a value every channel of this connection can read with
    /// [`ChannelSocket::get`](crate::ChannelSocket::get).
    pub fn assign<T: Send + Sync + 'static>(mut self, value: T) -> Self {
        self.assigns.insert(value);
        self
    }

    /// Sets the socket id: broadcasting `disconnect` on this topic closes every
    /// connection that has it (e.g. `"user_socket:42"` to log a user out).
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }
}

/// A refused connect: an HTTP status before the upgrade (403 by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reject {
    pub(crate) status: StatusCode,
}

impl Reject {
    /// 403 Forbidden, like Phoenix's `:error`.
    pub fn forbidden() -> Self {
        Reject { status: StatusCode::FORBIDDEN }
    }

    /// Any status, e.g. 429 Too Many Requests (Phoenix's `error_handler`).
    pub fn status(status: StatusCode) -> Self {
        Reject { status }
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;
type ConnectFn = dyn Fn(ConnectInfo) -> BoxFuture<Result<Accept, Reject>> + Send + Sync;

/// Limits and policies of a socket mount.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) check_origin: CheckOrigin,
    pub(crate) idle_timeout: Duration,
    pub(crate) max_frame_size: usize,
    pub(crate) max_channels: usize,
    pub(crate) max_topic_len: usize,
    pub(crate) max_queued_bytes: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            check_origin: CheckOrigin::Off,
            idle_timeout: Duration::from_secs(60),
            max_frame_size: 1 << 20,
            max_channels: 100,
            max_topic_len: 255,
            max_queued_bytes: 8 << 20,
        }
    }
}

pub(crate) struct SocketShared {
    pub(crate) router: Router,
    /// LongPoll sessions, when the transport is enabled.
    pub(crate) longpoll: Option<Arc<Sessions>>,
    /// Set to `true` to close every connection with 1012 (server restart).
    pub(crate) drain: Arc<watch::Sender<bool>>,
    pub(crate) connect: Arc<ConnectFn>,
    pub(crate) config: Config,
    pub(crate) pubsub: PubSub,
    pub(crate) assigns: Arc<Assigns>,
}

/// A socket mount: the connect callback, the channel routes and the limits.
///
/// ```no_run
/// # use embercast_server::{Socket, Channel, ChannelSocket, JoinResult, HandleResult, Payload};
/// # struct Room;
/// # impl Channel for Room {
/// #     async fn join(_: &str, _: Payload, _: &mut ChannelSocket) -> JoinResult<Self> { Ok(Room.into()) }
/// #     async fn handle_in(&mut self, _: &str, _: Payload, _: &mut ChannelSocket) -> HandleResult { Ok(None) }
/// # }
/// # async fn run() {
/// let app = axum::Router::new().nest("/socket", Socket::new().channel::<Room>("room:*").router());
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:4000").await.unwrap();
/// axum::serve(listener, app).await.unwrap();
/// # }
/// ```
pub struct Socket {
    router: Router,
    websocket: bool,
    longpoll: Option<LongPoll>,
    drain: Arc<watch::Sender<bool>>,
    connect: Arc<ConnectFn>,
    config: Config,
    pubsub: PubSub,
    assigns: Assigns,
}

impl Default for Socket {
    fn default() -> Self {
        Socket::new()
    }
}

impl Socket {
    /// A socket that accepts every connection, with its own local PubSub.
    pub fn new() -> Self {
        Socket {
            router: Router::default(),
            websocket: true,
            longpoll: None,
            drain: Arc::new(watch::Sender::new(false)),
            connect: Arc::new(|_| Box::pin(async { Ok(Accept::new()) })),
            config: Config::default(),
            pubsub: PubSub::new(),
            assigns: Assigns::new(),
        }
    }

    /// Routes topics matching `pattern` (exact, or a prefix ending in `*`) to
    /// channel `C`. The first matching route wins. Topics starting with
    /// `phx_presence:` carry the presence tracker's gossip and match no route.
    pub fn channel<C: Channel>(mut self, pattern: &str) -> Self {
        self.router.add(pattern, Arc::new(Factory::<C>::new()));
        self
    }

    /// Decides whether a connection may open. Runs before the WebSocket
    /// upgrade; a [`Reject`] becomes an HTTP error and leaves nothing behind.
    pub fn connect<F, Fut>(mut self, connect: F) -> Self
    where
        F: Fn(ConnectInfo) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Accept, Reject>> + Send + 'static,
    {
        self.connect = Arc::new(move |info| Box::pin(connect(info)));
        self
    }

    /// Uses this PubSub (share one between sockets, HTTP handlers and a cluster adapter).
    pub fn pubsub(mut self, pubsub: PubSub) -> Self {
        self.pubsub = pubsub;
        self
    }

    /// The PubSub this socket publishes to, to broadcast from server code.
    pub fn pubsub_handle(&self) -> PubSub {
        self.pubsub.clone()
    }

    /// A value every channel can read with [`ChannelSocket::get`](crate::ChannelSocket::get)
    /// (e.g. a database pool).
    pub fn assign<T: Send + Sync + 'static>(mut self, value: T) -> Self {
        self.assigns.insert(value);
        self
    }

    /// Which origins may connect (default: any).
    pub fn check_origin(mut self, check: CheckOrigin) -> Self {
        self.config.check_origin = check;
        self
    }

    /// Closes connections that send nothing for this long (default 60 s; the
    /// official client sends a heartbeat every 30 s).
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.config.idle_timeout = timeout;
        self
    }

    /// The largest message a client may send, in bytes (default 1 MiB); a
    /// larger one closes the WebSocket with code 1009.
    pub fn max_frame_size(mut self, bytes: usize) -> Self {
        self.config.max_frame_size = bytes;
        self
    }

    /// How many channels one connection may have joined at once (default 100).
    pub fn max_channels(mut self, max: usize) -> Self {
        self.config.max_channels = max;
        self
    }

    /// The longest topic a client may use, in bytes (default 255, the most a
    /// binary frame can carry); longer ones get `{"reason":"topic too long"}`.
    pub fn max_topic_len(mut self, bytes: usize) -> Self {
        self.config.max_topic_len = bytes;
        self
    }

    /// How many bytes may wait for a client that does not read before it is
    /// dropped (default 8 MiB), so one slow client never holds back a broadcast.
    pub fn max_queued_bytes(mut self, bytes: usize) -> Self {
        self.config.max_queued_bytes = bytes;
        self
    }

    /// Enables the LongPoll transport at `<mount>/longpoll` (off by default, as
    /// in Phoenix). phoenix.js falls back to it when WebSockets fail, with its
    /// `longPollFallbackMs` option.
    pub fn longpoll(mut self, config: LongPoll) -> Self {
        self.longpoll = Some(config);
        self
    }

    /// Serves the WebSocket transport at `<mount>/websocket` (default: on).
    /// Turning it off leaves LongPoll as the only transport.
    pub fn websocket(mut self, enabled: bool) -> Self {
        self.websocket = enabled;
        self
    }

    /// A handle to close every connection of this socket on shutdown.
    pub fn drain_handle(&self) -> Drain {
        Drain { tx: self.drain.clone() }
    }

    /// The axum router serving this socket's transports (`/websocket`, and
    /// `/longpoll` when enabled); nest it at the mount path, e.g.
    /// `.nest("/socket", socket.router())`.
    pub fn router(self) -> axum::Router {
        let shared = Arc::new(SocketShared {
            router: self.router,
            longpoll: self.longpoll.map(|config| Arc::new(Sessions::new(config))),
            drain: self.drain,
            connect: self.connect,
            config: self.config,
            pubsub: self.pubsub,
            assigns: Arc::new(self.assigns),
        });
        let mut router = axum::Router::new();
        if self.websocket {
            router = router.route("/websocket", axum::routing::any(crate::transport::websocket::upgrade));
        }
        if shared.longpoll.is_some() {
            router = router.route("/longpoll", axum::routing::any(crate::transport::longpoll::handle));
        }
        router.with_state(shared)
    }
}

/// Closes a socket's connections for a graceful shutdown (Phoenix's drainer).
///
/// Every connection gets close code 1012 (service restart), so clients
/// reconnect, to another node if there is one. Connections opened afterwards
/// are closed as soon as they open.
#[derive(Clone, Debug)]
pub struct Drain {
    tx: Arc<watch::Sender<bool>>,
}

impl Drain {
    /// Starts closing every connection.
    pub fn drain(&self) {
        self.tx.send_replace(true);
    }

    /// Waits until every connection has closed, or `timeout` has passed;
    /// returns whether all closed.
    pub async fn closed(&self, timeout: Duration) -> bool {
        tokio::time::timeout(timeout, self.tx.closed()).await.is_ok()
    }

    /// How many connections are open.
    pub fn connections(&self) -> usize {
        self.tx.receiver_count()
    }
}
