//! The HTTP surface: the Leptos pages and server functions, static files, and `/healthz`.

use axum::{
    Router,
    extract::{FromRef, State},
    http::StatusCode,
    routing::get,
};
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes, generate_route_list};
use sea_orm::DatabaseConnection;

/// What every request may need. Cheap to clone: each field is a handle.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub db: DatabaseConnection,
}

pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(app::App);
    let options = state.leptos_options.clone();
    let db = state.db.clone();
    Router::new()
        .route("/healthz", get(healthz))
        .leptos_routes_with_context(
            &state,
            routes,
            // Server functions reach the database through context, never through globals.
            move || provide_context(db.clone()),
            move || app::shell(options.clone()),
        )
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(
            app::shell,
        ))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
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
