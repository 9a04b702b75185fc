//! Section 1, "Búsqueda de ID de usuario": which fields apply depends on the classification.

use leptos::prelude::*;
use validation::{BusquedaId, BusquedaIdInput, Classification, Field, Requirement};

use super::{Answer, ResetFields, SubmitButton};
use crate::{
    api::{UsuarioEncontrado, buscar_id},
    browser,
    components::{ErrorMessage, ErrorSummary, Label, TextField, field_class},
    form::{FieldState, Form, ServerCall},
    no_js::{ACCION_BUSCAR, EstadoInicial},
};

#[component]
pub(super) fn SearchSection(
    inicial: EstadoInicial,
    interactiva: RwSignal<bool>,
    reinicio: ResetFields,
) -> impl IntoView {
    let clasificacion = FieldState::new(&inicial.busqueda.clasificacion);
    let ruc = FieldState::new(&inicial.busqueda.ruc_empresa);
    let correo = FieldState::new(&inicial.busqueda.correo);
    let identificacion = FieldState::new(&inicial.busqueda.identificacion);

    let elegida = Memo::new(move |_| clasificacion.value.with(|c| Classification::from_code(c)));
    // With WASM, a field is locked until a classification asks for it. Without, nothing locks:
    // the hints explain, and the server refuses a value in a locked field.
    let bloqueado = move |requisito: fn(Classification) -> Requirement| {
        Signal::derive(move || {
            interactiva.get() && elegida.get().is_none_or(|c| !requisito(c).is_required())
        })
    };
    let ruc_bloqueado = bloqueado(Classification::ruc_empresa);
    let correo_bloqueado = bloqueado(Classification::correo);
    let requerido = move |requisito: fn(Classification) -> Requirement| {
        Signal::derive(move || elegida.get().is_some_and(|c| requisito(c).is_required()))
    };

    let datos = move || BusquedaIdInput {
        clasificacion: clasificacion.value.get(),
        ruc_empresa: ruc.value.get(),
        correo: correo.value.get(),
        identificacion: identificacion.value.get(),
    };
    let form = Form::new(
        vec![
            (Field::Clasificacion, clasificacion),
            (Field::RucEmpresa, ruc),
            (Field::Correo, correo),
            (Field::Identificacion, identificacion),
        ],
        Memo::new(move |_| BusquedaId::validate(&datos()).err().unwrap_or_default()),
        inicial.errores_busqueda.clone(),
        inicial.aviso_busqueda.clone(),
    );
    // The ID found also fills in section 2.
    let call = ServerCall::new(
        form,
        inicial
            .encontrado
            .clone()
            .map(|usuario| UsuarioEncontrado { usuario }),
        |datos: &BusquedaIdInput| buscar_id(datos.clone()),
        move |UsuarioEncontrado { usuario }| {
            reinicio.usuario.value.set(usuario.clone());
            reinicio
                .identificacion
                .value
                .set(identificacion.value.get_untracked());
            // Where the classification asks for the e-mail, section 2 needs the same one.
            if elegida
                .get_untracked()
                .is_some_and(|c| c.correo().is_required())
            {
                reinicio.correo.value.set(correo.value.get_untracked());
            }
        },
    );
    let al_enviar = move |ev| {
        if call.start(ev) {
            call.send(untrack(datos));
        }
    };

    let al_cambiar_clasificacion = move |ev: leptos::ev::Event| {
        clasificacion.value.set(event_target_value(&ev));
        clasificacion.touch();
        let nueva = Classification::from_code(&clasificacion.value.get_untracked());
        // A field that becomes locked is emptied: a locked field never sends a value.
        if nueva.is_none_or(|c| !c.ruc_empresa().is_required()) {
            ruc.clear();
        }
        if nueva.is_none_or(|c| !c.correo().is_required()) {
            correo.clear();
        }
    };
    let error_clasificacion = form.error(Field::Clasificacion);

    let ayuda_ruc = lista_de(Classification::ruc_empresa);
    let ayuda_correo = lista_de(Classification::correo);

    view! {
        <section class="seccion" aria-labelledby="titulo-busqueda">
            <h2 id="titulo-busqueda">"Búsqueda de ID de usuario"</h2>
            <ErrorSummary prefix="b" errors=form.summary_entries() visible=form.submitted node=form.summary />
            <form method="post" action="/" novalidate on:submit=al_enviar>
                <div class=move || field_class(error_clasificacion.get().is_some(), false)>
                    <Label for_id="b-clasificacion" text="Clasificación de usuario" required=true />
                    <ErrorMessage id="b-clasificacion" error=error_clasificacion />
                    <select
                        id="b-clasificacion"
                        name="clasificacion"
                        required
                        aria-required="true"
                        aria-invalid=move || error_clasificacion.get().is_some().then_some("true")
                        aria-describedby=move || error_clasificacion.get().map(|_| "b-clasificacion-error")
                        on:change=al_cambiar_clasificacion
                        on:blur=move |ev| clasificacion.leave(&ev)
                    >
                        <option value="" selected=inicial.busqueda.clasificacion.is_empty()>
                            "Seleccione su clasificación"
                        </option>
                        {Classification::ALL
                            .into_iter()
                            .map(|c| {
                                let elegido = inicial.busqueda.clasificacion == c.code();
                                view! { <option value=c.code() selected=elegido>{c.label()}</option> }
                            })
                            .collect_view()}
                    </select>
                </div>
                <TextField
                    id="b-ruc_empresa"
                    name="ruc_empresa"
                    label="RUC empresa"
                    state=ruc
                    required=requerido(Classification::ruc_empresa)
                    locked=ruc_bloqueado
                    error=form.error(Field::RucEmpresa)
                    hint=Signal::derive(move || pista_dependiente(interactiva.get(), elegida.get().is_none(), ruc_bloqueado.get(), "13 dígitos. ", &ayuda_ruc))
                    inputmode="numeric"
                    autocomplete="off"
                    spellcheck="false"
                    maxlength="254"
                />
                <TextField
                    id="b-correo"
                    name="correo"
                    label="Correo electrónico"
                    state=correo
                    required=requerido(Classification::correo)
                    locked=correo_bloqueado
                    error=form.error(Field::Correo)
                    hint=Signal::derive(move || pista_dependiente(interactiva.get(), elegida.get().is_none(), correo_bloqueado.get(), "El correo personal registrado en su solicitud de uso. ", &ayuda_correo))
                    input_type="email"
                    autocomplete="email"
                    spellcheck="false"
                    maxlength="254"
                />
                <TextField
                    id="b-identificacion"
                    name="identificacion"
                    label="Identificación"
                    state=identificacion
                    error=form.error(Field::Identificacion)
                    hint=Some("Número de cédula (10 dígitos) o de pasaporte, como consta en su solicitud de uso.".to_owned())
                    autocomplete="off"
                    spellcheck="false"
                    maxlength="254"
                />
                <SubmitButton value=ACCION_BUSCAR label="Buscar ID" busy_label="Buscando…" busy=call.pending() />
            </form>
            <Answer form>
                {move || call.answer.get().map(|UsuarioEncontrado { usuario }| view! { <FoundId usuario /> })}
            </Answer>
        </section>
    }
    .into_any()
}

