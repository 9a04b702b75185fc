//! The writer's PostgreSQL connection, kept from one batch to the next.
//!
//! Taken from sqlx's pool for each batch, the connection went back to it afterwards, and sqlx
//! tests every connection given back with a round trip (a `Sync` and its answer) that the next
//! batch's `BEGIN` waited for: under load a lookup batch's `BEGIN` took 540 µs where its read took
//! 330 (BENCHMARKS.md, "Issue 14: the writer keeps its PostgreSQL connection"). The writer has a
//! pool of its own with this one connection (`db::connect_writer`), so here it keeps it.
//!
//! While requests wait for the next batch, a batch's `COMMIT` travels with the next batch's
//! `BEGIN` (`COMMIT; BEGIN`, one trip), so that a batch under load makes one trip less. Only then:
//! a connection that waits for requests is never left inside a transaction. A transaction that
//! has only begun holds no lock and no snapshot.
//!
//! A batch that does not reach its commit (an error) spoils the connection, which may be inside
//! the batch's transaction: it is closed, and the next batch takes a new one from the pool. After
//! a pause of [`db::IDLE_CHECK`] or more the connection goes back to the pool before the next
//! batch, since the pool tests a connection idle that long (a PostgreSQL restarted in the pause).
//!
//! [`db::IDLE_CHECK`]: crate::db::IDLE_CHECK

use std::time::{Duration, Instant};

use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, DbErr, ExecResult, QueryResult, Statement,
    sqlx::{self, Postgres, pool::PoolConnection},
};
use tokio::sync::Mutex;

use super::{bound, conn_err, exec_err, query_err};

/// The connection the writer keeps, and the pool it comes from and goes back to.
pub struct Connection {
    /// The writer's own pool (kept as sea-orm gave it, which owns the sqlx pool).
    db: DatabaseConnection,
    held: Option<Held>,
    /// A connection idle this long goes back to the pool, which tests it, before the next batch.
    idle_check: Duration,
    /// Connections taken from the pool so far: one, unless batches failed or pauses were long.
    taken: u64,
}

/// The kept connection, and what the writer knows of it.
struct Held {
    conn: PoolConnection<Postgres>,
    /// When its last batch ended.
    last: Instant,
    /// Inside the transaction the last batch's commit began for the next batch.
    begun: bool,
    /// A batch began and did not commit: the connection may be inside its transaction.
    spoiled: bool,
}

impl Connection {
    pub fn new(db: DatabaseConnection, idle_check: Duration) -> Self {
        Connection {
            db,
            held: None,
            idle_check,
            taken: 0,
        }
    }

    /// Begins a batch's transaction on the kept connection (unless the last commit began it),
    /// taking one from the pool first if there is none, or the kept one was spoiled or idle too
    /// long.
    pub async fn begin(&mut self) -> Result<Batch<'_>, DbErr> {
        if self
            .held
            .as_ref()
            .is_some_and(|h| h.spoiled || h.last.elapsed() >= self.idle_check)
        {
            self.discard();
        }
        let held = match &mut self.held {
            Some(held) => held,
            empty @ None => {
                let conn = self
                    .db
                    .get_postgres_connection_pool()
                    .acquire()
                    .await
                    .map_err(conn_err)?;
                self.taken += 1;
                if self.taken > 1 {
                    tracing::debug!(
                        tomadas = self.taken,
                        "el escritor toma otra conexión de PostgreSQL"
                    );
                }
                empty.insert(Held {
                    conn,
                    last: Instant::now(),
                    begun: false,
                    spoiled: false,
                })
            }
        };
        // Until the batch commits.
        held.spoiled = true;
        if !std::mem::take(&mut held.begun) {
            sqlx::raw_sql("BEGIN")
                .execute(&mut *held.conn)
                .await
                .map_err(exec_err)?;
        }
        Ok(Batch {
            held: Mutex::new(held),
        })
    }

    /// Lets the kept connection go: closed if it may be inside a transaction, else back to the
    /// pool, which tests it.
    fn discard(&mut self) {
        if let Some(mut held) = self.held.take()
            && (held.spoiled || held.begun)
        {
            held.conn.close_on_drop();
        }
    }
}

/// One batch's transaction: [`ConnectionTrait`] for its statements. Dropped without
/// [`Batch::commit`] (an error), it leaves the connection spoiled (see [`Connection::begin`]).
pub struct Batch<'c> {
    held: Mutex<&'c mut Held>,
}

