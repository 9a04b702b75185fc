//! The HTTP surface: the Leptos pages and server functions, static files, and `/healthz`.

use std::net::SocketAddr;

use app::api::ssr::ClientAddr;
use axum::{
    Router,
    extract::{ConnectInfo, Request, State},
    http::StatusCode,
    middleware::{self, Next},
    response::Response,
    routing::{get, post},
};
use leptos::prelude::*;
use leptos_axum::LeptosRoutes;
use sea_orm::DatabaseConnection;

use crate::state::AppState;

/// Largest request body accepted. The forms are a few hundred bytes; a larger body is refused
/// before it is read (sized), or as soon as it passes this size (chunked).
pub const MAX_BODY_BYTES: usize = 16 * 1024;

pub fn router(state: AppState) -> Router {
    // The pages the app has (it has no router of its own: see `app::Pagina`).
    let routes = app::Pagina::RUTAS
        .iter()
        .map(|(ruta, _)| {
            leptos_axum::AxumRouteListing::new(
                (*ruta).to_owned(),
                leptos_router::SsrMode::default(),
                [leptos_router::Method::Get],
                Vec::new(),
            )
        })
        .collect();
    let options = state.leptos_options.clone();
    let backend = state.backend.clone();
    let hsts = state.secure_cookies;
    let request_timeout = state.request_timeout;
    let app = Router::new()
        .route("/healthz", get(healthz))
        // The forms without JavaScript post to the page itself.
        .route("/", post(crate::routes::no_js::enviar))
        .route("/ingreso", post(crate::routes::account::ingresar))
        .route("/cambio-clave", post(crate::routes::account::cambiar))
        .route("/salir", post(crate::routes::account::salir))
        .leptos_routes_with_context(
            &state,
            routes,
            // Server functions reach the services through context, never through globals.
            move || provide_context(backend.clone()),
            move || app::shell(options.clone()),
        )
        .nest_service(
            &format!("/{}", state.leptos_options.site_pkg_dir),
            paquete(&state.leptos_options),
        )
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(
            app::shell,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::routes::account::guardia,
        ))
        .layer(middleware::from_fn(json_only_api))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            limite_por_direccion,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), client_addr))
        .layer(middleware::from_fn(same_origin_only))
        .layer(middleware::from_fn(cuerpo_acotado))
        // No request holds a connection and a database slot forever: 408 after this long. Inside
        // the security headers, so that a 408 carries them like every other answer.
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            request_timeout,
        ));
    security_headers(app, hsts)
        // Pages carry this response's CSP nonce and, behind a session, account data: never kept
        // by a browser or a proxy. (The bundle under /pkg sets its own, long, caching.)
        .layer(
            tower_http::set_header::SetResponseHeaderLayer::if_not_present(
                axum::http::header::CACHE_CONTROL,
                |r: &Response| {
                    r.headers()
                        .get(axum::http::header::CONTENT_TYPE)
                        .is_some_and(|t| t.as_bytes().starts_with(b"text/html"))
                        .then(|| axum::http::HeaderValue::from_static("no-store"))
                },
            ),
        )
        // Pages and JSON compressed on the fly at the fastest level (the page is 7 KB, 2 KB
        // compressed); the bundle is already compressed and passes through untouched.
        .layer(
            tower_http::compression::CompressionLayer::new()
                .quality(tower_http::CompressionLevel::Fastest),
        )
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
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
    let forwarded = if state.proxy_confiable {
        let ultima = request
            .headers()
            .get_all("x-forwarded-for")
            .iter()
            .next_back()
            .map(|v| v.to_str().ok().and_then(direccion_reenviada));
        if let Some(None) = ultima {
            tracing::warn!("X-Forwarded-For ilegible: se usa la dirección del proxy");
        }
        ultima.flatten()
    } else {
        None
    };
    if let Some(addr) = forwarded.or(peer) {
        request.extensions_mut().insert(ClientAddr(addr));
    }
    next.run(request).await
}

/// The address in the last entry of one `X-Forwarded-For` header value.
pub fn direccion_reenviada(valor: &str) -> Option<std::net::IpAddr> {
    let entrada = valor.rsplit(',').next()?.trim();
    entrada
        .parse::<std::net::IpAddr>()
        .ok()
        .or_else(|| entrada.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            entrada
                .strip_prefix('[')?
                .strip_suffix(']')?
                .parse::<std::net::Ipv6Addr>()
                .ok()
                .map(std::net::IpAddr::V6)
        })
}

