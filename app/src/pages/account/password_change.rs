//! "Cambio de clave obligatorio", after signing in with a temporary password, and the page after
//! any change.

use leptos::{html, prelude::*};
use validation::{CambioClaveInput, DatosCuenta, Field, FieldErrors, NuevaClave};

use super::{SignOut, account_state, outcome};
use crate::{
    components::{PageHeader, TextField},
    form::FieldState,
};

/// The page: its header, rendered by the server only, and the interactive [`CambioClave`].
#[component]
pub fn PaginaCambioClave() -> impl IntoView {
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
            <CambioClave />
        </div>
    }
}

/// An island: its instant checks are the only code of the account pages in the WASM.
#[island]
fn CambioClave() -> impl IntoView {
    let e = account_state();
    // The account's ID and identification reach the browser as hidden inputs rendered by the
    // server and are read after hydration, so the instant checks know them too.
    let usuario_ref = NodeRef::<html::Input>::new();
    let identificacion_ref = NodeRef::<html::Input>::new();
    let correo_ref = NodeRef::<html::Input>::new();
    let usuario = RwSignal::new(e.usuario.clone());
    let identificacion = RwSignal::new(e.identificacion.clone());
    let correo = RwSignal::new(e.correo.clone());
    Effect::new(move |_| {
        if let (Some(u), Some(i), Some(c)) = (
            usuario_ref.get(),
            identificacion_ref.get(),
            correo_ref.get(),
        ) {
            usuario.set(u.value());
            identificacion.set(i.value());
            correo.set(c.value());
        }
    });

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
        let (u, i, c) = (usuario.get(), identificacion.get(), correo.get());
        let cuenta = DatosCuenta {
            usuario: &u,
            identificacion: &i,
            correo: &c,
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
        clave.touched.set(true);
        confirmacion.touched.set(true);
        if !errores.with_untracked(FieldErrors::is_empty) {
            ev.prevent_default();
        }
    };

    view! {
        <main data-interactiva=move || if interactiva.get() { "si" } else { "no" }>
            <section class="seccion" aria-labelledby="titulo-cambio">
                <h2 id="titulo-cambio">"Elija su clave nueva"</h2>
                {outcome("c", &e)}
                <form method="post" action="/cambio-clave" novalidate on:submit=al_enviar>
                    <input type="hidden" node_ref=usuario_ref id="cuenta-usuario" value=e.usuario.clone() />
                    <input type="hidden" node_ref=identificacion_ref id="cuenta-identificacion" value=e.identificacion.clone() />
                    <input type="hidden" node_ref=correo_ref id="cuenta-correo" value=e.correo.clone() />
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
            </section>
        </main>
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