impl Batch<'_> {
    /// Commits; with `begin_next`, in the same trip, begins the next batch's transaction (only
    /// when requests are waiting for it).
    pub async fn commit(self, begin_next: bool) -> Result<(), DbErr> {
        let held = self.held.into_inner();
        let sql = if begin_next {
            "COMMIT; BEGIN"
        } else {
            "COMMIT"
        };
        sqlx::raw_sql(sql)
            .execute(&mut *held.conn)
            .await
            .map_err(exec_err)?;
        held.spoiled = false;
        held.begun = begin_next;
        held.last = Instant::now();
        Ok(())
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for Batch<'_> {
    fn get_database_backend(&self) -> DbBackend {
        DbBackend::Postgres
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        let mut held = self.held.lock().await;
        bound::<Postgres>(stmt.sql, stmt.values)
            .execute(&mut *held.conn)
            .await
            .map(Into::into)
            .map_err(exec_err)
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        let mut held = self.held.lock().await;
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
            .execute(&mut *held.conn)
            .await
            .map(Into::into)
            .map_err(exec_err)
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        let mut held = self.held.lock().await;
        bound::<Postgres>(stmt.sql, stmt.values)
            .fetch_optional(&mut *held.conn)
            .await
            .map(|row| row.map(Into::into))
            .map_err(query_err)
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        let mut held = self.held.lock().await;
        bound::<Postgres>(stmt.sql, stmt.values)
            .fetch_all(&mut *held.conn)
            .await
            .map(|rows| rows.into_iter().map(Into::into).collect())
            .map_err(query_err)
    }
}

#[cfg(test)]
mod tests {
    use sea_orm::{ConnectionTrait, DbBackend, Statement};

    use super::*;

    /// The writer's connection (keeping idle ones for `idle_check`), another connection to the
    /// same database, and a table of the test's own; `None` without PostgreSQL.
    async fn setup(
        name: &str,
        idle_check: Duration,
    ) -> Option<(Connection, DatabaseConnection, String)> {
        let Ok(url) = std::env::var("TEST_POSTGRES_URL") else {
            assert!(
                std::env::var("CI").is_err(),
                "CI=true exige TEST_POSTGRES_URL"
            );
            return None;
        };
        let other = crate::db::connect(&url).await.unwrap();
        let table = format!("prueba_escritor_{name}_{}", std::process::id());
        other
            .execute_unprepared(&format!(
                "DROP TABLE IF EXISTS {table}; CREATE TABLE {table} (n INT)"
            ))
            .await
            .unwrap();
        let own = crate::db::connect_writer(&url, 10).await.unwrap();
        Some((Connection::new(own, idle_check), other, table))
    }

    async fn backend(batch: &Batch<'_>) -> Result<i32, DbErr> {
        let row = batch
            .query_one_raw(Statement::from_string(
                DbBackend::Postgres,
                "SELECT pg_backend_pid() AS pid",
            ))
            .await?
            .expect("one row");
        row.try_get("", "pid")
    }

