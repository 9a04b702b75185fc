//! A form field: label, hint, error and input.

use leptos::prelude::*;
use validation::ValidationError;

use crate::form::FieldState;

/// A field's label; a required field's shows the asterisk, and "(obligatorio)" for screen readers.
#[component]
pub fn Label(
    for_id: &'static str,
    text: &'static str,
    #[prop(into)] required: Signal<bool>,
) -> impl IntoView {
    view! {
        // Both marks are always there and hidden when the field is optional: a classification
        // change toggles an attribute instead of creating and removing elements.
        <label for=for_id>
            <span class="asterisco" aria-hidden="true" hidden=move || !required.get()>"*"</span>
            {text}
            <span class="solo-lectores" hidden=move || !required.get()>" (obligatorio)"</span>
        </label>
    }
}

/// The id of a field's hint paragraph, which its `aria-describedby` names.
fn hint_id(id: &str) -> String {
    format!("{id}-pista")
}

/// The id of a field's error paragraph, which its `aria-describedby` names.
fn error_id(id: &str) -> String {
    format!("{id}-error")
}

/// The field's error, if it shows one: `{id}-error`, which the field's `aria-describedby` names.
#[component]
pub fn ErrorMessage(
    id: &'static str,
    #[prop(into)] error: Signal<Option<ValidationError>>,
    /// Announced as it changes: for a field checked on every keystroke from the start.
    #[prop(optional)]
    live: bool,
) -> impl IntoView {
    // As for a hint (see `TextField`): the paragraph comes and goes with the error; while it
    // stays, only its text follows the error, and a live region whose text changes is announced.
    let shown = Memo::new(move |_| error.with(Option::is_some));
    view! {
        {move || {
            shown.get().then(|| {
                view! {
                    <p class="mensaje-error" id=error_id(id) aria-live=live.then_some("polite")>
                        <span class="solo-lectores">"Error: "</span>
                        {move || error.get().map(ValidationError::message).unwrap_or_default()}
                    </p>
                }
            })
        }}
    }
}

/// The field's box: its error, or else its lock, sets its look.
pub fn field_class(with_error: bool, locked: bool) -> &'static str {
    match (with_error, locked) {
        (true, _) => "campo campo-error",
        (false, true) => "campo campo-bloqueado",
        (false, false) => "campo",
    }
}

/// A text input with its label, hint and error: every field of every page but the
/// classification's `<select>`. With WASM it is bound to `state`; without, the value it starts
/// with is the one posted.
#[component]
pub fn TextField(
    id: &'static str,
    name: &'static str,
    label: &'static str,
    state: FieldState,
    #[prop(into, default = Signal::stored(true))] required: Signal<bool>,
    /// Locked until the form asks for it (with WASM only): disabled, and it sends no value.
    #[prop(into, optional)]
    locked: Signal<bool>,
    #[prop(into, optional)] error: Signal<Option<ValidationError>>,
    #[prop(into, optional)] hint: Signal<Option<String>>,
    /// Announce the error as it changes (see [`ErrorMessage`]).
    #[prop(optional)]
    live: bool,
    #[prop(optional)] input_type: Option<&'static str>,
    #[prop(optional)] inputmode: Option<&'static str>,
    #[prop(optional)] autocomplete: Option<&'static str>,
    #[prop(optional)] spellcheck: Option<&'static str>,
    #[prop(optional)] maxlength: Option<&'static str>,
) -> impl IntoView {
    let has_hint = Memo::new(move |_| hint.with(Option::is_some));
    let described_by = move || {
        let mut ids = Vec::new();
        if has_hint.get() {
            ids.push(hint_id(id));
        }
        if error.with(Option::is_some) {
            ids.push(error_id(id));
        }
        (!ids.is_empty()).then(|| ids.join(" "))
    };
    view! {
        <div class=move || field_class(error.get().is_some(), locked.get())>
            <Label for_id=id text=label required />
            // The paragraph is rebuilt only when the hint comes or goes; a changed hint changes
            // its text. (Rebuilding it removes and re-sets its class and id: four DOM calls per
            // hint on every classification change, most of which leave the hint as it was.)
            {move || {
                has_hint
                    .get()
                    .then(|| view! { <p class="pista" id=hint_id(id)>{move || hint.get().unwrap_or_default()}</p> })
            }}
            <ErrorMessage id error live />
            <input
                id=id
                name=name
                type=input_type.unwrap_or("text")
                inputmode=inputmode
                autocomplete=autocomplete
                spellcheck=spellcheck
                maxlength=maxlength
                value=state.value.get_untracked()
                prop:value=move || state.value.get()
                disabled=move || locked.get()
                aria-disabled=move || locked.get().then_some("true")
                required=move || required.get()
                aria-required=move || required.get().then_some("true")
                aria-invalid=move || error.get().is_some().then_some("true")
                aria-describedby=described_by
                on:input:target=move |ev| state.value.set(ev.target().value())
                on:blur=move |ev| state.leave(&ev)
            />
        </div>
    }
}
