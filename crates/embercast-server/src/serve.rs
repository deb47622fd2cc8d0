//! Serving an app over TCP with what a real-time server needs.
//!
//! `axum::serve` works (Embercast sockets run on any hyper server), but it
//! sets no deadline for request headers, so half-sent requests can hold file
//! descriptors forever, and its graceful shutdown waits for every open HTTP
//! connection without limit. [`Server`] adds those bounds, turns off Nagle's
//! algorithm, and gives `connect` the peer address.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

/// An HTTP/1.1 server for an axum app with an Embercast socket mounted in it.
///
/// ```no_run
/// # async fn run(app: axum::Router) -> std::io::Result<()> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:4000").await?;
/// embercast_server::Server::new(listener, app).run(async { let _ = tokio::signal::ctrl_c().await; }).await
/// # }
/// ```
pub struct Server {
    listener: TcpListener,
    app: axum::Router,
    header_timeout: Duration,
    max_connections: usize,
    shutdown_timeout: Duration,
}

impl Server {
    /// Serves `app` on `listener`: 10 s to send request headers, at most
    /// 10,000 HTTP connections before their upgrade, 5 s of grace on shutdown.
    pub fn new(listener: TcpListener, app: axum::Router) -> Self {
        Server {
            listener,
            app,
            header_timeout: Duration::from_secs(10),
            max_connections: 10_000,
            shutdown_timeout: Duration::from_secs(5),
        }
    }

    /// How long a client may take to send a request's headers.
    pub fn header_timeout(mut self, timeout: Duration) -> Self {
        self.header_timeout = timeout;
        self
    }

    /// How many plain HTTP connections may be open at once; WebSockets stop
    /// counting once upgraded. Connections over the limit are closed at once.
    pub fn max_connections(mut self, max: usize) -> Self {
        self.max_connections = max;
        self
    }

    /// How long in-flight HTTP requests may finish after `shutdown` resolves.
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// Serves until `shutdown` resolves (drain your sockets before that), then
    /// waits up to the shutdown timeout for HTTP requests in flight.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send) -> std::io::Result<()> {
        let Server { listener, app, header_timeout, max_connections, shutdown_timeout } = self;
        let open = Arc::new(Semaphore::new(max_connections));
        // Tells every HTTP connection to stop: idle keep-alive ones close at
        // once (browsers keep some open), requests in flight finish first.
        let (stop, stopping) = tokio::sync::watch::channel(());
        tokio::pin!(shutdown);
        let mut warned = false;
        loop {
            let (tcp, peer) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        // Out of file descriptors and the like: back off instead of spinning.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                },
                _ = &mut shutdown => break,
            };
            let Ok(permit) = open.clone().try_acquire_owned() else {
                if !warned {
                    tracing::warn!(max_connections, "too many HTTP connections; closing new ones");
                    warned = true;
                }
                continue;
            };
            warned = false;
            let _ = tcp.set_nodelay(true);
            let app = app.clone();
            let service = hyper::service::service_fn(move |mut req: http::Request<Incoming>| {
                req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
                app.clone().oneshot(req)
            });
            let mut stopping = stopping.clone();
            tokio::spawn(async move {
                let conn = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(header_timeout)
                    .serve_connection(TokioIo::new(tcp), service)
                    .with_upgrades();
                tokio::pin!(conn);
                let ended = tokio::select! {
                    ended = conn.as_mut() => ended,
                    // Resolves at once if the stop was sent before this first poll.
                    _ = stopping.changed() => {
                        conn.as_mut().graceful_shutdown();
                        conn.await
                    }
                };
                if let Err(e) = ended {
                    tracing::debug!(?peer, error = %e, "HTTP connection ended with an error");
                }
                drop(permit);
            });
        }
        drop(listener);
        let _ = stop.send(());
        let all = u32::try_from(max_connections).unwrap_or(u32::MAX);
        if tokio::time::timeout(shutdown_timeout, open.acquire_many(all)).await.is_err() {
            tracing::warn!(
                open = max_connections - open.available_permits(),
                "HTTP connections still open; stopping anyway"
            );
        }
        Ok(())
    }
}
