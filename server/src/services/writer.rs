//! Group commit: the writes of many lookups and reset requests in one transaction.
//!
//! Every lookup and reset request writes: its limit counter, its audit row and, for a reset that
//! matches, the outbox row. Committed one request at a time, each waits for its own fsync, and
//! SQLite has a single writer: the server ran at a fraction of its own speed. Here one task per
//! instance owns those writes. It takes every request waiting in its queue (up to [`MAX_BATCH`]),
//! applies them in one transaction with one statement per table, commits, and only then answers
//! each of them. While it commits, new requests queue up and form the next batch. A batch closes
//! when the queue is empty or the batch is full, never on a timer: a quiet server answers as fast
//! as before, a busy one pays one commit for many requests. Durability is unchanged: no request
//! is answered before its writes are durable (`synchronous = FULL` on SQLite, a normal commit on
//! PostgreSQL).
//!
//! Limits stay exact: the requests of a batch that share a counter are added to it in one
//! `INSERT … ON CONFLICT DO UPDATE … RETURNING`, and each learns its own position in the window
//! from the total the statement returns. Counters are written in key order, so two instances
//! sharing PostgreSQL lock them in the same order and cannot deadlock each other.
//!
//! A database error fails the whole batch: every request in it gets the error (a `503`), nothing
//! of it is written, and the next batch starts afresh. Requests are validated before they get
//! here, so an error is the database's, not one request's.

use std::{collections::HashSet, net::IpAddr, sync::Arc};

use sea_orm::{
    ActiveValue::Set, DatabaseConnection, DbErr, EntityTrait, TransactionTrait,
    sea_query::OnConflict,
};
use tokio::sync::{mpsc, oneshot};

use validation::Identificacion;

use super::{audit, limites};
use crate::entities::mail_outbox;

/// Most requests in one transaction: enough to absorb any burst this server can take, few enough
/// that a batch's statements stay far below SQLite's limit of bound parameters.
pub const MAX_BATCH: usize = 256;
/// Requests waiting for the writer; past this a request waits for room (the request timeout
/// still bounds it), so memory stays bounded under any load.
const QUEUE: usize = 4 * MAX_BATCH;

/// What one request writes, decided by the service before it gets here.
pub struct Write {
    pub now: i64,
    /// The limit counter this request counts against, and its limit.
    pub counter: String,
    pub limit: u32,
    pub kind: Kind,
    /// For the audit row: where the request came from and whom it named.
    pub client: Option<IpAddr>,
    pub identificacion: Identificacion,
}

pub enum Kind {
    /// "Buscar ID": over the limit it is refused; the audit row says what happened.
    Lookup { registration_id: Option<i64> },
    /// A reset request: on a match within the account's cap, `mail` is queued (unless one with
    /// its pending key already waits); the answer never depends on any of it.
    Reset {
        registration_id: Option<i64>,
        mail: Option<Box<mail_outbox::ActiveModel>>,
    },
}

/// What the batch made of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// Counted within the limit.
    Counted,
    /// Over the limit; the window ends in this many seconds.
    OverLimit { seconds: u64 },
    /// A reset whose e-mail was queued by this request.
    Queued,
}

struct Job {
    write: Write,
    reply: oneshot::Sender<Result<Written, Arc<DbErr>>>,
}

/// The handle requests use; cheap to clone. The task behind it ends once every handle is gone,
/// after finishing what was queued.
#[derive(Clone)]
pub struct Writer {
    queue: mpsc::Sender<Job>,
}

impl Writer {
    /// Starts the writer task on the current Tokio runtime.
    pub fn spawn(db: DatabaseConnection) -> Self {
        let (queue, jobs) = mpsc::channel(QUEUE);
        tokio::spawn(run(db, jobs));
        Writer { queue }
    }

    /// Queues the writes and waits until they are committed.
    pub async fn write(&self, write: Write) -> Result<Written, DbErr> {
        let (reply, answer) = oneshot::channel();
        let gone = || DbErr::Custom("el escritor de la base de datos se detuvo".into());
        self.queue
            .send(Job { write, reply })
            .await
            .map_err(|_| gone())?;
        match answer.await {
            Ok(Ok(written)) => Ok(written),
            // The batch's one error, shared by every request in it.
            Ok(Err(error)) => Err(DbErr::Custom(error.to_string())),
            Err(_) => Err(gone()),
        }
    }
}

