//! Embercast's server runtime: Phoenix Channels in Rust, wire-compatible with
//! the official `phoenix` JavaScript client.
//!
//! * A [`Socket`] is a mount: its `connect` callback, its channel routes and its
//!   limits. [`Socket::router`] gives an axum router to nest at the mount path.
//! * A [`Channel`] is one joined topic on one connection: `join`, `handle_in`
//!   with replies, `handle_out` for intercepted broadcasts, `handle_info` for
//!   messages from server code, and `terminate`.
//! * [`PubSub`] delivers broadcasts; one encoding per serializer is shared by
//!   every subscribed connection (the fastlane).
//!
//! ```no_run
//! use embercast_server::{Channel, ChannelSocket, HandleResult, JoinResult, Payload, Socket};
//!
//! struct RoomChannel;
//!
//! impl Channel for RoomChannel {
//!     async fn join(_topic: &str, _payload: Payload, _socket: &mut ChannelSocket) -> JoinResult<Self> {
//!         Ok(RoomChannel.into())
//!     }
//!
//!     async fn handle_in(&mut self, event: &str, payload: Payload, socket: &mut ChannelSocket) -> HandleResult {
//!         if event == "new_msg" {
//!             socket.broadcast("new_msg", payload)?;
//!         }
//!         Ok(None)
//!     }
//! }
//!
//! # async fn run() {
//! use axum::serve::ListenerExt;
//!
//! let app = axum::Router::new().nest("/socket", Socket::new().channel::<RoomChannel>("rooms:*").router());
//! // Small frames must not wait for Nagle's algorithm.
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:4000").await.unwrap().tap_io(|tcp| {
//!     let _ = tcp.set_nodelay(true);
//! });
//! axum::serve(listener, app).await.unwrap();
//! # }
//! ```
//!
//! ## Behaviour worth knowing
//!
//! | situation | what the client sees |
//! |---|---|
//! | `connect` refuses, bad `vsn`, origin refused | HTTP 403 before the upgrade |
//! | join to an unrouted topic | error reply `{"reason":"unmatched topic"}` |
//! | a callback panics | `phx_error` for that channel; others carry on |
//! | `disconnect` broadcast on the socket id, idle timeout | close code 1001 |
//! | a message over the size limit | close code 1009 |
//! | a client that does not read its frames (8 MiB queued) | dropped |
//! | a frame that does not decode | dropped and logged; the connection stays |

mod assigns;
mod budget;
mod channel;
mod context;
mod mailbox;
mod origin;
mod outbox;
mod params;
mod pubsub;
mod router;
mod runtime;
mod serve;
mod session;
mod socket;
mod transport;
mod wire;

pub use assigns::Assigns;
pub use channel::{
    Channel, HandleResult, Info, InfoResult, JoinError, JoinResult, Joined, Reply, Stop, StopReason, Terminate,
};
pub use context::{BroadcastHold, ChannelHandle, ChannelSocket, PushHandle, ReplyHandle};
pub use embercast_protocol::{Broadcast, EncodedFrame, FrameKind, JsonObjectText, Payload, Ref, Serializer};
pub use origin::{CheckOrigin, OriginPattern};
pub use outbox::{CloseReason, PushError};
pub use params::Params;
pub use pubsub::{
    Adapter, FrameCache, Listener, LocalDispatch, MemoryCluster, PubSub, PubSubError, Subscriber, SubscriberId,
    Subscription,
};
pub use serve::Server;
pub use socket::{Accept, ConnectInfo, Drain, Reject, Socket};
pub use transport::longpoll::LongPoll;
