//! The application's pages, one module each; [`crate::App`] picks one by path.

pub mod account;
pub mod not_found;
pub mod reset_request;