async fn run(db: DatabaseConnection, mut jobs: mpsc::Receiver<Job>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    // `recv_many` waits for the first request, then takes whatever else is already waiting.
    while jobs.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let writes: Vec<&Write> = batch.iter().map(|j| &j.write).collect();
        match apply(&db, &writes).await {
            Ok(written) => {
                for (job, written) in batch.drain(..).zip(written) {
                    // A request whose client went away was still written; nobody to tell.
                    let _ = job.reply.send(Ok(written));
                }
            }
            Err(error) => {
                tracing::error!(%error, requests = batch.len(), "escritura en grupo fallida");
                let error = Arc::new(error);
                for job in batch.drain(..) {
                    let _ = job.reply.send(Err(error.clone()));
                }
            }
        }
    }
}

/// Writes one batch in one transaction; one answer per write, in order.
async fn apply(db: &DatabaseConnection, writes: &[&Write]) -> Result<Vec<Written>, DbErr> {
    let txn = db.begin().await?;
    let positions =
        limites::contar_lote(&txn, writes.iter().map(|w| (w.counter.as_str(), w.now))).await?;
    let counted: Vec<Written> = writes
        .iter()
        .zip(positions)
        .map(|(w, position)| match position.veredicto(w.limit, w.now) {
            Ok(()) => Written::Counted,
            Err(seconds) => Written::OverLimit { seconds },
        })
        .collect();

    // The e-mails: one per pending key, the first request that asks for it within its cap.
    let mut keys = HashSet::new();
    let mut mails = Vec::new();
    let mut asked: Vec<Option<&str>> = vec![None; writes.len()];
    for (i, w) in writes.iter().enumerate() {
        if let (
            Kind::Reset {
                mail: Some(mail), ..
            },
            Written::Counted,
        ) = (&w.kind, counted[i])
            && let Set(Some(key)) = &mail.pending_key
        {
            asked[i] = Some(key.as_str());
            if keys.insert(key.as_str()) {
                mails.push(mail.as_ref().clone());
            }
        }
    }
    let mut queued: HashSet<String> = HashSet::new();
    if !mails.is_empty() {
        queued = mail_outbox::Entity::insert_many(mails)
            .on_conflict(
                OnConflict::column(mail_outbox::Column::PendingKey)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_with_returning(&txn)
            .await?
            .into_iter()
            .filter_map(|m| m.pending_key)
            .collect();
    }

    let mut written = Vec::with_capacity(writes.len());
    let mut audit = Vec::with_capacity(writes.len());
    for (i, w) in writes.iter().enumerate() {
        let (event, outcome, registration_id, answer) = match (&w.kind, counted[i]) {
            (Kind::Lookup { registration_id }, Written::Counted) => {
                let outcome = if registration_id.is_some() {
                    "encontrado"
                } else {
                    "sin_coincidencia"
                };
                ("buscar_id", outcome, *registration_id, counted[i])
            }
            (Kind::Lookup { .. }, over) => ("buscar_id", "limitado", None, over),
            (
                Kind::Reset {
                    registration_id, ..
                },
                over @ Written::OverLimit { .. },
            ) => {
                let outcome = if registration_id.is_some() {
                    "tope_por_cuenta"
                } else {
                    "sin_coincidencia"
                };
                ("solicitar_reinicio", outcome, *registration_id, over)
            }
            (
                Kind::Reset {
                    registration_id, ..
                },
                _,
            ) => match asked[i] {
                // Only the first request for a key in this batch can have queued it.
                Some(key) if queued.remove(key) => (
                    "solicitar_reinicio",
                    "encolado",
                    *registration_id,
                    Written::Queued,
                ),
                Some(_) => (
                    "solicitar_reinicio",
                    "ya_en_cola",
                    *registration_id,
                    Written::Counted,
                ),
                None => (
                    "solicitar_reinicio",
                    "sin_coincidencia",
                    *registration_id,
                    Written::Counted,
                ),
            },
        };
        audit.push(audit::row(
            w.now,
            audit::Entry {
                event,
                outcome,
                client: w.client,
                identificacion: Some(&w.identificacion),
                registration_id,
            },
        ));
        written.push(answer);
    }
    audit::insert(&txn, audit).await?;
    txn.commit().await?;
    Ok(written)
}
