//! The Leptos application shared by the server (feature `ssr`, which renders it to HTML) and the
//! browser (feature `hydrate`, which attaches behaviour to that HTML).
//!
//! Everything here must compile to WASM: database, mail and secrets stay in the `server` crate and
//! reach the page only through server functions.

pub mod api;
pub mod cuenta;
pub mod estado;
pub mod pagina;

use leptos::prelude::*;
use leptos_meta::{HashedStylesheet, MetaTags, Title, provide_meta_context};
use leptos_router::{
    StaticSegment,
    components::{Route, Router, Routes},
};

/// The page title users know from the real portal.
pub const TITULO: &str = "Solicitud de reinicio de clave automática";

/// The HTML document around the application, rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    documento(options, true)
}

/// The document for an answer to a form posted without JavaScript: the same page, without the
/// WASM. Its content comes from the post (an [`estado::EstadoInicial`]) and the browser clearly
/// runs without scripts, so there is nothing to hydrate; every form on it posts again.
pub fn shell_sin_hidratacion(options: LeptosOptions) -> impl IntoView {
    documento(options, false)
}

fn documento(options: LeptosOptions, hidratar: bool) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="es">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                // The stylesheet's name carries a content hash in release builds.
                <HashedStylesheet options=options.clone() id="leptos" />
                {hidratar
                    .then(|| {
                        view! {
                            <AutoReload options=options.clone() />
                            <HydrationScripts options />
                        }
                    })}
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
    #[cfg(feature = "ssr")]
    politica_de_contenido();

    view! {
        <Title text=TITULO />
        <Router>
            <Routes fallback=NoEncontrado>
                <Route path=StaticSegment("") view=pagina::SolicitudReinicio />
                <Route path=StaticSegment("ingreso") view=cuenta::PaginaIngreso />
                <Route path=StaticSegment("cambio-clave") view=cuenta::PaginaCambioClave />
                <Route path=StaticSegment("clave-actualizada") view=cuenta::PaginaClaveActualizada />
                <Route path=StaticSegment("cuenta") view=cuenta::PaginaCuenta />
            </Routes>
        </Router>
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

/// The page's Content-Security-Policy: scripts only with this response's nonce (the hydration
/// script) and what it loads, WASM compilation allowed, everything else from this origin only,
/// never framed. Set while rendering because the nonce exists only then.
#[cfg(feature = "ssr")]
fn politica_de_contenido() {
    if let (Some(nonce), Some(respuesta)) = (
        leptos::nonce::use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) {
        let politica = format!(
            "default-src 'self'; script-src 'nonce-{nonce}' 'strict-dynamic' 'wasm-unsafe-eval'; \
             style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
             base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
        );
        if let Ok(valor) = http::HeaderValue::from_str(&politica) {
            respuesta.insert_header(http::header::CONTENT_SECURITY_POLICY, valor);
        }
    }
}
