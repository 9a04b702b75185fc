//! sea-orm entities, one module a table. The schema itself is defined by the `migration` crate.

pub mod registration;
