//! The pages, rendered by Leptos: the request page at `/` here, the account pages in `account`
//! (behind their session guard).

use axum::{Router, routing::get};

use crate::state::AppState;

pub fn router(state: &AppState) -> Router<AppState> {
    Router::new().route("/", render(state))
}

/// `GET` of a page: the app renders the page for the request's path (see `app::Pagina`).
pub fn render(state: &AppState) -> axum::routing::MethodRouter<AppState> {
    // Leptos spawns the rendering's tasks on tokio; idempotent.
    let _ = any_spawner::Executor::init_tokio();
    let options = state.leptos_options.clone();
    get(leptos_axum::render_app_to_stream_with_context(
        || {},
        move || app::shell(options.clone()),
    ))
}
