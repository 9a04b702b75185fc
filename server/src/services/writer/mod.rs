//! Group commit: the reads and writes of many lookups and reset requests in one transaction.
//!
//! Every lookup and reset request reads the registry, then writes: its limit counter, its audit
//! row and, for a reset that matches, the outbox row. Committed one request at a time, each
//! waited for its own fsync, and SQLite has a single writer: the server ran at a fraction of its
//! own speed. Here one task per instance does that work. It takes every request waiting in its
//! queue (up to [`MAX_BATCH`]) and, in one transaction: reads their registrations with one
//! indexed statement per kind of key (identificación for lookups, ID usuario for resets), lets
//! each request's own rule (`registry`) decide from the rows for its key, writes with one
//! statement per table, commits, and only then answers each of them. While it commits, new
//! requests queue up and form the next batch. A batch closes when the queue is empty or the
//! batch is full, never on a timer: a quiet server answers as fast as before, a busy one pays one
//! commit for many requests. Durability is unchanged: no request is answered before its writes
//! are durable (`synchronous = FULL` on SQLite, a normal commit on PostgreSQL).
//!
//! Limits stay exact: the requests of a batch that share a counter are added to it in one
//! `INSERT … ON CONFLICT DO UPDATE … RETURNING`, and each learns its own position in the window
//! from the total the statement returns. Counters are written in key order, so two instances
//! sharing PostgreSQL lock them in the same order and cannot deadlock each other.
//!
//! On SQLite a batch's `BEGIN` and `COMMIT` travel with its first and last statements, so that
//! a batch makes three trips to SQLite's thread (read, count, write and commit) instead of five
//! for lookups or six for resets (see `sqlite`): the read also says which accounts' reset
//! e-mails wait already (`sqlite::with_waiting`), so the outbox insert needs no answer of its own
//! and travels with the audit rows and the commit.
//!
//! On PostgreSQL the writer runs on a thread of its own, with a runtime and a connection of its
//! own. On the request runtime, under load, each of a batch's round trips waited for a worker
//! thread to get back to the writer from the HTTP tasks in its queue (tokio looks at finished I/O
//! only every few dozen tasks while it is busy), and the requests it serves waited for all of
//! them. Here the writer wakes as soon as the database answers. It keeps its connection from one
//! batch to the next, and while requests wait, a batch's `COMMIT` carries the next one's `BEGIN`
//! (see `postgres`).
//!
//! A database error fails the whole batch: every request in it gets the error (a `503`), nothing
//! of it is written, and the next batch starts afresh. Requests are validated before they get
//! here, so an error is the database's, not one request's.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    net::IpAddr,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
};

use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait,
    FromQueryResult, IdenStatic, QueryFilter, QueryTrait,
    sea_query::{InsertStatement, OnConflict},
};
use tokio::sync::{mpsc, oneshot};
use validation::Identificacion;

use super::{audit, limits};
use crate::{
    background::Background,
    entities::{mail_outbox, registration},
};

mod postgres;
mod sqlite;

/// A statement as sqlx runs it, with sea-query's values bound as sea-orm binds them; for the
/// transactions `sqlite` and `postgres` drive themselves.
fn bound<DB: sea_orm::sqlx::Database>(
    sql: String,
    values: Option<sea_orm::sea_query::Values>,
) -> sea_orm::sqlx::query::Query<'static, DB, sea_query_sqlx::SqlxValues>
where
    sea_query_sqlx::SqlxValues: sea_orm::sqlx::IntoArguments<DB>,
{
    let values =
        sea_query_sqlx::SqlxValues(values.unwrap_or(sea_orm::sea_query::Values(Vec::new())));
    sea_orm::sqlx::query_with(sea_orm::sqlx::AssertSqlSafe(sql), values)
}

fn conn_err(error: sea_orm::sqlx::Error) -> DbErr {
    DbErr::Conn(sea_orm::RuntimeErr::SqlxError(error.into()))
}

fn exec_err(error: sea_orm::sqlx::Error) -> DbErr {
    DbErr::Exec(sea_orm::RuntimeErr::SqlxError(error.into()))
}

fn query_err(error: sea_orm::sqlx::Error) -> DbErr {
    DbErr::Query(sea_orm::RuntimeErr::SqlxError(error.into()))
}

