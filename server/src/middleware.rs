//! What every request goes through, whatever its area: the client's address, bounded bodies,
//! same-origin writes, a time limit, security and caching headers, compression and tracing.
//! Layers that belong to one area (the API's JSON rule and address limit, the account pages'
//! session guard) are that area's `route_layer`s, in `routes/`.

use std::net::{IpAddr, SocketAddr};

use app::api::ssr::ClientAddr;
use axum::{
    Router,
    extract::{ConnectInfo, Request, State},
    http::{HeaderName, HeaderValue, Method, StatusCode, header},
    middleware::{self, Next},
    response::Response,
};

use crate::state::AppState;

/// Largest request body accepted. The forms are a few hundred bytes; a larger body is refused
/// before it is read (sized), or as soon as it passes this size (chunked).
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// Wraps the application's routes in the layers every request goes through, outermost first.
///
/// One `ServiceBuilder`, applied once: each `Router::layer` call boxes every route again, and
/// axum clones a route's boxed service, everything inside it included, each time a request
/// passes through it. With one call per layer a request cost about 140 allocations in these
/// clones alone (BENCHMARKS.md, "Issue 14: the layers in one stack").
pub fn apply(routes: Router<AppState>, state: &AppState) -> Router<AppState> {
    use tower_http::set_header::SetResponseHeaderLayer as Set;
    let fixed = |name: HeaderName, value: &'static str| {
        Set::overriding(name, HeaderValue::from_static(value))
    };
    routes.layer(
        tower::ServiceBuilder::new()
            .layer(middleware::from_fn_with_state(state.clone(), request_id))
            // Every log line of a request carries its ID (the span's field), and so does the
            // answer.
            .layer(tower_http::trace::TraceLayer::new_for_http().make_span_with(request_span))
            // Pages and JSON compressed on the fly at the fastest level (the page is 7 KB, 2 KB
            // compressed); the bundle is already compressed and passes through untouched.
            .layer(
                tower_http::compression::CompressionLayer::new()
                    .quality(tower_http::CompressionLevel::Fastest),
            )
            // Pages carry this response's CSP nonce and, behind a session, account data: never
            // kept by a browser or a proxy. (The bundle under /pkg sets its own, long, caching.)
            .layer(Set::if_not_present(
                header::CACHE_CONTROL,
                |r: &Response| {
                    r.headers()
                        .get(header::CONTENT_TYPE)
                        .is_some_and(|t| t.as_bytes().starts_with(b"text/html"))
                        .then(|| HeaderValue::from_static("no-store"))
                },
            ))
            // Headers on every response. Pages set their own Content-Security-Policy (with the
            // nonce of their hydration script); anything else gets a policy that runs no script.
            .option_layer(state.secure_cookies.then(|| {
                fixed(
                    header::STRICT_TRANSPORT_SECURITY,
                    "max-age=31536000; includeSubDomains",
                )
            }))
            .layer(Set::if_not_present(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(
                    "default-src 'self'; script-src 'none'; object-src 'none'; base-uri 'none'; \
                     form-action 'self'; frame-ancestors 'none'",
                ),
            ))
            .layer(fixed(header::X_FRAME_OPTIONS, "DENY"))
            .layer(fixed(header::REFERRER_POLICY, "no-referrer"))
            .layer(fixed(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            // No request holds a connection and a database slot forever: 408 after this long.
            // Inside the security headers, so that a 408 carries them like every other answer.
            .layer(tower_http::timeout::TimeoutLayer::with_status_code(
                StatusCode::REQUEST_TIMEOUT,
                state.request_timeout,
            ))
            .layer(middleware::from_fn(bounded_body))
            .layer(middleware::from_fn(same_origin_only))
            .layer(middleware::from_fn_with_state(state.clone(), client_addr)),
    )
}

const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Names the request: a trusted proxy's ID when it is plain (letters, digits, `-`, `_`, `.`, at
/// most 64), so that the proxy's logs and ours name it alike; otherwise a new one. A client
/// sending one directly does not choose what our logs and audit rows call its request. The ID
/// goes into the request's header (for the log span), the audit rows it causes
/// (`services::audit::REQUEST_ID`) and the answer. One layer, not tower-http's two plus ours:
/// each layer costs every request, `/healthz` included.
async fn request_id(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let given = state
        .trusted_proxy
        .then(|| request.headers().get(&X_REQUEST_ID))
        .flatten()
        .filter(|v| {
            let v = v.as_bytes();
            (1..=64).contains(&v.len())
                && v.iter()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        })
        .cloned();
    let id = given.unwrap_or_else(new_request_id);
    request.headers_mut().insert(X_REQUEST_ID, id.clone());
    // Plain ASCII by construction.
    let text = id.to_str().unwrap_or_default().to_owned();
    let mut response = crate::services::audit::REQUEST_ID
        .scope(text, next.run(request))
        .await;
    response.headers_mut().insert(X_REQUEST_ID, id);
    response
}

/// 32 hex digits: 64 random bits drawn once per process, then a counter. Unique across
/// instances without a system call per request.
fn new_request_id() -> HeaderValue {
    use std::sync::{
        OnceLock,
        atomic::{AtomicU64, Ordering},
    };
    static PREFIX: OnceLock<u64> = OnceLock::new();
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let prefix = *PREFIX.get_or_init(|| {
        let mut bytes = [0u8; 8];
        // Without the OS's randomness, the time still tells instances apart.
        if getrandom::fill(&mut bytes).is_err() {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            bytes = (nanos as u64).to_le_bytes();
        }
        u64::from_le_bytes(bytes)
    });
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let text = format!("{prefix:016x}{n:016x}");
    HeaderValue::from_str(&text).unwrap_or(HeaderValue::from_static("0"))
}

/// The span every log line of a request is in: method, path (never the query) and its ID.
fn request_span<B>(request: &axum::http::Request<B>) -> tracing::Span {
    let id = request
        .headers()
        .get(&X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    tracing::info_span!(
        "peticion",
        method = %request.method(),
        path = %request.uri().path(),
        request_id = %id,
    )
}

/// The client's address, for limits and audit: the socket's peer, or with a trusted proxy the
/// last entry of `X-Forwarded-For` (the one the proxy itself wrote; every earlier entry was
/// written by the client and proves nothing). Proxies write it as `IP`, `IP:port`, `[v6]` or
/// `[v6]:port`; anything else is not taken, and never replaced by an earlier entry: the request
/// then counts under the proxy's own address.
async fn client_addr(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let forwarded = if state.trusted_proxy {
        let last = request
            .headers()
            .get_all("x-forwarded-for")
            .iter()
            .next_back()
            .map(|v| v.to_str().ok().and_then(forwarded_addr));
        if let Some(None) = last {
            tracing::warn!("X-Forwarded-For ilegible: se usa la dirección del proxy");
        }
        last.flatten()
    } else {
        None
    };
    if let Some(addr) = forwarded.or(peer) {
        request.extensions_mut().insert(ClientAddr(addr));
    }
    next.run(request).await
}

/// The address in the last entry of one `X-Forwarded-For` header value.
pub fn forwarded_addr(value: &str) -> Option<IpAddr> {
    let entry = value.rsplit(',').next()?.trim();
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            entry
                .strip_prefix('[')?
                .strip_suffix(']')?
                .parse::<std::net::Ipv6Addr>()
                .ok()
                .map(IpAddr::V6)
        })
}

