//! The header of every page.

use leptos::prelude::*;

/// The institution, the page's title and, optionally, an introduction.
#[component]
pub fn PageHeader(
    title: &'static str,
    #[prop(optional)] children: Option<Children>,
) -> impl IntoView {
    view! {
        <header class="encabezado">
            <p class="institucion">"Servicio Nacional de Aduana del Ecuador · ECUAPASS"</p>
            <h1>{title}</h1>
            {children.map(|c| c())}
        </header>
    }
}