/// Most requests in one transaction: enough to absorb any burst this server can take, few enough
/// that a batch's statements stay far below SQLite's limit of bound parameters.
pub const MAX_BATCH: usize = 256;
/// Statements the writer's PostgreSQL connection keeps prepared. sqlx keeps 100 by default, but
/// a batch's statements differ by their number of rows: five kinds (two reads, the counters, the
/// outbox, the audit rows) times every batch size. With 100, batches of changing sizes pushed
/// each other's statements out, and each came back with a round trip more to prepare it again
/// (BENCHMARKS.md, "Issue 14: the layers in one stack").
const STATEMENTS: usize = 5 * MAX_BATCH;
/// Requests waiting for the writer; past this a request waits for room (the request timeout
/// still bounds it), so memory stays bounded under any load.
const QUEUE: usize = 4 * MAX_BATCH;

/// What a request reads: the registrations under one key, by an index.
pub enum Read {
    /// Every registration with this identificación (lookups: the classification and the rest
    /// are compared by the request's own rule).
    Identificacion(String),
    /// The registration with this case-folded ID usuario (resets).
    Usuario(String),
}

/// The request's own rule: from the rows read for its key, what to count and what to write.
pub type Decide = Box<dyn FnOnce(Vec<registration::Model>) -> Decision + Send + Sync>;

/// What one request reads and writes, decided by the service's rule inside the batch.
pub struct Write {
    pub now: i64,
    pub read: Read,
    pub decide: Decide,
    /// For the audit row: where the request came from and whom it named.
    pub client: Option<IpAddr>,
    pub identificacion: Identificacion,
    /// The request's ID (`audit::current_request_id`), for its audit row.
    pub request_id: Option<String>,
}

pub struct Decision {
    /// The limit counter this request counts against, and its limit.
    pub counter: String,
    pub limit: u32,
    pub kind: Kind,
}