/// "Representante legal, Empleado, …": the classifications a field applies to, from the table.
fn lista_de(requisito: fn(Classification) -> Requirement) -> String {
    let nombres: Vec<&str> = Classification::ALL
        .into_iter()
        .filter(|c| requisito(*c).is_required())
        .map(Classification::label)
        .collect();
    nombres.join(", ")
}

/// The hint of a field that only some classifications ask for.
fn pista_dependiente(
    interactiva: bool,
    sin_clasificacion: bool,
    bloqueado: bool,
    base: &str,
    aplica: &str,
) -> Option<String> {
    Some(if interactiva && sin_clasificacion {
        "Elija primero la clasificación de usuario.".to_owned()
    } else if bloqueado {
        "No corresponde a la clasificación elegida.".to_owned()
    } else {
        format!("{base}Solo para: {aplica}.")
    })
}

/// The found ID, with a copy button (the Clipboard API) once the page is interactive.
#[component]
fn FoundId(usuario: String) -> impl IntoView {
    let copiado = RwSignal::new(false);
    let texto = usuario.clone();
    let copiar = move |_| browser::copy_to_clipboard(&texto, copiado);
    view! {
        <div class="hallazgo">
            <p>"Su ID usuario es:"</p>
            <p class="id-usuario">
                <strong data-testid="id-usuario">{usuario}</strong>
                <button type="button" class="boton-secundario" on:click=copiar>
                    {move || if copiado.get() { "Copiado" } else { "Copiar" }}
                </button>
            </p>
            <p class="pista">
                "Ya lo escribimos por usted en la sección «Reinicio de clave de acceso», más abajo."
            </p>
        </div>
    }
}
