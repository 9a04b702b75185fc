use leptos::prelude::*;

/// Any path without a page: HTTP 404.
#[component]
pub fn NoEncontrado() -> impl IntoView {
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
