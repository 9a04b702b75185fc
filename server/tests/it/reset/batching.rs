//! Group commit (`services::writer`): simultaneous requests share commits, yet each is counted
//! exactly once, on one instance and on two sharing PostgreSQL; a failed batch fails all of its
//! requests and nothing else.

use std::collections::HashMap;

use super::*;
use sea_orm::{ConnectionTrait, ModelTrait, TransactionTrait};
use server::{entities::rate_limit, services::writer::Writer};

/// Runs `n` calls of `call` at once and returns their results.
async fn all_at_once<T: Send + 'static, F>(n: usize, call: impl Fn(usize) -> F) -> Vec<T>
where
    F: Future<Output = T> + Send + 'static,
{
    let mut set = tokio::task::JoinSet::new();
    for i in 0..n {
        set.spawn(call(i));
    }
    set.join_all().await
}

fn mperez() -> BusquedaId {
    busqueda(
        "usuario_general",
        "",
        "maria.perez@example.com",
        "1710034065",
    )
}

async fn audit_outcomes(db: &DatabaseConnection) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for row in audit_log::Entity::find().all(db).await.unwrap() {
        *counts.entry(row.outcome).or_default() += 1;
    }
    counts
}

async fn hits(db: &DatabaseConnection, key: &str) -> i32 {
    rate_limit::Entity::find_by_id(key.to_owned())
        .one(db)
        .await
        .unwrap()
        .map_or(0, |r| r.hits)
}

async fn registration_id(db: &DatabaseConnection, usuario: &str) -> i64 {
    registration::Entity::find()
        .filter(registration::Column::UsuarioIdClave.eq(usuario))
        .one(db)
        .await
        .unwrap()
        .unwrap()
        .id
}

#[tokio::test]
async fn two_hundred_simultaneous_lookups_for_one_identity_are_each_counted_once() {
    for test_db in helpers::databases().await {
        let mut f = fixture(&test_db.url).await;
        let label = test_db.label;
        f.services.limits.lookups_per_hour = 50;
        let services = Arc::new(f.services.clone());
        let results = all_at_once(200, |_| {
            let services = services.clone();
            async move { registry::buscar_id(&services, &mperez(), None).await }
        })
        .await;
        let found = results.iter().filter(|r| r.is_ok()).count();
        let limited = results
            .iter()
            .filter(|r| matches!(r, Err(ServiceError::Limite { segundos: 3600 })))
            .count();
        assert_eq!((found, limited), (50, 150), "{label}");
        assert_eq!(hits(&f.db, "buscar_id:1710034065").await, 200, "{label}");
        let outcomes = audit_outcomes(&f.db).await;
        assert_eq!(outcomes.get("encontrado"), Some(&50), "{label}");
        assert_eq!(outcomes.get("limitado"), Some(&150), "{label}");
        test_db.drop_database().await;
    }
}

#[tokio::test]
async fn two_hundred_simultaneous_resets_for_one_account_queue_one_email_within_the_cap() {
    for test_db in helpers::databases().await {
        let mut f = fixture(&test_db.url).await;
        let label = test_db.label;
        f.services.limits.resets_per_hour = 3;
        let services = Arc::new(f.services.clone());
        let form = reinicio("mperez", "1710034065", "maria.perez@example.com");
        let results = all_at_once(200, |_| {
            let (services, form) = (services.clone(), form.clone());
            async move { registry::solicitar_reinicio(&services, &form, None).await }
        })
        .await;
        // The same answer for every one of them.
        let first = results[0].as_ref().unwrap();
        assert!(
            results.iter().all(|r| r.as_ref().ok() == Some(first)),
            "{label}"
        );
        let id = registration_id(&f.db, "mperez").await;
        assert_eq!(
            hits(&f.db, &format!("reinicio:cuenta:{id}")).await,
            200,
            "{label}"
        );
        // Three within the cap: one queued the e-mail, two found it waiting; the rest capped.
        let outcomes = audit_outcomes(&f.db).await;
        assert_eq!(outcomes.get("encolado"), Some(&1), "{label}");
        assert_eq!(outcomes.get("ya_en_cola"), Some(&2), "{label}");
        assert_eq!(outcomes.get("tope_por_cuenta"), Some(&197), "{label}");
        assert_eq!(f.outbox().await.len(), 1, "{label}");
        // The same row, reached through the registration's declared relation.
        let account = registration::Entity::find_by_id(id)
            .one(&f.db)
            .await
            .unwrap()
            .unwrap();
        let queued = account
            .find_related(mail_outbox::Entity)
            .all(&f.db)
            .await
            .unwrap();
        assert_eq!(queued.len(), 1, "{label}");
        assert_eq!(queued[0].kind, outbox::Kind::Reset, "{label}");
        assert_eq!(queued[0].state, outbox::State::Queued, "{label}");
        test_db.drop_database().await;
    }
}

