//! The page "Solicitud de reinicio de clave automática": both sections, one page.
//!
//! Every rule comes from the `validation` crate: the page only decides *when* to show an error
//! (once a field was left or the form submitted, then on every keystroke). The same markup works
//! without WASM: each form posts to `/` and the server renders the page again from an
//! [`EstadoInicial`]; once hydrated, submits are intercepted and the server functions are called.

mod fields;
mod form;
mod reset;
mod search;

use fields::*;
use form::*;
use leptos::{html, prelude::*};
use reset::*;
use search::*;
use validation::{
    BusquedaId, BusquedaIdInput, Classification, Field, FieldErrors, ReinicioClave,
    ReinicioClaveInput, ValidationError,
};

use crate::{
    TITULO,
    api::{ApiError, ReinicioSolicitado, UsuarioEncontrado, buscar_id, solicitar_reinicio},
    estado::{ACCION_BUSCAR, ACCION_CONFIRMAR, ACCION_REINICIAR, ACCION_VOLVER, EstadoInicial},
};

/// The portal's own question before a reset: a dialog with WASM, a step of its own without.
pub const PREGUNTA: &str =
    "¿Desea buscar su contraseña? Le enviaremos una clave temporal a su correo electrónico.";

/// The page's interactive part: an island, the only code of this page in the WASM (the rest of
/// the document is server-rendered HTML that never hydrates). It takes no props: a page that
/// hydrates always starts from the empty form, because a page answering a post without
/// JavaScript (the only one with an [`EstadoInicial`] in context) is rendered without the WASM.
#[island]
pub fn SolicitudReinicio() -> impl IntoView {
    let inicial = use_context::<EstadoInicial>().unwrap_or_default();
    // Effects run only in the browser: this flips exactly when hydration has happened, and
    // decides whether fields lock live (with WASM) or stay open with explanations (without).
    let interactiva = RwSignal::new(false);
    Effect::new(move |_| interactiva.set(true));

    // Section 2 is prefilled by section 1, so its fields live here.
    let reinicio = CamposReinicio {
        usuario: Entrada::new(&inicial.reinicio.usuario),
        identificacion: Entrada::new(&inicial.reinicio.identificacion),
        correo: Entrada::new(&inicial.reinicio.correo),
    };

    view! {
        <main class="pagina" data-interactiva=move || if interactiva.get() { "si" } else { "no" }>
            <Encabezado titulo=TITULO>
                <p class="introduccion">
                    "Si olvidó su clave, busque primero su ID usuario y luego pida una clave temporal: "
                    "la recibirá en el correo personal registrado en su solicitud de uso. "
                    "Los campos marcados con "
                    <span class="asterisco" aria-hidden="true">"*"</span>
                    " son obligatorios."
                </p>
            </Encabezado>
            <Busqueda inicial=inicial.clone() interactiva reinicio />
            <Reinicio inicial campos=reinicio />
        </main>
    }
}

#[derive(Clone, Copy)]
struct CamposReinicio {
    usuario: Entrada,
    identificacion: Entrada,
    correo: Entrada,
}

/// The institution, the page's title and, optionally, an introduction.
#[component]
pub(crate) fn Encabezado(
    titulo: &'static str,
    #[prop(optional)] children: Option<Children>,
) -> impl IntoView {
    view! {
        <header class="encabezado">
            <p class="institucion">"Servicio Nacional de Aduana del Ecuador · ECUAPASS"</p>
            <h1>{titulo}</h1>
            {children.map(|c| c())}
        </header>
    }
}
