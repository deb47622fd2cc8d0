//! The canonical Phoenix chat channel, in Rust, mounted on an axum router.
//! This is the snippet README.md shows; CI compiles it.
//!
//! Run: `cargo run -p embercast-server --example chat`, then point the phoenix
//! client at `ws://127.0.0.1:4000/socket` and join `rooms:lobby`.

use embercast_server::{Channel, ChannelSocket, HandleResult, JoinError, JoinResult, Payload, Socket};

struct RoomChannel;

impl Channel for RoomChannel {
    async fn join(topic: &str, _payload: Payload, _socket: &mut ChannelSocket) -> JoinResult<Self> {
        match topic {
            "rooms:lobby" => Ok(RoomChannel.into()),
            _ => Err(JoinError::reason("unauthorized")),
        }
    }

    async fn handle_in(&mut self, event: &str, payload: Payload, socket: &mut ChannelSocket) -> HandleResult {
        if event == "new_msg" {
            socket.broadcast("new_msg", payload)?;
        }
        Ok(None)
    }
}

#[tokio::main]
async fn main() {
    use axum::serve::ListenerExt;

    let app = axum::Router::new().nest("/socket", Socket::new().channel::<RoomChannel>("rooms:*").router());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:4000").await.unwrap();
    // Replies and pushes are small frames: do not let Nagle's algorithm hold them back.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app).await.unwrap();
}
