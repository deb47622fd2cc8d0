//! An async Phoenix Channels client for tokio, with phoenix.js's model.
//!
//! * A [`Socket`] is one WebSocket connection (`vsn` 2.0.0 or 1.0.0), with
//!   connect params and an optional auth token. It heartbeats, and when the
//!   connection is lost, or a heartbeat goes unanswered, it reconnects with
//!   exponential [`Backoff`] and jitter. Its [`ConnectionState`] can be watched.
//! * A [`Channel`] is one topic: [`join`](Channel::join), [`push`](Channel::push)
//!   and [`leave`](Channel::leave) return a [`Push`] that resolves to the reply
//!   (`ok` → `Ok`, `error` → [`ChannelError::Reply`], no reply →
//!   [`ChannelError::Timeout`]); [`on`](Channel::on) streams events. Channels
//!   rejoin by themselves after errors and reconnects, pushes made before the
//!   join completes are sent once it does, and messages of an outdated join
//!   (a stale join_ref) are dropped.
//! * [`Presence`] folds `presence_state` and `presence_diff` into the current list.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use embercast_client::{ChannelError, Socket};
//! use serde_json::json;
//!
//! let socket = Socket::builder("ws://127.0.0.1:4000/socket").auth_token("s3cret").connect()?;
//! let room = socket.channel("room:lobby", json!({"name": "bob"}));
//! let mut messages = room.on("new_msg");
//! room.join().await?;
//! match room.push("new_msg", json!({"body": "hi"})).await {
//!     Ok(response) => println!("ok: {response:?}"),
//!     Err(ChannelError::Reply(response)) => println!("refused: {response:?}"),
//!     Err(e) => println!("{e}"),
//! }
//! if let Some(msg) = messages.recv().await {
//!     println!("{}: {:?}", msg.event, msg.payload);
//! }
//! socket.disconnect().await;
//! # Ok(())
//! # }
//! ```
//!
//! ## Built for many connections
//!
//! Each socket is one task that owns its connection and the state of all its
//! channels: no task per channel, no timer per push. An idle connection holds
//! no read or write buffer ([`embercast_ws::Connection`]). The connect future
//! is boxed, so it does not enlarge the task once connected. Frames are
//! encoded and decoded by [`embercast_protocol::Serializer`], the server's codec.
//!
//! ## Differences from phoenix.js
//!
//! | phoenix.js | here |
//! |---|---|
//! | callbacks (`channel.on`, `push.receive`) | [`Events`] streams, [`Push`] futures |
//! | a join's timeout runs while the socket is down | it starts when the join is sent |
//! | `push` before `join` throws | it is held until the join succeeds |
//! | the reconnect and rejoin schedules are fixed tables | exponential with jitter ([`Backoff`]) |
//! | LongPoll fallback | WebSocket only (`ws://`, no TLS) |

mod backoff;
mod channel;
mod command;
mod driver;
mod endpoint;
mod error;
mod options;
mod presence;
mod socket;
mod transport;

pub use backoff::Backoff;
pub use channel::{Channel, ChannelState, Event, Events, Push};
pub use embercast_protocol::{Payload, Ref, Serializer};
pub use endpoint::EndpointError;
pub use error::ChannelError;
pub use options::Builder;
pub use presence::{sync_diff, sync_state, Presence, PresenceChange, PresenceState};
pub use socket::{ConnectionState, Socket};