/// The API's "Buscar ID" and reset requests: at most the configured quota per client address;
/// past it, 429 with `Retry-After` and the Spanish message. (The forms posted without JavaScript
/// check the same quota in their handlers, which render the page with the message in place.)
async fn limite_por_direccion(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    use axum::http::{Method, header};
    let limitada = request.method() == Method::POST
        && matches!(
            request.uri().path(),
            "/api/buscar_id" | "/api/solicitar_reinicio"
        );
    let addr = request.extensions().get::<ClientAddr>().map(|c| c.0);
    let (true, Some(addr)) = (limitada, addr) else {
        return next.run(request).await;
    };
    let Err(segundos) = state.limite_ip.check(addr) else {
        return next.run(request).await;
    };
    tracing::warn!(%addr, "límite por dirección alcanzado");
    let error = app::api::ApiError::LimiteDireccion { segundos };
    Response::builder()
        .status(StatusCode::TOO_MANY_REQUESTS)
        .header(header::RETRY_AFTER, segundos)
        .header(header::CONTENT_TYPE, "application/json")
        .body(serde_json::to_string(&error).unwrap_or_default().into())
        .unwrap_or_default()
}

/// Bodies are bounded whether or not they say their size: a sized one over [`MAX_BODY_BYTES`] is
/// refused before it is read, a chunked one as soon as it passes the bound. Either way `413`.
async fn cuerpo_acotado(request: Request, next: Next) -> Response {
    use axum::http::header;
    let declarado = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let demasiado = || {
        Response::builder()
            .status(StatusCode::PAYLOAD_TOO_LARGE)
            .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
            .header(header::CONNECTION, "close")
            .body("La solicitud es demasiado grande.".into())
            .unwrap_or_default()
    };
    match declarado {
        Some(n) if n > MAX_BODY_BYTES as u64 => demasiado(),
        Some(_) => next.run(request).await,
        None if request.method() == axum::http::Method::GET
            || request.method() == axum::http::Method::HEAD =>
        {
            next.run(request).await
        }
        None => {
            let (parts, body) = request.into_parts();
            match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
                Ok(bytes) => next.run(Request::from_parts(parts, bytes.into())).await,
                Err(_) => demasiado(),
            }
        }
    }
}

/// The API speaks JSON. Refusing other content types also keeps cross-site pages out: a browser
/// sends `application/json` across origins only after a CORS preflight, which this server never
/// approves.
async fn json_only_api(request: Request, next: Next) -> Response {
    if request.uri().path().starts_with("/api/") && request.method() == axum::http::Method::POST {
        let json = request
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
        if !json {
            let body = serde_json::to_string(&app::api::ApiError::Solicitud).unwrap_or_default();
            return Response::builder()
                .status(StatusCode::UNSUPPORTED_MEDIA_TYPE)
                .header(axum::http::header::CONTENT_TYPE, "application/json")
                .body(body.into())
                .unwrap_or_default();
        }
    }
    next.run(request).await
}

/// The browser bundle under `/pkg`. A release build leaves a `.br` and a `.gz` beside each file
/// (`cargo leptos build --release --precompress`): they are sent as they are to browsers that
/// accept them, with no compression work per request. When file names carry a content hash, a
/// new build means new names, so a file found here may be cached for a year without asking
/// again; without hashes (development), the browser revalidates every time.
fn paquete(
    options: &LeptosOptions,
) -> tower::util::BoxCloneSyncService<Request, Response, std::convert::Infallible> {
    use axum::http::{HeaderValue, header};
    use tower_http::set_header::SetResponseHeaderLayer as Set;
    let dir = std::path::Path::new(options.site_root.as_ref()).join(options.site_pkg_dir.as_ref());
    let cache = HeaderValue::from_static(if options.hash_files {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    });
    let service = tower::ServiceBuilder::new()
        .layer(Set::overriding(
            header::CACHE_CONTROL,
            move |r: &Response| r.status().is_success().then(|| cache.clone()),
        ))
        .layer(Set::if_not_present(
            header::VARY,
            HeaderValue::from_static("accept-encoding"),
        ))
        .map_response(axum::response::IntoResponse::into_response)
        .service(
            tower_http::services::ServeDir::new(dir)
                .precompressed_br()
                .precompressed_gzip(),
        );
    tower::util::BoxCloneSyncService::new(service)
}

