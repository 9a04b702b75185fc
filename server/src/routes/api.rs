//! The API under `/api`: the server functions the page calls ("Buscar ID" and the reset
//! request), with the two rules that hold for every API request and for nothing else: JSON only,
//! and the per-address quota.

use std::net::IpAddr;

use app::api::{
    ApiError, ReinicioSolicitado, UsuarioEncontrado,
    ssr::{Backend, BoxFuture, ClientAddr},
};
use axum::{
    Router,
    extract::{Request, State},
    http::{Method, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::post,
};
use leptos::prelude::provide_context;

use validation::{BusquedaId, ReinicioClave};

use crate::{
    services::{ServiceError, Services, registry},
    state::AppState,
};

pub fn router(state: &AppState) -> Router<AppState> {
    let backend = state.backend.clone();
    let context = move || provide_context(backend.clone());
    let mut router = Router::new();
    // Every server function the app declares; all of them are POST (see `app::api`). The layers
    // go on the POST handler itself, not on the route: another method gets its plain 405 and
    // counts against no quota.
    for (path, method) in leptos::server_fn::axum::server_fn_paths() {
        assert_eq!(method, Method::POST, "{path}: the API only takes POST");
        let context = context.clone();
        router = router.route(
            path,
            post(move |request: Request| async move {
                leptos_axum::handle_server_fns_with_context(context, request)
                    .await
                    .into_response()
            })
            // One stack, outermost first (see `middleware::apply` for why not two calls).
            .route_layer(
                tower::ServiceBuilder::new()
                    .layer(middleware::from_fn_with_state(state.clone(), address_limit))
                    .layer(middleware::from_fn(json_only)),
            ),
        );
    }
    router
}

/// At most the configured quota per client address; past it, 429 with `Retry-After` and the
/// Spanish message. (The forms posted without JavaScript check the same quota in their
/// handler, which renders the page with the message in place.)
async fn address_limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(addr) = request.extensions().get::<ClientAddr>().map(|c| c.0) else {
        return next.run(request).await;
    };
    match state.lookup_address_limit.check(addr) {
        Ok(()) => next.run(request).await,
        Err(segundos) => {
            tracing::warn!(%addr, "límite por dirección alcanzado");
            metrics::counter!("reinicio_limit_refusals_total", "kind" => "direccion").increment(1);
            ApiError::LimiteDireccion { segundos }.into_response()
        }
    }
}

/// The API speaks JSON. Refusing other content types also keeps cross-site pages out: a browser
/// sends `application/json` across origins only after a CORS preflight, which this server never
/// approves.
async fn json_only(request: Request, next: Next) -> Response {
    let json = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if json {
        next.run(request).await
    } else {
        // The API's "unreadable request", with the status that says why.
        let mut response = ApiError::Solicitud.into_response();
        *response.status_mut() = axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE;
        response
    }
}

/// The one adapter between the services and the API: the server functions (and the forms
/// without JavaScript, which call the same [`Backend`]) get the API's types and Spanish texts,
/// the services keep their domain values.
pub struct Adapter(pub Services);

impl Backend for Adapter {
    fn buscar_id(
        &self,
        form: BusquedaId,
        client: Option<IpAddr>,
    ) -> BoxFuture<'_, Result<UsuarioEncontrado, ApiError>> {
        Box::pin(async move {
            let registration = registry::buscar_id(&self.0, &form, client).await?;
            Ok(UsuarioEncontrado {
                usuario: registration.usuario_id,
            })
        })
    }

    fn solicitar_reinicio(
        &self,
        form: ReinicioClave,
        client: Option<IpAddr>,
    ) -> BoxFuture<'_, Result<ReinicioSolicitado, ApiError>> {
        Box::pin(async move {
            let accepted = registry::solicitar_reinicio(&self.0, &form, client).await?;
            Ok(ReinicioSolicitado {
                correo: accepted.correo.masked(),
                vigencia_minutos: accepted.valid_minutes,
            })
        })
    }
}

impl From<ServiceError> for ApiError {
    fn from(error: ServiceError) -> Self {
        match error {
            ServiceError::NoMatch => ApiError::SinCoincidencia,
            ServiceError::Limite { segundos } => ApiError::Limite { segundos },
            ServiceError::Database(error) => {
                // The database's words stay in the log; the person gets the generic message.
                tracing::error!(%error, "error de base de datos atendiendo una solicitud");
                ApiError::Interno
            }
        }
    }
}
