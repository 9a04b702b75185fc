//! The state of a form: its fields, when their errors show, and the errors the server sent.

use super::*;

/// Errors the server sent back, shown until the field they belong to is edited.
#[derive(Clone, Copy)]
pub(super) struct ErroresServidor {
    pub(super) errores: RwSignal<FieldErrors>,
    /// The values the server judged; an edited field no longer shows the server's error.
    pub(super) valores: RwSignal<Vec<(Field, String)>>,
}

impl ErroresServidor {
    pub(super) fn new(errores: FieldErrors, valores: Vec<(Field, String)>) -> Self {
        ErroresServidor {
            errores: RwSignal::new(errores),
            valores: RwSignal::new(valores),
        }
    }

    pub(super) fn poner(&self, errores: FieldErrors, valores: Vec<(Field, String)>) {
        self.errores.set(errores);
        self.valores.set(valores);
    }

    pub(super) fn para(&self, campo: Field, valor_actual: &str) -> Option<ValidationError> {
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
pub(super) struct Formulario {
    pub(super) enviado: RwSignal<bool>,
    pub(super) errores: Memo<FieldErrors>,
    pub(super) servidor: ErroresServidor,
}

impl Formulario {
    pub(super) fn error_de(
        self,
        campo: Field,
        entrada: Entrada,
    ) -> Signal<Option<ValidationError>> {
        Signal::derive(move || self.error_actual(campo, entrada))
    }

    /// The error shown now (tracked): read inside a reactive computation.
    pub(super) fn error_actual(self, campo: Field, entrada: Entrada) -> Option<ValidationError> {
        let propio = (self.enviado.get() || entrada.tocado.get())
            .then(|| self.errores.with(|e| e.get(campo)))
            .flatten();
        propio.or_else(|| entrada.valor.with(|valor| self.servidor.para(campo, valor)))
    }

    /// The error summary's entries: (element id, field, error), in form order.
    pub(super) fn resumen<const N: usize>(
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
pub(super) struct Entrada {
    pub(super) valor: RwSignal<String>,
    /// Left at least once: from then on its error shows.
    pub(super) tocado: RwSignal<bool>,
}

impl Entrada {
    pub(super) fn new(valor: &str) -> Self {
        Entrada {
            valor: RwSignal::new(valor.to_owned()),
            tocado: RwSignal::new(false),
        }
    }

    pub(super) fn vaciar(&self) {
        self.valor.set(String::new());
        self.tocado.set(false);
    }
}

/// The current value of each field: what the server is judging.
pub(super) fn valores<const N: usize>(
    campos: [(Field, Entrada, &'static str); N],
) -> Vec<(Field, String)> {
    campos
        .iter()
        .map(|&(campo, entrada, _)| (campo, entrada.valor.get_untracked()))
        .collect()
}

/// Leaving a field shows its errors, except when focus goes to the form's submit button: the
/// submit shows every error anyway, and an error appearing under the field at that instant would
/// push the button away from under the pointer, losing the click.
pub(super) fn dejar(ev: &leptos::ev::FocusEvent, entrada: Entrada) {
    use leptos::wasm_bindgen::JsCast;
    let hacia_envio = ev
        .related_target()
        .and_then(|t| t.dyn_into::<leptos::web_sys::HtmlButtonElement>().ok())
        .is_some_and(|b| b.type_() == "submit");
    if !hacia_envio {
        entrada.tocado.set(true);
    }
}

pub(super) fn clase_campo(con_error: bool, bloqueado: bool) -> &'static str {
    match (con_error, bloqueado) {
        (true, _) => "campo campo-error",
        (false, true) => "campo campo-bloqueado",
        (false, false) => "campo",
    }
}

/// Moves focus to a panel once it is rendered (the summary, or the answer), so that screen
/// readers announce it and keyboard users continue from there.
pub(super) fn enfocar(nodo: NodeRef<html::Div>) {
    request_animation_frame(move || {
        if let Some(elemento) = nodo.get_untracked() {
            let _ = elemento.focus();
        }
    });
}
