//! The approved *solicitudes de uso*: who may look up an ID usuario and ask for a reset.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Registrations {
    Table,
    Id,
    /// The ID usuario as the person chose it (shown back to them).
    UsuarioId,
    /// The ID usuario folded to lower case: IDs compare case-insensitively, so uniqueness must too.
    UsuarioIdClave,
    Clasificacion,
    Identificacion,
    RucEmpresa,
    Correo,
    Estado,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Registrations::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Registrations::Id))
                    .col(string_len(Registrations::UsuarioId, 30))
                    .col(string_len_uniq(Registrations::UsuarioIdClave, 30))
                    .col(string_len(Registrations::Clasificacion, 40))
                    .col(string_len(Registrations::Identificacion, 20))
                    .col(string_len_null(Registrations::RucEmpresa, 13))
                    .col(string_len(Registrations::Correo, 254))
                    .col(string_len(Registrations::Estado, 16))
                    .col(timestamp_with_time_zone(Registrations::CreatedAt))
                    .col(timestamp_with_time_zone(Registrations::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        // "Buscar ID" reads by identification first: it is the one field every classification has.
        manager
            .create_index(
                Index::create()
                    .name("idx_registrations_identificacion")
                    .table(Registrations::Table)
                    .col(Registrations::Identificacion)
                    .col(Registrations::Clasificacion)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Registrations::Table).to_owned())
            .await
    }
}
