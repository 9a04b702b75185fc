//! The page "Solicitud de reinicio de clave automática": section 1 finds the ID usuario
//! ([`search`]), section 2 asks for a temporary password ([`reset`]).
//!
//! The same markup works without WASM: each form posts to `/` and the server renders the page
//! again from an [`EstadoInicial`]; once hydrated, submits are intercepted and the server
//! functions are called (see [`crate::form`]).

mod reset;
mod search;

use leptos::prelude::*;

use crate::{
    TITULO,
    components::PageHeader,
    form::{FieldState, Form},
    no_js::EstadoInicial,
};

/// The portal's own question before a reset: a dialog with WASM, a step of its own without.
pub const PREGUNTA: &str =
    "¿Desea buscar su contraseña? Le enviaremos una clave temporal a su correo electrónico.";

/// The page: its header, rendered by the server only, and the interactive [`SolicitudReinicio`].
#[component]
pub fn PaginaSolicitud() -> impl IntoView {
    view! {
        <div class="pagina">
            <PageHeader title=TITULO>
                <p class="introduccion">
                    "Si olvidó su clave, busque primero su ID usuario y luego pida una clave temporal: "
                    "la recibirá en el correo personal registrado en su solicitud de uso. "
                    "Los campos marcados con "
                    <span class="asterisco" aria-hidden="true">"*"</span>
                    " son obligatorios."
                </p>
            </PageHeader>
            <SolicitudReinicio />
        </div>
    }
}

/// The page's interactive part: an island, the only code of this page in the WASM (the rest of
/// the document, the header included, is server-rendered HTML that never hydrates: every element
/// in an island costs WASM). It takes no props: a page that hydrates always starts from the
/// empty form, because a page answering a post without JavaScript (the only one with an
/// [`EstadoInicial`] in context) is rendered without the WASM.
#[island]
pub fn SolicitudReinicio() -> impl IntoView {
    let inicial = use_context::<EstadoInicial>().unwrap_or_default();
    // Effects run only in the browser: this flips exactly when hydration has happened, and
    // decides whether fields lock live (with WASM) or stay open with explanations (without).
    let interactiva = RwSignal::new(false);
    Effect::new(move |_| interactiva.set(true));

    // Section 2 is prefilled by section 1, so its fields live here.
    let reinicio = ResetFields {
        usuario: FieldState::new(&inicial.reinicio.usuario),
        identificacion: FieldState::new(&inicial.reinicio.identificacion),
        correo: FieldState::new(&inicial.reinicio.correo),
    };

    view! {
        <main data-interactiva=move || if interactiva.get() { "si" } else { "no" }>
            <search::SearchSection inicial=inicial.clone() interactiva reinicio />
            <reset::ResetSection inicial fields=reinicio />
        </main>
    }
}

/// Section 2's fields.
#[derive(Clone, Copy)]
struct ResetFields {
    usuario: FieldState,
    identificacion: FieldState,
    correo: FieldState,
}

/// A section's submit button. Its `accion` tells the server which form was posted without
/// JavaScript; with WASM it says that the call is under way.
#[component]
fn SubmitButton(
    value: &'static str,
    label: &'static str,
    busy_label: &'static str,
    busy: Signal<bool>,
) -> impl IntoView {
    view! {
        <button
            type="submit"
            name="accion"
            value=value
            class="boton"
            aria-busy=move || busy.get().then_some("true")
            disabled=move || busy.get()
        >
            {move || if busy.get() { busy_label } else { label }}
        </button>
    }
}

/// Where a section's answer shows (`children`), or its notice: focused when either arrives.
#[component]
fn Answer(form: Form, children: Children) -> impl IntoView {
    view! {
        <div class="resultado" node_ref=form.result tabindex="-1" aria-live="polite">
            {children()}
            {move || form.notice.get().map(|texto| view! { <p class="aviso" role="alert">{texto}</p> })}
        </div>
    }
}
