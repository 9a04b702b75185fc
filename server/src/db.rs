//! The database connection: SQLite on one machine, PostgreSQL when several instances share it.

use std::path::Path;

use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr};

/// Connects and brings the schema up to date. Migrations are idempotent and recorded in the
/// database, so every instance may run them at start-up.
pub async fn connect_and_migrate(url: &str) -> Result<DatabaseConnection, DbErr> {
    let db = connect(url).await?;
    Migrator::up(&db, None).await?;
    Ok(db)
}

pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    if let Some(parent) = sqlite_file(url).and_then(Path::parent)
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent).map_err(|e| {
            DbErr::Custom(format!(
                "no se pudo crear la carpeta {}: {e}",
                parent.display()
            ))
        })?;
    }
    Database::connect(options(url)).await
}

/// The group-commit writer's own connection to PostgreSQL (`services::writer`): one, opened by
/// the first batch on the writer's thread, so that its socket is watched by the writer's own
/// runtime. (SQLite's one connection is shared: it runs on a thread of its own already.) It
/// keeps up to `statements` statements prepared (sqlx's default is 100).
pub async fn connect_writer(url: &str, statements: usize) -> Result<DatabaseConnection, DbErr> {
    let mut options = options(url);
    options
        .max_connections(1)
        .min_connections(0)
        .connect_lazy(true);
    options.map_sqlx_postgres_opts(move |o| o.statement_cache_capacity(statements));
    Database::connect(options).await
}

/// A pooled connection idle this long is tested before its next use (see `options`).
pub const IDLE_CHECK: std::time::Duration = std::time::Duration::from_secs(10);

fn options(url: &str) -> ConnectOptions {
    let mut options = ConnectOptions::new(url.to_owned());
    // sqlx logs every statement at info level; our own logs say what happened without SQL.
    options.sqlx_logging(false);
    // SQLite: write-ahead logging, so that a commit is one append and one sync instead of a
    // rollback journal's several, and readers never wait for the writer. `synchronous` stays
    // FULL: a request the service has answered must survive a power cut. sea-orm keeps one
    // connection for SQLite, shared by the group-commit writer (`services::writer`), sign-ins
    // and the outbox, which spares us SQLITE_BUSY between them inside one process.
    //
    // `temp_store = memory`: a multi-row upsert inside a transaction keeps a statement journal
    // (to undo that statement alone), and past 64 KiB SQLite spills it to a new file in
    // /var/tmp: every group commit created, wrote and unlinked one on disk (BENCHMARKS.md, "Issue
    // 14: the statement journal and the value samples"). A batch's journal is a few dozen pages;
    // memory holds it.
    options.map_sqlx_sqlite_opts(|o| {
        o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
            .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Full)
            .pragma("temp_store", "memory")
    });
    // When the database is unreachable a request should fail fast with a 503, not wait for
    // the 30-second request timeout; the pool reconnects by itself once it is back.
    options
        .connect_timeout(std::time::Duration::from_secs(3))
        .acquire_timeout(std::time::Duration::from_secs(3));
    // A ping before every use cost a round trip per group commit (a third of the writer's time
    // under load); a connection that was busy a moment ago is alive. One idle for a while (a
    // PostgreSQL that restarted meanwhile) is still checked before use.
    options.test_before_acquire_if_idle_for(IDLE_CHECK);
    // Every acquire reports its wait as a TRACE event of target `sqlx::pool::acquire`, which
    // `telemetry::pool_wait` turns into `reinicio_db_pool_wait_seconds`; the log never sees it.
    options.map_sqlx_sqlite_pool_opts(|o| o.acquire_time_level(log::LevelFilter::Trace));
    options.map_sqlx_postgres_pool_opts(|o| o.acquire_time_level(log::LevelFilter::Trace));
    options
}

/// The file behind a `sqlite:` URL, if it names one (not `:memory:`).
fn sqlite_file(url: &str) -> Option<&Path> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && !path.starts_with(":memory:")).then(|| Path::new(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A group commit's statement journal stays in memory instead of a new file on disk per
    /// batch (see `options`).
    #[tokio::test]
    async fn sqlite_keeps_temporary_data_in_memory() {
        use sea_orm::{ConnectionTrait, Statement};
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/t.sqlite3?mode=rwc", dir.path().display());
        let db = connect(&url).await.unwrap();
        let row = db
            .query_one_raw(Statement::from_string(
                sea_orm::DbBackend::Sqlite,
                "PRAGMA temp_store",
            ))
            .await
            .unwrap()
            .unwrap();
        // 2 is MEMORY (0 would be the build's default: files).
        assert_eq!(row.try_get_by_index::<i64>(0).unwrap(), 2);
    }

    /// The writer's PostgreSQL connection keeps as many statements prepared as it is asked to
    /// (`services::writer`'s five kinds times every batch size), not sqlx's 100.
    #[tokio::test]
    async fn the_writers_connection_keeps_as_many_statements_prepared_as_asked() {
        use sea_orm::{ConnectionTrait, DbBackend, Statement};
        let Ok(url) = std::env::var("TEST_POSTGRES_URL") else {
            assert!(
                std::env::var("CI").is_err(),
                "CI=true exige TEST_POSTGRES_URL"
            );
            return;
        };
        for (capacity, kept) in [(3, 3), (50, 11)] {
            let db = connect_writer(&url, capacity).await.unwrap();
            for i in 0..10 {
                db.query_one_raw(Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    format!("SELECT {i} + $1::int AS n"),
                    [1.into()],
                ))
                .await
                .unwrap();
            }
            // The count's own statement is prepared too: the eleventh.
            let count: i64 = db
                .query_one_raw(Statement::from_string(
                    DbBackend::Postgres,
                    "SELECT count(*) AS n FROM pg_prepared_statements",
                ))
                .await
                .unwrap()
                .unwrap()
                .try_get("", "n")
                .unwrap();
            assert_eq!(count, kept, "capacity {capacity}");
        }
    }

    #[test]
    fn finds_the_sqlite_file_behind_a_url() {
        assert_eq!(
            sqlite_file("sqlite://data/x.sqlite3?mode=rwc"),
            Some(Path::new("data/x.sqlite3"))
        );
        assert_eq!(
            sqlite_file("sqlite:/tmp/a.db"),
            Some(Path::new("/tmp/a.db"))
        );
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("postgres://h/db"), None);
    }
}
