//! Deleting rows that no longer mean anything, so that tables follow current traffic instead of
//! growing with every request an attacker sends:
//! - limit windows (`rate_limits`) that ended;
//! - sign-in failure counts (`sign_in_failures`) whose window ended;
//! - sessions idle past their timeout (they are refused already; this removes the row);
//! - sent messages of the outbox older than the retention (`REINICIO_SENT_MAIL_RETENTION_DAYS`,
//!   30 days by default): by then the e-mail's password has long expired, and the recipient's
//!   address should not be kept longer than needed. Abandoned messages stay until an operator
//!   retries them; the audit log is the service's record and is never deleted here.
//!
//! Every instance runs it every few minutes; the statements are idempotent, so several instances
//! sharing one database do no harm.

use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter};

use super::{limits, outbox, sign_in};
use crate::entities::{mail_outbox, rate_limit, session, sign_in_failure};

/// How often each instance cleans up.
pub const EVERY: std::time::Duration = std::time::Duration::from_secs(5 * 60);

/// What one pass deleted, per table.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Deleted {
    pub rate_limits: u64,
    pub sign_in_failures: u64,
    pub sessions: u64,
    pub sent_mail: u64,
}

/// One pass at time `now`, keeping sent mail for `sent_mail_retention_days`.
pub async fn run_once(
    db: &DatabaseConnection,
    now: i64,
    sent_mail_retention_days: u32,
) -> Result<Deleted, DbErr> {
    let rate_limits = rate_limit::Entity::delete_many()
        .filter(rate_limit::Column::WindowStart.lte(now - limits::VENTANA_MS))
        .exec(db)
        .await?
        .rows_affected;
    let sign_in_failures = sign_in_failure::Entity::delete_many()
        .filter(sign_in_failure::Column::WindowStart.lte(now - sign_in::FAILURE_WINDOW_MS))
        .exec(db)
        .await?
        .rows_affected;
    let sessions = session::Entity::delete_many()
        .filter(session::Column::LastSeenAt.lte(now - sign_in::SESSION_IDLE_MS))
        .exec(db)
        .await?
        .rows_affected;
    let retention_ms = i64::from(sent_mail_retention_days) * 24 * 60 * 60_000;
    let sent_mail = mail_outbox::Entity::delete_many()
        // A bounced message was sent too: it goes after the same time.
        .filter(mail_outbox::Column::State.is_in([outbox::State::Sent, outbox::State::Bounced]))
        .filter(mail_outbox::Column::SentAt.lte(now - retention_ms))
        .exec(db)
        .await?
        .rows_affected;
    Ok(Deleted {
        rate_limits,
        sign_in_failures,
        sessions,
        sent_mail,
    })
}

/// Runs [`run_once`] every [`EVERY`] until the returned handle is aborted.
pub fn spawn(
    db: DatabaseConnection,
    clock: std::sync::Arc<dyn super::Clock>,
    sent_mail_retention_days: u32,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(EVERY);
        loop {
            every.tick().await;
            match run_once(&db, clock.now_ms(), sent_mail_retention_days).await {
                Ok(deleted) => tracing::debug!(?deleted, "limpieza de filas vencidas"),
                Err(error) => tracing::warn!(%error, "limpieza de filas vencidas fallida"),
            }
        }
    })
}
