//! The audit trail: every lookup, reset request and e-mail send, with its outcome, the client's
//! address and the identification masked. Never a secret.

use std::net::IpAddr;

use sea_orm::{
    ActiveValue::Set, ConnectionTrait, DbErr, EntityTrait, QueryTrait, sea_query::InsertStatement,
};
use validation::Identificacion;

use crate::entities::audit_log;

tokio::task_local! {
    /// The ID of the request being answered, set around each request by `middleware`: it goes
    /// into the audit rows the request causes, as it goes into its log lines.
    pub static REQUEST_ID: String;
}

/// The current request's ID, if this runs inside one.
pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

pub struct Entry<'a> {
    /// The request that caused it (see [`REQUEST_ID`]).
    pub request_id: Option<&'a str>,
    pub event: &'static str,
    pub outcome: &'static str,
    pub client: Option<IpAddr>,
    pub identificacion: Option<&'a Identificacion>,
    pub registration_id: Option<i64>,
}

pub async fn record(db: &impl ConnectionTrait, at: i64, entry: Entry<'_>) -> Result<(), DbErr> {
    insert(db, vec![row(at, entry)]).await
}

/// The row for `entry`, logged as it is made (the log line has the same fields as the row).
pub fn row(at: i64, entry: Entry<'_>) -> audit_log::ActiveModel {
    tracing::info!(
        event = entry.event,
        outcome = entry.outcome,
        client = ?entry.client,
        identificacion = entry.identificacion.map(Identificacion::masked),
        registration = entry.registration_id,
        // Written where the batch is, outside the request's span: named here, as in the row.
        request_id = entry.request_id,
        "auditoría"
    );
    audit_log::ActiveModel {
        at: Set(at),
        event: Set(entry.event.to_owned()),
        outcome: Set(entry.outcome.to_owned()),
        client_addr: Set(entry.client.map(|c| c.to_string())),
        identificacion: Set(entry.identificacion.map(Identificacion::masked)),
        registration_id: Set(entry.registration_id),
        request_id: Set(entry.request_id.map(str::to_owned)),
        ..Default::default()
    }
}

/// Writes many rows in one statement.
pub async fn insert(
    db: &impl ConnectionTrait,
    rows: Vec<audit_log::ActiveModel>,
) -> Result<(), DbErr> {
    if rows.is_empty() {
        return Ok(());
    }
    db.execute(&insert_statement(rows)).await.map(drop)
}

/// The statement that writes `rows` (at least one: [`insert`] skips an empty list), for a caller
/// that runs it its own way (the group commit runs it with its `COMMIT`).
pub fn insert_statement(rows: Vec<audit_log::ActiveModel>) -> InsertStatement {
    audit_log::Entity::insert_many(rows).into_query()
}

/// The most recent entries, newest first (for `server audit`).
pub async fn recent(db: &impl ConnectionTrait, limit: u64) -> Result<Vec<audit_log::Model>, DbErr> {
    use sea_orm::{QueryOrder, QuerySelect};
    audit_log::Entity::find()
        .order_by_desc(audit_log::Column::Id)
        .limit(limit)
        .all(db)
        .await
}
