//! The schema and the operator's seed command on every database the server supports.

use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use server::{db, entities::registration, seed};

use crate::helpers;

#[tokio::test]
async fn migrations_apply_twice_and_seeding_is_idempotent() {
    for test_db in helpers::databases().await {
        let conn = db::connect_and_migrate(&test_db.url)
            .await
            .expect(test_db.label);
        // A second instance starting against the same database must not fail.
        db::connect_and_migrate(&test_db.url)
            .await
            .expect(test_db.label);

        assert_eq!(
            seed::seed_demo(&conn, 1_764_400_000_000).await.unwrap(),
            seed::DEMO.len() as u64,
            "{}",
            test_db.label
        );
        assert_eq!(
            seed::seed_demo(&conn, 1_764_400_000_000).await.unwrap(),
            0,
            "{}",
            test_db.label
        );
        let count = registration::Entity::find().count(&conn).await.unwrap();
        assert_eq!(count, seed::DEMO.len() as u64, "{}", test_db.label);

        // Stored in the validation crate's canonical forms: what lookups will compare against.
        let find = |clave: &'static str| {
            registration::Entity::find()
                .filter(registration::Column::UsuarioIdClave.eq(clave))
                .one(&conn)
        };
        let mperez = find("mperez").await.unwrap().expect(test_db.label);
        assert_eq!(mperez.usuario_id, "MPerez");
        assert_eq!(mperez.clasificacion, "usuario_general");
        assert_eq!(mperez.correo, "maria.perez@example.com");
        assert_eq!(
            find("jsalazar.emp").await.unwrap().unwrap().identificacion,
            "0926687856"
        );
        assert_eq!(
            find("aauditor").await.unwrap().unwrap().identificacion,
            "AB123456"
        );
        drop(conn);
        test_db.drop_database().await;
    }
}

/// SQLite runs with write-ahead logging (one sync per commit, readers never blocked) and full
/// sync (an answered request survives a power cut).
#[tokio::test]
async fn sqlite_uses_write_ahead_logging_and_full_sync() {
    use sea_orm::{ConnectionTrait, Statement};
    let test_db = helpers::TestDb::sqlite();
    let conn = db::connect_and_migrate(&test_db.url).await.unwrap();
    let pragma = |name: &str| {
        let conn = conn.clone();
        let sql = format!("PRAGMA {name}");
        async move {
            let row = conn
                .query_one_raw(Statement::from_string(conn.get_database_backend(), sql))
                .await
                .unwrap()
                .unwrap();
            row.try_get_by_index::<String>(0)
                .or_else(|_| row.try_get_by_index::<i64>(0).map(|n| n.to_string()))
                .unwrap()
        }
    };
    assert_eq!(pragma("journal_mode").await, "wal");
    assert_eq!(pragma("synchronous").await, "2"); // FULL
}

/// The registry's timestamps became milliseconds (one time type for the whole schema): a database
/// written before keeps its registrations, their date-times converted exactly.
#[tokio::test]
async fn registration_times_are_converted_to_milliseconds() {
    use migration::MigratorTrait;
    use sea_orm::{ConnectionTrait, Statement, Value};
    for test_db in helpers::databases().await {
        let conn = sea_orm::Database::connect(&test_db.url).await.unwrap();
        migration::Migrator::up(&conn, Some(4)).await.unwrap();
        // 2026-11-29 01:13:00.250 UTC, bound as the entity bound it before: a date-time.
        let instante =
            time::OffsetDateTime::from_unix_timestamp_nanos(1_764_378_780_250_000_000).unwrap();
        let backend = conn.get_database_backend();
        let marcas = if backend == sea_orm::DbBackend::Postgres {
            "$1, $2"
        } else {
            "?, ?"
        };
        conn.execute_raw(Statement::from_sql_and_values(
            backend,
            format!(
                "INSERT INTO registrations (usuario_id, usuario_id_clave, clasificacion, identificacion, correo, estado, created_at, updated_at) \
                 VALUES ('Viejo', 'viejo', 'usuario_general', '1710034065', 'v@example.com', 'aprobada', {marcas})"
            ),
            [Value::from(instante), Value::from(instante)],
        ))
        .await
        .unwrap();
        drop(conn);
        let conn = db::connect_and_migrate(&test_db.url).await.unwrap();
        let viejo = registration::Entity::find()
            .filter(registration::Column::UsuarioIdClave.eq("viejo"))
            .one(&conn)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (viejo.created_at, viejo.updated_at),
            (1_764_378_780_250, 1_764_378_780_250),
            "{}",
            test_db.label
        );
        drop(conn);
        test_db.drop_database().await;
    }
}

/// A PostgreSQL test database goes away even when its test ends before `drop_database` (a failed
/// assertion unwinds through the same `Drop`), with a connection to it still open.
#[tokio::test]
async fn a_test_database_is_dropped_even_when_its_test_ends_early() {
    use sea_orm::{ConnectionTrait, Statement};
    let Some(test_db) = helpers::postgres_only().await else {
        return;
    };
    let name = test_db.url.rsplit('/').next().unwrap().to_owned();
    let admin = sea_orm::Database::connect(std::env::var("TEST_POSTGRES_URL").unwrap())
        .await
        .unwrap();
    let exists = async || {
        admin
            .query_one_raw(Statement::from_sql_and_values(
                admin.get_database_backend(),
                "SELECT 1 AS one FROM pg_database WHERE datname = $1",
                [name.clone().into()],
            ))
            .await
            .unwrap()
            .is_some()
    };
    let open = db::connect_and_migrate(&test_db.url).await.unwrap();
    assert!(exists().await);
    drop(test_db);
    assert!(!exists().await, "{name} is still there");
    drop(open);
}