pub enum Kind {
    /// "Buscar ID": over the limit it is refused; the audit row says what happened.
    Lookup { found: Option<registration::Model> },
    /// A reset request: on a match within the account's cap, `mail` is queued (unless one with
    /// its pending key already waits); the answer never depends on any of it.
    Reset {
        found: Option<registration::Model>,
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

/// The answer to one request: what was written, and the registration its rule matched.
pub type Reply = (Written, Option<registration::Model>);

struct Job {
    write: Write,
    reply: oneshot::Sender<Result<Reply, Arc<DbErr>>>,
}

/// The handle requests use; cheap to clone. The task behind it ends once every handle is gone,
/// after finishing what was queued.
#[derive(Clone)]
pub struct Writer {
    queue: mpsc::Sender<Job>,
    /// Set when requests queue up while a batch is written; cleared once the writer has waited
    /// [`IDLE_AFTER`] with nothing to do.
    busy: Arc<AtomicBool>,
    /// The writer's thread (PostgreSQL): it stops once the last handle is gone.
    _thread: Option<Arc<Background>>,
}

/// How long the writer must have nothing to do before it stops counting as busy: under a flood
/// the queue is empty for an instant between two batches, which is not a pause.
const IDLE_AFTER: std::time::Duration = std::time::Duration::from_millis(2);

impl Writer {
    /// Starts the writer. On PostgreSQL it runs on a thread of its own with a connection of its
    /// own to `url` (the database of `db`). On SQLite it stays a task of the current runtime and
    /// uses `db`'s one connection, which has a thread of its own already: a writer thread there
    /// measured no better, within this machine's noise (BENCHMARKS.md, "PostgreSQL: the writer
    /// on a thread of its own"). (Two writers in flight on PostgreSQL, overlapping one batch's
    /// round trips with the next, measured no faster either: 8.2-8.9k against 8.2-9.3k
    /// lookups/s.)
    pub fn start(db: DatabaseConnection, url: &str) -> std::io::Result<Self> {
        let (queue, jobs) = mpsc::channel(QUEUE);
        let busy = Arc::new(AtomicBool::new(false));
        let flag = busy.clone();
        if db.get_database_backend() != sea_orm::DbBackend::Postgres {
            tokio::spawn(run(Store::Sqlite(db), jobs, flag));
            return Ok(Writer {
                queue,
                busy,
                _thread: None,
            });
        }
        let thread = Background::start("escritor", 0)?;
        let url = url.to_owned();
        thread.handle().spawn(async move {
            // Opened here, so that the writer's runtime is the one watching its socket. Lazily:
            // only a URL the server could not have started with fails here, and requests then
            // fail with a 503 instead of waiting.
            match crate::db::connect_writer(&url, STATEMENTS).await {
                Ok(own) => {
                    let own = postgres::Connection::new(own, crate::db::IDLE_CHECK);
                    run(Store::Postgres(own), jobs, flag).await
                }
                Err(error) => tracing::error!(%error, "el escritor no pudo preparar su conexión"),
            }
        });
        Ok(Writer {
            queue,
            busy,
            _thread: Some(Arc::new(thread)),
        })
    }

    /// No requests queued up behind the last batch: the writer keeps up, and the database's
    /// writing connection (SQLite's only one) has time for other work. While requests do queue
    /// up it is the bottleneck, and the outbox waits (see `outbox`).
    pub fn is_idle(&self) -> bool {
        !self.busy.load(Ordering::Relaxed)
    }

    /// Queues the request and waits until its writes are committed.
    pub async fn write(&self, write: Write) -> Result<Reply, DbErr> {
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

/// Where the writer writes: SQLite's one connection, shared with the rest of the server, or the
/// writer's own PostgreSQL connection, which it keeps (see `postgres`).
enum Store {
    Sqlite(DatabaseConnection),
    Postgres(postgres::Connection),
}

async fn run(mut store: Store, mut jobs: mpsc::Receiver<Job>, busy: Arc<AtomicBool>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    loop {
        // `recv_many` waits for the first request, then takes whatever else is already waiting.
        // Once requests have queued up, the writer stays busy until it has had nothing to do
        // for a moment.
        let mut taken = 0;
        if busy.load(Ordering::Relaxed) {
            taken = tokio::time::timeout(IDLE_AFTER, jobs.recv_many(&mut batch, MAX_BATCH))
                .await
                .unwrap_or(0);
        }
        if taken == 0 {
            busy.store(false, Ordering::Relaxed);
            if jobs.recv_many(&mut batch, MAX_BATCH).await == 0 {
                break;
            }
        }
        let (writes, replies): (Vec<Write>, Vec<_>) =
            batch.drain(..).map(|j| (j.write, j.reply)).unzip();
        let n = writes.len();
        // The batch's statements, in a span of their own (it serves many requests' spans).
        let span = tracing::info_span!("escritura_en_grupo", requests = n);
        match tracing::Instrument::instrument(apply(&mut store, writes, || !jobs.is_empty()), span)
            .await
        {
            Ok((answers, done)) => {
                for (reply, answer) in replies.into_iter().zip(answers) {
                    // A request whose client went away was still written; nobody to tell.
                    let _ = reply.send(Ok(answer));
                }
                if let Some(batch) = done {
                    batch.release().await;
                }
            }
            Err(error) => {
                tracing::error!(%error, requests = n, "escritura en grupo fallida");
                let error = Arc::new(error);
                for reply in replies {
                    let _ = reply.send(Err(error.clone()));
                }
            }
        }
        // Requests arrived while this batch was written: the writer is the bottleneck now.
        if !jobs.is_empty() {
            busy.store(true, Ordering::Relaxed);
        }
    }
}

/// What a batch read: each request's registrations, in order, and, on SQLite, the pending keys
/// (see `mail_outbox::Kind::pending_key`) of the reset rows' accounts that already have a reset
/// e-mail waiting.
struct Fetched {
    rows: Vec<Vec<registration::Model>>,
    waiting: Option<HashSet<String>>,
}

/// The lookups' read: the registrations with any of these identificaciones, through
/// `idx_registrations_identificacion` (test `reset::batching::the_batch_reads_use_their_indexes`).
pub fn read_by_identificacion<'a>(
    keys: impl IntoIterator<Item = &'a str>,
) -> sea_orm::Select<registration::Entity> {
    registration::Entity::find().filter(registration::Column::Identificacion.is_in(keys))
}

/// The resets' read: the registrations with any of these case-folded IDs usuario, through their
/// unique index.
pub fn read_by_usuario<'a>(
    keys: impl IntoIterator<Item = &'a str>,
) -> sea_orm::Select<registration::Entity> {
    registration::Entity::find().filter(registration::Column::UsuarioIdClave.is_in(keys))
}

/// Reads every request's registrations, one statement per kind of key.
async fn read(txn: &impl sea_orm::ConnectionTrait, writes: &[Write]) -> Result<Fetched, DbErr> {
    let mut identificaciones = Vec::new();
    let mut usuarios = Vec::new();
    for w in writes {
        match &w.read {
            Read::Identificacion(i) => identificaciones.push(i.as_str()),
            Read::Usuario(u) => usuarios.push(u.as_str()),
        }
    }
    let mut by_identificacion: HashMap<String, Vec<registration::Model>> = HashMap::new();
    let mut by_usuario: HashMap<String, registration::Model> = HashMap::new();
    if !identificaciones.is_empty() {
        // No ORDER BY: on a table without statistics yet (right after an import) PostgreSQL
        // chose to walk the primary key in order over the identificación index, 10 ms a batch.
        // The rows are put in order here.
        let mut rows = read_by_identificacion(identificaciones).all(txn).await?;
        rows.sort_by_key(|r| r.id);
        for r in rows {
            by_identificacion
                .entry(r.identificacion.clone())
                .or_default()
                .push(r);
        }
    }
    let mut waiting = None;
    if !usuarios.is_empty() {
        let select = read_by_usuario(usuarios);
        if txn.get_database_backend() == DbBackend::Sqlite {
            let keys = waiting.insert(HashSet::new());
            for row in txn.query_all(&sqlite::with_waiting(select)).await? {
                let r = registration::Model::from_query_result(&row, "")?;
                if row.try_get::<bool>("", sqlite::WAITING)? {
                    keys.extend(mail_outbox::Kind::Reset.pending_key(r.id));
                }
                by_usuario.insert(r.usuario_id_clave.clone(), r);
            }
        } else {
            for r in select.all(txn).await? {
                by_usuario.insert(r.usuario_id_clave.clone(), r);
            }
        }
    }
    let rows = writes
        .iter()
        .map(|w| match &w.read {
            Read::Identificacion(i) => by_identificacion.get(i).cloned().unwrap_or_default(),
            Read::Usuario(u) => by_usuario.get(u).cloned().into_iter().collect(),
        })
        .collect();
    Ok(Fetched { rows, waiting })
}

/// What a request's batch made of it, for the metrics counted once it is durable.
type Outcome = (&'static str, &'static str);

/// Reads and writes one batch in one transaction; one answer per request, in order.
/// `more_waiting`: whether requests wait for the next batch already (asked at the commit).
/// On SQLite, also the committed batch, whose connection the caller gives back once it has
/// answered (`sqlite::Batch::release`).
async fn apply(
    store: &mut Store,
    writes: Vec<Write>,
    more_waiting: impl Fn() -> bool,
) -> Result<(Vec<Reply>, Option<sqlite::Batch>), DbErr> {
    let (answers, outcomes, done) = match store {
        Store::Sqlite(db) => {
            // BEGIN and COMMIT travel with the first and last statements (see `sqlite`).
            let batch = sqlite::Batch::start(db).await?;
            let written = async {
                let (answers, outcomes, last) = within(&batch, writes).await?;
                batch.commit_with(&last).await?;
                Ok::<_, DbErr>((answers, outcomes))
            }
            .await;
            if written.is_err() {
                batch.abort().await;
            }
            let (answers, outcomes) = written?;
            (answers, outcomes, Some(batch))
        }
        Store::Postgres(conn) => {
            // On an error the batch is dropped uncommitted, and its connection closed (see
            // `postgres`): the transaction ends with it.
            let txn = conn.begin().await?;
            let (answers, outcomes, last) = within(&txn, writes).await?;
            for statement in &last {
                txn.execute(statement).await?;
            }
            txn.commit(more_waiting()).await?;
            (answers, outcomes, None)
        }
    };
    // Counted once durable, like the answers.
    for (event, outcome) in outcomes {
        let name = if event == "buscar_id" {
            "reinicio_lookups_total"
        } else {
            "reinicio_resets_total"
        };
        metrics::counter!(name, "outcome" => outcome).increment(1);
        if outcome == "limitado" || outcome == "tope_por_cuenta" {
            metrics::counter!("reinicio_limit_refusals_total", "kind" => outcome).increment(1);
        }
    }
    Ok((answers, done))
}

/// The batch inside its transaction: reads, decides, counts and queues; returns the answers,
/// their outcomes and the statements the caller runs with the commit (the audit rows' insert,
/// after the outbox's on SQLite).
async fn within(
    txn: &impl ConnectionTrait,
    writes: Vec<Write>,
) -> Result<(Vec<Reply>, Vec<Outcome>, Vec<InsertStatement>), DbErr> {
    let Fetched { rows, waiting } = read(txn, &writes).await?;
    let mut decided = Vec::with_capacity(writes.len());
    for (w, rows) in writes.into_iter().zip(rows) {
        let decision = (w.decide)(rows);
        decided.push((w.now, w.client, w.identificacion, decision, w.request_id));
    }
    let positions = limits::count_batch(
        txn,
        decided
            .iter()
            .map(|(now, _, _, d, _)| (d.counter.as_str(), *now)),
    )
    .await?;
    let counted: Vec<Written> = decided
        .iter()
        .zip(positions)
        .map(
            |((now, _, _, d, _), position)| match position.verdict(d.limit, *now) {
                Ok(()) => Written::Counted,
                Err(seconds) => Written::OverLimit { seconds },
            },
        )
        .collect();

    // One e-mail per pending key, from the first request that asks for it within its cap; in
    // key order, like the counters, so that two instances on one PostgreSQL that queue the same
    // accounts' e-mails lock their keys in the same order and cannot deadlock.
    let mut mails: BTreeMap<&str, mail_outbox::ActiveModel> = BTreeMap::new();
    let mut asked: Vec<Option<&str>> = vec![None; decided.len()];
    for (i, (_, _, _, d, _)) in decided.iter().enumerate() {
        if let (
            Kind::Reset {
                mail: Some(mail), ..
            },
            Written::Counted,
        ) = (&d.kind, counted[i])
            && let Set(Some(key)) = &mail.pending_key
        {
            asked[i] = Some(key.as_str());
            mails
                .entry(key.as_str())
                .or_insert_with(|| mail.as_ref().clone());
        }
    }
    // The statements that go with the commit: on SQLite they travel with it in one trip.
    let mut last = Vec::with_capacity(2);
    let mut queued: HashSet<String> = HashSet::new();
    if !mails.is_empty() {
        let keys: Vec<&str> = mails.keys().copied().collect();
        let mut insert = mail_outbox::Entity::insert_many(mails.into_values())
            .on_conflict(
                OnConflict::column(mail_outbox::Column::PendingKey)
                    .do_nothing()
                    .to_owned(),
            )
            .into_query();
        if let Some(waiting) = &waiting {
            // SQLite: the read said which keys wait already; the others are this insert's.
            queued = keys
                .into_iter()
                .filter(|key| !waiting.contains(*key))
                .map(str::to_owned)
                .collect();
            last.push(insert);
        } else {
            // PostgreSQL: another instance may queue the same account's e-mail meanwhile, so
            // the insert itself says which rows it wrote. Only the keys come back: decoding
            // every column of every row inserted was work for nothing (BENCHMARKS.md,
            // "PostgreSQL resets: where the rest goes").
            insert.returning_col(mail_outbox::Column::PendingKey);
            queued = txn
                .query_all(&insert)
                .await?
                .iter()
                .map(|row| row.try_get::<String>("", mail_outbox::Column::PendingKey.as_str()))
                .collect::<Result<_, _>>()?;
        }
    }

    let mut answers = Vec::with_capacity(decided.len());
    let mut audit = Vec::with_capacity(decided.len());
    let mut outcomes = Vec::with_capacity(decided.len());
    for (i, (now, client, identificacion, decision, request_id)) in decided.iter().enumerate() {
        let (event, outcome, found, answer) = match (&decision.kind, counted[i]) {
            (Kind::Lookup { found }, Written::Counted) => {
                let outcome = if found.is_some() {
                    "encontrado"
                } else {
                    "sin_coincidencia"
                };
                ("buscar_id", outcome, found, counted[i])
            }
            (Kind::Lookup { .. }, over) => ("buscar_id", "limitado", &None, over),
            (Kind::Reset { found, .. }, over @ Written::OverLimit { .. }) => {
                let outcome = if found.is_some() {
                    "tope_por_cuenta"
                } else {
                    "sin_coincidencia"
                };
                ("solicitar_reinicio", outcome, found, over)
            }
            (Kind::Reset { found, .. }, _) => match asked[i] {
                // Only the first request for a key in this batch can have queued it.
                Some(key) if queued.remove(key) => {
                    ("solicitar_reinicio", "encolado", found, Written::Queued)
                }
                Some(_) => ("solicitar_reinicio", "ya_en_cola", found, Written::Counted),
                None => (
                    "solicitar_reinicio",
                    "sin_coincidencia",
                    found,
                    Written::Counted,
                ),
            },
        };
        outcomes.push((event, outcome));
        audit.push(audit::row(
            *now,
            audit::Entry {
                request_id: request_id.as_deref(),
                event,
                outcome,
                client: *client,
                identificacion: Some(identificacion),
                registration_id: found.as_ref().map(|r| r.id),
            },
        ));
        answers.push((answer, found.clone()));
    }
    last.push(audit::insert_statement(audit));
    Ok((answers, outcomes, last))
}
