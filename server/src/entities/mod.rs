//! sea-orm entities, one module a table. The schema itself is defined by the `migration` crate.

pub mod audit_log;
pub mod credential;
pub mod mail_outbox;
pub mod rate_limit;
pub mod registration;
pub mod session;
pub mod sign_in_failure;
