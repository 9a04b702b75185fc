//! Credentials, the mail outbox and the audit log.
//!
//! Times that SQL compares (expiry, next attempt, lock) are integer milliseconds since the Unix
//! epoch: SQLite has no time type, and text timestamps compare wrongly once fractional seconds
//! differ in length. Integers compare right on both engines.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Registrations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Credentials {
    Table,
    RegistrationId,
    /// Argon2id PHC string of the account's current password; NULL until one is set.
    PasswordHash,
    /// Argon2id PHC string of the pending temporary password, if any.
    TempHash,
    TempExpiresAt,
    TempUsedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum MailOutbox {
    Table,
    Id,
    Kind,
    RegistrationId,
    Recipient,
    State,
    /// Set while a message of this kind for this account is queued or sending, NULL after: the
    /// unique index lets at most one wait at a time (NULLs never collide).
    PendingKey,
    Attempts,
    NextAttemptAt,
    LockedUntil,
    LastError,
    CreatedAt,
    SentAt,
}

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Id,
    At,
    Event,
    Outcome,
    ClientAddr,
    Identificacion,
    RegistrationId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Credentials::Table)
                    .if_not_exists()
                    .col(big_integer(Credentials::RegistrationId).primary_key())
                    .col(string_len_null(Credentials::PasswordHash, 255))
                    .col(string_len_null(Credentials::TempHash, 255))
                    .col(big_integer_null(Credentials::TempExpiresAt))
                    .col(big_integer_null(Credentials::TempUsedAt))
                    .col(big_integer(Credentials::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Credentials::Table, Credentials::RegistrationId)
                            .to(Registrations::Table, Registrations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(MailOutbox::Table)
                    .if_not_exists()
                    .col(big_pk_auto(MailOutbox::Id))
                    .col(string_len(MailOutbox::Kind, 32))
                    .col(big_integer(MailOutbox::RegistrationId))
                    .col(string_len(MailOutbox::Recipient, 254))
                    .col(string_len(MailOutbox::State, 16))
                    .col(string_len_null(MailOutbox::PendingKey, 64).unique_key())
                    .col(integer(MailOutbox::Attempts).default(0))
                    .col(big_integer(MailOutbox::NextAttemptAt))
                    .col(big_integer_null(MailOutbox::LockedUntil))
                    .col(text_null(MailOutbox::LastError))
                    .col(big_integer(MailOutbox::CreatedAt))
                    .col(big_integer_null(MailOutbox::SentAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(MailOutbox::Table, MailOutbox::RegistrationId)
                            .to(Registrations::Table, Registrations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // The worker's claim: due queued rows, and "sending" rows whose lock ran out.
        manager
            .create_index(
                Index::create()
                    .name("idx_mail_outbox_state_next")
                    .table(MailOutbox::Table)
                    .col(MailOutbox::State)
                    .col(MailOutbox::NextAttemptAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AuditLog::Table)
                    .if_not_exists()
                    .col(big_pk_auto(AuditLog::Id))
                    .col(big_integer(AuditLog::At))
                    .col(string_len(AuditLog::Event, 32))
                    .col(string_len(AuditLog::Outcome, 48))
                    .col(string_len_null(AuditLog::ClientAddr, 64))
                    .col(string_len_null(AuditLog::Identificacion, 24))
                    .col(big_integer_null(AuditLog::RegistrationId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_audit_log_at")
                    .table(AuditLog::Table)
                    .col(AuditLog::At)
                    .to_owned(),
            )
            .await?;
        // The reset looks the account up by its case-folded ID (unique, so already indexed).
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            AuditLog::Table.into_iden(),
            MailOutbox::Table.into_iden(),
            Credentials::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
