//! The pieces every field and form of the page is made of: header, label, error, text field, error summary.

use super::*;

#[component]
pub(super) fn Etiqueta(
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
pub(super) fn MensajeError(
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
pub(super) fn CampoTexto(
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
pub(super) fn ResumenErrores(
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

pub(super) fn enfocar_campo(id: &str) {
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
