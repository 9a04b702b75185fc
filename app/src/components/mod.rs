//! The pieces every page is made of: its header, a form field, the error summary.

mod error_summary;
mod field;
mod header;

pub use error_summary::ErrorSummary;
pub use field::{ErrorMessage, Label, TextField, field_class};
pub use header::PageHeader;
