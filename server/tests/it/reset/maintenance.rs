//! What keeps the database in shape: the cleanup of expired rows and the one clock.

use super::*;

/// Rows that no longer mean anything are deleted: ended limit windows, old sign-in failures,
/// idle sessions, and sent e-mails past the retention; live rows, abandoned e-mails and the audit
/// log stay.
#[tokio::test]
async fn expired_rows_are_cleaned_up_and_live_ones_stay() {
    use sea_orm::ActiveValue::Set;
    use server::entities::{rate_limit, session};
    use server::services::cleanup;
    for test_db in helpers::databases().await {
        let f = fixture(&test_db.url).await;
        let label = test_db.label;
        let now = START_MS + 40 * 24 * 60 * 60_000;
        let hora = 60 * 60_000;
        for (key, start) in [("viejo", now - hora - 1), ("vigente", now - hora + 60_000)] {
            rate_limit::Entity::insert(rate_limit::ActiveModel {
                key: Set(key.into()),
                hits: Set(3),
                window_start: Set(start),
            })
            .exec_without_returning(&f.db)
            .await
            .unwrap();
        }
        for (usuario, start) in [("viejo", now - 15 * 60_000), ("vigente", now - 60_000)] {
            sign_in_failure::Entity::insert(sign_in_failure::ActiveModel {
                usuario_clave: Set(usuario.into()),
                failures: Set(5),
                window_start: Set(start),
            })
            .exec_without_returning(&f.db)
            .await
            .unwrap();
        }
        let mperez = registration::Entity::find()
            .filter(registration::Column::UsuarioIdClave.eq("mperez"))
            .one(&f.db)
            .await
            .unwrap()
            .unwrap();
        for (token, seen) in [("inactiva", now - 30 * 60_000), ("activa", now - 60_000)] {
            session::Entity::insert(session::ActiveModel {
                token_hash: Set(token.into()),
                registration_id: Set(mperez.id),
                must_change: Set(0),
                created_at: Set(seen),
                last_seen_at: Set(seen),
            })
            .exec_without_returning(&f.db)
            .await
            .unwrap();
        }
        let dia = 24 * hora;
        for (state, sent_at) in [
            (outbox::State::Sent, Some(now - 31 * dia)),
            (outbox::State::Sent, Some(now - 29 * dia)),
            (outbox::State::Abandoned, None),
        ] {
            let mut row = outbox::new_message(outbox::Kind::Reset, &mperez, now - 31 * dia);
            row.state = Set(state);
            row.sent_at = Set(sent_at);
            // An ended message no longer holds its account's queue key.
            row.pending_key = Set(None);
            mail_outbox::Entity::insert(row)
                .exec_without_returning(&f.db)
                .await
                .unwrap();
        }
        let audits = audit_log::Entity::find().count(&f.db).await.unwrap();

        let deleted = cleanup::run_once(&f.db, now, 30).await.unwrap();
        assert_eq!(
            deleted,
            cleanup::Deleted {
                rate_limits: 1,
                sign_in_failures: 1,
                sessions: 1,
                sent_mail: 1,
            },
            "{label}"
        );
        assert_eq!(
            rate_limit::Entity::find_by_id("vigente")
                .one(&f.db)
                .await
                .unwrap()
                .map(|r| r.hits),
            Some(3)
        );
        assert!(
            sign_in_failure::Entity::find_by_id("vigente")
                .one(&f.db)
                .await
                .unwrap()
                .is_some()
        );
        assert!(
            session::Entity::find_by_id("activa")
                .one(&f.db)
                .await
                .unwrap()
                .is_some()
        );
        let mut left = f.outbox().await;
        left.sort_by_key(|r| r.id);
        let left: Vec<outbox::State> = left.into_iter().map(|r| r.state).collect();
        assert_eq!(
            left,
            [outbox::State::Sent, outbox::State::Abandoned],
            "{label}"
        );
        assert_eq!(
            audit_log::Entity::find().count(&f.db).await.unwrap(),
            audits
        );
        // A second pass finds nothing more.
        assert_eq!(
            cleanup::run_once(&f.db, now, 30).await.unwrap(),
            cleanup::Deleted::default()
        );
        test_db.drop_database().await;
    }
}

/// Every instant comes from the one injectable clock: the seed's (and the import's) timestamps
/// are the clock's, not the wall clock's.
#[tokio::test]
async fn the_seed_and_the_import_take_their_time_from_the_clock() {
    let test_db = helpers::TestDb::sqlite();
    let f = fixture(&test_db.url).await;
    let mperez = registration::Entity::find()
        .filter(registration::Column::UsuarioIdClave.eq("mperez"))
        .one(&f.db)
        .await
        .unwrap()
        .unwrap();
    let ms = |t: i64| t;
    assert_eq!(
        (ms(mperez.created_at), ms(mperez.updated_at)),
        (START_MS, START_MS)
    );
    assert_eq!(f.credential("mperez").await.unwrap().updated_at, START_MS);
    let accounts = helpers::accounts(1);
    let parsed =
        server::registrations::parse_csv(helpers::accounts_csv(&accounts).as_bytes()).unwrap();
    server::registrations::upsert(&f.db, &parsed.rows, START_MS + 5)
        .await
        .unwrap();
    let nueva = registration::Entity::find()
        .filter(registration::Column::UsuarioIdClave.eq("cuenta000"))
        .one(&f.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ms(nueva.updated_at), START_MS + 5);
}