/// Bodies are bounded whether or not they say their size: a sized one over [`MAX_BODY_BYTES`] is
/// refused before it is read, a chunked one as soon as it passes the bound. Either way `413`.
async fn bounded_body(request: Request, next: Next) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let too_large = || {
        Response::builder()
            .status(StatusCode::PAYLOAD_TOO_LARGE)
            .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
            .header(header::CONNECTION, "close")
            .body("La solicitud es demasiado grande.".into())
            .unwrap_or_default()
    };
    match declared {
        Some(n) if n > MAX_BODY_BYTES as u64 => too_large(),
        Some(_) => next.run(request).await,
        None if request.method() == Method::GET || request.method() == Method::HEAD => {
            next.run(request).await
        }
        None => {
            let (parts, body) = request.into_parts();
            match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
                Ok(bytes) => next.run(Request::from_parts(parts, bytes.into())).await,
                Err(_) => too_large(),
            }
        }
    }
}

/// State-changing requests only from pages of this site. Browsers say where a request comes from
/// (`Sec-Fetch-Site`, or at least `Origin`); a request from another site is refused before it
/// does anything. Clients that send neither (curl, scripts) are not browsers carrying someone
/// else's cookies, and pass.
async fn same_origin_only(request: Request, next: Next) -> Response {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return next.run(request).await;
    }
    let headers = request.headers();
    let site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    let allowed = match site {
        Some(site) => site == "same-origin" || site == "none",
        None => match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
            None => true,
            Some(origin) => {
                let host = headers
                    .get(header::HOST)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                origin
                    .split_once("://")
                    .is_some_and(|(_, rest)| rest.trim_end_matches('/').eq_ignore_ascii_case(host))
            }
        },
    };
    if allowed {
        return next.run(request).await;
    }
    tracing::warn!(path = %request.uri().path(), "solicitud de otro sitio rechazada");
    Response::builder()
        .status(StatusCode::FORBIDDEN)
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .body("Solicitud rechazada: debe enviarse desde la página del servicio.".into())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_forwarded_address_is_the_last_entry_in_every_form_proxies_write() {
        let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        for (value, expected) in [
            ("203.0.113.9", Some(ip("203.0.113.9"))),
            ("1.1.1.1, 203.0.113.9", Some(ip("203.0.113.9"))),
            ("1.1.1.1, 203.0.113.9:4711", Some(ip("203.0.113.9"))),
            ("1.1.1.1,[2001:db8::7]", Some(ip("2001:db8::7"))),
            ("1.1.1.1, [2001:db8::7]:443", Some(ip("2001:db8::7"))),
            ("1.1.1.1, 2001:db8::7", Some(ip("2001:db8::7"))),
            // Unreadable last entry: nothing, never the earlier (client-written) one.
            ("1.1.1.1, unknown", None),
            ("1.1.1.1, ", None),
            ("1.1.1.1, _hidden", None),
            ("1.1.1.1, 203.0.113.9:notaport", None),
        ] {
            assert_eq!(super::forwarded_addr(value), expected, "{value}");
        }
    }
}
