//! The schema and the operator's seed command on every database the server supports.

mod support;

use sea_orm::{EntityTrait, PaginatorTrait};
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
            seed::seed_demo(&conn).await.unwrap(),
            seed::DEMO.len() as u64,
            "{}",
            test_db.label
        );
        assert_eq!(
            seed::seed_demo(&conn).await.unwrap(),
            0,
            "{}",
            test_db.label
        );
        let count = registration::Entity::find().count(&conn).await.unwrap();
        assert_eq!(count, seed::DEMO.len() as u64, "{}", test_db.label);
        drop(conn);
        test_db.drop_database().await;
    }
}
