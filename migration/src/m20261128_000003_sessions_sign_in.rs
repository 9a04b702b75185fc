//! Server-side sessions and the sign-in failure counter. Both live in the database so that every
//! server instance sees the same sessions and the same lockouts.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Registrations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    /// SHA-256 of the cookie's random token: a copy of the table opens no session.
    TokenHash,
    RegistrationId,
    /// 1 while the account must choose a new password before anything else.
    MustChange,
    CreatedAt,
    LastSeenAt,
}

#[derive(DeriveIden)]
enum SignInFailures {
    Table,
    /// The case-folded ID usuario typed, known or not: unknown IDs are counted too, so the
    /// lockout reveals nothing.
    UsuarioClave,
    Failures,
    WindowStart,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Sessions::Table)
                    .if_not_exists()
                    .col(string_len(Sessions::TokenHash, 64).primary_key())
                    .col(big_integer(Sessions::RegistrationId))
                    .col(small_integer(Sessions::MustChange))
                    .col(big_integer(Sessions::CreatedAt))
                    .col(big_integer(Sessions::LastSeenAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Sessions::Table, Sessions::RegistrationId)
                            .to(Registrations::Table, Registrations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_sessions_registration")
                    .table(Sessions::Table)
                    .col(Sessions::RegistrationId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SignInFailures::Table)
                    .if_not_exists()
                    .col(string_len(SignInFailures::UsuarioClave, 64).primary_key())
                    .col(integer(SignInFailures::Failures))
                    .col(big_integer(SignInFailures::WindowStart))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(SignInFailures::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Sessions::Table).to_owned())
            .await
    }
}
