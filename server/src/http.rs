//! The HTTP surface: the Leptos pages and server functions, static files, and `/healthz`.

use std::net::SocketAddr;

use app::api::ssr::{ClientAddr, SharedBackend};
use axum::{
    Router,
    extract::{ConnectInfo, FromRef, Request, State},
    http::StatusCode,
    middleware::{self, Next},
    response::Response,
    routing::{get, post},
};
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes, generate_route_list};
use sea_orm::DatabaseConnection;

/// What every request may need. Cheap to clone: each field is a handle.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub db: DatabaseConnection,
    pub backend: SharedBackend,
    pub services: crate::services::Services,
    /// Session cookies get `Secure` when the public base URL is https.
    pub secure_cookies: bool,
}

/// Largest request body accepted. The forms are a few hundred bytes; a larger body is refused
/// before it is read.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(app::App);
    let options = state.leptos_options.clone();
    let backend = state.backend.clone();
    let hsts = state.secure_cookies;
    let app = Router::new()
        .route("/healthz", get(healthz))
        // The forms without JavaScript post to the page itself.
        .route("/", post(crate::sin_js::enviar))
        .route("/ingreso", post(crate::cuentas::ingresar))
        .route("/cambio-clave", post(crate::cuentas::cambiar))
        .route("/salir", post(crate::cuentas::salir))
        .leptos_routes_with_context(
            &state,
            routes,
            // Server functions reach the services through context, never through globals.
            move || provide_context(backend.clone()),
            move || app::shell(options.clone()),
        )
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(
            app::shell,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::cuentas::guardia,
        ))
        .layer(middleware::from_fn(json_only_api))
        .layer(middleware::from_fn(client_addr))
        .layer(middleware::from_fn(same_origin_only))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            MAX_BODY_BYTES,
        ));
    security_headers(app, hsts)
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

/// Records the client's address for audit: the socket's peer.
async fn client_addr(mut request: Request, next: Next) -> Response {
    if let Some(ConnectInfo(peer)) = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .copied()
    {
        request.extensions_mut().insert(ClientAddr(peer.ip()));
    }
    next.run(request).await
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
