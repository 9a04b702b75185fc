//! One time type: the registry's `created_at` and `updated_at` become milliseconds since the Unix
//! epoch (`BIGINT`), like every other timestamp of the schema, written from the one `Clock`.
//! Existing values are converted in place.

use sea_orm::{ConnectionTrait, DbBackend};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    // All or nothing, on SQLite too (its DDL is transactional): a failure never leaves the table
    // half converted.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        // The date-time as milliseconds, in each database's own words.
        let ms = |col: &str| match db.get_database_backend() {
            DbBackend::Postgres => format!("CAST(EXTRACT(EPOCH FROM {col}) * 1000 AS BIGINT)"),
            _ => format!("CAST(ROUND((julianday({col}) - 2440587.5) * 86400000.0) AS INTEGER)"),
        };
        for (old, new) in [("created_at", "created_ms"), ("updated_at", "updated_ms")] {
            db.execute_unprepared(&format!(
                "ALTER TABLE registrations ADD COLUMN {new} BIGINT NOT NULL DEFAULT 0"
            ))
            .await?;
            // A value the database cannot read is NULL: the NOT NULL column refuses it, and the
            // migration stops instead of dating a registration to 1970.
            db.execute_unprepared(&format!("UPDATE registrations SET {new} = {}", ms(old)))
                .await?;
            db.execute_unprepared(&format!("ALTER TABLE registrations DROP COLUMN {old}"))
                .await?;
            db.execute_unprepared(&format!(
                "ALTER TABLE registrations RENAME COLUMN {new} TO {old}"
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, _: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "sin vuelta atrás: las fechas ya están en milisegundos".into(),
        ))
    }
}