/// The audit outcomes of one account's reset requests, oldest first.
async fn reset_outcomes(db: &DatabaseConnection, registration_id: i64) -> Vec<String> {
    use sea_orm::QueryOrder;
    audit_log::Entity::find()
        .filter(audit_log::Column::Event.eq("solicitar_reinicio"))
        .filter(audit_log::Column::RegistrationId.eq(registration_id))
        .order_by_asc(audit_log::Column::Id)
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.outcome)
        .collect()
}

/// A reset whose account's e-mail already waits, queued by an earlier batch, finds it waiting:
/// no second row, "ya_en_cola". The same person's other account, asked at the same moment,
/// queues its own. Once the e-mail is sent, the account's next request queues again. (On
/// SQLite the batch learns what waits from its read, on PostgreSQL from its insert: both say
/// the same.)
#[tokio::test]
async fn a_reset_finds_its_accounts_email_waiting_from_an_earlier_batch() {
    for test_db in helpers::databases().await {
        let f = fixture(&test_db.url).await;
        let label = test_db.label;
        let rl = reinicio("jsalazar.rl", "0926687856", "jorge.salazar@example.com");
        let emp = reinicio("jsalazar.emp", "0926687856", "jorge.salazar@example.com");
        registry::solicitar_reinicio(&f.services, &rl, None)
            .await
            .unwrap();
        let services = Arc::new(f.services.clone());
        let forms = [rl.clone(), emp];
        all_at_once(2, |i| {
            let (services, form) = (services.clone(), forms[i].clone());
            async move { registry::solicitar_reinicio(&services, &form, None).await }
        })
        .await
        .into_iter()
        .for_each(|r| assert!(r.is_ok(), "{label}"));
        let (id_rl, id_emp) = (
            registration_id(&f.db, "jsalazar.rl").await,
            registration_id(&f.db, "jsalazar.emp").await,
        );
        assert_eq!(
            reset_outcomes(&f.db, id_rl).await,
            ["encolado", "ya_en_cola"],
            "{label}"
        );
        assert_eq!(reset_outcomes(&f.db, id_emp).await, ["encolado"], "{label}");
        let mut queued: Vec<i64> = f.outbox().await.iter().map(|m| m.registration_id).collect();
        queued.sort();
        let mut expected = vec![id_rl, id_emp];
        expected.sort();
        assert_eq!(queued, expected, "{label}: one e-mail per account");

        let dir = tempfile::tempdir().unwrap();
        let worker = f.worker(folder_mailer(dir.path()));
        while worker.run_once().await.unwrap() > 0 {}
        registry::solicitar_reinicio(&f.services, &rl, None)
            .await
            .unwrap();
        assert_eq!(
            reset_outcomes(&f.db, id_rl).await,
            ["encolado", "ya_en_cola", "encolado"],
            "{label}: sent, so no longer waiting"
        );
        assert_eq!(f.outbox().await.len(), 3, "{label}");
        test_db.drop_database().await;
    }
}

/// Two instances, each with its own pool and its own writer, on one PostgreSQL database.
#[tokio::test]
async fn two_instances_on_postgres_count_simultaneous_lookups_exactly() {
    let Some(test_db) = helpers::postgres_only().await else {
        return;
    };
    let mut a = fixture(&test_db.url).await;
    a.services.limits.lookups_per_hour = 50;
    let mut b = a.services.clone();
    b.db = db::connect(&test_db.url).await.unwrap();
    b.writer = Writer::start(b.db.clone(), &test_db.url).unwrap();
    let instances = [Arc::new(a.services.clone()), Arc::new(b)];
    let results = all_at_once(200, |i| {
        let services = instances[i % 2].clone();
        async move { registry::buscar_id(&services, &mperez(), None).await }
    })
    .await;
    let found = results.iter().filter(|r| r.is_ok()).count();
    let limited = results
        .iter()
        .filter(|r| matches!(r, Err(ServiceError::Limite { .. })))
        .count();
    assert_eq!((found, limited), (50, 150));
    assert_eq!(hits(&a.db, "buscar_id:1710034065").await, 200);
    let outcomes = audit_outcomes(&a.db).await;
    assert_eq!(outcomes.get("encontrado"), Some(&50));
    assert_eq!(outcomes.get("limitado"), Some(&150));
    test_db.drop_database().await;
}

