//! The page "Solicitud de reinicio de clave automática": both sections, one page.
//!
//! Every rule comes from the `validation` crate: the page only decides *when* to show an error
//! (once a field was left or the form submitted, then on every keystroke). The same markup works
//! without WASM: each form posts to `/` and the server renders the page again from an
//! [`EstadoInicial`]; once hydrated, submits are intercepted and the server functions are called.

use leptos::{html, prelude::*};
use validation::{
    BusquedaId, BusquedaIdInput, Classification, Field, FieldErrors, ReinicioClave,
    ReinicioClaveInput, ValidationError,
};

use crate::{
    TITULO,
    api::{ApiError, ReinicioSolicitado, UsuarioEncontrado, buscar_id, solicitar_reinicio},
    estado::{ACCION_BUSCAR, ACCION_CONFIRMAR, ACCION_REINICIAR, ACCION_VOLVER, EstadoInicial},
};

/// The question of the confirmation step (dialog with WASM, a page section without).
/// The portal's own question before a reset.
pub const PREGUNTA: &str =
    "¿Desea buscar su contraseña? Le enviaremos una clave temporal a su correo electrónico.";

/// Errors the server sent back, shown until the field they belong to is edited.
#[derive(Clone, Copy)]
struct ErroresServidor {
    errores: RwSignal<FieldErrors>,
    /// The values the server judged; an edited field no longer shows the server's error.
    valores: RwSignal<Vec<(Field, String)>>,
}

impl ErroresServidor {
    fn new(errores: FieldErrors, valores: Vec<(Field, String)>) -> Self {
        ErroresServidor {
            errores: RwSignal::new(errores),
            valores: RwSignal::new(valores),
        }
    }

    fn poner(&self, errores: FieldErrors, valores: Vec<(Field, String)>) {
        self.errores.set(errores);
        self.valores.set(valores);
    }

    fn para(&self, campo: Field, valor_actual: &str) -> Option<ValidationError> {
        let error = self.errores.with(|e| e.get(campo))?;
        let igual = self
            .valores
            .with(|v| v.iter().any(|(f, s)| *f == campo && s == valor_actual));
        igual.then_some(error)
    }
}

/// When each field's error shows: once the field was left or the form submitted, the client's
/// own check; otherwise what the server said of the value it judged.
#[derive(Clone, Copy)]
struct Formulario {
    enviado: RwSignal<bool>,
    errores: Memo<FieldErrors>,
    servidor: ErroresServidor,
}

impl Formulario {
    fn error_de(self, campo: Field, entrada: Entrada) -> Signal<Option<ValidationError>> {
        Signal::derive(move || self.error_actual(campo, entrada))
    }

    /// The error shown now (tracked): read inside a reactive computation.
    fn error_actual(self, campo: Field, entrada: Entrada) -> Option<ValidationError> {
        let propio = (self.enviado.get() || entrada.tocado.get())
            .then(|| self.errores.with(|e| e.get(campo)))
            .flatten();
        propio.or_else(|| entrada.valor.with(|valor| self.servidor.para(campo, valor)))
    }

