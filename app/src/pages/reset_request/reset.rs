//! Section 2, "Reinicio de clave de acceso": the form, the confirmation and the answer.

use leptos::{html, prelude::*};
use validation::{Field, ReinicioClave, ReinicioClaveInput};

use super::{Answer, PREGUNTA, ResetFields, SubmitButton};
use crate::{
    api::{ReinicioSolicitado, solicitar_reinicio},
    browser,
    components::{ErrorSummary, TextField},
    form::{Form, ServerCall},
    no_js::{ACCION_CONFIRMAR, ACCION_REINICIAR, ACCION_VOLVER, EstadoInicial},
};

#[component]
pub(super) fn ResetSection(inicial: EstadoInicial, fields: ResetFields) -> impl IntoView {
    let ResetFields {
        usuario,
        identificacion,
        correo,
    } = fields;
    let datos = move || ReinicioClaveInput {
        usuario: usuario.value.get(),
        identificacion: identificacion.value.get(),
        correo: correo.value.get(),
    };
    let form = Form::new(
        vec![
            (Field::UsuarioId, usuario),
            (Field::Identificacion, identificacion),
            (Field::Correo, correo),
        ],
        Memo::new(move |_| ReinicioClave::validate(&datos()).err().unwrap_or_default()),
        inicial.errores_reinicio.clone(),
        inicial.aviso_reinicio.clone(),
    );
    let call = ServerCall::new(
        form,
        inicial.enviado.clone(),
        |datos: &ReinicioClaveInput| solicitar_reinicio(datos.clone()),
        |_| {},
    );

    // Valid data is sent only after "Sí" in the dialog.
    let dialogo = NodeRef::<html::Dialog>::new();
    let al_enviar = move |ev| {
        if call.start(ev) {
            browser::open_dialog(dialogo);
        }
    };
    let responder = move |si: bool| {
        browser::close_dialog(dialogo);
        if si {
            call.send(untrack(datos));
        }
    };

    view! {
        <section class="seccion" aria-labelledby="titulo-reinicio">
            <h2 id="titulo-reinicio">"Reinicio de clave de acceso"</h2>
            <ErrorSummary prefix="r" errors=form.summary_entries() visible=form.submitted node=form.summary />
            <form method="post" action="/" novalidate on:submit=al_enviar>
                <TextField
                    id="r-usuario"
                    name="usuario"
                    label="ID usuario"
                    state=usuario
                    error=form.error(Field::UsuarioId)
                    hint=Some("El ID que le mostró «Buscar ID».".to_owned())
                    autocomplete="username"
                    spellcheck="false"
                    maxlength="254"
                />
                <TextField
                    id="r-identificacion"
                    name="identificacion"
                    label="Identificación"
                    state=identificacion
                    error=form.error(Field::Identificacion)
                    autocomplete="off"
                    spellcheck="false"
                    maxlength="254"
                />
                <TextField
                    id="r-correo"
                    name="correo"
                    label="Correo electrónico"
                    state=correo
                    error=form.error(Field::Correo)
                    hint=Some("El correo personal registrado en su solicitud de uso: allí enviaremos la clave temporal.".to_owned())
                    input_type="email"
                    autocomplete="email"
                    spellcheck="false"
                    maxlength="254"
                />
                <SubmitButton value=ACCION_REINICIAR label="Recibir la clave por e-mail" busy_label="Enviando…" busy=call.pending() />
            </form>
            {inicial.confirmar.then(|| view! { <NoJsConfirmation datos=inicial.reinicio.clone() /> })}
            <dialog node_ref=dialogo class="dialogo" aria-labelledby="pregunta" on:cancel=move |_: leptos::ev::Event| responder(false)>
                <p id="pregunta">{PREGUNTA}</p>
                <div class="botones">
                    <button type="button" class="boton" on:click=move |_| responder(true)>"Sí"</button>
                    <button type="button" class="boton-secundario" on:click=move |_| responder(false)>"No"</button>
                </div>
            </dialog>
            <Answer form>
                {move || call.answer.get().map(|r| view! { <Sent respuesta=r /> })}
            </Answer>
        </section>
    }
    .into_any()
}

/// Without WASM, the confirmation is a step of its own, rendered by the server.
#[component]
fn NoJsConfirmation(datos: ReinicioClaveInput) -> impl IntoView {
    view! {
        <div class="confirmacion" role="alert">
            <p>{PREGUNTA}</p>
            <form method="post" action="/" class="botones">
                <input type="hidden" name="usuario" value=datos.usuario />
                <input type="hidden" name="identificacion" value=datos.identificacion />
                <input type="hidden" name="correo" value=datos.correo />
                <button type="submit" name="accion" value=ACCION_CONFIRMAR class="boton">"Sí"</button>
                <button type="submit" name="accion" value=ACCION_VOLVER class="boton-secundario">"No"</button>
            </form>
        </div>
    }
}

/// The request was taken.
#[component]
fn Sent(respuesta: ReinicioSolicitado) -> impl IntoView {
    view! {
        <div class="hallazgo" data-testid="enviado">
            <p>
                "Si los datos corresponden a una solicitud de uso aprobada, le enviamos una clave temporal a "
                <strong>{respuesta.correo}</strong>
                "."
            </p>
            <p>
                "Es válida por " <strong>{respuesta.vigencia_minutos} " minutos desde que la enviamos"</strong>
                " (el correo indica la hora exacta) y sirve una sola vez: al ingresar con ella, ECUAPASS le pedirá una clave nueva. "
                "Su clave anterior sigue funcionando mientras no use la temporal."
            </p>
            <p class="pista">
                "Si no la recibe en unos minutos, revise la carpeta de correo no deseado y que el ID usuario, la identificación y el correo sean los de su solicitud de uso."
            </p>
        </div>
    }
}
