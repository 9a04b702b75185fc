//! The rules of the "Solicitud de reinicio de clave automática" form.
//!
//! This crate is compiled twice: into the browser's WASM bundle, so that fields are checked as the
//! user types, and into the server, which checks every request again. Because both ask this crate,
//! a rule can never say one thing in the browser and another on the server.
//!
//! It is pure Rust with no I/O and no large dependencies: every byte here ships to the browser.
