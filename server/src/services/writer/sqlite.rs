//! A group commit's transaction on SQLite, in as few trips to SQLite's thread as it takes.
//!
//! sqlx runs each SQLite connection on a thread of its own; every statement is a trip there and
//! back (two thread wake-ups), and its `BEGIN` and `COMMIT` wait for the asking task to take the
//! answer before the thread moves on. Under load one trip took 0.2-0.4 ms, far more than
//! SQLite's own work, and a batch of lookups made five of them one after the other. sqlx runs a
//! text of several statements in one trip, binding the values in order, so here `BEGIN
//! IMMEDIATE` travels with the batch's first statement and `COMMIT` with its last ones: three
//! trips, and a batch a quarter shorter (BENCHMARKS.md, "Issue 14: fewer trips to SQLite's
//! thread").
//!
//! The connection is the pool's one (see `db`), held for the whole batch as a transaction would
//! hold it. sqlx does not know about a transaction begun this way, so [`Batch::abort`] must end
//! it on every error, and a batch dropped before its end closes the connection. A connection
//! whose transaction cannot be ended is closed, never handed to the next user with the batch's
//! writes still open.

use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, DbErr, ExecResult, QueryResult, QuerySelect,
    QueryTrait, Select, Statement, StatementBuilder,
    sea_query::{Expr, SelectStatement},
    sqlx::{self, Sqlite, pool::PoolConnection},
};
use sea_query_sqlx::SqlxValues;
use tokio::sync::{Mutex, MutexGuard};

use super::{bound, conn_err, exec_err, query_err};
use crate::entities::{mail_outbox, registration};

type SqliteQuery = sqlx::query::Query<'static, Sqlite, SqlxValues>;

/// One batch's transaction: [`ConnectionTrait`] for the statements in between.
pub struct Batch {
    state: Mutex<State>,
}

struct State {
    conn: PoolConnection<Sqlite>,
    phase: Phase,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Nothing sent yet: the first statement carries `BEGIN IMMEDIATE`.
    NotBegun,
    /// `BEGIN` sent; the transaction may be open.
    Open,
    /// Committed, or ended by [`Batch::abort`].
    Ended,
}

/// IMMEDIATE: the batch reads before it writes, and a deferred transaction that reads first
/// cannot wait for another process's write lock (`server import`, say) when it comes to write:
/// SQLite answers BUSY at once. Taking the lock up front waits for it instead.
const BEGIN: &str = "BEGIN IMMEDIATE;\n";

impl Batch {
    /// Takes the connection; the transaction begins with the first statement.
    pub async fn start(db: &DatabaseConnection) -> Result<Self, DbErr> {
        let conn = db
            .get_sqlite_connection_pool()
            .acquire()
            .await
            .map_err(conn_err)?;
        Ok(Batch {
            state: Mutex::new(State {
                conn,
                phase: Phase::NotBegun,
            }),
        })
    }

    /// Runs the batch's last statements, in order, and commits, in one trip.
    pub async fn commit_with(&self, last: &[impl StatementBuilder]) -> Result<(), DbErr> {
        let mut sql = String::new();
        let mut values = Vec::new();
        for statement in last {
            let stmt = DbBackend::Sqlite.build(statement);
            sql.push_str(&stmt.sql);
            sql.push_str(";\n");
            values.extend(stmt.values.into_iter().flat_map(|v| v.0));
        }
        sql.push_str("COMMIT");
        let stmt = Statement::from_sql_and_values(DbBackend::Sqlite, sql, values);
        self.execute_raw(stmt).await?;
        self.state.lock().await.phase = Phase::Ended;
        Ok(())
    }

    /// Gives the connection back to the pool now, in the caller's task, once the batch is
    /// committed. Dropped, it would go back in a task of its own (sqlx tests it there with a trip
    /// to SQLite's thread), which under load waited behind the HTTP tasks for a worker: the next
    /// batch's `start` waited 170-290 µs for it (BENCHMARKS.md, "Issue 14: the writer keeps its
    /// PostgreSQL connection"). `return_to_pool` is what sqlx's drop runs in that task (public,
    /// though hidden from its docs). Whoever waits for the connection gets it next, as before.
    pub async fn release(self) {
        let mut state = self.state.lock().await;
        if state.phase == Phase::Ended {
            state.conn.return_to_pool().await;
        }
    }

    /// Ends the transaction after an error, if SQLite has not ended it already. If even that
    /// fails, the connection is closed instead of going back to the pool.
    pub async fn abort(&self) {
        let mut state = self.state.lock().await;
        let phase = std::mem::replace(&mut state.phase, Phase::Ended);
        if phase != Phase::Open {
            return;
        }
        if let Err(error) = sqlx::Executor::execute(&mut *state.conn, "ROLLBACK").await {
            // Some errors (a full disk, an I/O error) make SQLite roll back by itself; then
            // there is nothing left to end.
            if !error.to_string().contains("no transaction is active") {
                tracing::error!(%error, "no se pudo deshacer una escritura en grupo; se cierra la conexión");
                state.conn.close_on_drop();
            }
        }
    }

