//! The mail outbox and the worker that sends it.
//!
//! A request only inserts a row, in the same transaction as its audit entry, and answers: it
//! never waits for SMTP. The worker claims due rows, sends them, and records the outcome.
//!
//! **Where the temporary password lives until it is sent: nowhere.** The row says only "reset
//! for registration N". The worker generates the password at send time, hashes it, sends the
//! e-mail and, only once the relay has accepted it, stores its digest (replacing any earlier
//! temporary password) in the same transaction that marks the row sent. No plaintext secret is
//! ever at rest and no encryption key has to be managed. Consequences, all intended:
//! - the password that works is always the one in the latest e-mail sent;
//! - the outcomes of a claimed batch are recorded in one transaction after its messages were
//!   tried (one commit per batch, not per message). A crash between the relay's acceptance and
//!   that commit leaves the rows "sending"; once their lock expires they are sent again with new
//!   passwords, so a message goes out at most twice and only the second one works;
//! - the validity (60 minutes by default) counts from the send, not from the request, so an
//!   e-mail delayed by a relay outage is not already expired when it arrives.
//!
//! Answers come first. The worker composes and sends on a thread of lower CPU priority
//! (`crate::background`), and before each batch it waits while the requests' group-commit writer
//! is busy (for at most [`Settings::max_yield`]): on SQLite both share one connection, and a batch
//! of e-mails holds it about as long as the requests that queued them. On a quiet server neither
//! delays anything; during a flood the e-mails, durable in the outbox, follow it.
//!
//! Claims are one `UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED) RETURNING`, so several
//! server instances on PostgreSQL share the outbox without sending a row twice; SQLite serialises
//! writers, which gives the same guarantee for its single instance. A claim reads only the rows it
//! takes (see [`due`]): a long queue does not make it slower.

use std::{collections::HashMap, sync::Arc, time::Duration};

use sea_orm::{
    ActiveEnum,
    ActiveValue::Set,
    ColumnTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, QueryFilter, TransactionTrait,
    sea_query::{Expr, ExprTrait, LockBehavior, LockType, Query, SelectStatement},
};
use tokio::{
    runtime::Handle,
    sync::{Notify, watch},
};

use super::{Clock, audit, password};
use crate::{
    entities::{credential, mail_outbox, registration},
    mail::{self, Mailer},
};

pub use crate::entities::mail_outbox::{Kind, State};
pub use operator::{list, retry};

mod operator;

#[derive(Debug, Clone)]
pub struct Settings {
    /// Rows claimed at once. Each batch costs two commits (the claim and the outcomes), which on
    /// SQLite take the one connection the requests' group commits also need: under a burst of
    /// resets, batches of 10 spent a commit on every 5 e-mails.
    pub batch: u64,
    /// Attempts before a message is abandoned.
    pub max_attempts: i32,
    /// Wait after the first failure; doubles each time up to `max_backoff`.
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// How long a claim lasts: a "sending" row older than this belonged to a worker that died.
    pub claim_lock: Duration,
    /// How often to look for due retries when nothing wakes the worker.
    pub poll: Duration,
    /// Longest wait for the requests' writer to be idle before a batch (see
    /// [`Worker::wait_for_requests`]): under a sustained flood, a batch still goes out this often.
    pub max_yield: Duration,
    pub reset_ttl_minutes: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            batch: 100,
            max_attempts: 10,
            base_backoff: Duration::from_secs(5),
            max_backoff: Duration::from_secs(15 * 60),
            claim_lock: Duration::from_secs(120),
            poll: Duration::from_secs(1),
            max_yield: Duration::from_secs(1),
            reset_ttl_minutes: 60,
        }
    }
}

impl Settings {
    /// The wait before attempt `attempts + 1`, after `attempts` failures.
    pub fn backoff(&self, attempts: i32) -> Duration {
        let exp = Ord::min(u32::try_from(attempts.saturating_sub(1)).unwrap_or(0), 20);
        self.base_backoff
            .saturating_mul(1 << exp)
            .min(self.max_backoff)
    }
}

