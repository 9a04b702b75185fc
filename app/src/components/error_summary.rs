//! The error summary of every form.

use leptos::{html, prelude::*};
use validation::{Field, ValidationError};

use crate::browser;

/// GOV.UK's error summary: every error, linked to its field. A form's fields have the ids
/// `{prefix}-{name}` (`b-correo`, `i-usuario`), so the entries need only the field.
///
/// Hidden until `visible` and while there is no error. A link moves focus to its field (with
/// WASM; without, it is a plain link to the field's id).
#[component]
pub fn ErrorSummary(
    prefix: &'static str,
    #[prop(into)] errors: Signal<Vec<(Field, ValidationError)>>,
    #[prop(into)] visible: Signal<bool>,
    /// Focused when a submit finds errors.
    #[prop(optional)]
    node: NodeRef<html::Div>,
) -> impl IntoView {
    view! {
        <div
            class="resumen-errores"
            node_ref=node
            tabindex="-1"
            role="alert"
            hidden=move || !visible.get() || errors.with(Vec::is_empty)
        >
            <h3>"Revise los siguientes campos"</h3>
            <ul>
                // Its entries exist only while it shows: before the first submit, each field's
                // error coming and going (a classification change, a keystroke) would otherwise
                // create and remove a hidden entry.
                {move || {
                    if visible.get() { errors.get() } else { Vec::new() }
                        .into_iter()
                        .map(|(field, error)| {
                            let id = format!("{prefix}-{}", field.name());
                            view! {
                                <li>
                                    <a
                                        href=format!("#{id}")
                                        on:click=move |ev| {
                                            ev.prevent_default();
                                            browser::focus_by_id(&id);
                                        }
                                    >
                                        {field.label()}
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
