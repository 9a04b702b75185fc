//! What a server-rendered page starts with after a form was posted without JavaScript.
//!
//! Without WASM the forms post to the server (`POST /`, `server/src/routes/no_js.rs`), which
//! validates with the same crate, calls the same services and renders the page again from this
//! state: values kept, errors in place, or the result shown. With WASM nothing here is used: the
//! page calls the server functions itself.

use validation::{BusquedaIdInput, FieldErrors, ReinicioClaveInput};

use crate::api::ReinicioSolicitado;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct EstadoInicial {
    pub busqueda: BusquedaIdInput,
    pub errores_busqueda: FieldErrors,
    /// The ID usuario "Buscar ID" found.
    pub encontrado: Option<String>,
    /// A message for the whole section 1 (no match, service unavailable).
    pub aviso_busqueda: Option<String>,
    pub reinicio: ReinicioClaveInput,
    pub errores_reinicio: FieldErrors,
    /// The data is valid: ask "¿Desea …?" before sending.
    pub confirmar: bool,
    pub enviado: Option<ReinicioSolicitado>,
    pub aviso_reinicio: Option<String>,
}

/// The submit buttons' `name="accion"` values.
pub const ACCION_BUSCAR: &str = "buscar";
pub const ACCION_REINICIAR: &str = "reiniciar";
pub const ACCION_CONFIRMAR: &str = "confirmar";
/// "No" on the confirmation step: back to the form, values kept.
pub const ACCION_VOLVER: &str = "volver";
