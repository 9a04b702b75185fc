//! Section 2, "Reinicio de clave de acceso": the form, the confirmation and the answer.

use super::*;

/// Section 2: "Reinicio de clave de acceso".
#[component]
pub(super) fn Reinicio(inicial: EstadoInicial, campos: CamposReinicio) -> impl IntoView {
    let CamposReinicio {
        usuario,
        identificacion,
        correo,
    } = campos;
    let enviado = RwSignal::new(!inicial.errores_reinicio.is_empty());
    let servidor = ErroresServidor::new(
        inicial.errores_reinicio.clone(),
        vec![
            (Field::UsuarioId, inicial.reinicio.usuario.clone()),
            (
                Field::Identificacion,
                inicial.reinicio.identificacion.clone(),
            ),
            (Field::Correo, inicial.reinicio.correo.clone()),
        ],
    );
    let confirmacion = inicial.confirmar;
    let hecho = RwSignal::new(inicial.enviado.clone());
    let aviso = RwSignal::new(inicial.aviso_reinicio.clone());

    let datos = move || ReinicioClaveInput {
        usuario: usuario.valor.get(),
        identificacion: identificacion.valor.get(),
        correo: correo.valor.get(),
    };
    let errores = Memo::new(move |_| ReinicioClave::validate(&datos()).err().unwrap_or_default());
    let formulario = Formulario {
        enviado,
        errores,
        servidor,
    };
    let error_de = move |campo: Field, entrada: Entrada| formulario.error_de(campo, entrada);
    let lista = [
        (Field::UsuarioId, usuario, "r-usuario"),
        (Field::Identificacion, identificacion, "r-identificacion"),
        (Field::Correo, correo, "r-correo"),
    ];
    let resumen = formulario.resumen(lista);

    let accion = Action::new_local(|datos: &ReinicioClaveInput| solicitar_reinicio(datos.clone()));
    let resumen_ref = NodeRef::<html::Div>::new();
    let resultado_ref = NodeRef::<html::Div>::new();
    let dialogo = NodeRef::<html::Dialog>::new();

    Effect::new(move |_| {
        let Some(respuesta) = accion.value().get() else {
            return;
        };
        match respuesta {
            Ok(r) => {
                hecho.set(Some(r));
                aviso.set(None);
                enfocar(resultado_ref);
            }
            Err(ApiError::Campos { campos }) => {
                servidor.poner(campos, valores(lista));
                enfocar(resumen_ref);
            }
            Err(error) => {
                aviso.set(Some(error.to_string()));
                enfocar(resultado_ref);
            }
        }
    });

    let al_enviar = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if accion.pending().get_untracked() {
            return;
        }
        enviado.set(true);
        hecho.set(None);
        aviso.set(None);
        servidor.poner(FieldErrors::new(), Vec::new());
        if !errores.with_untracked(FieldErrors::is_empty) {
            enfocar(resumen_ref);
            return;
        }
        if let Some(d) = dialogo.get_untracked() {
            let _ = d.show_modal();
        }
    };
    let responder = move |si: bool| {
        if let Some(d) = dialogo.get_untracked() {
            d.close();
        }
        if si {
            accion.dispatch_local(untrack(datos));
        }
    };

    view! {
        <section class="seccion" aria-labelledby="titulo-reinicio">
            <h2 id="titulo-reinicio">"Reinicio de clave de acceso"</h2>
            <ResumenErrores errores=resumen visible=enviado nodo=resumen_ref />
            <form method="post" action="/" novalidate on:submit=al_enviar>
                <CampoTexto
                    id="r-usuario"
                    nombre="usuario"
                    etiqueta="ID usuario"
                    entrada=usuario
                    requerido=Signal::stored(true)
                    bloqueado=Signal::stored(false)
                    error=error_de(Field::UsuarioId, usuario)
                    pista=Signal::stored(Some("El ID que le mostró «Buscar ID».".to_owned()))
                    autocomplete="username"
                />
                <CampoTexto
                    id="r-identificacion"
                    nombre="identificacion"
                    etiqueta="Identificación"
                    entrada=identificacion
                    requerido=Signal::stored(true)
                    bloqueado=Signal::stored(false)
                    error=error_de(Field::Identificacion, identificacion)
                    pista=Signal::stored(None::<String>)
                    autocomplete="off"
                />
                <CampoTexto
                    id="r-correo"
                    nombre="correo"
                    etiqueta="Correo electrónico"
                    entrada=correo
                    requerido=Signal::stored(true)
                    bloqueado=Signal::stored(false)
                    error=error_de(Field::Correo, correo)
                    pista=Signal::stored(Some("El correo personal registrado en su solicitud de uso: allí enviaremos la clave temporal.".to_owned()))
                    tipo="email"
                    autocomplete="email"
                />
                <button
                    type="submit"
                    name="accion"
                    value=ACCION_REINICIAR
                    class="boton"
                    aria-busy=move || accion.pending().get().then_some("true")
                    disabled=move || accion.pending().get()
                >
                    {move || if accion.pending().get() { "Enviando…" } else { "Recibir la clave por e-mail" }}
                </button>
            </form>
            {confirmacion.then(|| view! { <ConfirmacionSinJs datos=inicial.reinicio.clone() /> })}
            <dialog node_ref=dialogo class="dialogo" aria-labelledby="pregunta" on:cancel=move |_: leptos::ev::Event| responder(false)>
                <p id="pregunta">{PREGUNTA}</p>
                <div class="botones">
                    <button type="button" class="boton" on:click=move |_| responder(true)>"Sí"</button>
                    <button type="button" class="boton-secundario" on:click=move |_| responder(false)>"No"</button>
                </div>
            </dialog>
            <div class="resultado" node_ref=resultado_ref tabindex="-1" aria-live="polite">
                {move || hecho.get().map(|r| view! { <Enviado respuesta=r /> })}
                {move || aviso.get().map(|texto| view! { <p class="aviso" role="alert">{texto}</p> })}
            </div>
        </section>
    }
    .into_any()
}

/// Without WASM, the confirmation is a step of its own, rendered by the server.
#[component]
pub(super) fn ConfirmacionSinJs(datos: ReinicioClaveInput) -> impl IntoView {
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

#[component]
pub(super) fn Enviado(respuesta: ReinicioSolicitado) -> impl IntoView {
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