    /// The statement as sqlx runs it, with `BEGIN` in front if it is the batch's first, and the
    /// connection to run it on.
    async fn prepare(&self, stmt: Statement) -> (MutexGuard<'_, State>, SqliteQuery) {
        let mut state = self.state.lock().await;
        let sql = if state.phase == Phase::NotBegun {
            state.phase = Phase::Open;
            format!("{BEGIN}{}", stmt.sql)
        } else {
            stmt.sql
        };
        (state, bound(sql, stmt.values))
    }
}

/// A batch dropped half-way (its task cancelled) cannot roll back here: its connection is closed
/// instead, which ends the transaction, rather than going back to the pool inside it.
impl Drop for Batch {
    fn drop(&mut self) {
        let state = self.state.get_mut();
        if state.phase == Phase::Open {
            state.conn.close_on_drop();
        }
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for Batch {
    fn get_database_backend(&self) -> DbBackend {
        DbBackend::Sqlite
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        let (mut state, query) = self.prepare(stmt).await;
        query
            .execute(&mut *state.conn)
            .await
            .map(Into::into)
            .map_err(exec_err)
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.execute_raw(Statement::from_string(DbBackend::Sqlite, sql))
            .await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        let (mut state, query) = self.prepare(stmt).await;
        query
            .fetch_optional(&mut *state.conn)
            .await
            .map(|row| row.map(Into::into))
            .map_err(query_err)
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        let (mut state, query) = self.prepare(stmt).await;
        query
            .fetch_all(&mut *state.conn)
            .await
            .map(|rows| rows.into_iter().map(Into::into).collect())
            .map_err(query_err)
    }
}

/// The column that says whether a reset row's account has a reset e-mail waiting (SQLite).
pub const WAITING: &str = "reset_waiting";

/// The reset rows' read, with whether each account's reset e-mail already waits ([`WAITING`]):
/// the batch then knows which e-mails its insert queues without asking the insert, and the
/// insert travels with the commit (one trip less, see `within`). Exact on SQLite only, where the
/// batch has held the database's one write lock since its `BEGIN IMMEDIATE`: nobody can queue or
/// send in between. Each account costs one look-up in the pending key's unique index.
pub fn with_waiting(select: Select<registration::Entity>) -> SelectStatement {
    let prefix = mail_outbox::Kind::Reset.pending_key_prefix();
    select
        .expr_as(
            Expr::cust_with_values(
                "EXISTS (SELECT 1 FROM mail_outbox \
                 WHERE mail_outbox.pending_key = ? || registrations.id)",
                [prefix],
            ),
            WAITING,
        )
        .into_query()
}

#[cfg(test)]
mod tests {
    use sea_orm::{ActiveValue::Set, EntityTrait, PaginatorTrait, TransactionTrait};

    use super::*;
    use crate::{entities::audit_log, services::audit};

    async fn database() -> (tempfile::TempDir, DatabaseConnection) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("t.sqlite3").display()
        );
        let db = crate::db::connect_and_migrate(&url).await.unwrap();
        (dir, db)
    }

    fn row(event: &str) -> audit_log::ActiveModel {
        audit_log::ActiveModel {
            at: Set(0),
            event: Set(event.to_owned()),
            outcome: Set("prueba".to_owned()),
            ..Default::default()
        }
    }

    /// Another connection to the test's database, which sees only what was committed.
    async fn other(dir: &tempfile::TempDir) -> DatabaseConnection {
        let url = format!("sqlite://{}", dir.path().join("t.sqlite3").display());
        crate::db::connect(&url).await.unwrap()
    }

    /// Rows in the audit table, as another connection sees them.
    async fn seen(dir: &tempfile::TempDir) -> u64 {
        audit_log::Entity::find()
            .count(&other(dir).await)
            .await
            .unwrap()
    }

    /// A batch whose first statement (with its `BEGIN`) wrote one audit row.
    async fn begun_with_one_row(db: &DatabaseConnection) -> Batch {
        let batch = Batch::start(db).await.unwrap();
        audit::insert(&batch, vec![row("primera")]).await.unwrap();
        batch
    }

    /// The pool's connection, back from the batch, begins a transaction of its own (it is not
    /// left inside the batch's) and commits a row.
    async fn writes_afterwards(db: &DatabaseConnection) {
        let txn = db.begin().await.unwrap();
        audit::insert(&txn, vec![row("después")]).await.unwrap();
        txn.commit().await.unwrap();
    }

    #[tokio::test]
    async fn the_statements_up_to_the_commit_are_one_transaction() {
        let (dir, db) = database().await;
        let batch = begun_with_one_row(&db).await;
        assert_eq!(seen(&dir).await, 0, "nothing is visible before the commit");
        batch
            .commit_with(&[audit::insert_statement(vec![row("segunda")])])
            .await
            .unwrap();
        drop(batch);
        assert_eq!(seen(&dir).await, 2);
        // The connection went back to the pool out of any transaction.
        let txn = db.begin().await.unwrap();
        txn.commit().await.unwrap();
    }

