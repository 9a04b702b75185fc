//! Signing in ("Ingreso a ECUAPASS"), the forced change ("Cambio de clave obligatorio") and the
//! pages after it.
//!
//! These forms post to the server as plain HTML forms, with or without WASM: the server sets the
//! session cookie and redirects, or renders the page again with the errors (see
//! `server/src/routes/no_js.rs`). With WASM the change form also checks the new password as it is typed,
//! with the same rules from the validation crate.

use leptos::{html, prelude::*};
use validation::{CambioClaveInput, DatosCuenta, Field, FieldErrors, NuevaClave, ValidationError};

use crate::pagina::Encabezado;

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
fn estado() -> EstadoCuenta {
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

#[component]
pub fn PaginaIngreso() -> impl IntoView {
    let e = estado();
    let error_usuario = e.errores.get(Field::UsuarioId);
    let error_clave = e.errores.get(Field::Clave);
    view! {
        <main class="pagina">
            <Encabezado titulo="Ingreso a ECUAPASS" />
            <section class="seccion" aria-labelledby="titulo-ingreso">
                <h2 id="titulo-ingreso">"Ingrese con su ID usuario y su clave"</h2>
                <Resumen errores=e.errores.clone() prefijo="i" />
                {e.aviso.clone().map(|a| view! { <p class="aviso" role="alert">{a}</p> })}
                <form method="post" action="/ingreso" novalidate>
                    <CampoFijo
                        id="i-usuario"
                        nombre="usuario"
                        etiqueta="ID usuario"
                        tipo="text"
                        autocomplete="username"
                        valor=e.usuario_escrito.clone()
                        error=error_usuario
                    />
                    <CampoFijo
                        id="i-clave"
                        nombre="clave"
                        etiqueta="Clave"
                        tipo="password"
                        autocomplete="current-password"
                        valor=String::new()
                        error=error_clave
                    />
                    <button type="submit" class="boton">"Ingresar"</button>
                </form>
                <p class="pista">
                    "¿Olvidó su clave? " <a href="/">"Reiniciar clave"</a>
                    ": le enviaremos una clave temporal al correo registrado en su solicitud de uso."
                </p>
            </section>
        </main>
    }
}

/// A field rendered by the server with its value and error (no live checks).
#[component]
fn CampoFijo(
    id: &'static str,
    nombre: &'static str,
    etiqueta: &'static str,
    tipo: &'static str,
    autocomplete: &'static str,
    valor: String,
    error: Option<ValidationError>,
) -> impl IntoView {
    let id_error = format!("{id}-error");
    view! {
        <div class=if error.is_some() { "campo campo-error" } else { "campo" }>
            <label for=id>
                <span class="asterisco" aria-hidden="true">"*"</span>
                {etiqueta}
                <span class="solo-lectores">" (obligatorio)"</span>
            </label>
            {error
                .map(|e| {
                    view! {
                        <p class="mensaje-error" id=format!("{id}-error")>
                            <span class="solo-lectores">"Error: "</span>
                            {e.message()}
                        </p>
                    }
                })}
            <input
                id=id
                name=nombre
                type=tipo
                autocomplete=autocomplete
                value=valor
                required
                aria-required="true"
                aria-invalid=error.map(|_| "true")
                aria-describedby=error.map(|_| id_error)
            />
        </div>
    }
}

#[component]
fn Resumen(errores: FieldErrors, prefijo: &'static str) -> impl IntoView {
    (!errores.is_empty()).then(|| {
        view! {
            <div class="resumen-errores" role="alert" tabindex="-1">
                <h3>"Revise los siguientes campos"</h3>
                <ul>
                    {errores
                        .iter()
                        .map(|e| {
                            view! {
                                <li>
                                    <a href=format!(
                                        "#{prefijo}-{}",
                                        e.field.name(),
                                    )>{e.field.label()} ": " {e.error.message()}</a>
                                </li>
                            }
                        })
                        .collect_view()}
                </ul>
            </div>
        }
    })
}

/// An island: its instant checks are the only code of the account pages in the WASM.
#[island]
pub fn PaginaCambioClave() -> impl IntoView {
    let e = estado();
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
    let clave = RwSignal::new(String::new());
    let confirmacion = RwSignal::new(String::new());
    let tocada = RwSignal::new(false);
    let tocada_confirmacion = RwSignal::new(false);
    let errores = Memo::new(move |_| {
        let input = CambioClaveInput {
            clave: clave.get(),
            confirmacion: confirmacion.get(),
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
    let servidor = e.errores.clone();
    let error_clave = Signal::derive(move || {
        let propio = (tocada.get() || !clave.with(String::is_empty))
            .then(|| errores.with(|e| e.get(Field::Clave)));
        // Shown as soon as the person types: that is the instant strength feedback.
        propio.flatten().or_else(|| {
            clave
                .with(String::is_empty)
                .then(|| servidor.get(Field::Clave))
                .flatten()
        })
    });
    let servidor_c = e.errores.clone();
    let error_confirmacion = Signal::derive(move || {
        let propio = tocada_confirmacion
            .get()
            .then(|| errores.with(|e| e.get(Field::Confirmacion)));
        propio.flatten().or_else(|| {
            confirmacion
                .with(String::is_empty)
                .then(|| servidor_c.get(Field::Confirmacion))
                .flatten()
        })
    });
    let al_enviar = move |ev: leptos::ev::SubmitEvent| {
        tocada.set(true);
        tocada_confirmacion.set(true);
        if !errores.with_untracked(FieldErrors::is_empty) {
            ev.prevent_default();
        }
    };

    view! {
        <main class="pagina" data-interactiva=move || if interactiva.get() { "si" } else { "no" }>
            <Encabezado titulo="Cambio de clave obligatorio">
                <p class="introduccion">
                    "Ingresó con una clave temporal. Antes de continuar, elija su clave nueva: "
                    "entre 12 y 128 caracteres, sin su ID usuario, su identificación ni su correo, "
                    "sin secuencias ni repeticiones, y que no sea una clave común ni el nombre del "
                    "servicio con números. Una frase que pueda recordar es la mejor clave."
                </p>
            </Encabezado>
            <section class="seccion" aria-labelledby="titulo-cambio">
                <h2 id="titulo-cambio">"Elija su clave nueva"</h2>
                <Resumen errores=e.errores.clone() prefijo="c" />
                {e.aviso.clone().map(|a| view! { <p class="aviso" role="alert">{a}</p> })}
                <form method="post" action="/cambio-clave" novalidate on:submit=al_enviar>
                    <input type="hidden" node_ref=usuario_ref id="cuenta-usuario" value=e.usuario.clone() />
                    <input type="hidden" node_ref=identificacion_ref id="cuenta-identificacion" value=e.identificacion.clone() />
                    <input type="hidden" node_ref=correo_ref id="cuenta-correo" value=e.correo.clone() />
                    <CampoClave
                        id="c-clave"
                        nombre="clave"
                        etiqueta="Clave nueva"
                        valor=clave
                        tocada
                        error=error_clave
                    />
                    <CampoClave
                        id="c-confirmacion"
                        nombre="confirmacion"
                        etiqueta="Repita la clave nueva"
                        valor=confirmacion
                        tocada=tocada_confirmacion
                        error=error_confirmacion
                    />
                    <button type="submit" class="boton">"Guardar la clave nueva"</button>
                </form>
            </section>
        </main>
    }
}

#[component]
fn CampoClave(
    id: &'static str,
    nombre: &'static str,
    etiqueta: &'static str,
    valor: RwSignal<String>,
    tocada: RwSignal<bool>,
    #[prop(into)] error: Signal<Option<ValidationError>>,
) -> impl IntoView {
    let id_error = format!("{id}-error");
    view! {
        <div class=move || if error.get().is_some() { "campo campo-error" } else { "campo" }>
            <label for=id>
                <span class="asterisco" aria-hidden="true">"*"</span>
                {etiqueta}
                <span class="solo-lectores">" (obligatorio)"</span>
            </label>
            {move || {
                error
                    .get()
                    .map(|e| {
                        view! {
                            <p class="mensaje-error" id=format!("{id}-error") aria-live="polite">
                                <span class="solo-lectores">"Error: "</span>
                                {e.message()}
                            </p>
                        }
                    })
            }}
            <input
                id=id
                name=nombre
                type="password"
                autocomplete="new-password"
                maxlength="128"
                required
                aria-required="true"
                aria-invalid=move || error.get().map(|_| "true")
                aria-describedby=move || error.get().map(|_| id_error.clone())
                prop:value=move || valor.get()
                on:input:target=move |ev| valor.set(ev.target().value())
                on:blur=move |_| tocada.set(true)
            />
        </div>
    }
}

// The two pages below show nothing account-specific: they hydrate like any page, and the client,
// which has no session data, renders exactly what the server did.
#[component]
pub fn PaginaClaveActualizada() -> impl IntoView {
    view! {
        <main class="pagina">
            <Encabezado titulo="Clave actualizada" />
            <section class="seccion" aria-labelledby="titulo-hecho">
                <h2 id="titulo-hecho">"Su clave nueva ya está activa"</h2>
                <div class="hallazgo" data-testid="clave-actualizada">
                    <p>
                        "Su clave fue cambiada. Le enviamos un aviso a su correo registrado. "
                        "Las demás sesiones abiertas con su cuenta se cerraron."
                    </p>
                </div>
                <Salir />
            </section>
        </main>
    }
}

/// The signed-in page, with the voluntary change of password. It is rendered by the server only
/// (no live checks; the server checks with the same crate): unlike the forced change, it asks for
/// the current password, so that a session left open elsewhere cannot take the account over.
#[component]
pub fn PaginaCuenta() -> impl IntoView {
    let e = estado();
    let error_clave = e.errores.get(Field::Clave);
    let error_confirmacion = e.errores.get(Field::Confirmacion);
    view! {
        <main class="pagina">
            <Encabezado titulo="Sesión iniciada" />
            <section class="seccion" aria-labelledby="titulo-sesion">
                <h2 id="titulo-sesion">"Bienvenido a ECUAPASS"</h2>
                <p data-testid="sesion-iniciada">"Ingresó a ECUAPASS."</p>
                <Salir />
            </section>
            <section class="seccion" aria-labelledby="titulo-cambio-voluntario">
                <h2 id="titulo-cambio-voluntario">"Cambiar mi clave"</h2>
                <Resumen errores=e.errores.clone() prefijo="v" />
                {e.aviso.clone().map(|a| view! { <p class="aviso" role="alert">{a}</p> })}
                <form method="post" action="/cambio-clave" novalidate>
                    <CampoFijo
                        id="v-clave-actual"
                        nombre="clave_actual"
                        etiqueta="Clave actual"
                        tipo="password"
                        autocomplete="current-password"
                        valor=String::new()
                        error=None
                    />
                    <CampoFijo
                        id="v-clave"
                        nombre="clave"
                        etiqueta="Clave nueva"
                        tipo="password"
                        autocomplete="new-password"
                        valor=String::new()
                        error=error_clave
                    />
                    <CampoFijo
                        id="v-confirmacion"
                        nombre="confirmacion"
                        etiqueta="Repita la clave nueva"
                        tipo="password"
                        autocomplete="new-password"
                        valor=String::new()
                        error=error_confirmacion
                    />
                    <button type="submit" class="boton">"Cambiar la clave"</button>
                </form>
            </section>
        </main>
    }
}

#[component]
fn Salir() -> impl IntoView {
    view! {
        <form method="post" action="/salir" class="botones">
            <button type="submit" class="boton-secundario">"Cerrar sesión"</button>
        </form>
    }
}
