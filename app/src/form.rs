//! The state of a form in the browser: each field's value, when its error shows, the errors the
//! server sent back, and the one submit both forms of the main page make to their server function.
//!
//! Every rule comes from the `validation` crate: this only decides *when* an error shows (once the
//! field was left or the form submitted, then on every keystroke).

use std::future::Future;

use leptos::{
    ev::{FocusEvent, SubmitEvent},
    html,
    prelude::*,
};
use validation::{Field, FieldErrors, ValidationError};

use crate::{api::ApiError, browser};

/// One form field's state.
#[derive(Clone, Copy)]
pub struct FieldState {
    pub value: RwSignal<String>,
    /// Left at least once: from then on its error shows.
    pub touched: RwSignal<bool>,
}

impl FieldState {
    pub fn new(value: &str) -> Self {
        FieldState {
            value: RwSignal::new(value.to_owned()),
            touched: RwSignal::new(false),
        }
    }

    /// Empties the field. Only what changes notifies: a classification change clears the fields
    /// it locks, which are usually empty already, and every notification re-runs the field's
    /// checks, error, hint and attributes.
    pub fn clear(&self) {
        self.value.maybe_update(|v| {
            let changed = !v.is_empty();
            v.clear();
            changed
        });
        self.touched.maybe_update(|t| std::mem::replace(t, false));
    }

    /// Marks the field as left: its error shows from now on (notifies only the first time).
    pub fn touch(&self) {
        self.touched.maybe_update(|t| !std::mem::replace(t, true));
    }

    /// Leaving a field shows its errors, except when focus goes to the form's submit button: the
    /// submit shows every error anyway, and an error appearing under the field at that instant
    /// would push the button away from under the pointer, losing the click.
    pub fn leave(&self, ev: &FocusEvent) {
        if !browser::focus_goes_to_submit(ev) {
            self.touch();
        }
    }
}

/// Errors the server sent back, shown until the field they belong to is edited.
#[derive(Clone, Copy)]
struct ServerErrors {
    errors: RwSignal<FieldErrors>,
    /// The values the server judged; an edited field no longer shows the server's error.
    values: RwSignal<Vec<(Field, String)>>,
}

impl ServerErrors {
    fn set(&self, errors: FieldErrors, values: Vec<(Field, String)>) {
        self.errors.set(errors);
        self.values.set(values);
    }

    fn for_value(&self, field: Field, current: &str) -> Option<ValidationError> {
        let error = self.errors.with(|e| e.get(field))?;
        let same = self
            .values
            .with(|v| v.iter().any(|(f, s)| *f == field && s == current));
        same.then_some(error)
    }
}

/// A form of the main page: its fields in order, when their errors show, and the message of its
/// last answer.
#[derive(Clone, Copy)]
pub struct Form {
    fields: StoredValue<Vec<(Field, FieldState)>>,
    /// Submitted at least once: from then on every error shows.
    pub submitted: RwSignal<bool>,
    /// The client's own check of the current values.
    errors: Memo<FieldErrors>,
    server: ServerErrors,
    /// A message for the whole form (no match, service unavailable).
    pub notice: RwSignal<Option<String>>,
    /// The error summary, focused when a submit finds errors.
    pub summary: NodeRef<html::Div>,
    /// The answer's panel, focused when an answer arrives.
    pub result: NodeRef<html::Div>,
}

impl Form {
    /// `server_errors` are what the server said of the fields' starting values (the page answers
    /// a post without JavaScript); they also make the form start as submitted.
    pub fn new(
        fields: Vec<(Field, FieldState)>,
        errors: Memo<FieldErrors>,
        server_errors: FieldErrors,
        notice: Option<String>,
    ) -> Self {
        let values = current_values(&fields);
        Form {
            fields: StoredValue::new(fields),
            submitted: RwSignal::new(!server_errors.is_empty()),
            errors,
            server: ServerErrors {
                errors: RwSignal::new(server_errors),
                values: RwSignal::new(values),
            },
            notice: RwSignal::new(notice),
            summary: NodeRef::new(),
            result: NodeRef::new(),
        }
    }

