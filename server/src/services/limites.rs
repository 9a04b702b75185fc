//! Per-identity limits: at most N lookups an hour for one identificación, whatever address they
//! come from; every lookup counts, for registered identities and unknown ones alike, so that being
//! limited says nothing about whether someone is registered. And at most M reset e-mails an hour
//! for one account (silent: see `registry::solicitar_reinicio`). The counters are rows in the
//! database: every server instance counts the same requests. Expired rows are deleted by
//! `cleanup`.
//!
//! A fixed one-hour window per key, incremented in one `INSERT … ON CONFLICT DO UPDATE …
//! RETURNING` statement so that simultaneous requests are all counted.

use sea_orm::{
    ActiveValue::Set,
    ConnectionTrait, DbErr, EntityTrait,
    sea_query::{Expr, ExprTrait, OnConflict},
};

use crate::entities::rate_limit;

pub const VENTANA_MS: i64 = 60 * 60_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limites {
    /// "Buscar ID" requests per identificación per hour.
    pub busquedas_por_hora: u32,
    /// Reset e-mails per account per hour: counted only for requests that match the account,
    /// and enforced silently (see `registry::solicitar_reinicio`).
    pub reinicios_por_hora: u32,
}

impl Default for Limites {
    fn default() -> Self {
        Limites {
            busquedas_por_hora: 5,
            reinicios_por_hora: 3,
        }
    }
}

/// Counts one request for `key`. `Err(seconds)` when it is over `limite` in the current window:
/// how long until the window ends.
pub async fn contar(
    db: &impl ConnectionTrait,
    key: &str,
    limite: u32,
    now: i64,
) -> Result<Result<(), u64>, DbErr> {
    use rate_limit::{Column as C, Entity as T};
    let vencida = Expr::col((T, C::WindowStart)).lte(now - VENTANA_MS);
    let fila = T::insert(rate_limit::ActiveModel {
        key: Set(key.to_owned()),
        hits: Set(1),
        window_start: Set(now),
    })
    .on_conflict(
        OnConflict::column(C::Key)
            .value(
                C::Hits,
                Expr::case(vencida.clone(), 1).finally(Expr::col((T, C::Hits)).add(1)),
            )
            .value(
                C::WindowStart,
                Expr::case(vencida, now).finally(Expr::col((T, C::WindowStart))),
            )
            .to_owned(),
    )
    .exec_with_returning(db)
    .await?;
    if i64::from(fila.hits) <= i64::from(limite) {
        Ok(Ok(()))
    } else {
        let restante_ms = Ord::max(fila.window_start + VENTANA_MS - now, 1_000);
        Ok(Err((restante_ms as u64).div_ceil(1_000)))
    }
}
