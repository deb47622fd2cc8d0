//! [`Server::run`]'s shutdown: idle keep-alive HTTP connections (browsers
//! keep some open) are closed at once instead of holding the shutdown for
//! its whole grace period, while a request in flight still gets its answer.

use std::time::Duration;

use embercast_server::Server;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

const DEADLINE: Duration = Duration::from_secs(5);

async fn get(stream: &mut TcpStream, path: &str) -> String {
    let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n");
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let mut got = String::new();
    while !got.contains("\r\n\r\n") || !got.ends_with("ok") {
        let n = tokio::time::timeout(DEADLINE, stream.read(&mut buf)).await.expect("a response").unwrap();
        assert!(n > 0, "closed before the response: {got:?}");
        got.push_str(std::str::from_utf8(&buf[..n]).unwrap());
    }
    got
}

#[tokio::test]
async fn idle_keep_alive_connections_do_not_hold_the_shutdown() {
    let (release, released) = oneshot::channel::<()>();
    let (entered_tx, entered) = oneshot::channel::<()>();
    let slow = std::sync::Arc::new(tokio::sync::Mutex::new(Some((entered_tx, released))));
    let app = axum::Router::new().route("/", axum::routing::get(|| async { "ok" })).route(
        "/slow",
        axum::routing::get(move || {
            let slow = slow.clone();
            async move {
                if let Some((entered, released)) = slow.lock().await.take() {
                    let _ = entered.send(());
                    let _ = released.await;
                }
                "ok"
            }
        }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    // A grace far longer than the test's deadline: only closing idle connections can end it in time.
    let server = Server::new(listener, app).shutdown_timeout(Duration::from_secs(60));
    let running = tokio::spawn(server.run(async {
        let _ = stopped.await;
    }));

    let mut idle = TcpStream::connect(addr).await.unwrap();
    assert!(get(&mut idle, "/").await.starts_with("HTTP/1.1 200"));
    let mut busy = TcpStream::connect(addr).await.unwrap();
    busy.write_all(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    tokio::time::timeout(DEADLINE, entered).await.expect("the slow request started").unwrap();

    stop.send(()).unwrap();
    // The idle connection is closed by the server.
    let mut buf = [0u8; 16];
    let n = tokio::time::timeout(DEADLINE, idle.read(&mut buf)).await.expect("the idle connection closed").unwrap();
    assert_eq!(n, 0);
    // The request in flight is still answered, then the server stops.
    release.send(()).unwrap();
    let mut answer = String::new();
    tokio::time::timeout(DEADLINE, busy.read_to_string(&mut answer)).await.expect("the slow answer").unwrap();
    assert!(answer.starts_with("HTTP/1.1 200") && answer.ends_with("ok"), "{answer:?}");
    tokio::time::timeout(DEADLINE, running).await.expect("run returned").unwrap().unwrap();
}
