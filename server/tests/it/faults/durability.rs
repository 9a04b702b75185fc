//! Nothing acknowledged is lost: the server is killed (SIGKILL) in the middle of a load of lookups
//! and reset requests, and every request it had answered is in the database afterwards, once.

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use server::entities::{audit_log, registration};

use super::*;

/// One request over a fresh connection: its status, or None when the server went away before
/// it answered (or took more than ten seconds).
async fn try_post(http: &Http, path: &str, body: String) -> Option<u16> {
    let response = http
        .post(path)
        .header("content-type", JSON)
        .body(body)
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .ok()?;
    Some(response.status().as_u16())
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Sent {
    Hit,
    Reset,
    Miss,
}

/// On SQLite and (with TEST_POSTGRES_URL) on PostgreSQL, where the group-commit writer has a
/// thread and a connection of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answered_lookup_and_reset_survives_a_sigkill() {
    for test_db in helpers::databases().await {
        survives_a_sigkill(&test_db.url).await;
        test_db.drop_database().await;
    }
}

async fn survives_a_sigkill(url: &str) {
    let dir = tempfile::tempdir().unwrap();
    let relay = helpers::free_port();
    let _sink = SmtpSink::start(relay).await;
    let accounts = Arc::new(helpers::accounts(400));
    let database = [("REINICIO_DATABASE_URL", url)];
    Instance::import_with(dir.path(), relay, &accounts, &database);
    let server = Instance::start_with(
        dir.path(),
        relay,
        &[
            database[0],
            ("REINICIO_LIMITE_BUSQUEDAS_POR_HORA", "100000"),
            ("REINICIO_LIMITE_REINICIOS_POR_HORA", "100000"),
        ],
    );
    let http = server.http.clone();

    // Sixteen clients; each takes every sixteenth account: its lookup, its reset, and a lookup of
    // an identity nobody registered.
    let answered = Arc::new(AtomicUsize::new(0));
    let mut clients = tokio::task::JoinSet::new();
    for k in 0..16 {
        let (accounts, answered, http) = (accounts.clone(), answered.clone(), http.clone());
        clients.spawn(async move {
            let mut log = Vec::new();
            for i in (k..accounts.len()).step_by(16) {
                let (usuario, identificacion, correo) = &accounts[i];
                let requests = [
                    (Sent::Hit, "/api/buscar_id", format!(
                        r#"{{"clasificacion":"usuario_general","correo":"{correo}","identificacion":"{identificacion}"}}"#
                    )),
                    (Sent::Reset, "/api/solicitar_reinicio", helpers::reset_json(&accounts[i])),
                    (Sent::Miss, "/api/buscar_id", format!(
                        r#"{{"clasificacion":"usuario_general","correo":"{correo}","identificacion":"QZ{i:06}"}}"#
                    )),
                ];
                for (kind, path, body) in requests {
                    let status = try_post(&http, path, body).await;
                    if status.is_some() {
                        answered.fetch_add(1, Ordering::SeqCst);
                    }
                    log.push((usuario.clone(), kind, status));
                }
            }
            log
        });
    }
    wait_until(Duration::from_secs(60), "300 answers", async || {
        answered.load(Ordering::SeqCst) >= 300
    })
    .await;
    server.signal("KILL");
    let log: Vec<(String, Sent, Option<u16>)> =
        clients.join_all().await.into_iter().flatten().collect();
    drop(server);
    let unanswered = log.iter().filter(|(_, _, s)| s.is_none()).count();
    eprintln!("{} requests sent, {unanswered} cut by the kill", log.len());
    assert!(
        unanswered > 0,
        "the kill came after the load: it proves nothing"
    );

    // After a restart the database opens and the service answers.
    let again = Instance::start_with(dir.path(), relay, &database);
    assert_eq!(again.http.page("/healthz").await.status, 200);
    drop(again);

    let db = sea_orm::Database::connect(url).await.unwrap();
    let ids: HashMap<String, i64> = registration::Entity::find()
        .all(&db)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.usuario_id, r.id))
        .collect();
    let audit = audit_log::Entity::find().all(&db).await.unwrap();
    let rows = |event: &str, outcome: &str, id: i64| {
        audit
            .iter()
            .filter(|a| a.event == event && a.outcome == outcome && a.registration_id == Some(id))
            .count()
    };
    let outbox = mail_outbox::Entity::find().all(&db).await.unwrap();
    let mut answered_misses = 0;
    let mut sent_misses = 0;
    for (usuario, kind, status) in &log {
        let id = ids[usuario];
        match kind {
            Sent::Hit => {
                let n = rows("buscar_id", "encontrado", id);
                match status {
                    Some(200) => assert_eq!(n, 1, "answered lookup of {usuario}"),
                    Some(other) => panic!("lookup of {usuario}: {other}"),
                    None => assert!(n <= 1, "lookup of {usuario} written {n} times"),
                }
            }
            Sent::Reset => {
                let queued = outbox.iter().filter(|m| m.registration_id == id).count();
                let n = rows("solicitar_reinicio", "encolado", id);
                assert_eq!(queued, n, "{usuario}: outbox rows and audit rows agree");
                match status {
                    Some(200) => assert_eq!(n, 1, "answered reset of {usuario}"),
                    Some(other) => panic!("reset of {usuario}: {other}"),
                    None => assert!(n <= 1, "reset of {usuario} written {n} times"),
                }
            }
            Sent::Miss => {
                sent_misses += 1;
                match status {
                    Some(404) => answered_misses += 1,
                    Some(other) => panic!("unknown identity: {other}"),
                    None => {}
                }
            }
        }
    }
    let miss_rows = audit
        .iter()
        .filter(|a| a.event == "buscar_id" && a.outcome == "sin_coincidencia")
        .count();
    assert!(
        (answered_misses..=sent_misses).contains(&miss_rows),
        "{miss_rows} rows for {answered_misses} answered and {sent_misses} sent misses"
    );
}