    async fn insert(batch: &Batch<'_>, table: &str, n: i32) -> Result<(), DbErr> {
        batch
            .execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                format!("INSERT INTO {table} (n) VALUES ($1)"),
                [n.into()],
            ))
            .await
            .map(drop)
    }

    /// One batch that writes `n` and commits; the backend it ran on.
    async fn write_one(conn: &mut Connection, table: &str, n: i32) -> Result<i32, DbErr> {
        let batch = conn.begin().await?;
        let pid = backend(&batch).await?;
        insert(&batch, table, n).await?;
        batch.commit(false).await?;
        Ok(pid)
    }

    /// The rows committed, as another connection sees them; drops the table.
    async fn committed(other: &DatabaseConnection, table: &str) -> Vec<i32> {
        let rows = other
            .query_all_raw(Statement::from_string(
                DbBackend::Postgres,
                format!("SELECT n FROM {table} ORDER BY n"),
            ))
            .await
            .unwrap();
        other
            .execute_unprepared(&format!("DROP TABLE {table}"))
            .await
            .unwrap();
        rows.iter().map(|r| r.try_get("", "n").unwrap()).collect()
    }

    /// Ends the backend and waits until it is gone, so that nothing it could still answer races
    /// the test.
    async fn terminate(other: &DatabaseConnection, pid: i32) {
        let ask =
            |sql: &str| Statement::from_sql_and_values(DbBackend::Postgres, sql, [pid.into()]);
        other
            .execute_raw(ask("SELECT pg_terminate_backend($1)"))
            .await
            .unwrap();
        for _ in 0..100 {
            let gone = other
                .query_one_raw(ask(
                    "SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $1) AS gone",
                ))
                .await
                .unwrap()
                .unwrap()
                .try_get::<bool>("", "gone")
                .unwrap();
            if gone {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("el proceso {pid} de PostgreSQL no terminó");
    }

    /// A batch's connection does not go back to the pool when it commits (the pool would test it
    /// with a round trip the next batch waits for): two batches take it from the pool once, and
    /// run on the same backend.
    #[tokio::test]
    async fn the_connection_stays_with_the_writer_from_one_batch_to_the_next() {
        let Some((mut conn, other, table)) = setup("se_queda", IDLE_CHECK_FOR_TESTS).await else {
            return;
        };
        let first = write_one(&mut conn, &table, 1).await.unwrap();
        assert_eq!(write_one(&mut conn, &table, 2).await.unwrap(), first);
        assert_eq!(conn.taken, 1);
        let pool = conn.db.get_postgres_connection_pool();
        assert_eq!((pool.size(), pool.num_idle()), (1, 0));
        assert_eq!(committed(&other, &table).await, [1, 2]);
    }

    /// As the writer does after an error: the batch is dropped uncommitted. Nothing of it is
    /// written, and the next batch works.
    #[tokio::test]
    async fn a_failed_batch_writes_nothing_and_the_next_one_commits() {
        let Some((mut conn, other, table)) = setup("falla", IDLE_CHECK_FOR_TESTS).await else {
            return;
        };
        {
            let batch = conn.begin().await.unwrap();
            insert(&batch, &table, 1).await.unwrap();
            let failed = batch
                .execute_unprepared("INSERT INTO tabla_que_no_existe VALUES (1)")
                .await;
            assert!(failed.is_err());
        }

        write_one(&mut conn, &table, 2).await.unwrap();
        // The failed batch's connection was closed, not used again inside its transaction.
        assert_eq!(conn.taken, 2);
        assert_eq!(committed(&other, &table).await, [2]);
    }

    /// A connection the database closed while the writer had nothing to do (PostgreSQL
    /// restarted, say) is replaced before the next batch, once the pause reached the check.
    #[tokio::test]
    async fn after_a_pause_a_connection_the_database_closed_is_replaced() {
        let Some((mut conn, other, table)) = setup("pausa", Duration::from_millis(100)).await
        else {
            return;
        };
        let first = write_one(&mut conn, &table, 1).await.unwrap();
        terminate(&other, first).await;
        tokio::time::sleep(Duration::from_millis(300)).await;

        assert_ne!(write_one(&mut conn, &table, 2).await.unwrap(), first);
        assert_eq!(conn.taken, 2);
        assert_eq!(committed(&other, &table).await, [1, 2]);
    }

    /// Closed without a pause, the connection fails one batch (its requests get a 503), and
    /// the next batch gets a working one.
    #[tokio::test]
    async fn a_connection_closed_under_load_fails_one_batch_only() {
        let Some((mut conn, other, table)) = setup("cerrada", IDLE_CHECK_FOR_TESTS).await else {
            return;
        };
        let first = write_one(&mut conn, &table, 1).await.unwrap();
        terminate(&other, first).await;

        assert!(write_one(&mut conn, &table, 2).await.is_err());
        write_one(&mut conn, &table, 3).await.unwrap();
        assert_eq!(committed(&other, &table).await, [1, 3]);
    }

    /// The writer's backend as another connection sees it: its state, and when its current
    /// transaction began.
    async fn activity(other: &DatabaseConnection, pid: i32) -> (String, Option<String>) {
        let row = other
            .query_one_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT state, xact_start::text AS began FROM pg_stat_activity WHERE pid = $1",
                [pid.into()],
            ))
            .await
            .unwrap()
            .expect("the writer's backend");
        (
            row.try_get("", "state").unwrap(),
            row.try_get("", "began").unwrap(),
        )
    }

    /// With requests waiting, a batch's commit begins the next batch's transaction: its rows
    /// are committed (others see them), and the next batch runs in that transaction without a
    /// `BEGIN` of its own. Without, the connection waits outside any transaction.
    #[tokio::test]
    async fn under_load_a_commit_begins_the_next_batch() {
        let Some((mut conn, other, table)) = setup("encadena", IDLE_CHECK_FOR_TESTS).await else {
            return;
        };
        let batch = conn.begin().await.unwrap();
        let pid = backend(&batch).await.unwrap();
        insert(&batch, &table, 1).await.unwrap();
        batch.commit(true).await.unwrap();
        let (state, began) = activity(&other, pid).await;
        assert_eq!(state, "idle in transaction");
        let began = began.expect("a transaction began");
        let seen = other
            .query_one_raw(Statement::from_string(
                DbBackend::Postgres,
                format!("SELECT count(*) AS n FROM {table}"),
            ))
            .await
            .unwrap()
            .unwrap()
            .try_get::<i64>("", "n")
            .unwrap();
        assert_eq!(seen, 1, "the first batch is committed");

        let batch = conn.begin().await.unwrap();
        insert(&batch, &table, 2).await.unwrap();
        let (_, during) = activity(&other, pid).await;
        assert_eq!(
            during.as_deref(),
            Some(began.as_str()),
            "the same transaction"
        );
        batch.commit(false).await.unwrap();
        assert_eq!(activity(&other, pid).await, ("idle".to_owned(), None));
        assert_eq!(conn.taken, 1);
        assert_eq!(committed(&other, &table).await, [1, 2]);
    }

    /// A batch dropped before its commit without an error (its task cancelled) writes nothing,
    /// and its connection, maybe inside its transaction, is not used again.
    #[tokio::test]
    async fn a_batch_dropped_uncommitted_writes_nothing_and_its_connection_is_closed() {
        let Some((mut conn, other, table)) = setup("abandona", IDLE_CHECK_FOR_TESTS).await else {
            return;
        };
        let first = {
            let batch = conn.begin().await.unwrap();
            insert(&batch, &table, 1).await.unwrap();
            backend(&batch).await.unwrap()
        };

        assert_ne!(write_one(&mut conn, &table, 2).await.unwrap(), first);
        assert_eq!(committed(&other, &table).await, [2]);
    }

    /// Longer than any of these tests: the connection is kept.
    const IDLE_CHECK_FOR_TESTS: Duration = Duration::from_secs(3600);
}
