//! The rules of the "Solicitud de reinicio de clave automática" form, in one place.
//!
//! This crate is compiled twice: into the browser's WASM bundle, so that fields are checked as the
//! user types, and into the server, which checks every request again. Because both ask this crate,
//! a rule can never say one thing in the browser and another on the server. The specification is
//! `docs/dominio.md`.
//!
//! Parsed values (`Cedula`, `Ruc`, `Pasaporte`, `Identificacion`, `Email`, `UsuarioId`) are valid by
//! construction: the only way to get one is `parse`, and their canonical form is what the database
//! stores and compares. The two forms (`BusquedaId`, `ReinicioClave`) report every field's error
//! at once.
//!
//! It is pure Rust with no I/O, no regex engine and no tables beyond the ten classifications:
//! every byte here ships to the browser.

mod case;
mod classification;
mod clave;
mod email;
mod error;
mod forms;
mod identity;
mod usuario;

pub use classification::{Classification, Requirement};
pub use clave::{
    CambioClaveInput, DatosCuenta, Ingreso, IngresoInput, NuevaClave, PALABRAS_DEL_SERVICIO,
};
pub use email::Email;
pub use error::{Field, FieldError, FieldErrors, ValidationError};
pub use forms::{
    BusquedaId, BusquedaIdInput, Registro, RegistroInput, ReinicioClave, ReinicioClaveInput,
};
pub use identity::{Cedula, Identificacion, Pasaporte, Ruc, TipoRuc};
pub use usuario::UsuarioId;

/// Longest raw field accepted, in bytes. Every real value is far shorter (an e-mail is at most 254
/// characters); anything longer is refused before it is copied or normalised, so a megabyte of
/// input costs nothing.
pub const MAX_RAW_LEN: usize = 512;

/// Trims, then drops ASCII spaces and hyphens: people type "1710034065", "171003406-5" and
/// "17 1003 4065" for the same cédula. Refuses over-long input first.
fn normalise_number(raw: &str) -> Result<String, ValidationError> {
    if raw.len() > MAX_RAW_LEN {
        return Err(ValidationError::TooLong);
    }
    Ok(raw
        .trim()
        .chars()
        .filter(|c| *c != ' ' && *c != '-')
        .collect())
}

/// The digits of `s` as numbers, or `None` when any character is not an ASCII digit.
fn ascii_digits(s: &str) -> Option<Vec<u8>> {
    s.bytes()
        .map(|b| b.is_ascii_digit().then(|| b - b'0'))
        .collect()
}