/// Headers on every response. Pages set their own Content-Security-Policy (with the nonce of
/// their hydration script); anything else gets a policy that runs no script at all.
fn security_headers(router: Router<AppState>, hsts: bool) -> Router<AppState> {
    use axum::http::{HeaderName, HeaderValue, header};
    use tower_http::set_header::SetResponseHeaderLayer as Set;
    let fijo = |name: HeaderName, value: &'static str| {
        Set::overriding(name, HeaderValue::from_static(value))
    };
    let router = router
        .layer(fijo(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(fijo(header::REFERRER_POLICY, "no-referrer"))
        .layer(fijo(header::X_FRAME_OPTIONS, "DENY"))
        .layer(Set::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; script-src 'none'; object-src 'none'; base-uri 'none'; \
                 form-action 'self'; frame-ancestors 'none'",
            ),
        ));
    if hsts {
        router.layer(fijo(
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000; includeSubDomains",
        ))
    } else {
        router
    }
}

/// State-changing requests only from pages of this site. Browsers say where a request comes from
/// (`Sec-Fetch-Site`, or at least `Origin`); a request from another site is refused before it
/// does anything. Clients that send neither (curl, scripts) are not browsers carrying someone
/// else's cookies, and pass.
async fn same_origin_only(request: Request, next: Next) -> Response {
    use axum::http::{Method, header};
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

/// For load balancers: 200 when this instance can reach its database, 503 otherwise.
async fn healthz(State(db): State<DatabaseConnection>) -> (StatusCode, &'static str) {
    match db.ping().await {
        Ok(()) => (StatusCode::OK, "ok"),
        Err(error) => {
            tracing::error!(%error, "healthz: la base de datos no responde");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "base de datos no disponible",
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::http::header;

    #[test]
    fn the_forwarded_address_is_the_last_entry_in_every_form_proxies_write() {
        let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        for (valor, esperado) in [
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
            assert_eq!(super::direccion_reenviada(valor), esperado, "{valor}");
        }
    }
    use tower::ServiceExt;

    use super::*;

    async fn pedir(
        options: &LeptosOptions,
        path: &str,
        accept: &str,
    ) -> (StatusCode, Option<String>, Option<String>, Vec<u8>) {
        let request = Request::get(path)
            .header(header::ACCEPT_ENCODING, accept)
            .body(axum::body::Body::empty())
            .unwrap();
        let response = paquete(options).oneshot(request).await.unwrap();
        let get = |name| {
            response
                .headers()
                .get(name)
                .map(|v: &axum::http::HeaderValue| v.to_str().unwrap().to_owned())
        };
        let (encoding, cache) = (get(header::CONTENT_ENCODING), get(header::CACHE_CONTROL));
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap()
            .to_vec();
        (status, encoding, cache, body)
    }

    #[tokio::test]
    async fn the_bundle_goes_out_precompressed_and_hashed_names_are_cached_for_a_year() {
        let site = tempfile::tempdir().unwrap();
        let pkg = site.path().join("pkg");
        std::fs::create_dir_all(&pkg).unwrap();
        std::fs::write(pkg.join("app.abc123.wasm"), b"plain").unwrap();
        std::fs::write(pkg.join("app.abc123.wasm.br"), b"brotli").unwrap();
        std::fs::write(pkg.join("app.abc123.wasm.gz"), b"gzip").unwrap();
        let mut options = LeptosOptions::builder()
            .output_name("app")
            .site_root(site.path().to_str().unwrap())
            .site_pkg_dir("pkg")
            .build();
        options.hash_files = true;
        let year = Some("public, max-age=31536000, immutable".to_owned());

        for (accept, encoding, body) in [
            ("gzip, deflate, br", Some("br"), "brotli"),
            ("gzip", Some("gzip"), "gzip"),
            ("identity", None, "plain"),
        ] {
            let r = pedir(&options, "/app.abc123.wasm", accept).await;
            let expected = (
                StatusCode::OK,
                encoding.map(str::to_owned),
                year.clone(),
                body.as_bytes().to_vec(),
            );
            assert_eq!(r, expected, "Accept-Encoding: {accept}");
        }
        // A miss is not cached: the next build may well have that name.
        let r = pedir(&options, "/app.zzz.wasm", "br").await;
        assert_eq!((r.0, r.2), (StatusCode::NOT_FOUND, None));

        // Without hashed names, the browser must ask every time.
        options.hash_files = false;
        let r = pedir(&options, "/app.abc123.wasm", "br").await;
        assert_eq!(r.2.as_deref(), Some("no-cache"));
    }
}
