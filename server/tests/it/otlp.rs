//! Trace export: the real binary with `REINICIO_OTLP_ENDPOINT` pointing at a collector on
//! loopback (an OTLP/HTTP receiver that keeps what it is sent). The spans of a request arrive
//! with the service's name and the request's ID, at the latest when the server stops.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{Router, body::Bytes, routing::post};

use crate::metrics::start;

/// Starts the collector; the bodies posted to `/v1/traces`, in order.
async fn collector() -> (std::net::SocketAddr, Arc<Mutex<Vec<Bytes>>>) {
    let received = Arc::new(Mutex::new(Vec::new()));
    let store = received.clone();
    let app = Router::new().route(
        "/v1/traces",
        // An empty ExportTraceServiceResponse: everything accepted.
        post(move |body: Bytes| async move {
            store.lock().unwrap().push(body);
            (
                [("content-type", "application/x-protobuf")],
                Vec::<u8>::new(),
            )
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, received)
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_requests_spans_reach_the_collector_with_its_request_id() {
    let (addr, received) = collector().await;
    let dir = tempfile::tempdir().unwrap();
    let endpoint = format!("http://{addr}");
    let mut server = start(dir.path(), &[("REINICIO_OTLP_ENDPOINT", &endpoint)]);
    let hit = r#"{"clasificacion":"usuario_general","correo":"maria.perez@example.com","identificacion":"1710034065"}"#;
    let answer = server.public.post_json("/api/buscar_id", hit).await;
    assert_eq!(answer.status, 200);
    let request_id = answer.header("x-request-id").unwrap().to_owned();

    // SIGTERM: the server stops and sends what its exporter still holds.
    let status = std::process::Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    while server.child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "the server did not stop");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let all: Vec<u8> = received.lock().unwrap().concat();
    assert!(!all.is_empty(), "nothing exported");
    for expected in [
        "reinicio-clave",
        "peticion",
        "buscar_id",
        request_id.as_str(),
    ] {
        assert!(
            contains(&all, expected),
            "{expected} missing from the export"
        );
    }
}
