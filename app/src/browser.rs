//! Everything that calls the browser's own APIs (`web_sys`, `js_sys`, `wasm_bindgen`), in one
//! place, so that the rest of the crate carries no `#[cfg(feature = "hydrate")]` of its own.
//!
//! Each function does its work only in the WASM build (feature `hydrate`). The server renders the
//! same components but never runs their event handlers or effects, where these are called, so
//! there they do nothing.

use leptos::{ev::FocusEvent, html, prelude::*};

/// Whether focus is moving to a submit button (see [`crate::form::FieldState::leave`]).
pub fn focus_goes_to_submit(ev: &FocusEvent) -> bool {
    #[cfg(feature = "hydrate")]
    {
        use leptos::wasm_bindgen::JsCast;
        ev.related_target()
            .and_then(|t| t.dyn_into::<leptos::web_sys::HtmlButtonElement>().ok())
            .is_some_and(|b| b.type_() == "submit")
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = ev;
        false
    }
}

/// Moves focus to a panel once it is rendered (the error summary, or the answer), so that screen
/// readers announce it and keyboard users continue from there.
pub fn focus_when_rendered(node: NodeRef<html::Div>) {
    #[cfg(feature = "hydrate")]
    request_animation_frame(move || {
        if let Some(element) = node.get_untracked() {
            let _ = element.focus();
        }
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = node;
}

/// The element with this id, if it is of type `T`.
#[cfg(feature = "hydrate")]
fn element_by_id<T: leptos::wasm_bindgen::JsCast>(id: &str) -> Option<T> {
    use leptos::wasm_bindgen::JsCast;
    document().get_element_by_id(id)?.dyn_into::<T>().ok()
}

/// Moves focus to the element with this id (a field, from the error summary's link).
pub fn focus_by_id(id: &str) {
    #[cfg(feature = "hydrate")]
    if let Some(element) = element_by_id::<leptos::web_sys::HtmlElement>(id) {
        let _ = element.focus();
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = id;
}

/// The value of the input with this id as the server rendered it (in the browser; `None` on the
/// server, which knows the value itself).
pub fn input_value(id: &str) -> Option<String> {
    #[cfg(feature = "hydrate")]
    {
        element_by_id::<leptos::web_sys::HtmlInputElement>(id).map(|input| input.value())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = id;
        None
    }
}

/// Opens a dialog as modal: the rest of the page is inert until it closes.
pub fn open_dialog(dialog: NodeRef<html::Dialog>) {
    #[cfg(feature = "hydrate")]
    if let Some(d) = dialog.get_untracked() {
        let _ = d.show_modal();
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = dialog;
}

pub fn close_dialog(dialog: NodeRef<html::Dialog>) {
    #[cfg(feature = "hydrate")]
    if let Some(d) = dialog.get_untracked() {
        d.close();
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = dialog;
}

/// Writes `text` to the clipboard (the Clipboard API), then sets `copied`.
pub fn copy_to_clipboard(text: &str, copied: RwSignal<bool>) {
    #[cfg(feature = "hydrate")]
    {
        let promise = window().navigator().clipboard().write_text(text);
        leptos::task::spawn_local(async move {
            if wasm_bindgen_futures::JsFuture::from(promise).await.is_ok() {
                copied.set(true);
            }
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (text, copied);
}

/// The address bar's path (on the server, the request's: see `crate::ruta_actual`).
#[cfg(not(feature = "ssr"))]
pub fn path() -> String {
    #[cfg(feature = "hydrate")]
    {
        window().location().pathname().unwrap_or_default()
    }
    #[cfg(not(feature = "hydrate"))]
    String::new()
}

/// A JSON object parsed by the browser's own `JSON.parse` (see [`crate::codec`], which has the
/// same type for the server and the tests, over serde_json).
#[cfg(feature = "hydrate")]
pub struct JsonObject(leptos::wasm_bindgen::JsValue);

#[cfg(feature = "hydrate")]
impl JsonObject {
    pub(crate) fn parse(bytes: &[u8]) -> Option<Self> {
        let text = std::str::from_utf8(bytes).ok()?;
        Self::if_object(leptos::web_sys::js_sys::JSON::parse(text).ok()?)
    }

    fn if_object(value: leptos::wasm_bindgen::JsValue) -> Option<Self> {
        use leptos::web_sys::js_sys::Array;
        (value.is_object() && !Array::is_array(&value)).then_some(JsonObject(value))
    }

    fn field(&self, name: &str) -> Option<leptos::wasm_bindgen::JsValue> {
        let key = leptos::wasm_bindgen::JsValue::from_str(name);
        leptos::web_sys::js_sys::Reflect::get(&self.0, &key).ok()
    }

    pub fn text(&self, name: &str) -> Option<String> {
        self.field(name)?.as_string()
    }

    /// A whole number from 0 to 2⁵³ − 1 (JavaScript numbers are exact up to there).
    pub fn integer(&self, name: &str) -> Option<u64> {
        let number = self.field(name)?.as_f64()?;
        ((0.0..=9_007_199_254_740_991.0).contains(&number) && number.fract() == 0.0)
            .then_some(number as u64)
    }

    /// A list whose every element is an object.
    pub fn list(&self, name: &str) -> Option<Vec<JsonObject>> {
        use leptos::web_sys::js_sys::Array;
        let value = self.field(name)?;
        if !Array::is_array(&value) {
            return None;
        }
        Array::from(&value).iter().map(Self::if_object).collect()
    }
}
