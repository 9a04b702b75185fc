//! Browser entry point: cargo-leptos builds this crate to WASM and the page calls `hydrate`.
//!
//! The app uses Leptos islands: the server renders every page, and only the components marked
//! `#[island]` in the `app` crate (the two forms of the request page and the password change)
//! come to life in the browser. Each island is a WASM export the hydration script calls by name,
//! so the rest of the application never reaches the bundle.

// Links the crate that defines the islands' exports.
extern crate app;

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    // A panic in the browser otherwise shows only "unreachable executed".
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
}
