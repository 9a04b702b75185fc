//! The Leptos application shared by the server (feature `ssr`, which renders it to HTML) and the
//! browser (feature `hydrate`, which attaches behaviour to that HTML).
//!
//! Everything here must compile to WASM: database, mail and secrets stay in the `server` crate and
//! reach the page only through server functions.

pub mod api;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::{
    StaticSegment,
    components::{Route, Router, Routes},
};

/// The page title users know from the real portal.
pub const TITULO: &str = "Solicitud de reinicio de clave automática";

/// The HTML document around the application, rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="es">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <AutoReload options=options.clone() />
                <HydrationScripts options />
                <link rel="icon" type="image/svg+xml" href="/favicon.svg" />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();

    view! {
        <Stylesheet id="leptos" href="/pkg/reinicio-clave.css" />
        <Title text=TITULO />
        <Router>
            <Routes fallback=NoEncontrado>
                <Route path=StaticSegment("") view=SolicitudReinicio />
            </Routes>
        </Router>
    }
}

/// The reset request page. Its sections arrive with the next issues.
#[component]
fn SolicitudReinicio() -> impl IntoView {
    // Effects run only in the browser, so this flips to "si" exactly when hydration has happened.
    // End-to-end tests and people with slow connections can tell the page is interactive.
    let interactiva = RwSignal::new(false);
    Effect::new(move |_| interactiva.set(true));

    view! {
        <main
            class="pagina"
            data-interactiva=move || if interactiva.get() { "si" } else { "no" }
        >
            <header class="encabezado">
                <p class="institucion">"Servicio Nacional de Aduana del Ecuador · ECUAPASS"</p>
                <h1>{TITULO}</h1>
            </header>
        </main>
    }
}

#[component]
fn NoEncontrado() -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        if let Some(respuesta) = use_context::<leptos_axum::ResponseOptions>() {
            respuesta.set_status(http::StatusCode::NOT_FOUND);
        }
    }
    view! {
        <main class="pagina">
            <h1>"Página no encontrada"</h1>
            <p>
                <a href="/">"Volver a la solicitud de reinicio de clave"</a>
            </p>
        </main>
    }
}
