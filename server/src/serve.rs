//! Accepting connections, with the bounds a public server needs (`axum::serve` has none of them):
//! - a client has `header_timeout` to send a request's headers, and an idle keep-alive connection
//!   is closed after the same time (hyper's header-read timer also runs while it waits for the
//!   next request), so slow or silent connections cannot pile up;
//! - at most `max_connections` are open at once; one more is answered `503` with `Retry-After`
//!   and closed, so file descriptors never run out and `/healthz` keeps answering;
//! - on shutdown, the listener closes, idle connections close at once, requests in flight get
//!   `shutdown_grace` to finish, and whatever is left is then closed.
//!
//! Only HTTP/1.1 is served: a reverse proxy or a browser reaches this server over it (TLS and
//! HTTP/2 end at the proxy), and one protocol means one set of timeouts to get right.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use axum::{Router, extract::ConnectInfo};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::{io::AsyncWriteExt, net::TcpListener, task::JoinSet};

#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub header_timeout: Duration,
    pub max_connections: usize,
    pub shutdown_grace: Duration,
}

/// What a connection over the cap reads before it is closed.
const BUSY_TEXT: &str =
    "El servicio atiende demasiadas conexiones. Intente de nuevo en unos segundos.\n";

/// Serves `app` on `listener` until `shutdown` completes and the connections have closed (or the
/// grace has run out).
pub async fn connections(
    listener: TcpListener,
    app: Router,
    settings: Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let slots = Arc::new(tokio::sync::Semaphore::new(settings.max_connections));
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(settings.header_timeout)
        .keep_alive(true);
    let mut tasks = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        // Finished connections leave the set as they go, so it holds only open ones.
        while tasks.try_join_next().is_some() {}
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors or a connection reset before accept: not fatal.
                    // A short pause keeps an exhausted process from spinning.
                    tracing::warn!(%error, "no se pudo aceptar una conexión");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tracing::warn!(%peer, "límite de conexiones abiertas alcanzado");
            tasks.spawn(refuse(stream));
            continue;
        };
        let _ = stream.set_nodelay(true);
        let conn = builder.serve_connection(TokioIo::new(stream), service(app.clone(), peer));
        let conn = graceful.watch(conn);
        tasks.spawn(async move {
            let _ = conn.await;
            drop(slot);
        });
    }
    drop(listener);
    let open = graceful.count();
    if tokio::time::timeout(settings.shutdown_grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            conexiones = open,
            "plazo de parada vencido: se cierran las conexiones restantes"
        );
    }
    tasks.abort_all();
    while tasks.join_next().await.is_some() {}
}

/// The application for one connection: every request carries the peer's address, as
/// `axum::serve`'s `into_make_service_with_connect_info` would give it.
fn service(
    app: Router,
    peer: SocketAddr,
) -> impl hyper::service::Service<
    hyper::Request<Incoming>,
    Response = axum::response::Response,
    Error = std::convert::Infallible,
    Future = impl Future<Output = Result<axum::response::Response, std::convert::Infallible>> + Send,
> + Clone {
    hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        tower::ServiceExt::oneshot(app.clone(), request)
    })
}

/// Over the cap: a short, clear answer, then the connection closes.
async fn refuse(mut stream: tokio::net::TcpStream) {
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        let answer = format!(
            "HTTP/1.1 503 Service Unavailable\r\n\
             Content-Type: text/plain; charset=utf-8\r\n\
             Retry-After: 5\r\n\
             X-Content-Type-Options: nosniff\r\n\
             Cache-Control: no-store\r\n\
             Connection: close\r\n\
             Content-Length: {}\r\n\r\n{BUSY_TEXT}",
            BUSY_TEXT.len()
        );
        let _ = stream.write_all(answer.as_bytes()).await;
        let _ = stream.shutdown().await;
    })
    .await;
}
