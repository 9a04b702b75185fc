//! What the operator's CLI does to the outbox (`server outbox list`, `server outbox retry`).

use sea_orm::{
    ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder, sea_query::Expr,
};

use super::State;
use crate::entities::mail_outbox;

/// Puts abandoned (or failed) messages back in the queue, for `server outbox retry`.
pub async fn retry(db: &DatabaseConnection, ids: &[i64], now: i64) -> Result<u64, DbErr> {
    let rows = mail_outbox::Entity::find()
        .filter(mail_outbox::Column::Id.is_in(ids.iter().copied()))
        .filter(mail_outbox::Column::State.eq(State::Abandoned))
        .order_by_asc(mail_outbox::Column::Id)
        .all(db)
        .await?;
    let mut n = 0;
    for row in rows {
        let res = mail_outbox::Entity::update_many()
            .col_expr(mail_outbox::Column::State, Expr::value(State::Queued))
            .col_expr(mail_outbox::Column::Attempts, Expr::value(0))
            .col_expr(mail_outbox::Column::NextAttemptAt, Expr::value(now))
            .col_expr(
                mail_outbox::Column::PendingKey,
                Expr::value(row.kind.pending_key(row.registration_id)),
            )
            .filter(mail_outbox::Column::Id.eq(row.id))
            .exec(db)
            .await;
        match res {
            Ok(r) => n += r.rows_affected,
            // Another reset for the account is already waiting: that one will do.
            Err(error) if is_unique_violation(&error) => {}
            Err(error) => return Err(error),
        }
    }
    Ok(n)
}

fn is_unique_violation(error: &DbErr) -> bool {
    matches!(
        error.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    )
}

/// Outbox rows, newest first, optionally of one state (for `server outbox list`).
pub async fn list(
    db: &DatabaseConnection,
    state: Option<State>,
    limit: u64,
) -> Result<Vec<mail_outbox::Model>, DbErr> {
    use sea_orm::QuerySelect;
    let mut query = mail_outbox::Entity::find()
        .order_by_desc(mail_outbox::Column::Id)
        .limit(limit);
    if let Some(state) = state {
        query = query.filter(mail_outbox::Column::State.eq(state));
    }
    query.all(db).await
}
