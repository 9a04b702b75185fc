//! Connections that are slow, idle, too many, or open at shutdown. Raw TCP throughout: these
//! tests are about connections (half-sent heads and bodies, silence, one too many), which an
//! HTTP client does not make.

use super::*;

/// A GET of `path` over a fresh connection: (status, whole answer).
async fn raw_get(addr: SocketAddr, path: &str) -> (Option<u16>, String) {
    let answer = helpers::raw_exchange(
        addr,
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await;
    (helpers::raw_status(&answer), answer)
}

/// Waits until the server closes `stream` (reads to the end), at most `limit`; the time it took.
async fn closed_within(stream: &mut tokio::net::TcpStream, limit: Duration) -> Duration {
    let started = Instant::now();
    let mut sink = Vec::new();
    let read = tokio::time::timeout(limit, stream.read_to_end(&mut sink)).await;
    assert!(
        read.is_ok(),
        "the connection stayed open longer than {limit:?}"
    );
    started.elapsed()
}

/// Slow headers and idle keep-alive connections are closed after the header timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_idle_connections_are_closed() {
    let app = TestApp::spawn_with(&[("REINICIO_HEADER_TIMEOUT_SECONDS", "1")]).await;
    // Headers that never end.
    let mut slow = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    // A connection that sends nothing at all.
    let mut silent = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    // A keep-alive connection, idle after its first answer.
    let mut idle = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut first = [0u8; 12];
    idle.read_exact(&mut first).await.unwrap();
    assert_eq!(&first, b"HTTP/1.1 200");
    for (what, stream) in [
        ("slow", &mut slow),
        ("silent", &mut silent),
        ("idle", &mut idle),
    ] {
        let took = closed_within(stream, Duration::from_secs(5)).await;
        assert!(took < Duration::from_secs(5), "{what}: {took:?}");
    }
}

/// Past the cap on open connections, one more is answered 503 with Retry-After and closed; the
/// server keeps answering once connections are freed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_the_cap_are_refused_clearly() {
    let app = TestApp::spawn_with(&[
        ("REINICIO_MAX_CONNECTIONS", "20"),
        ("REINICIO_HEADER_TIMEOUT_SECONDS", "60"),
    ])
    .await;
    let mut held = Vec::new();
    for _ in 0..20 {
        let mut s = tokio::net::TcpStream::connect(app.addr).await.unwrap();
        s.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
        held.push(s);
    }
    // Give the server a moment to accept all twenty.
    tokio::time::sleep(Duration::from_millis(200)).await;
    // Answered before its request is read: the whole exchange is the server's few bytes.
    let (status, answer) = raw_get(app.addr, "/healthz").await;
    assert_eq!(status, Some(503), "{answer}");
    assert!(answer.contains("demasiadas conexiones"), "{answer}");
    assert!(answer.contains("Retry-After: 5"), "{answer}");
    drop(held);
    wait_until(
        Duration::from_secs(5),
        "the server answers again",
        async || raw_get(app.addr, "/healthz").await.0 == Some(200),
    )
    .await;
}

/// A shutdown waits for requests in flight at most the grace period, however many slow
/// connections are open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_has_a_deadline() {
    let app = TestApp::spawn_with(&[
        ("REINICIO_HEADER_TIMEOUT_SECONDS", "600"),
        ("REINICIO_REQUEST_TIMEOUT_SECONDS", "600"),
        ("REINICIO_SHUTDOWN_GRACE_SECONDS", "1"),
    ])
    .await;
    let addr = app.addr;
    // One connection mid-headers, one mid-body: both would hold a plain graceful shutdown.
    let mut headers = tokio::net::TcpStream::connect(addr).await.unwrap();
    headers
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut body = tokio::net::TcpStream::connect(addr).await.unwrap();
    body.write_all(b"POST /ingreso HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 50\r\n\r\nusuario=")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    app.shut_down(Duration::from_secs(10)).await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}
