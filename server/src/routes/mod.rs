//! The HTTP surface, one module per area, each with its own `Router` and the layers that belong
//! to it alone: `api` (the server functions: JSON only, per-address quota), `pages` (the request
//! page), `account` (sign-in and account pages behind their session guard), `no_js` (the forms
//! posted without JavaScript), `assets` (the bundle, site files, "page not found") and `health`.
//! What applies to every request is in `middleware`.

pub mod account;
pub mod api;
pub mod assets;
pub mod health;
pub mod no_js;
pub mod pages;

use axum::Router;

use crate::state::AppState;

pub fn router(state: AppState) -> Router {
    let routes = Router::new()
        .merge(health::router())
        .merge(api::router(&state))
        .merge(pages::router(&state))
        .merge(no_js::router())
        .merge(account::router(&state))
        .merge(assets::router(&state));
    crate::middleware::apply(routes, &state).with_state(state)
}