pub struct Worker<M> {
    pub db: DatabaseConnection,
    pub mailer: M,
    pub clock: Arc<dyn Clock>,
    pub wakeup: Arc<Notify>,
    pub settings: Settings,
    pub composer: mail::Composer,
    /// Where messages are composed and handed to the transport: the lower-priority thread of
    /// `crate::background`, or (`None`) the caller's runtime. The claim and the outcomes are
    /// written from the caller's runtime either way.
    pub sending: Option<Handle>,
    /// The requests' group-commit writer, which goes first (see [`Worker::wait_for_requests`]).
    pub requests: Option<super::writer::Writer>,
}

impl<M: Mailer + 'static> Worker<M> {
    /// Runs until `stop` turns true. The message being sent at that moment is finished and
    /// recorded; the rest of its batch is handed back to the queue at once (not left claimed),
    /// so that stopping takes one message's time and another instance may send them right away.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let this = Arc::new(self);
        while !*stop.borrow() {
            match this.run_batch(Some(stop.clone())).await {
                Ok(n) if n > 0 => continue,
                Ok(_) => {}
                Err(error) => tracing::error!(%error, "buzón de salida: error de base de datos"),
            }
            tokio::select! {
                // A dropped sender means stop as well.
                changed = stop.changed() => if changed.is_err() { break },
                () = this.wakeup.notified() => {},
                () = tokio::time::sleep(this.settings.poll) => {},
            }
        }
        tracing::info!("buzón de salida detenido");
    }

    /// Claims one batch of due messages and tries each once; returns how many were tried.
    pub async fn run_once(self: &Arc<Self>) -> Result<usize, DbErr> {
        self.run_batch(None).await
    }

    /// Sends each claimed message, then records every outcome of the batch in one transaction:
    /// one commit for the batch instead of one per message (on SQLite that commit shares the one
    /// writing connection with the requests' group commits, see `writer`).
    async fn run_batch(
        self: &Arc<Self>,
        stop: Option<watch::Receiver<bool>>,
    ) -> Result<usize, DbErr> {
        self.wait_for_requests().await;
        let claimed = self.claim().await?;
        let n = claimed.len();
        if n == 0 {
            return Ok(0);
        }
        let ids: Vec<i64> = claimed.iter().map(|r| r.registration_id).collect();
        let registrations: HashMap<i64, registration::Model> = registration::Entity::find()
            .filter(registration::Column::Id.is_in(ids))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|r| (r.id, r))
            .collect();
        let this = self.clone();
        let attempts = async move {
            let mut outcomes = Vec::with_capacity(n);
            let mut rows = claimed.into_iter();
            while let Some(row) = rows.next() {
                if stop.as_ref().is_some_and(|stop| *stop.borrow()) {
                    let untried = std::iter::once(row.id).chain(rows.map(|r| r.id)).collect();
                    return (outcomes, untried);
                }
                let registration = registrations.get(&row.registration_id);
                let span = tracing::info_span!("envio_correo", outbox = row.id, kind = ?row.kind);
                let attempt = this.attempt(row, registration);
                outcomes.push(tracing::Instrument::instrument(attempt, span).await);
            }
            (outcomes, Vec::new())
        };
        let (outcomes, untried) = match &self.sending {
            Some(handle) => handle
                .spawn(attempts)
                .await
                // Rows it claimed stay "sending" until their lock expires, then go out again.
                .map_err(|e| DbErr::Custom(format!("el envío de correo se interrumpió: {e}")))?,
            None => attempts.await,
        };
        if !untried.is_empty() {
            self.release(untried).await?;
        }
        self.record(outcomes).await?;
        Ok(n)
    }

    /// Lets the requests' writer go first while it is busy, for at most `settings.max_yield`
    /// (see the module's documentation).
    async fn wait_for_requests(&self) {
        let Some(writer) = &self.requests else { return };
        let started = tokio::time::Instant::now();
        while !writer.is_idle() && started.elapsed() < self.settings.max_yield {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// Returns claimed, untried rows to the queue as if never claimed.
    async fn release(&self, ids: Vec<i64>) -> Result<(), DbErr> {
        use mail_outbox::Column as C;
        mail_outbox::Entity::update_many()
            .col_expr(C::State, Expr::value(State::Queued))
            .col_expr(C::Attempts, Expr::col(C::Attempts).sub(1))
            .col_expr(C::LockedUntil, Expr::value(Option::<i64>::None))
            .filter(C::Id.is_in(ids))
            .filter(C::State.eq(State::Sending))
            .exec(&self.db)
            .await
            .map(drop)
    }

    /// Claims up to `settings.batch` due messages (see [`due`]). A claim whose worker died (still
    /// "sending" once its lock expired) first goes back to the queue, due as it was and with its
    /// attempt counted.
    async fn claim(&self) -> Result<Vec<mail_outbox::Model>, DbErr> {
        use mail_outbox::Column as C;
        let now = self.clock.now_ms();
        let lock_until = now + self.settings.claim_lock.as_millis() as i64;
        // Few rows (a batch per dead worker at most), found by the index's leading `state`.
        // When none expired, nothing is written and the commit writes nothing either.
        mail_outbox::Entity::update_many()
            .col_expr(C::State, Expr::value(State::Queued))
            .col_expr(C::LockedUntil, Expr::value(Option::<i64>::None))
            .filter(C::State.eq(State::Sending))
            .filter(C::LockedUntil.lte(now))
            .exec(&self.db)
            .await?;
        mail_outbox::Entity::update_many()
            .col_expr(C::State, Expr::value(State::Sending))
            .col_expr(C::Attempts, Expr::col(C::Attempts).add(1))
            .col_expr(C::LockedUntil, Expr::value(lock_until))
            .filter(C::Id.in_subquery(due(
                self.db.get_database_backend(),
                now,
                self.settings.batch,
            )))
            .exec_with_returning(&self.db)
            .await
    }

    /// Tries one message once; nothing is written here (see [`Worker::record`]).
    async fn attempt(
        &self,
        row: mail_outbox::Model,
        registration: Option<&registration::Model>,
    ) -> Outcome {
        let Some(registration) =
            registration.filter(|r| r.estado == registration::Estado::Aprobada)
        else {
            // Disabled (or removed) since it was queued: the password must not go out.
            return Outcome::Abandon {
                row,
                error: "el registro ya no está aprobado".into(),
            };
        };
        let sent_at = self.clock.now_ms();
        let (message, credential) = match row.kind {
            // "Su clave de ECUAPASS fue cambiada": no secret in it.
            Kind::ChangeNotice => {
                match self.composer.change_notice(
                    row.id,
                    &row.recipient,
                    &registration.usuario_id,
                    row.created_at,
                ) {
                    Ok(message) => (message, None),
                    Err(error) => {
                        return Outcome::Abandon {
                            row,
                            error: error.to_string(),
                        };
                    }
                }
            }
            Kind::Reset => {
                let secret = match password::TemporaryPassword::generate() {
                    Ok(secret) => secret,
                    Err(error) => {
                        return Outcome::Retry {
                            row,
                            error: format!("getrandom: {error}"),
                        };
                    }
                };
                // One SHA-256, no Argon2: the outbox takes nothing from the pool that sign-ins use,
                // so nothing another person can time depends on whether a reset matched.
                let hash = secret.digest();
                let expires_at = sent_at + i64::from(self.settings.reset_ttl_minutes) * 60_000;
                match self.composer.reset(
                    row.id,
                    &row.recipient,
                    &registration.usuario_id,
                    &secret.grouped(),
                    expires_at,
                ) {
                    Ok(message) => (message, Some((hash, expires_at))),
                    Err(error) => {
                        return Outcome::Abandon {
                            row,
                            error: error.to_string(),
                        };
                    }
                }
            }
        };
        match self.mailer.send(message).await {
            Ok(()) => {}
            // A 5xx (no such mailbox, policy refusal): recorded and not tried again.
            Err(error @ mail::MailError::Refused(_)) => {
                tracing::warn!(outbox = row.id, attempt = row.attempts, %error, "correo rechazado por el relé");
                return Outcome::Abandon {
                    row,
                    error: error.to_string(),
                };
            }
            Err(error) => {
                tracing::warn!(outbox = row.id, attempt = row.attempts, %error, "envío de correo fallido");
                return Outcome::Retry {
                    row,
                    error: error.to_string(),
                };
            }
        }
        tracing::info!(outbox = row.id, attempt = row.attempts, "correo enviado");
        Outcome::Sent {
            identificacion: validation::Identificacion::parse(&registration.identificacion).ok(),
            row,
            credential,
            sent_at,
        }
    }

    /// Writes a batch's outcomes in one transaction. A reset's new password becomes the valid
    /// one atomically with its row's "sent"; a retry goes back to the queue with its backoff;
    /// an abandoned row frees its key.
    async fn record(&self, outcomes: Vec<Outcome>) -> Result<(), DbErr> {
        if outcomes.is_empty() {
            return Ok(());
        }
        let now = self.clock.now_ms();
        let txn = self.db.begin().await?;
        let mut audit = Vec::new();
        let mut sent = Vec::new();
        let mut credentials = std::collections::BTreeMap::new();
        for outcome in &outcomes {
            match outcome {
                Outcome::Sent {
                    row,
                    credential,
                    sent_at,
                    identificacion,
                } => {
                    if let Some((hash, expires_at)) = credential {
                        // The later of two e-mails for one account (a stale claim sent again
                        // beside its new one) holds the password that works.
                        credentials.insert(
                            row.registration_id,
                            credential::ActiveModel {
                                registration_id: Set(row.registration_id),
                                password_hash: Set(None),
                                temp_hash: Set(Some(hash.clone())),
                                temp_expires_at: Set(Some(*expires_at)),
                                temp_used_at: Set(None),
                                updated_at: Set(*sent_at),
                            },
                        );
                        audit.push(audit::row(
                            *sent_at,
                            audit::Entry {
                                request_id: None,
                                event: "envio_correo",
                                outcome: "enviado",
                                client: None,
                                identificacion: identificacion.as_ref(),
                                registration_id: Some(row.registration_id),
                            },
                        ));
                    }
                    sent.push(row.id);
                }
                Outcome::Retry { row, error } if row.attempts < self.settings.max_attempts => {
                    let next = now + self.settings.backoff(row.attempts).as_millis() as i64;
                    mail_outbox::Entity::update_many()
                        .col_expr(mail_outbox::Column::State, Expr::value(State::Queued))
                        .col_expr(mail_outbox::Column::NextAttemptAt, Expr::value(next))
                        .col_expr(
                            mail_outbox::Column::LockedUntil,
                            Expr::value(Option::<i64>::None),
                        )
                        .col_expr(mail_outbox::Column::LastError, Expr::value(truncate(error)))
                        .filter(mail_outbox::Column::Id.eq(row.id))
                        .filter(mail_outbox::Column::State.eq(State::Sending))
                        .exec(&txn)
                        .await?;
                }
                Outcome::Retry { row, error } | Outcome::Abandon { row, error } => {
                    if matches!(outcome, Outcome::Retry { .. }) {
                        tracing::error!(
                            outbox = row.id,
                            attempts = row.attempts,
                            "correo abandonado tras el último intento"
                        );
                    }
                    mark(&txn, &[row.id], State::Abandoned, Some(error), None).await?;
                    audit.push(audit::row(
                        now,
                        audit::Entry {
                            request_id: None,
                            event: "envio_correo",
                            outcome: "abandonado",
                            client: None,
                            identificacion: None,
                            registration_id: Some(row.registration_id),
                        },
                    ));
                }
            }
        }
        credential::save_many(
            &txn,
            credentials.into_values(),
            &[
                credential::Column::TempHash,
                credential::Column::TempExpiresAt,
                credential::Column::TempUsedAt,
                credential::Column::UpdatedAt,
            ],
        )
        .await?;
        mark(&txn, &sent, State::Sent, None, Some(now)).await?;
        audit::insert(&txn, audit).await?;
        txn.commit().await?;
        for outcome in &outcomes {
            let (name, row) = match outcome {
                Outcome::Sent { row, .. } => ("reinicio_mail_sent_total", row),
                Outcome::Retry { row, .. } if row.attempts < self.settings.max_attempts => {
                    ("reinicio_mail_failures_total", row)
                }
                Outcome::Retry { row, .. } | Outcome::Abandon { row, .. } => {
                    ("reinicio_mail_abandoned_total", row)
                }
            };
            metrics::counter!(name, "kind" => row.kind.to_value()).increment(1);
        }
        Ok(())
    }
}

/// What one attempt came to, recorded with the rest of its batch.
enum Outcome {
    Sent {
        row: mail_outbox::Model,
        /// A reset's password digest and expiry; a notice has none.
        credential: Option<(String, i64)>,
        sent_at: i64,
        identificacion: Option<validation::Identificacion>,
    },
    Retry {
        row: mail_outbox::Model,
        error: String,
    },
    Abandon {
        row: mail_outbox::Model,
        error: String,
    },
}

/// Ends the rows' life as `state`; frees their pending keys so that new requests can queue.
async fn mark(
    db: &impl sea_orm::ConnectionTrait,
    ids: &[i64],
    state: State,
    error: Option<&str>,
    sent_at: Option<i64>,
) -> Result<(), DbErr> {
    if ids.is_empty() {
        return Ok(());
    }
    mail_outbox::Entity::update_many()
        .col_expr(mail_outbox::Column::State, Expr::value(state))
        .col_expr(
            mail_outbox::Column::PendingKey,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            mail_outbox::Column::LockedUntil,
            Expr::value(Option::<i64>::None),
        )
        .col_expr(
            mail_outbox::Column::LastError,
            Expr::value(error.map(truncate)),
        )
        .col_expr(mail_outbox::Column::SentAt, Expr::value(sent_at))
        .filter(mail_outbox::Column::Id.is_in(ids.iter().copied()))
        .exec(db)
        .await
        .map(drop)
}

/// The messages a claim takes: queued and due at `now`, at most `batch`, the most overdue first.
/// It walks `idx_mail_outbox_state_next` in order and stops after `batch` rows, so a claim costs
/// the same whatever the queue's length. (Due rows in `id` order made both databases read and
/// sort every due row first: with 30,000 queued after a flood of resets, 6-40 ms per claim on
/// SQLite, holding the one connection the requests need; BENCHMARKS.md, "The outbox's claim".)
/// On PostgreSQL the rows are locked, skipping those another instance holds.
pub fn due(backend: DbBackend, now: i64, batch: u64) -> SelectStatement {
    use mail_outbox::Column as C;
    let mut due = Query::select();
    due.column(C::Id)
        .from(mail_outbox::Entity)
        .and_where(C::State.eq(State::Queued))
        .and_where(C::NextAttemptAt.lte(now))
        // Ties in the index's order (on SQLite the id's). Ordering by the id as well would add a
        // sort on PostgreSQL, whose index does not hold it.
        .order_by(C::NextAttemptAt, sea_orm::Order::Asc)
        .limit(batch);
    if backend == DbBackend::Postgres {
        due.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    due
}

fn truncate(error: &str) -> String {
    error.chars().take(500).collect()
}

/// A message of `kind` for the account's registered address, due at once. Its pending key (see
/// [`Kind::pending_key`]) keeps at most one reset waiting per account.
pub fn new_message(
    kind: Kind,
    registration: &registration::Model,
    now: i64,
) -> mail_outbox::ActiveModel {
    mail_outbox::ActiveModel {
        kind: Set(kind),
        registration_id: Set(registration.id),
        recipient: Set(registration.correo.clone()),
        state: Set(State::Queued),
        pending_key: Set(kind.pending_key(registration.id)),
        attempts: Set(0),
        next_attempt_at: Set(now),
        locked_until: Set(None),
        last_error: Set(None),
        created_at: Set(now),
        sent_at: Set(None),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let s = Settings::default();
        assert_eq!(s.backoff(1), Duration::from_secs(5));
        assert_eq!(s.backoff(2), Duration::from_secs(10));
        assert_eq!(s.backoff(3), Duration::from_secs(20));
        assert_eq!(s.backoff(9), Duration::from_secs(15 * 60));
        assert_eq!(s.backoff(1000), Duration::from_secs(15 * 60));
    }
}