    /// The error summary's entries: (element id, field, error), in form order.
    fn resumen<const N: usize>(
        self,
        campos: [(Field, Entrada, &'static str); N],
    ) -> Signal<Vec<(&'static str, Field, ValidationError)>> {
        Signal::derive(move || {
            campos
                .iter()
                .filter_map(|&(campo, entrada, id)| {
                    // Read directly: a derived signal made here would be a new node per run.
                    self.error_actual(campo, entrada).map(|e| (id, campo, e))
                })
                .collect()
        })
    }
}

/// One form field's state.
#[derive(Clone, Copy)]
struct Entrada {
    valor: RwSignal<String>,
    /// Left at least once: from then on its error shows.
    tocado: RwSignal<bool>,
}

impl Entrada {
    fn new(valor: &str) -> Self {
        Entrada {
            valor: RwSignal::new(valor.to_owned()),
            tocado: RwSignal::new(false),
        }
    }

    fn vaciar(&self) {
        self.valor.set(String::new());
        self.tocado.set(false);
    }
}

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

/// Section 1: "Búsqueda de ID de usuario".
#[component]
fn Busqueda(
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

/// The current value of each field: what the server is judging.
fn valores<const N: usize>(campos: [(Field, Entrada, &'static str); N]) -> Vec<(Field, String)> {
    campos
        .iter()
        .map(|&(campo, entrada, _)| (campo, entrada.valor.get_untracked()))
        .collect()
}

/// "Representante legal, Empleado, …": the classifications a field applies to, from the table.
fn lista_de(requisito: fn(Classification) -> validation::Requirement) -> String {
    let nombres: Vec<&str> = Classification::ALL
        .into_iter()
        .filter(|c| requisito(*c).is_required())
        .map(Classification::label)
        .collect();
    nombres.join(", ")
}

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

/// Leaving a field shows its errors, except when focus goes to the form's submit button: the
/// submit shows every error anyway, and an error appearing under the field at that instant would
/// push the button away from under the pointer, losing the click.
fn dejar(ev: &leptos::ev::FocusEvent, entrada: Entrada) {
    use leptos::wasm_bindgen::JsCast;
    let hacia_envio = ev
        .related_target()
        .and_then(|t| t.dyn_into::<leptos::web_sys::HtmlButtonElement>().ok())
        .is_some_and(|b| b.type_() == "submit");
    if !hacia_envio {
        entrada.tocado.set(true);
    }
}

fn clase_campo(con_error: bool, bloqueado: bool) -> &'static str {
    match (con_error, bloqueado) {
        (true, _) => "campo campo-error",
        (false, true) => "campo campo-bloqueado",
        (false, false) => "campo",
    }
}

/// Moves focus to a panel once it is rendered (the summary, or the answer), so that screen
/// readers announce it and keyboard users continue from there.
fn enfocar(nodo: NodeRef<html::Div>) {
    request_animation_frame(move || {
        if let Some(elemento) = nodo.get_untracked() {
            let _ = elemento.focus();
        }
    });
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

#[component]
fn Etiqueta(
    para: &'static str,
    texto: &'static str,
    #[prop(into)] requerido: Signal<bool>,
) -> impl IntoView {
    view! {
        <label for=para>
            <Show when=move || requerido.get()>
                <span class="asterisco" aria-hidden="true">"*"</span>
            </Show>
            {texto}
            <Show when=move || requerido.get()>
                <span class="solo-lectores">" (obligatorio)"</span>
            </Show>
        </label>
    }
}

#[component]
fn MensajeError(
    id: &'static str,
    #[prop(into)] error: Signal<Option<ValidationError>>,
) -> impl IntoView {
    view! {
        {move || {
            error
                .get()
                .map(|e| {
                    view! {
                        <p class="mensaje-error" id=format!("{id}-error")>
                            <span class="solo-lectores">"Error: "</span>
                            {e.message()}
                        </p>
                    }
                })
        }}
    }
}

#[component]
fn CampoTexto(
    id: &'static str,
    nombre: &'static str,
    etiqueta: &'static str,
    entrada: Entrada,
    #[prop(into)] requerido: Signal<bool>,
    #[prop(into)] bloqueado: Signal<bool>,
    #[prop(into)] error: Signal<Option<ValidationError>>,
    #[prop(into)] pista: Signal<Option<String>>,
    #[prop(optional)] tipo: Option<&'static str>,
    #[prop(optional)] inputmode: Option<&'static str>,
    #[prop(optional)] autocomplete: Option<&'static str>,
) -> impl IntoView {
    let id_pista = format!("{id}-pista");
    let id_error = format!("{id}-error");
    let descrito = move || {
        let mut ids = Vec::new();
        if pista.with(Option::is_some) {
            ids.push(id_pista.clone());
        }
        if error.with(Option::is_some) {
            ids.push(id_error.clone());
        }
        (!ids.is_empty()).then(|| ids.join(" "))
    };
    view! {
        <div class=move || clase_campo(error.get().is_some(), bloqueado.get())>
            <Etiqueta para=id texto=etiqueta requerido />
            {move || pista.get().map(|p| view! { <p class="pista" id=format!("{id}-pista")>{p}</p> })}
            <MensajeError id error />
            <input
                id=id
                name=nombre
                type=tipo.unwrap_or("text")
                inputmode=inputmode
                autocomplete=autocomplete
                spellcheck="false"
                maxlength="254"
                value=entrada.valor.get_untracked()
                prop:value=move || entrada.valor.get()
                disabled=move || bloqueado.get()
                aria-disabled=move || bloqueado.get().then_some("true")
                required=move || requerido.get()
                aria-required=move || requerido.get().then_some("true")
                aria-invalid=move || error.get().is_some().then_some("true")
                aria-describedby=descrito
                on:input:target=move |ev| entrada.valor.set(ev.target().value())
                on:blur=move |ev| dejar(&ev, entrada)
            />
        </div>
    }
}

/// GOV.UK's error summary: every error, linked to its field, focused on submit.
#[component]
fn ResumenErrores(
    #[prop(into)] errores: Signal<Vec<(&'static str, Field, ValidationError)>>,
    visible: RwSignal<bool>,
    nodo: NodeRef<html::Div>,
) -> impl IntoView {
    view! {
        <div
            class="resumen-errores"
            node_ref=nodo
            tabindex="-1"
            role="alert"
            hidden=move || !visible.get() || errores.with(Vec::is_empty)
        >
            <h3>"Revise los siguientes campos"</h3>
            <ul>
                {move || {
                    errores
                        .get()
                        .into_iter()
                        .map(|(id, campo, error)| {
                            view! {
                                <li>
                                    <a
                                        href=format!("#{id}")
                                        on:click=move |ev| {
                                            ev.prevent_default();
                                            enfocar_campo(id);
                                        }
                                    >
                                        {campo.label()}
                                        ": "
                                        {error.message()}
                                    </a>
                                </li>
                            }
                        })
                        .collect_view()
                }}
            </ul>
        </div>
    }
}

fn enfocar_campo(id: &str) {
    #[cfg(feature = "hydrate")]
    {
        use leptos::wasm_bindgen::JsCast;
        if let Some(elemento) = document()
            .get_element_by_id(id)
            .and_then(|e| e.dyn_into::<leptos::web_sys::HtmlElement>().ok())
        {
            let _ = elemento.focus();
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = id;
}

/// The found ID, with a copy button (the Clipboard API) once the page is interactive.
#[component]
fn UsuarioHallado(usuario: String) -> impl IntoView {
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

/// Section 2: "Reinicio de clave de acceso".
#[component]
fn Reinicio(inicial: EstadoInicial, campos: CamposReinicio) -> impl IntoView {
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
fn ConfirmacionSinJs(datos: ReinicioClaveInput) -> impl IntoView {
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
fn Enviado(respuesta: ReinicioSolicitado) -> impl IntoView {
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