    /// The error `field` shows.
    pub fn error(self, field: Field) -> Signal<Option<ValidationError>> {
        Signal::derive(move || {
            self.fields.with_value(|fields| {
                let (_, state) = fields.iter().find(|(f, _)| *f == field)?;
                self.shown(field, *state)
            })
        })
    }

    /// The error summary's entries, in form order.
    pub fn summary_entries(self) -> Signal<Vec<(Field, ValidationError)>> {
        Signal::derive(move || {
            self.fields.with_value(|fields| {
                fields
                    .iter()
                    // Read directly: a derived signal made here would be a new node per run.
                    .filter_map(|&(field, state)| self.shown(field, state).map(|e| (field, e)))
                    .collect()
            })
        })
    }

    /// The error shown now (tracked: read inside a reactive computation). The client's own check
    /// once the field was left or the form submitted; otherwise what the server said of the value
    /// it judged.
    fn shown(self, field: Field, state: FieldState) -> Option<ValidationError> {
        let own = (self.submitted.get() || state.touched.get())
            .then(|| self.errors.with(|e| e.get(field)))
            .flatten();
        own.or_else(|| {
            state
                .value
                .with(|value| self.server.for_value(field, value))
        })
    }
}

/// The current value of each field: what the server is judging.
fn current_values(fields: &[(Field, FieldState)]) -> Vec<(Field, String)> {
    fields
        .iter()
        .map(|&(field, state)| (field, state.value.get_untracked()))
        .collect()
}

/// A form's call to its server function, and the answer: what both forms of the main page share.
/// The answer shows until the next submit; field errors from the server show at their fields;
/// any other error is the form's notice.
pub struct ServerCall<I: 'static, O: 'static> {
    form: Form,
    action: Action<I, Result<O, ApiError>>,
    /// The last successful answer.
    pub answer: RwSignal<Option<O>>,
}

impl<I, O> Clone for ServerCall<I, O> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<I, O> Copy for ServerCall<I, O> {}

impl<I, O> ServerCall<I, O>
where
    I: Send + Sync + 'static,
    O: Clone + Send + Sync + 'static,
{
    /// `answer` is the one the page starts with (after a post without JavaScript); `found` runs
    /// when a successful answer arrives, before it shows.
    pub fn new<F>(
        form: Form,
        answer: Option<O>,
        call: impl Fn(&I) -> F + 'static,
        found: impl Fn(&O) + 'static,
    ) -> Self
    where
        F: Future<Output = Result<O, ApiError>> + 'static,
    {
        let action = Action::new_local(call);
        let answer = RwSignal::new(answer);
        Effect::new(move |_| {
            let Some(result) = action.value().get() else {
                return;
            };
            match result {
                Ok(o) => {
                    found(&o);
                    answer.set(Some(o));
                    form.notice.set(None);
                    browser::focus_when_rendered(form.result);
                }
                Err(ApiError::Campos { campos }) => {
                    form.server
                        .set(campos, form.fields.with_value(|f| current_values(f)));
                    browser::focus_when_rendered(form.summary);
                }
                Err(error) => {
                    answer.set(None);
                    form.notice.set(Some(error.to_string()));
                    browser::focus_when_rendered(form.result);
                }
            }
        });
        ServerCall {
            form,
            action,
            answer,
        }
    }

    /// A submit's first steps: the browser does not post the form, the last answer and errors go,
    /// and every error shows. True when the client's own check passes and the data may be sent;
    /// otherwise the error summary takes focus.
    pub fn start(self, ev: SubmitEvent) -> bool {
        ev.prevent_default();
        if self.action.pending().get_untracked() {
            return false;
        }
        let form = self.form;
        form.submitted.set(true);
        self.answer.set(None);
        form.notice.set(None);
        form.server.set(FieldErrors::new(), Vec::new());
        if form.errors.with_untracked(FieldErrors::is_empty) {
            true
        } else {
            browser::focus_when_rendered(form.summary);
            false
        }
    }

    pub fn send(self, data: I) {
        self.action.dispatch_local(data);
    }

    /// A call is under way.
    pub fn pending(self) -> Signal<bool> {
        self.action.pending().into()
    }
}