/// A database error inside a batch: every request of that batch fails (the API answers `503`),
/// none of its writes remain, the batch before it and the one after it are untouched.
#[tokio::test]
async fn a_failed_batch_fails_its_requests_only() {
    const POISON: &str = "203.0.113.66";
    for test_db in helpers::databases().await {
        let f = fixture(&test_db.url).await;
        let label = test_db.label;
        let postgres = label == "postgres";
        // An audit row from POISON makes its statement fail.
        if postgres {
            f.db.execute_unprepared(&format!(
                "CREATE FUNCTION veneno() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
                 IF NEW.client_addr = '{POISON}' THEN RAISE EXCEPTION 'veneno'; END IF; \
                 RETURN NEW; END $$; \
                 CREATE TRIGGER veneno BEFORE INSERT ON audit_log FOR EACH ROW \
                 EXECUTE FUNCTION veneno();"
            ))
            .await
            .unwrap();
        } else {
            f.db.execute_unprepared(&format!(
                "CREATE TRIGGER veneno BEFORE INSERT ON audit_log \
                 WHEN NEW.client_addr = '{POISON}' BEGIN SELECT RAISE(ABORT, 'veneno'); END;"
            ))
            .await
            .unwrap();
        }
        // Another connection holds the audit table, so the first request's batch waits: the
        // next requests queue behind it and form one batch.
        let other = db::connect(&test_db.url).await.unwrap();
        let hold = other.begin().await.unwrap();
        if postgres {
            hold.execute_unprepared("LOCK TABLE audit_log IN EXCLUSIVE MODE")
                .await
                .unwrap();
        } else {
            hold.execute_unprepared(
                "INSERT INTO audit_log (at, event, outcome) VALUES (0, 'bloqueo', 'bloqueo')",
            )
            .await
            .unwrap();
        }
        let services = Arc::new(f.services.clone());
        let lookup = |client: &'static str| {
            let services = services.clone();
            async move { registry::buscar_id(&services, &mperez(), Some(client.parse().unwrap())).await }
        };
        let before = tokio::spawn(lookup("198.51.100.1"));
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut batch = tokio::task::JoinSet::new();
        for client in ["198.51.100.2", "198.51.100.3", POISON, "198.51.100.4"] {
            batch.spawn(lookup(client));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        hold.rollback().await.unwrap();

        assert!(before.await.unwrap().is_ok(), "{label}");
        for result in batch.join_all().await {
            assert!(
                matches!(result, Err(ServiceError::Database(_))),
                "{label}: {result:?}"
            );
        }
        // The API's answer for them.
        assert_eq!(
            app::api::ApiError::from(ServiceError::Database(sea_orm::DbErr::Custom("x".into())))
                .status(),
            503
        );
        let after = lookup("198.51.100.5").await;
        assert!(after.is_ok(), "{label}: {after:?}");
        let clients: Vec<Option<String>> = audit_log::Entity::find()
            .all(&f.db)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.client_addr)
            .collect();
        assert_eq!(
            clients,
            [Some("198.51.100.1".into()), Some("198.51.100.5".into())],
            "{label}"
        );
        assert_eq!(hits(&f.db, "buscar_id:1710034065").await, 2, "{label}");
        test_db.drop_database().await;
    }
}

/// The batch's two reads over 5,000 registrations, analysed: each goes through its index, with
/// no scan of the table, on both databases (BENCHMARKS.md gives the plans over 100,000).
#[tokio::test]
async fn the_batch_reads_use_their_indexes() {
    use sea_orm::DbBackend;
    use server::services::writer::{read_by_identificacion, read_by_usuario};
    for test_db in helpers::databases().await {
        let db = db::connect_and_migrate(&test_db.url).await.unwrap();
        let accounts = helpers::accounts(5_000);
        helpers::register(&db, &accounts).await;
        db.execute_unprepared("ANALYZE").await.unwrap();
        let backend = db.get_database_backend();
        let some = &accounts[1_000..1_016];
        let reads = [
            (
                read_by_identificacion(some.iter().map(|a| a.1.as_str())),
                "idx_registrations_identificacion",
            ),
            (
                read_by_usuario(some.iter().map(|a| a.0.as_str())),
                match backend {
                    DbBackend::Sqlite => "sqlite_autoindex_registrations",
                    _ => "registrations_usuario_id_clave_key",
                },
            ),
        ];
        for (select, index) in reads {
            let select = sea_orm::QueryTrait::into_query(select);
            let text = helpers::query_plan(&db, &select).await;
            assert!(text.contains(index), "{}: {text}", test_db.label);
            for forbidden in ["Seq Scan", "SCAN registrations"] {
                assert!(!text.contains(forbidden), "{}: {text}", test_db.label);
            }
        }
        test_db.drop_database().await;
    }
}
