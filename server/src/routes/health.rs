//! `/healthz`, for load balancers.

use axum::{Router, extract::State, http::StatusCode, routing::get};
use sea_orm::DatabaseConnection;

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz))
}

/// 200 when this instance can reach its database, 503 otherwise. A pooled connection that
/// lived through an outage is found broken only when used (the pool tests only connections idle
/// for a while, see `db::options`), and that use closes it: a second try, on another or a new
/// connection, tells a stale connection from a database that is still away.
async fn healthz(State(db): State<DatabaseConnection>) -> (StatusCode, &'static str) {
    let mut pinged = db.ping().await;
    if pinged.is_err() {
        pinged = db.ping().await;
    }
    match pinged {
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
