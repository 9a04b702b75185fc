//! Per-identity limits: at most N lookups an hour for one identificación, whatever address they
//! come from; every lookup counts, for registered identities and unknown ones alike, so that being
//! limited says nothing about whether someone is registered. And at most M reset e-mails an hour
//! for one account (silent: see `registry::solicitar_reinicio`). The counters are rows in the
//! database: every server instance counts the same requests. Expired rows are deleted by
//! `cleanup`.
//!
//! A fixed one-hour window per key, incremented in one `INSERT … ON CONFLICT DO UPDATE …
//! RETURNING` statement per batch of requests (see `writer`) so that simultaneous requests are
//! all counted.

use std::collections::{BTreeMap, HashMap};

use sea_orm::{
    ActiveValue::Set,
    ConnectionTrait, DbErr, EntityTrait,
    sea_query::{Alias, Expr, ExprTrait, OnConflict},
};

use crate::entities::rate_limit;

pub const VENTANA_MS: i64 = 60 * 60_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// "Buscar ID" requests per identificación per hour.
    pub lookups_per_hour: u32,
    /// Reset e-mails per account per hour: counted only for requests that match the account,
    /// and enforced silently (see `registry::solicitar_reinicio`).
    pub resets_per_hour: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            lookups_per_hour: 5,
            resets_per_hour: 3,
        }
    }
}

/// One request's place in its counter's window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// This request's hit number in the window (1 for the first).
    pub hit: i64,
    pub window_start: i64,
}

impl Position {
    /// `Err(seconds)` when the request is over `limite`: how long until its window ends.
    pub fn verdict(self, limite: u32, now: i64) -> Result<(), u64> {
        if self.hit <= i64::from(limite) {
            Ok(())
        } else {
            let restante_ms = Ord::max(self.window_start + VENTANA_MS - now, 1_000);
            Err((restante_ms as u64).div_ceil(1_000))
        }
    }
}

/// Counts a batch of requests, `(key, now)` each, in one statement; returns each request's
/// position, in order. The requests that share a key take consecutive hits in arrival order,
/// so N simultaneous requests against a limit of L are each counted exactly once. Keys are
/// written in sorted order: two transactions that count overlapping keys (two instances on one
/// PostgreSQL) lock them in the same order and never deadlock.
pub async fn count_batch<'a>(
    db: &impl ConnectionTrait,
    requests: impl Iterator<Item = (&'a str, i64)> + Clone,
) -> Result<Vec<Position>, DbErr> {
    use rate_limit::{Column as C, Entity as T};
    // Per key: how many requests of this batch, and the latest time among them.
    let mut per_key: BTreeMap<&str, (i32, i64)> = BTreeMap::new();
    for (key, now) in requests.clone() {
        let e = per_key.entry(key).or_insert((0, now));
        e.0 += 1;
        e.1 = Ord::max(e.1, now);
    }
    if per_key.is_empty() {
        return Ok(Vec::new());
    }
    let excluded = |c: C| Expr::col((Alias::new("excluded"), c));
    // The window ended when it started at least an hour before this batch's time.
    let vencida = Expr::col((T, C::WindowStart)).lte(excluded(C::WindowStart).sub(VENTANA_MS));
    let filas = T::insert_many(
        per_key
            .iter()
            .map(|(key, &(n, now))| rate_limit::ActiveModel {
                key: Set((*key).to_owned()),
                hits: Set(n),
                window_start: Set(now),
            }),
    )
    .on_conflict(
        OnConflict::column(C::Key)
            .value(
                C::Hits,
                Expr::case(vencida.clone(), excluded(C::Hits))
                    .finally(Expr::col((T, C::Hits)).add(excluded(C::Hits))),
            )
            .value(
                C::WindowStart,
                Expr::case(vencida, excluded(C::WindowStart))
                    .finally(Expr::col((T, C::WindowStart))),
            )
            .to_owned(),
    )
    .exec_with_returning(db)
    .await?;
    let totales: HashMap<String, (i64, i64)> = filas
        .into_iter()
        .map(|r| (r.key, (i64::from(r.hits), r.window_start)))
        .collect();
    // A key's requests in this batch are its last `n` hits, in arrival order.
    let mut vistos: HashMap<&str, i64> = HashMap::new();
    requests
        .map(|(key, _)| {
            let &(total, window_start) = totales
                .get(key)
                .ok_or_else(|| DbErr::Custom(format!("contador sin fila: {key}")))?;
            let n = i64::from(per_key[key].0);
            let visto = vistos.entry(key).or_insert(0);
            *visto += 1;
            Ok(Position {
                hit: total - n + *visto,
                window_start,
            })
        })
        .collect()
}
