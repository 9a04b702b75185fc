//! The Leptos application shared by the server (feature `ssr`, which renders it to HTML) and the
//! browser (feature `hydrate`, which attaches behaviour to that HTML).
//!
//! Everything here must compile to WASM: database, mail and secrets stay in the `server` crate and
//! reach the page only through server functions.
//!
//! - [`pages`]: one module per page; [`App`] picks one by path.
//! - `components`: what every page is made of (header, field, error summary).
//! - `form`: a form's state in the browser (when errors show, the submit to a server function).
//! - `browser`: every call to the browser's own APIs.
//! - [`api`]: the server functions; [`codec`]: how their answers travel; [`no_js`]: what a page
//!   starts with when it answers a form posted without JavaScript.

pub mod api;
mod browser;
pub mod codec;
mod components;
mod form;
pub mod no_js;
pub mod pages;

use leptos::prelude::*;
use leptos_meta::{HashedStylesheet, MetaTags, Title, provide_meta_context};
/// The page title users know from the real portal.
pub const TITULO: &str = "Solicitud de reinicio de clave automática";

/// The HTML document around the application, rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    documento(options, true)
}

/// The document for an answer to a form posted without JavaScript: the same page, without the
/// WASM. Its content comes from the post (an [`no_js::EstadoInicial`]) and the browser clearly
/// runs without scripts, so there is nothing to hydrate; every form on it posts again.
pub fn shell_without_hydration(options: LeptosOptions) -> impl IntoView {
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
                            <HydrationScripts options islands=true />
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

/// The pages, by path. Every page is a full page load (forms post to the server, links are plain
/// links), so the browser needs no router: it hydrates the page the server rendered for this
/// path. A client-side router would add its own code and, through its type-erased routes, an
/// asynchronous hydration path for every view (about 90 KB of the WASM).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pagina {
    Solicitud,
    Ingreso,
    CambioClave,
    ClaveActualizada,
    Cuenta,
    NoEncontrada,
}

impl Pagina {
    /// Every path with a page, for the server's routes.
    pub const RUTAS: [(&'static str, Pagina); 5] = [
        ("/", Pagina::Solicitud),
        ("/ingreso", Pagina::Ingreso),
        ("/cambio-clave", Pagina::CambioClave),
        ("/clave-actualizada", Pagina::ClaveActualizada),
        ("/cuenta", Pagina::Cuenta),
    ];

    /// The page at exactly `ruta`. A trailing slash is another path, with no page: `/cuenta/`
    /// must not render an account page that the server's session guard (which knows the exact
    /// paths) never checked.
    pub fn from_path(ruta: &str) -> Self {
        Self::RUTAS
            .iter()
            .find(|(r, _)| *r == ruta)
            .map_or(Pagina::NoEncontrada, |(_, p)| *p)
    }
}

/// The path being rendered: the request's on the server, the address bar's in the browser.
fn ruta_actual() -> String {
    #[cfg(feature = "ssr")]
    {
        use_context::<http::request::Parts>()
            .map(|parts| parts.uri.path().to_owned())
            .unwrap_or_default()
    }
    #[cfg(not(feature = "ssr"))]
    {
        browser::path()
    }
}

#[component]
pub fn App() -> impl IntoView {
    use leptos::either::EitherOf6;
    use pages::{account, not_found, reset_request};
    provide_meta_context();
    #[cfg(feature = "ssr")]
    politica_de_contenido();

    let pagina = match Pagina::from_path(&ruta_actual()) {
        Pagina::Solicitud => EitherOf6::A(view! { <reset_request::PaginaSolicitud /> }),
        Pagina::Ingreso => EitherOf6::B(view! { <account::PaginaIngreso /> }),
        Pagina::CambioClave => EitherOf6::C(view! { <account::PaginaCambioClave /> }),
        Pagina::ClaveActualizada => EitherOf6::D(view! { <account::PaginaClaveActualizada /> }),
        Pagina::Cuenta => EitherOf6::E(view! { <account::PaginaCuenta /> }),
        Pagina::NoEncontrada => EitherOf6::F(view! { <not_found::NoEncontrado /> }),
    };
    view! {
        <Title text=TITULO />
        {pagina}
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

#[cfg(test)]
mod tests {
    use super::Pagina;

    #[test]
    fn each_path_has_its_page_and_anything_else_is_not_found() {
        for (ruta, pagina) in Pagina::RUTAS {
            assert_eq!(Pagina::from_path(ruta), pagina);
        }
        for ruta in [
            "/no-existe",
            "/ingreso/x",
            "/Ingreso",
            "/api/buscar_id",
            "/cuenta/",
            "/clave-actualizada/",
            "/cambio-clave/",
            "/ingreso/",
            "//",
        ] {
            assert_eq!(Pagina::from_path(ruta), Pagina::NoEncontrada, "{ruta}");
        }
    }
}
