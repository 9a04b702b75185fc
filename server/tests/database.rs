//! The schema and the operator's seed command on every database the server supports.

mod support;

use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use server::{db, entities::registration, seed};

#[tokio::test]
async fn migrations_apply_twice_and_seeding_is_idempotent() {
    for test_db in support::databases().await {
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
    let test_db = support::TestDb::sqlite();
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
