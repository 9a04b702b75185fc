//! The outbox's claim: the most overdue messages first, a batch at most, found through the index
//! whatever the length of the queue (see `outbox::due`).

use std::collections::BTreeSet;

use sea_orm::{ConnectionTrait, QueryOrder};

use super::*;

/// Queues one message per demo registration, the n-th due `due_after[n]` ms after START_MS.
/// Returns their outbox ids in the same order.
async fn queue(f: &Fixture, due_after: &[i64]) -> Vec<i64> {
    let registrations = registration::Entity::find()
        .order_by_asc(registration::Column::Id)
        .all(&f.db)
        .await
        .unwrap();
    assert!(registrations.len() >= due_after.len());
    let mut ids = Vec::new();
    for (r, after) in registrations.iter().zip(due_after) {
        let row = outbox::new_message(outbox::Kind::Reset, r, START_MS + after);
        let id = mail_outbox::Entity::insert(row)
            .exec(&f.db)
            .await
            .unwrap()
            .last_insert_id;
        ids.push(id);
    }
    ids
}

/// The ids no longer queued (claimed, then sent or abandoned).
async fn taken(f: &Fixture) -> BTreeSet<i64> {
    f.outbox()
        .await
        .into_iter()
        .filter(|r| r.state != outbox::State::Queued)
        .map(|r| r.id)
        .collect()
}

#[tokio::test]
async fn a_claim_takes_the_most_overdue_first_and_at_most_a_batch() {
    for test_db in helpers::databases().await {
        let f = fixture(&test_db.url).await;
        // Inserted in another order than they fall due; the fourth is not due yet.
        let ids = queue(&f, &[30, 10, 20, 60_000, 0]).await;
        f.clock.advance_ms(100);
        let dir = tempfile::tempdir().unwrap();
        let mut worker = f.plain_worker(folder_mailer(dir.path()));
        worker.settings.batch = 2;
        let worker = Arc::new(worker);

        assert_eq!(worker.run_once().await.unwrap(), 2, "{}", test_db.label);
        let first = BTreeSet::from([ids[4], ids[1]]);
        assert_eq!(taken(&f).await, first, "{}", test_db.label);

        assert_eq!(worker.run_once().await.unwrap(), 2, "{}", test_db.label);
        let all_due = BTreeSet::from([ids[0], ids[1], ids[2], ids[4]]);
        assert_eq!(taken(&f).await, all_due, "{}", test_db.label);

        assert_eq!(
            worker.run_once().await.unwrap(),
            0,
            "not due yet ({})",
            test_db.label
        );
        f.clock.advance_ms(60_000);
        assert_eq!(worker.run_once().await.unwrap(), 1, "{}", test_db.label);
        test_db.drop_database().await;
    }
}

/// The query plan of the claim's selection over a queue of 3,000 due messages: an ordered walk of
/// `idx_mail_outbox_state_next` that can stop after the batch, with no scan of the table and no
/// sort of every due row (what the claim in `id` order did).
#[tokio::test]
async fn a_claim_reads_the_index_in_order_however_long_the_queue() {
    for test_db in helpers::databases().await {
        let f = fixture(&test_db.url).await;
        let registration = registration::Entity::find()
            .one(&f.db)
            .await
            .unwrap()
            .unwrap();
        // Notices: no pending key, so one account may have any number of them queued.
        for chunk in 0..30 {
            let rows = (0..100).map(|i| {
                outbox::new_message(
                    outbox::Kind::ChangeNotice,
                    &registration,
                    START_MS - 3_000 + chunk * 100 + i,
                )
            });
            mail_outbox::Entity::insert_many(rows)
                .exec(&f.db)
                .await
                .unwrap();
        }
        let backend = f.db.get_database_backend();
        f.db.execute_unprepared("ANALYZE").await.unwrap();
        let text = helpers::query_plan(&f.db, &outbox::due(backend, START_MS, 100)).await;
        assert!(
            text.contains("idx_mail_outbox_state_next"),
            "{}: {text}",
            test_db.label
        );
        for forbidden in ["TEMP B-TREE", "Sort", "Seq Scan", "SCAN mail_outbox"] {
            assert!(!text.contains(forbidden), "{}: {text}", test_db.label);
        }
        test_db.drop_database().await;
    }
}
