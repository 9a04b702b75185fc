//! Schema migrations. The server runs them at start-up (and `server migrate` runs them alone), so
//! several instances sharing one database agree on its shape; sea-orm-migration records what ran.
//!
//! A migration that has shipped is never edited: a change is a new migration.

pub use sea_orm_migration::prelude::*;

mod m20261128_000001_registrations;
mod m20261128_000002_reset_outbox_audit;
mod m20261128_000003_sessions_sign_in;
mod m20261128_000004_rate_limits;
mod m20261130_000005_registration_times_ms;
mod m20261130_000006_audit_request_id;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261128_000001_registrations::Migration),
            Box::new(m20261128_000002_reset_outbox_audit::Migration),
            Box::new(m20261128_000003_sessions_sign_in::Migration),
            Box::new(m20261128_000004_rate_limits::Migration),
            Box::new(m20261130_000005_registration_times_ms::Migration),
            Box::new(m20261130_000006_audit_request_id::Migration),
        ]
    }
}
