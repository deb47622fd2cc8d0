//! What every transport does before a connection exists: the origin check,
//! `vsn` negotiation and the app's `connect` (PROTOCOL.md §2.3–2.6), then
//! the session every transport drives the same way.

use std::sync::Arc;

use embercast_protocol::Serializer;
use http::{header, request::Parts};

use crate::context::ConnShared;
use crate::outbox::Outbox;
use crate::params::Params;
use crate::session::Session;
use crate::socket::{Accept, ConnectInfo, Reject, SocketShared};

/// Why a connection was not opened. Each transport answers it its own way
/// (WebSocket: an HTTP status; LongPoll: `{"status":403}`).
#[derive(Debug)]
pub(crate) enum Refused {
    Origin,
    Vsn,
    Connect(Reject),
}

/// Runs the checks and `connect`, in Phoenix's order.
pub(crate) async fn admit(
    socket: &SocketShared,
    parts: &Parts,
    params: Params,
    auth_token: Option<String>,
    transport: &'static str,
) -> Result<(Serializer, Accept), Refused> {
    let origin = parts.headers.get(header::ORIGIN).map(|o| o.to_str().unwrap_or("\u{0}"));
    if !socket.config.check_origin.allows(origin) {
        tracing::warn!(?origin, transport, "connection refused: origin not allowed");
        return Err(Refused::Origin);
    }
    let Some(serializer) = negotiate(&params) else {
        tracing::warn!(vsn = ?params.get("vsn"), transport, "connection refused: unsupported vsn");
        return Err(Refused::Vsn);
    };
    let info = ConnectInfo {
        params,
        auth_token,
        peer_addr: parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0),
        headers: parts.headers.clone(),
        // Under `Router::nest` the URI is relative to the mount; report the one the client asked for.
        uri: parts.extensions.get::<axum::extract::OriginalUri>().map_or_else(|| parts.uri.clone(), |u| u.0.clone()),
        transport,
    };
    let peer = info.peer_addr;
    match (socket.connect)(info).await {
        Ok(accept) => Ok((serializer, accept)),
        Err(reject) => {
            tracing::info!(?peer, transport, status = reject.status.as_u16(), "connection refused by connect");
            Err(Refused::Connect(reject))
        }
    }
}

/// `vsn` missing → V1, `1.x.y` → V1, `2.x.y` → V2, anything else (including
/// an array-valued `vsn[]`) → refused.
fn negotiate(params: &Params) -> Option<Serializer> {
    if params.has_nested("vsn") {
        return None;
    }
    Serializer::from_vsn(params.get("vsn")).ok()
}

/// Creates the connection's session and outbox. `binary` says whether the
/// transport can carry binary frames.
pub(crate) fn open(
    socket: Arc<SocketShared>,
    serializer: Serializer,
    accept: Accept,
    binary: bool,
    transport: &'static str,
) -> (Session, Arc<Outbox>) {
    let outbox = Arc::new(Outbox::new(serializer, binary, socket.config.max_queued_bytes));
    let shared = Arc::new(ConnShared {
        outbox: outbox.clone(),
        inbound: Default::default(),
        pubsub: socket.pubsub.clone(),
        assigns: accept.assigns,
        endpoint_assigns: socket.assigns.clone(),
        socket_id: accept.id,
    });
    tracing::info!(transport, vsn = serializer.vsn(), socket_id = ?shared.socket_id, "connected");
    (Session::new(socket, shared), outbox)
}
