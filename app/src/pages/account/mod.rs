//! The account's pages: signing in ("Ingreso a ECUAPASS", [`sign_in`]), the forced change
//! ("Cambio de clave obligatorio", [`password_change`]) and the signed-in page.
//!
//! These forms post to the server as plain HTML forms, with or without WASM: the server sets the
//! session cookie and redirects, or renders the page again with the errors (see
//! `server/src/routes/account.rs`). Only the forced change hydrates, to check the new password as
//! it is typed.

mod password_change;
mod sign_in;

use leptos::prelude::*;
use validation::{Field, FieldErrors};

pub use password_change::{PaginaCambioClave, PaginaClaveActualizada};
pub use sign_in::PaginaIngreso;

use crate::{
    components::{ErrorSummary, PageHeader, TextField},
    form::FieldState,
};

/// What the server knows when it renders these pages: the signed-in account, and the outcome of
/// a form posted to it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EstadoCuenta {
    pub usuario: String,
    pub identificacion: String,
    /// The registered e-mail, for the instant checks of a new password.
    pub correo: String,
    pub usuario_escrito: String,
    pub errores: FieldErrors,
    pub aviso: Option<String>,
}

/// From a posted form's render, or from the session the server attached to the request.
fn account_state() -> EstadoCuenta {
    if let Some(e) = use_context::<EstadoCuenta>() {
        return e;
    }
    #[cfg(feature = "ssr")]
    if let Some(e) = use_context::<http::request::Parts>()
        .and_then(|p| p.extensions.get::<EstadoCuenta>().cloned())
    {
        return e;
    }
    EstadoCuenta::default()
}

/// What the server said of a posted form: the error summary, if any error, and its message.
fn outcome(prefix: &'static str, state: &EstadoCuenta) -> impl IntoView + use<> {
    let errors: Vec<_> = state.errores.iter().map(|e| (e.field, e.error)).collect();
    view! {
        {(!errors.is_empty()).then(|| view! { <ErrorSummary prefix errors visible=true /> })}
        {state.aviso.clone().map(|a| view! { <p class="aviso" role="alert">{a}</p> })}
    }
}

/// The signed-in page, with the voluntary change of password. It is rendered by the server only
/// (no live checks; the server checks with the same crate): unlike the forced change, it asks for
/// the current password, so that a session left open elsewhere cannot take the account over.
#[component]
pub fn PaginaCuenta() -> impl IntoView {
    let e = account_state();
    let campo = |field: Field| e.errores.get(field);
    view! {
        <div class="pagina">
            <PageHeader title="Sesión iniciada" />
            <main>
                <section class="seccion" aria-labelledby="titulo-sesion">
                    <h2 id="titulo-sesion">"Bienvenido a ECUAPASS"</h2>
                    <p data-testid="sesion-iniciada">"Ingresó a ECUAPASS."</p>
                    <SignOut />
                </section>
                <section class="seccion" aria-labelledby="titulo-cambio-voluntario">
                    <h2 id="titulo-cambio-voluntario">"Cambiar mi clave"</h2>
                    {outcome("v", &e)}
                    <form method="post" action="/cambio-clave" novalidate>
                        <TextField
                            id="v-clave-actual"
                            name="clave_actual"
                            label="Clave actual"
                            state=FieldState::new("")
                            input_type="password"
                            autocomplete="current-password"
                        />
                        <TextField
                            id="v-clave"
                            name="clave"
                            label="Clave nueva"
                            state=FieldState::new("")
                            error=campo(Field::Clave)
                            input_type="password"
                            autocomplete="new-password"
                        />
                        <TextField
                            id="v-confirmacion"
                            name="confirmacion"
                            label="Repita la clave nueva"
                            state=FieldState::new("")
                            error=campo(Field::Confirmacion)
                            input_type="password"
                            autocomplete="new-password"
                        />
                        <button type="submit" class="boton">"Cambiar la clave"</button>
                    </form>
                </section>
            </main>
        </div>
    }
}

#[component]
fn SignOut() -> impl IntoView {
    view! {
        <form method="post" action="/salir" class="botones">
            <button type="submit" class="boton-secundario">"Cerrar sesión"</button>
        </form>
    }
}
