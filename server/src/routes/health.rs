//! `/healthz`, for load balancers.

use axum::{Router, extract::State, http::StatusCode, routing::get};
use sea_orm::DatabaseConnection;

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz))
}

/// 200 when this instance can reach its database, 503 otherwise.
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
