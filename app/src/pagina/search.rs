//! Section 1, "Búsqueda de ID de usuario".

use super::*;

/// Section 1: "Búsqueda de ID de usuario".
#[component]
pub(super) fn Busqueda(
    inicial: EstadoInicial,
    interactiva: RwSignal<bool>,
    reinicio: CamposReinicio,
) -> impl IntoView {
    let clasificacion = Entrada::new(&inicial.busqueda.clasificacion);
    let ruc = Entrada::new(&inicial.busqueda.ruc_empresa);
    let correo = Entrada::new(&inicial.busqueda.correo);
    let identificacion = Entrada::new(&inicial.busqueda.identificacion);
    let enviado = RwSignal::new(!inicial.errores_busqueda.is_empty());
    let servidor = ErroresServidor::new(
        inicial.errores_busqueda.clone(),
        vec![
            (Field::Clasificacion, inicial.busqueda.clasificacion.clone()),
            (Field::RucEmpresa, inicial.busqueda.ruc_empresa.clone()),
            (Field::Correo, inicial.busqueda.correo.clone()),
            (
                Field::Identificacion,
                inicial.busqueda.identificacion.clone(),
            ),
        ],
    );
    let encontrado = RwSignal::new(inicial.encontrado.clone());
    let aviso = RwSignal::new(inicial.aviso_busqueda.clone());

    let elegida = Memo::new(move |_| clasificacion.valor.with(|c| Classification::from_code(c)));
    // With WASM, a field is locked until a classification asks for it. Without, nothing locks:
    // the hints explain, and the server refuses a value in a locked field.
    let bloqueado = move |requisito: fn(Classification) -> validation::Requirement| {
        Signal::derive(move || {
            interactiva.get() && elegida.get().is_none_or(|c| !requisito(c).is_required())
        })
    };
    let ruc_bloqueado = bloqueado(Classification::ruc_empresa);
    let correo_bloqueado = bloqueado(Classification::correo);
    let requerido = move |requisito: fn(Classification) -> validation::Requirement| {
        Signal::derive(move || elegida.get().is_some_and(|c| requisito(c).is_required()))
    };

    let datos = move || BusquedaIdInput {
        clasificacion: clasificacion.valor.get(),
        ruc_empresa: ruc.valor.get(),
        correo: correo.valor.get(),
        identificacion: identificacion.valor.get(),
    };
    let errores = Memo::new(move |_| BusquedaId::validate(&datos()).err().unwrap_or_default());
    let formulario = Formulario {
        enviado,
        errores,
        servidor,
    };
    let error_de = move |campo: Field, entrada: Entrada| formulario.error_de(campo, entrada);
    let campos = [
        (Field::Clasificacion, clasificacion, "b-clasificacion"),
        (Field::RucEmpresa, ruc, "b-ruc_empresa"),
        (Field::Correo, correo, "b-correo"),
        (Field::Identificacion, identificacion, "b-identificacion"),
    ];
    let resumen = formulario.resumen(campos);

    let accion = Action::new_local(|datos: &BusquedaIdInput| buscar_id(datos.clone()));
    let resumen_ref = NodeRef::<html::Div>::new();
    let resultado_ref = NodeRef::<html::Div>::new();

    // The server's answer: the ID (and section 2 prefilled), its field errors, or a message.
    Effect::new(move |_| {
        let Some(respuesta) = accion.value().get() else {
            return;
        };
        match respuesta {
            Ok(UsuarioEncontrado { usuario }) => {
                reinicio.usuario.valor.set(usuario.clone());
                reinicio
                    .identificacion
                    .valor
                    .set(identificacion.valor.get_untracked());
                // Where the classification asks for the e-mail, section 2 needs the same one.
                if elegida
                    .get_untracked()
                    .is_some_and(|c| c.correo().is_required())
                {
                    reinicio.correo.valor.set(correo.valor.get_untracked());
                }
                encontrado.set(Some(usuario));
                aviso.set(None);
                enfocar(resultado_ref);
            }
            Err(ApiError::Campos {
                campos: del_servidor,
            }) => {
                servidor.poner(del_servidor, valores(campos));
                enfocar(resumen_ref);
            }
            Err(error) => {
                encontrado.set(None);
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
        encontrado.set(None);
        aviso.set(None);
        servidor.poner(FieldErrors::new(), Vec::new());
        if errores.with_untracked(FieldErrors::is_empty) {
            accion.dispatch_local(untrack(datos));
        } else {
            enfocar(resumen_ref);
        }
    };

    let al_cambiar_clasificacion = move |ev: leptos::ev::Event| {
        clasificacion.valor.set(event_target_value(&ev));
        clasificacion.tocado.set(true);
        let nueva = Classification::from_code(&clasificacion.valor.get_untracked());
        // A field that becomes locked is emptied: a locked field never sends a value.
        if nueva.is_none_or(|c| !c.ruc_empresa().is_required()) {
            ruc.vaciar();
        }
        if nueva.is_none_or(|c| !c.correo().is_required()) {
            correo.vaciar();
        }
    };

    let ayuda_ruc = lista_de(Classification::ruc_empresa);
    let ayuda_correo = lista_de(Classification::correo);

    view! {
        <section class="seccion" aria-labelledby="titulo-busqueda">
            <h2 id="titulo-busqueda">"Búsqueda de ID de usuario"</h2>
            <ResumenErrores errores=resumen visible=enviado nodo=resumen_ref />
            <form method="post" action="/" novalidate on:submit=al_enviar>
                <div class=move || clase_campo(error_de(Field::Clasificacion, clasificacion).get().is_some(), false)>
                    <Etiqueta para="b-clasificacion" texto="Clasificación de usuario" requerido=Signal::stored(true) />
                    <MensajeError id="b-clasificacion" error=error_de(Field::Clasificacion, clasificacion) />
                    <select
                        id="b-clasificacion"
                        name="clasificacion"
                        required
                        aria-required="true"
                        aria-invalid=move || error_de(Field::Clasificacion, clasificacion).get().is_some().then_some("true")
                        aria-describedby=move || error_de(Field::Clasificacion, clasificacion).get().map(|_| "b-clasificacion-error")
                        on:change=al_cambiar_clasificacion
                        on:blur=move |ev| dejar(&ev, clasificacion)
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
                <CampoTexto
                    id="b-ruc_empresa"
                    nombre="ruc_empresa"
                    etiqueta="RUC empresa"
                    entrada=ruc
                    requerido=requerido(Classification::ruc_empresa)
                    bloqueado=ruc_bloqueado
                    error=error_de(Field::RucEmpresa, ruc)
                    pista=Signal::derive(move || pista_dependiente(interactiva.get(), elegida.get().is_none(), ruc_bloqueado.get(), "13 dígitos. ", &ayuda_ruc))
                    inputmode="numeric"
                    autocomplete="off"
                />
                <CampoTexto
                    id="b-correo"
                    nombre="correo"
                    etiqueta="Correo electrónico"
                    entrada=correo
                    requerido=requerido(Classification::correo)
                    bloqueado=correo_bloqueado
                    error=error_de(Field::Correo, correo)
                    pista=Signal::derive(move || pista_dependiente(interactiva.get(), elegida.get().is_none(), correo_bloqueado.get(), "El correo personal registrado en su solicitud de uso. ", &ayuda_correo))
                    tipo="email"
                    autocomplete="email"
                />
                <CampoTexto
                    id="b-identificacion"
                    nombre="identificacion"
                    etiqueta="Identificación"
                    entrada=identificacion
                    requerido=Signal::stored(true)
                    bloqueado=Signal::stored(false)
                    error=error_de(Field::Identificacion, identificacion)
                    pista=Signal::stored(Some("Número de cédula (10 dígitos) o de pasaporte, como consta en su solicitud de uso.".to_owned()))
                    autocomplete="off"
                />
                <button
                    type="submit"
                    name="accion"
                    value=ACCION_BUSCAR
                    class="boton"
                    aria-busy=move || accion.pending().get().then_some("true")
                    disabled=move || accion.pending().get()
                >
                    {move || if accion.pending().get() { "Buscando…" } else { "Buscar ID" }}
                </button>
            </form>
            <div class="resultado" node_ref=resultado_ref tabindex="-1" aria-live="polite">
                {move || encontrado.get().map(|usuario| view! { <UsuarioHallado usuario /> })}
                {move || aviso.get().map(|texto| view! { <p class="aviso" role="alert">{texto}</p> })}
            </div>
        </section>
    }
    .into_any()
}

/// "Representante legal, Empleado, …": the classifications a field applies to, from the table.
pub(super) fn lista_de(requisito: fn(Classification) -> validation::Requirement) -> String {
    let nombres: Vec<&str> = Classification::ALL
        .into_iter()
        .filter(|c| requisito(*c).is_required())
        .map(Classification::label)
        .collect();
    nombres.join(", ")
}

pub(super) fn pista_dependiente(
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
pub(super) fn UsuarioHallado(usuario: String) -> impl IntoView {
    let copiado = RwSignal::new(false);
    let texto = usuario.clone();
    let copiar = move |_| {
        #[cfg(feature = "hydrate")]
        {
            let promesa = window().navigator().clipboard().write_text(&texto);
            leptos::task::spawn_local(async move {
                if wasm_bindgen_futures::JsFuture::from(promesa).await.is_ok() {
                    copiado.set(true);
                }
            });
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = &texto;
    };
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
