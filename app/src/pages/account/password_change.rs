//! "Cambio de clave obligatorio", after signing in with a temporary password, and the page after
//! any change.

use leptos::prelude::*;
use validation::{CambioClaveInput, DatosCuenta, Field, FieldErrors, NuevaClave};

use super::{SignOut, account_state, outcome};
use crate::{
    browser,
    components::{PageHeader, TextField},
    form::FieldState,
};

/// The page: its header, rendered by the server only, and the interactive [`CambioClave`].
#[component]
pub fn PaginaCambioClave() -> impl IntoView {
    let e = account_state();
    view! {
        <div class="pagina">
            <PageHeader title="Cambio de clave obligatorio">
                <p class="introduccion">
                    "Ingresó con una clave temporal. Antes de continuar, elija su clave nueva: "
                    "entre 12 y 128 caracteres, sin su ID usuario, su identificación ni su correo, "
                    "sin secuencias ni repeticiones, y que no sea una clave común ni el nombre del "
                    "servicio con números. Una frase que pueda recordar es la mejor clave."
                </p>
            </PageHeader>
            <main>
                <section class="seccion" aria-labelledby="titulo-cambio">
                    <h2 id="titulo-cambio">"Elija su clave nueva"</h2>
                    {outcome("c", &e)}
                    // The account's data for the island's instant checks (see `CambioClave`).
                    <input type="hidden" id="cuenta-usuario" value=e.usuario.clone() />
                    <input type="hidden" id="cuenta-identificacion" value=e.identificacion.clone() />
                    <input type="hidden" id="cuenta-correo" value=e.correo.clone() />
                    <CambioClave />
                </section>
            </main>
        </div>
    }
}

/// The form, an island: its instant checks are the only code of the account pages in the WASM.
/// The rest of the page, and the account's data, are rendered by the server (see
/// [`PaginaCambioClave`]): every element inside an island costs WASM.
#[island]
fn CambioClave() -> impl IntoView {
    let e = account_state();
    // The account's data reach the browser as hidden inputs the server renders next to the
    // island (the island has no props: they would need a JSON parser in the WASM).
    let dato =
        |id: &str, servidor: &str| browser::input_value(id).unwrap_or_else(|| servidor.to_owned());
    let usuario = dato("cuenta-usuario", &e.usuario);
    let identificacion = dato("cuenta-identificacion", &e.identificacion);
    let correo = dato("cuenta-correo", &e.correo);

    let interactiva = RwSignal::new(false);
    Effect::new(move |_| interactiva.set(true));
    // A password is never written back into the page: both fields start empty.
    let clave = FieldState::new("");
    let confirmacion = FieldState::new("");
    let errores = Memo::new(move |_| {
        let input = CambioClaveInput {
            clave: clave.value.get(),
            confirmacion: confirmacion.value.get(),
        };
        let cuenta = DatosCuenta {
            usuario: &usuario,
            identificacion: &identificacion,
            correo: &correo,
        };
        NuevaClave::validate(&input, cuenta)
            .err()
            .unwrap_or_default()
    });
    // The server's error for a field shows while the field is still empty, as the server left it.
    let servidor = e.errores.clone();
    let error_clave = Signal::derive(move || {
        let propio = (clave.touched.get() || !clave.value.with(String::is_empty))
            .then(|| errores.with(|e| e.get(Field::Clave)));
        // Shown as soon as the person types: that is the instant strength feedback.
        propio.flatten().or_else(|| {
            clave
                .value
                .with(String::is_empty)
                .then(|| servidor.get(Field::Clave))
                .flatten()
        })
    });
    let servidor_c = e.errores.clone();
    let error_confirmacion = Signal::derive(move || {
        let propio = confirmacion
            .touched
            .get()
            .then(|| errores.with(|e| e.get(Field::Confirmacion)));
        propio.flatten().or_else(|| {
            confirmacion
                .value
                .with(String::is_empty)
                .then(|| servidor_c.get(Field::Confirmacion))
                .flatten()
        })
    });
    // Posted by the browser when valid; otherwise every error shows and nothing is sent.
    let al_enviar = move |ev: leptos::ev::SubmitEvent| {
        clave.touch();
        confirmacion.touch();
        if !errores.with_untracked(FieldErrors::is_empty) {
            ev.prevent_default();
        }
    };

    view! {
        <form
            method="post"
            action="/cambio-clave"
            novalidate
            on:submit=al_enviar
            data-interactiva=move || if interactiva.get() { "si" } else { "no" }
        >
            <TextField
                id="c-clave"
                name="clave"
                label="Clave nueva"
                state=clave
                error=error_clave
                live=true
                input_type="password"
                autocomplete="new-password"
                maxlength="128"
            />
            <TextField
                id="c-confirmacion"
                name="confirmacion"
                label="Repita la clave nueva"
                state=confirmacion
                error=error_confirmacion
                live=true
                input_type="password"
                autocomplete="new-password"
                maxlength="128"
            />
            <button type="submit" class="boton">"Guardar la clave nueva"</button>
        </form>
    }
}

/// After a change, forced or voluntary.
#[component]
pub fn PaginaClaveActualizada() -> impl IntoView {
    view! {
        <div class="pagina">
            <PageHeader title="Clave actualizada" />
            <main>
                <section class="seccion" aria-labelledby="titulo-hecho">
                    <h2 id="titulo-hecho">"Su clave nueva ya está activa"</h2>
                    <div class="hallazgo" data-testid="clave-actualizada">
                        <p>
                            "Su clave fue cambiada. Le enviamos un aviso a su correo registrado. "
                            "Las demás sesiones abiertas con su cuenta se cerraron."
                        </p>
                    </div>
                    <SignOut />
                </section>
            </main>
        </div>
    }
}