    /// Several statements go with the commit, each with its own values, in order (a reset
    /// batch's outbox insert, then its audit rows).
    #[tokio::test]
    async fn the_last_statements_each_bind_their_own_values() {
        use sea_orm::QueryOrder;
        let (dir, db) = database().await;
        let batch = begun_with_one_row(&db).await;
        batch
            .commit_with(&[
                audit::insert_statement(vec![row("segunda")]),
                audit::insert_statement(vec![row("tercera"), row("cuarta")]),
            ])
            .await
            .unwrap();
        drop(batch);
        let events: Vec<String> = audit_log::Entity::find()
            .order_by_asc(audit_log::Column::Id)
            .all(&other(&dir).await)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.event)
            .collect();
        assert_eq!(events, ["primera", "segunda", "tercera", "cuarta"]);
    }

    /// A committed batch gives its connection back before `release` returns, not in a task the
    /// next batch would wait for.
    #[tokio::test]
    async fn a_released_batch_has_given_its_connection_back() {
        let (dir, db) = database().await;
        let batch = begun_with_one_row(&db).await;
        batch
            .commit_with(&[] as &[sea_orm::sea_query::InsertStatement])
            .await
            .unwrap();
        batch.release().await;
        assert_eq!(db.get_sqlite_connection_pool().num_idle(), 1);
        assert_eq!(seen(&dir).await, 1);
        writes_afterwards(&db).await;
    }

    #[tokio::test]
    async fn an_aborted_batch_leaves_nothing_and_its_connection_usable() {
        let (dir, db) = database().await;
        let batch = begun_with_one_row(&db).await;
        let failed = batch
            .execute_unprepared("INSERT INTO tabla_que_no_existe VALUES (1)")
            .await;
        assert!(failed.is_err());
        batch.abort().await;
        drop(batch);
        assert_eq!(seen(&dir).await, 0);
        // Not closed, and not left inside the batch's transaction: a transaction begins.
        assert_eq!(db.get_sqlite_connection_pool().size(), 1);
        writes_afterwards(&db).await;
        assert_eq!(seen(&dir).await, 1);
    }

    #[tokio::test]
    async fn a_batch_that_sqlite_already_ended_is_aborted_quietly() {
        let (_dir, db) = database().await;
        let batch = Batch::start(&db).await.unwrap();
        // As SQLite does by itself after some errors (a full disk, say).
        batch.execute_unprepared("ROLLBACK").await.unwrap();
        batch.abort().await;
        drop(batch);
        // The connection was kept: nothing was left to end.
        assert_eq!(db.get_sqlite_connection_pool().size(), 1);
        db.begin().await.unwrap().commit().await.unwrap();
    }

    #[tokio::test]
    async fn a_batch_dropped_half_way_writes_nothing_and_leaves_no_transaction_open() {
        let (dir, db) = database().await;
        let batch = begun_with_one_row(&db).await;
        drop(batch);
        assert_eq!(seen(&dir).await, 0);
        writes_afterwards(&db).await;
        assert_eq!(seen(&dir).await, 1);
    }

    #[tokio::test]
    async fn an_abort_before_any_statement_sends_nothing() {
        let (_dir, db) = database().await;
        let batch = Batch::start(&db).await.unwrap();
        batch.abort().await;
        drop(batch);
        db.begin().await.unwrap().commit().await.unwrap();
    }

    /// The reset rows' read on SQLite finds each account by its unique ID usuario and looks up
    /// its pending key in that column's unique index: no table is scanned, however long the
    /// outbox.
    #[tokio::test]
    async fn the_reset_read_looks_up_each_accounts_waiting_email_by_index() {
        use sea_orm::{ColumnTrait, QueryFilter};
        let dir = tempfile::tempdir().unwrap();
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("t.sqlite3").display()
        );
        let db = crate::db::connect_and_migrate(&url).await.unwrap();
        let select = with_waiting(
            registration::Entity::find()
                .filter(registration::Column::UsuarioIdClave.is_in(["mperez", "aauditor"])),
        );
        let stmt = DbBackend::Sqlite.build(&select);
        let plan: Vec<String> = db
            .query_all_raw(Statement::from_sql_and_values(
                DbBackend::Sqlite,
                format!("EXPLAIN QUERY PLAN {}", stmt.sql),
                stmt.values.unwrap().0,
            ))
            .await
            .unwrap()
            .iter()
            .map(|row| row.try_get::<String>("", "detail").unwrap())
            .collect();
        let text = plan.join("\n");
        assert!(text.contains("SEARCH registrations USING INDEX"), "{text}");
        assert!(
            text.contains("SEARCH mail_outbox USING COVERING INDEX"),
            "{text}"
        );
        assert!(!text.contains("SCAN"), "{text}");
    }
}
