//! Browser entry point: cargo-leptos builds this crate to WASM and calls `hydrate` from the page.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    // A panic in the browser otherwise shows only "unreachable executed".
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
