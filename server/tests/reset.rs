//! "Buscar ID", the reset request and the outbox, on SQLite and (with TEST_POSTGRES_URL) on
//! PostgreSQL: the same test code for both.

mod support;

use std::{sync::Arc, time::Duration};

use app::api::ssr::Backend;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter};
use server::{
    config::MailTransport,
    db,
    entities::{audit_log, credential, mail_outbox, registration},
    mail::{Composer, LettreMailer},
    seed,
    services::{
        ManualClock, ServiceError, Services,
        limites::Limites,
        outbox::{self, Settings, Worker},
        password, registry,
    },
};
use support::smtp::SmtpSink;
use validation::{BusquedaId, BusquedaIdInput, ReinicioClave, ReinicioClaveInput};

const START_MS: i64 = 1_796_000_000_000; // 2026-11-29

struct Fixture {
    services: Services,
    clock: Arc<ManualClock>,
    db: DatabaseConnection,
}

async fn fixture(url: &str) -> Fixture {
    let db = db::connect_and_migrate(url).await.unwrap();
    seed::seed_demo(&db, START_MS).await.unwrap();
    let clock = Arc::new(ManualClock::new(START_MS));
    let services = Services {
        db: db.clone(),
        clock: clock.clone(),
        outbox_wakeup: Default::default(),
        reset_ttl_minutes: 60,
        // Generous here; the limits have a test of their own.
        limites: Limites {
            busquedas_por_hora: 1000,
            reinicios_por_hora: 1000,
        },
        argon2: server::services::password::Argon2Pool::new(1, 64),
    };
    Fixture {
        services,
        clock,
        db,
    }
}

impl Fixture {
    fn worker(&self, mailer: LettreMailer) -> Worker<LettreMailer> {
        Worker {
            db: self.db.clone(),
            mailer,
            clock: self.clock.clone(),
            wakeup: self.services.outbox_wakeup.clone(),
            settings: Settings {
                max_attempts: 3,
                ..Default::default()
            },
            composer: Composer::new(
                "ECUAPASS <no-responder@aduana.example>",
                &"https://reinicio.example/".parse().unwrap(),
            )
            .unwrap(),
        }
    }

    async fn outbox(&self) -> Vec<mail_outbox::Model> {
        mail_outbox::Entity::find().all(&self.db).await.unwrap()
    }

    async fn credential(&self, usuario: &str) -> Option<credential::Model> {
        let r = registration::Entity::find()
            .filter(registration::Column::UsuarioIdClave.eq(usuario))
            .one(&self.db)
            .await
            .unwrap()
            .unwrap();
        credential::Entity::find_by_id(r.id)
            .one(&self.db)
            .await
            .unwrap()
    }
}

fn busqueda(clasificacion: &str, ruc: &str, correo: &str, identificacion: &str) -> BusquedaId {
    BusquedaId::validate(&BusquedaIdInput {
        clasificacion: clasificacion.into(),
        ruc_empresa: ruc.into(),
        correo: correo.into(),
        identificacion: identificacion.into(),
    })
    .unwrap()
}

fn reinicio(usuario: &str, identificacion: &str, correo: &str) -> ReinicioClave {
    ReinicioClave::validate(&ReinicioClaveInput {
        usuario: usuario.into(),
        identificacion: identificacion.into(),
        correo: correo.into(),
    })
    .unwrap()
}

fn folder_mailer(dir: &std::path::Path) -> LettreMailer {
    LettreMailer::from_config(&MailTransport::Folder(dir.to_owned())).unwrap()
}

fn smtp_mailer(addr: std::net::SocketAddr) -> LettreMailer {
    let url = format!("smtp://{addr}?tls=none").parse().unwrap();
    LettreMailer::from_config(&MailTransport::Smtp(url)).unwrap()
}

/// The temporary password inside a raw message, read the way a mail program would.
fn password_in(raw: &[u8]) -> (String, String) {
    let message = mail_parser::MessageParser::default()
        .parse(raw)
        .expect("a parseable e-mail");
    let text = message.body_text(0).expect("a text part").into_owned();
    let html = message.body_html(0).expect("an HTML part").into_owned();
    let secret = text
        .lines()
        .find_map(|l| l.strip_prefix("Su clave temporal es: "))
        .expect("the password line")
        .trim()
        .to_owned();
    assert!(html.contains(&secret));
    assert_eq!(message.subject(), Some("ECUAPASS: su clave temporal"));
    (secret, text)
}

#[tokio::test]
async fn buscar_id_finds_approved_registrations_only() {
    for test_db in support::databases().await {
        let f = fixture(&test_db.url).await;
        let s = &f.services;
        let label = test_db.label;

        let found = registry::buscar_id(
            s,
            &busqueda(
                "usuario_general",
                "",
                "MARIA.PEREZ@example.com",
                "1710034065",
            ),
            None,
        )
        .await;
        assert_eq!(found.unwrap().usuario, "MPerez", "{label}");
        let found = registry::buscar_id(
            s,
            &busqueda("representante_legal", "0993370026001", "", "0926687856"),
            None,
        )
        .await;
        assert_eq!(found.unwrap().usuario, "jsalazar.rl", "{label}");
        // Same person, another company: another account.
        let found = registry::buscar_id(
            s,
            &busqueda("empleado", "1793213150001", "", "0926687856"),
            None,
        )
        .await;
        assert_eq!(found.unwrap().usuario, "jsalazar.emp", "{label}");
        let found = registry::buscar_id(
            s,
            &busqueda("auditor", "", "ana.auditora@example.com", "AB123456"),
            None,
        )
        .await;
        assert_eq!(found.unwrap().usuario, "aauditor", "{label}");

        for miss in [
            busqueda("usuario_general", "", "otra@example.com", "1710034065"), // wrong e-mail
            busqueda("auditor", "", "maria.perez@example.com", "1710034065"), // wrong classification
            busqueda("empleado", "0993370026001", "", "0926687856"),          // wrong company
            busqueda("perito", "", "pedro.pendiente@example.com", "0102030400"), // pending
            busqueda("usuario_general", "", "diana.d@example.com", "2401010109"), // disabled
        ] {
            assert!(
                matches!(
                    registry::buscar_id(s, &miss, None).await,
                    Err(ServiceError::NoMatch)
                ),
                "{label} {miss:?}"
            );
        }

        // Every lookup is audited, with the identification masked.
        let audit = audit_log::Entity::find().all(&f.db).await.unwrap();
        assert_eq!(audit.len(), 9, "{label}");
        assert!(audit.iter().all(|a| a.event == "buscar_id"));
        assert_eq!(audit[0].identificacion.as_deref(), Some("17******65"));
        assert_eq!(
            audit
                .iter()
                .filter(|a| a.outcome == "sin_coincidencia")
                .count(),
            5
        );
        test_db.drop_database().await;
    }
}

#[tokio::test]
async fn a_reset_is_queued_sent_by_email_and_the_password_verifies() {
    for test_db in support::databases().await {
        let f = fixture(&test_db.url).await;
        let label = test_db.label;
        let answer = registry::solicitar_reinicio(
            &f.services,
            &reinicio("mperez", "1710034065", "maria.perez@example.com"),
            None,
        )
        .await
        .unwrap();
        assert_eq!(answer.correo, "m***@example.com");
        assert_eq!(answer.vigencia_minutos, 60);
        // Queued, nothing sent, nothing stored yet: the request did not wait for mail.
        let rows = f.outbox().await;
        assert_eq!(rows.len(), 1, "{label}");
        assert_eq!(rows[0].state, outbox::QUEUED);
        // The demo account's current password is there; no temporary one yet.
        assert_eq!(f.credential("mperez").await.unwrap().temp_hash, None);

        let outbox_dir = tempfile::tempdir().unwrap();
        let worker = f.worker(folder_mailer(outbox_dir.path()));
        assert_eq!(worker.run_once().await.unwrap(), 1);
        assert_eq!(worker.run_once().await.unwrap(), 0, "sent once only");

        let files: Vec<_> = std::fs::read_dir(outbox_dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(files.len(), 1, "{label}");
        let raw = std::fs::read(&files[0]).unwrap();
        let (secret, text) = password_in(&raw);
        // Shown in four groups of five, joined by hyphens.
        assert_eq!(secret.len(), password::LENGTH + 3);
        assert!(text.contains("MPerez"), "the ID usuario is in the e-mail");
        assert!(text.contains("https://reinicio.example/ingreso"));
        // 2026-11-29 ~ 01:13 UTC + 60 min, shown in Ecuador's time (UTC-5).
        assert!(
            text.contains(&server::mail::hora_ecuador(START_MS + 3_600_000)),
            "{text}"
        );
        assert!(String::from_utf8_lossy(&raw).contains("To: maria.perez@example.com"));

        let cred = f.credential("mperez").await.unwrap();
        assert_eq!(cred.temp_expires_at, Some(START_MS + 3_600_000));
        assert_eq!(cred.temp_used_at, None);
        let hash = cred.temp_hash.unwrap();
        // Stored as a digest, never as the password, and never as Argon2 work.
        assert!(
            hash.starts_with("sha256$") && !hash.contains(&secret),
            "{label}"
        );
        assert!(
            password::temporary_matches(&password::temporary_digest(&secret), &hash),
            "{label}"
        );
        assert!(!password::temporary_matches(
            &password::temporary_digest("otra-clave-cualquiera"),
            &hash
        ));
        assert_eq!(f.services.argon2.computed(), 0, "{label}");

        let row = &f.outbox().await[0];
        assert_eq!(
            (row.state.as_str(), row.attempts, row.pending_key.as_deref()),
            (outbox::SENT, 1, None)
        );
        assert_eq!(row.sent_at, Some(START_MS));

        // Nothing anywhere in the database holds the password in clear.
        for a in audit_log::Entity::find().all(&f.db).await.unwrap() {
            assert!(!format!("{a:?}").contains(&secret));
        }
        assert!(!format!("{row:?}").contains(&secret));
        test_db.drop_database().await;
    }
}

#[tokio::test]
async fn a_reset_for_data_that_does_not_match_queues_nothing() {
    for test_db in support::databases().await {
        let f = fixture(&test_db.url).await;
        for miss in [
            reinicio("mperez", "1710034065", "otra@example.com"), // not the registered e-mail
            reinicio("mperez", "0926687856", "maria.perez@example.com"), // not their identification
            reinicio("nadie", "1710034065", "maria.perez@example.com"), // no such ID
            reinicio("ppendiente", "0102030400", "pedro.pendiente@example.com"), // pending
            reinicio("ddeshabilitado", "2401010109", "diana.d@example.com"), // disabled
        ] {
            // Answered as a match would be: the masked e-mail typed, the validity, the expiry.
            let r = registry::solicitar_reinicio(&f.services, &miss, None)
                .await
                .unwrap();
            assert_eq!(r.correo, miss.correo.masked(), "{}", test_db.label);
            assert_eq!(r.vigencia_minutos, 60);
        }
        assert!(f.outbox().await.is_empty());
        test_db.drop_database().await;
    }
}

#[tokio::test]
async fn twenty_simultaneous_requests_leave_one_valid_password_the_last_one_sent() {
    for test_db in support::databases().await {
        let f = fixture(&test_db.url).await;
        let form = reinicio("jsalazar.rl", "0926687856", "jorge.salazar@example.com");
        let outbox_dir = tempfile::tempdir().unwrap();
        let worker = Arc::new(f.worker(folder_mailer(outbox_dir.path())));

        // Requests and the worker race each other.
        let mut tasks = Vec::new();
        for i in 0..20 {
            let services = f.services.clone();
            let form = form.clone();
            let worker = worker.clone();
            tasks.push(tokio::spawn(async move {
                services.solicitar_reinicio(form, None).await.unwrap();
                if i % 5 == 0 {
                    worker.run_once().await.unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        while worker.run_once().await.unwrap() > 0 {}

        let rows = f.outbox().await;
        assert!(rows.iter().all(|r| r.state == outbox::SENT), "{rows:?}");
        let mut files: Vec<_> = std::fs::read_dir(outbox_dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(
            files.len(),
            rows.len(),
            "one e-mail per outbox row ({})",
            test_db.label
        );
        assert!(!files.is_empty() && files.len() <= 20);
        // Order the e-mails by the outbox rows they came from (sent in id order).
        files.sort_by_key(|p| std::fs::metadata(p).unwrap().modified().unwrap());
        let hash = f
            .credential("jsalazar.rl")
            .await
            .unwrap()
            .temp_hash
            .unwrap();
        let secrets: Vec<String> = files
            .iter()
            .map(|p| password_in(&std::fs::read(p).unwrap()).0)
            .collect();
        let mut valid = Vec::new();
        for s in &secrets {
            valid.push(password::temporary_matches(
                &password::temporary_digest(s),
                &hash,
            ));
        }
        assert_eq!(
            valid.iter().filter(|v| **v).count(),
            1,
            "exactly one valid password ({})",
            test_db.label
        );
        assert!(
            valid.last().copied().unwrap(),
            "the valid one is the last e-mail sent ({})",
            test_db.label
        );
        test_db.drop_database().await;
    }
}

#[tokio::test]
async fn smtp_down_then_up_across_a_restart_delivers_everything_once() {
    for test_db in support::databases().await {
        let f = fixture(&test_db.url).await;
        // A port with nothing listening: the relay is down.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let forms = [
            reinicio("mperez", "1710034065", "maria.perez@example.com"),
            reinicio("aauditor", "AB123456", "ana.auditora@example.com"),
            reinicio("jsalazar.emp", "0926687856", "jorge.salazar@example.com"),
        ];
        for form in &forms {
            registry::solicitar_reinicio(&f.services, form, None)
                .await
                .unwrap();
        }
        {
            let worker = f.worker(smtp_mailer(port));
            assert_eq!(worker.run_once().await.unwrap(), 3);
        } // the server "restarts": this worker is gone
        let rows = f.outbox().await;
        assert!(
            rows.iter()
                .all(|r| r.state == outbox::QUEUED && r.attempts == 1 && r.last_error.is_some()),
            "{rows:?}"
        );
        assert!(
            rows.iter().all(|r| r.next_attempt_at == START_MS + 5_000),
            "backoff of 5 s"
        );

        // Not due yet: nothing is tried.
        let sink = SmtpSink::start(port).await;
        let worker = f.worker(smtp_mailer(port));
        assert_eq!(worker.run_once().await.unwrap(), 0);
        f.clock.advance_ms(5_000);
        assert_eq!(worker.run_once().await.unwrap(), 3);
        assert_eq!(worker.run_once().await.unwrap(), 0);

        let messages = sink.messages();
        assert_eq!(messages.len(), 3, "{}", test_db.label);
        for (usuario, raw) in [
            ("mperez", &messages[0]),
            ("aauditor", &messages[1]),
            ("jsalazar.emp", &messages[2]),
        ] {
            let (secret, _) = password_in(raw);
            let hash = f.credential(usuario).await.unwrap().temp_hash.unwrap();
            assert!(
                password::temporary_matches(&password::temporary_digest(&secret), &hash),
                "{usuario}"
            );
        }
        assert!(
            f.outbox()
                .await
                .iter()
                .all(|r| r.state == outbox::SENT && r.attempts == 2)
        );
        sink.stop();
        test_db.drop_database().await;
    }
}

#[tokio::test]
async fn a_message_is_abandoned_after_the_last_attempt_and_can_be_retried() {
    for test_db in support::databases().await {
        let f = fixture(&test_db.url).await;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        registry::solicitar_reinicio(
            &f.services,
            &reinicio("mperez", "1710034065", "maria.perez@example.com"),
            None,
        )
        .await
        .unwrap();
        let worker = f.worker(smtp_mailer(port));
        for attempt in 1..=3 {
            assert_eq!(worker.run_once().await.unwrap(), 1, "attempt {attempt}");
            f.clock
                .advance_ms(Duration::from_secs(3600).as_millis() as i64);
        }
        let row = f.outbox().await.remove(0);
        assert_eq!((row.state.as_str(), row.attempts), (outbox::ABANDONED, 3));
        assert_eq!(row.pending_key, None, "a new request may queue again");
        assert_eq!(worker.run_once().await.unwrap(), 0);

        // The operator's retry puts it back; with the relay up it goes out.
        assert_eq!(
            outbox::retry(
                &f.db,
                &[row.id],
                server::services::Clock::now_ms(f.clock.as_ref())
            )
            .await
            .unwrap(),
            1
        );
        let sink = SmtpSink::start(port).await;
        assert_eq!(worker.run_once().await.unwrap(), 1);
        assert_eq!(sink.messages().len(), 1);
        assert_eq!(f.outbox().await[0].state, outbox::SENT);
        sink.stop();
        test_db.drop_database().await;
    }
}

#[tokio::test]
async fn a_registration_disabled_while_queued_gets_no_password() {
    for test_db in support::databases().await {
        let f = fixture(&test_db.url).await;
        registry::solicitar_reinicio(
            &f.services,
            &reinicio("mperez", "1710034065", "maria.perez@example.com"),
            None,
        )
        .await
        .unwrap();
        registration::Entity::update_many()
            .col_expr(
                registration::Column::Estado,
                sea_orm::sea_query::Expr::value("deshabilitada"),
            )
            .exec(&f.db)
            .await
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        f.worker(folder_mailer(dir.path()))
            .run_once()
            .await
            .unwrap();
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        assert_eq!(f.outbox().await[0].state, outbox::ABANDONED);
        let temporales = credential::Entity::find()
            .filter(credential::Column::TempHash.is_not_null())
            .count(&f.db)
            .await
            .unwrap();
        assert_eq!(temporales, 0);
        test_db.drop_database().await;
    }
}

#[tokio::test]
async fn a_message_left_sending_by_a_dead_worker_is_sent_once_its_claim_expires() {
    for test_db in support::databases().await {
        let f = fixture(&test_db.url).await;
        registry::solicitar_reinicio(
            &f.services,
            &reinicio("mperez", "1710034065", "maria.perez@example.com"),
            None,
        )
        .await
        .unwrap();
        // A worker claimed it and died before recording anything.
        let claim_ends = START_MS + 120_000;
        mail_outbox::Entity::update_many()
            .col_expr(
                mail_outbox::Column::State,
                sea_orm::sea_query::Expr::value(outbox::SENDING),
            )
            .col_expr(
                mail_outbox::Column::Attempts,
                sea_orm::sea_query::Expr::value(1),
            )
            .col_expr(
                mail_outbox::Column::LockedUntil,
                sea_orm::sea_query::Expr::value(claim_ends),
            )
            .exec(&f.db)
            .await
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let worker = f.worker(folder_mailer(dir.path()));
        assert_eq!(
            worker.run_once().await.unwrap(),
            0,
            "still claimed ({})",
            test_db.label
        );
        f.clock.advance_ms(120_000);
        assert_eq!(worker.run_once().await.unwrap(), 1, "{}", test_db.label);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        let row = f.outbox().await.remove(0);
        assert_eq!((row.state.as_str(), row.attempts), (outbox::SENT, 2));
        test_db.drop_database().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_share_the_outbox_without_sending_twice() {
    for test_db in support::databases().await {
        let f = fixture(&test_db.url).await;
        let approved: Vec<_> = seed::DEMO
            .iter()
            .filter(|d| d.5 == registry::APROBADA)
            .collect();
        for &&(usuario, _, identificacion, _, correo, _) in &approved {
            registry::solicitar_reinicio(
                &f.services,
                &reinicio(usuario, identificacion, correo),
                None,
            )
            .await
            .unwrap();
        }
        let sink = SmtpSink::start("127.0.0.1:0".parse().unwrap()).await;
        let workers: Vec<_> = (0..2)
            .map(|_| {
                let mut w = f.worker(smtp_mailer(sink.addr));
                w.settings.batch = 2;
                Arc::new(w)
            })
            .collect();
        let tasks: Vec<_> = workers
            .iter()
            .map(|w| {
                let w = w.clone();
                tokio::spawn(async move { while w.run_once().await.unwrap() > 0 {} })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(sink.messages().len(), approved.len(), "{}", test_db.label);
        assert!(
            f.outbox()
                .await
                .iter()
                .all(|r| r.state == outbox::SENT && r.attempts == 1)
        );
        sink.stop();
        test_db.drop_database().await;
    }
}

// ---- Signing in with the temporary password, and the forced change ----

use server::entities::sign_in_failure;
use server::services::ingreso::{self, IngresoError};
use validation::{CambioClaveInput, Ingreso, IngresoInput};

fn ingreso(usuario: &str, clave: &str) -> Ingreso {
    Ingreso::validate(&IngresoInput {
        usuario: usuario.into(),
        clave: clave.into(),
    })
    .unwrap()
}

/// Requests a reset for MPerez and returns the password from the e-mail.
async fn temporal(f: &Fixture, dir: &std::path::Path) -> String {
    registry::solicitar_reinicio(
        &f.services,
        &reinicio("mperez", "1710034065", "maria.perez@example.com"),
        None,
    )
    .await
    .unwrap();
    let before: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    while f.worker(folder_mailer(dir)).run_once().await.unwrap() > 0 {}
    // Other mail (a change notice) may leave in the same batch: take the reset e-mail.
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !before.contains(p))
        .map(|p| std::fs::read(p).unwrap())
        .find(|raw| String::from_utf8_lossy(raw).contains("su clave temporal"))
        .map(|raw| password_in(&raw).0)
        .expect("a reset e-mail")
}

/// Gives MPerez a password of their own: signs in with a fresh temporary password and replaces
/// it with `clave`. Returns the token of that sign-in's session.
async fn clave_propia(f: &Fixture, dir: &std::path::Path, clave: &str) -> String {
    let secret = temporal(f, dir).await;
    let nueva = ingreso::ingresar(&f.services, &ingreso("mperez", &secret), None)
        .await
        .unwrap();
    let s = ingreso::sesion(&f.services, &nueva.token)
        .await
        .unwrap()
        .unwrap();
    ingreso::cambiar_clave(&f.services, &s, &cambio(clave), None, None)
        .await
        .unwrap();
    nueva.token
}

fn cambio(clave: &str) -> CambioClaveInput {
    CambioClaveInput {
        clave: clave.into(),
        confirmacion: clave.into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_temporary_password_signs_in_once_and_forces_a_change() {
    for test_db in support::databases().await {
        let f = fixture(&test_db.url).await;
        let dir = tempfile::tempdir().unwrap();
        let secret = temporal(&f, dir.path()).await;
        let label = test_db.label;

        // Ten simultaneous sign-ins with it: exactly one gets in.
        let mut tasks = Vec::new();
        for _ in 0..10 {
            let services = f.services.clone();
            let form = ingreso("MPerez", &secret);
            tasks.push(tokio::spawn(async move {
                ingreso::ingresar(&services, &form, None).await
            }));
        }
        let mut sesiones = Vec::new();
        for t in tasks {
            if let Ok(s) = t.await.unwrap() {
                sesiones.push(s);
            }
        }
        assert_eq!(sesiones.len(), 1, "{label}");
        let nueva = sesiones.pop().unwrap();
        assert!(nueva.must_change);
        // The nine losers (a double click, many times over) are not failures: no lockout, no
        // count; the used temporary password is simply refused, with or without its hyphens.
        for typed in [secret.clone(), secret.replace('-', "")] {
            assert!(matches!(
                ingreso::ingresar(&f.services, &ingreso("mperez", &typed), None).await,
                Err(IngresoError::Credenciales)
            ));
        }
        assert!(
            sign_in_failure::Entity::find()
                .one(&f.db)
                .await
                .unwrap()
                .is_none(),
            "{label}"
        );
        // And none of this took any Argon2 work.
        assert_eq!(f.services.argon2.computed(), 0, "{label}");

        let sesion = ingreso::sesion(&f.services, &nueva.token)
            .await
            .unwrap()
            .unwrap();
        assert!(sesion.must_change);
        assert_eq!(sesion.usuario, "MPerez");

        // Weak, equal to the ID, or the temporary password itself: refused with the reason.
        for (clave, code) in [
            ("corta", "clave.length"),
            ("mperez", "clave.length"),
            ("password1234", "clave.common"),
            ("qwertyuiop12", "clave.sequence"),
            ("ecuapass2026!", "clave.service_word"),
            ("Password2024!", "clave.weak"),
            (secret.as_str(), "clave.temporal"),
        ] {
            match ingreso::cambiar_clave(&f.services, &sesion, &cambio(clave), None, None).await {
                Err(ingreso::CambioError::Campos(e)) => {
                    assert_eq!(
                        e.get(validation::Field::Clave).map(|e| e.code()),
                        Some(code),
                        "{label} {clave}"
                    )
                }
                other => panic!("{label} {clave}: {other:?}"),
            }
        }
        ingreso::cambiar_clave(
            &f.services,
            &sesion,
            &cambio("una frase larga y propia"),
            None,
            None,
        )
        .await
        .unwrap();

        // The session goes on, no longer forced; the temporary password is gone; the new one works.
        assert!(
            !ingreso::sesion(&f.services, &nueva.token)
                .await
                .unwrap()
                .unwrap()
                .must_change
        );
        assert!(matches!(
            ingreso::ingresar(&f.services, &ingreso("mperez", &secret), None).await,
            Err(IngresoError::Credenciales)
        ));
        let normal = ingreso::ingresar(
            &f.services,
            &ingreso("MPEREZ", "una frase larga y propia"),
            None,
        )
        .await
        .unwrap();
        assert!(!normal.must_change);

        // The notice goes through the outbox, with no secret in it.
        let before = std::fs::read_dir(dir.path()).unwrap().count();
        f.worker(folder_mailer(dir.path()))
            .run_once()
            .await
            .unwrap();
        let files: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(files.len(), before + 1, "{label}");
        let newest = files
            .iter()
            .max_by_key(|p| std::fs::metadata(p).unwrap().modified().unwrap())
            .unwrap();
        let raw = std::fs::read(newest).unwrap();
        let aviso = mail_parser::MessageParser::default()
            .parse(&raw[..])
            .unwrap();
        assert_eq!(aviso.subject(), Some("ECUAPASS: su clave fue cambiada"));
        let text = aviso.body_text(0).unwrap();
        assert!(
            text.contains("Su clave de ECUAPASS fue cambiada el")
                && text.contains("Si no fue usted"),
            "{text}"
        );
        assert!(!text.contains(&secret) && !text.contains("una frase larga y propia"));
        test_db.drop_database().await;
    }
}

#[tokio::test]
async fn a_password_change_ends_every_other_session() {
    for test_db in support::databases().await {
        let f = fixture(&test_db.url).await;
        let dir = tempfile::tempdir().unwrap();
        let primera = clave_propia(&f, dir.path(), "primera clave larga").await;
        let otra = ingreso::ingresar(&f.services, &ingreso("mperez", "primera clave larga"), None)
            .await
            .unwrap();
        let s_otra = ingreso::sesion(&f.services, &otra.token)
            .await
            .unwrap()
            .unwrap();
        ingreso::cambiar_clave(
            &f.services,
            &s_otra,
            &cambio("segunda clave larga"),
            Some("primera clave larga"),
            None,
        )
        .await
        .unwrap();
        assert!(
            ingreso::sesion(&f.services, &primera)
                .await
                .unwrap()
                .is_none(),
            "{}",
            test_db.label
        );
        assert!(
            ingreso::sesion(&f.services, &otra.token)
                .await
                .unwrap()
                .is_some()
        );
        ingreso::cerrar(&f.services, &otra.token).await.unwrap();
        assert!(
            ingreso::sesion(&f.services, &otra.token)
                .await
                .unwrap()
                .is_none()
        );
        test_db.drop_database().await;
    }
}

#[tokio::test]
async fn expiry_idle_sessions_and_a_pending_reset_that_locks_nobody_out() {
    for test_db in support::databases().await {
        let f = fixture(&test_db.url).await;
        let dir = tempfile::tempdir().unwrap();
        let label = test_db.label;
        // Give MPerez a current password first.
        clave_propia(&f, dir.path(), "clave actual de maria").await;

        // A new reset: the current password keeps working while the temporary one waits...
        let secret = temporal(&f, dir.path()).await;
        assert!(
            ingreso::ingresar(
                &f.services,
                &ingreso("mperez", "clave actual de maria"),
                None
            )
            .await
            .is_ok(),
            "{label}"
        );
        // ...and the temporary one expires after 60 minutes (the clock moves, nothing sleeps).
        f.clock.advance_ms(60 * 60_000);
        assert!(
            matches!(
                ingreso::ingresar(&f.services, &ingreso("mperez", &secret), None).await,
                Err(IngresoError::Credenciales)
            ),
            "{label}"
        );

        // Sessions end after 30 idle minutes; any use restarts the count.
        let token = ingreso::ingresar(
            &f.services,
            &ingreso("mperez", "clave actual de maria"),
            None,
        )
        .await
        .unwrap()
        .token;
        f.clock.advance_ms(29 * 60_000);
        assert!(
            ingreso::sesion(&f.services, &token)
                .await
                .unwrap()
                .is_some()
        );
        f.clock.advance_ms(29 * 60_000);
        assert!(
            ingreso::sesion(&f.services, &token)
                .await
                .unwrap()
                .is_some()
        );
        f.clock.advance_ms(30 * 60_000);
        assert!(
            ingreso::sesion(&f.services, &token)
                .await
                .unwrap()
                .is_none(),
            "{label}"
        );
        test_db.drop_database().await;
    }
}

#[tokio::test]
async fn five_failures_lock_an_id_for_fifteen_minutes_known_or_not() {
    for test_db in support::databases().await {
        let f = fixture(&test_db.url).await;
        let dir = tempfile::tempdir().unwrap();
        let label = test_db.label;
        clave_propia(&f, dir.path(), "clave buena de maria").await;

        for usuario in ["mperez", "nadie.existe"] {
            for _ in 0..5 {
                let r = ingreso::ingresar(&f.services, &ingreso(usuario, "clave equivocada"), None)
                    .await;
                assert!(
                    matches!(r, Err(IngresoError::Credenciales)),
                    "{label} {usuario}"
                );
            }
            // Even the right password is refused now, with the time to wait.
            let r = ingreso::ingresar(&f.services, &ingreso(usuario, "clave buena de maria"), None)
                .await;
            assert!(
                matches!(r, Err(IngresoError::Bloqueado { minutos: 15 })),
                "{label} {usuario}: {r:?}"
            );
        }
        f.clock.advance_ms(10 * 60_000);
        let r = ingreso::ingresar(
            &f.services,
            &ingreso("MPEREZ", "clave buena de maria"),
            None,
        )
        .await;
        assert!(
            matches!(r, Err(IngresoError::Bloqueado { minutos: 5 })),
            "{label}"
        );
        f.clock.advance_ms(5 * 60_000);
        assert!(
            ingreso::ingresar(
                &f.services,
                &ingreso("mperez", "clave buena de maria"),
                None
            )
            .await
            .is_ok(),
            "{label}"
        );

        // A success resets the count: four more failures do not lock.
        for _ in 0..4 {
            let _ =
                ingreso::ingresar(&f.services, &ingreso("mperez", "otra equivocada"), None).await;
        }
        assert!(
            ingreso::ingresar(
                &f.services,
                &ingreso("mperez", "clave buena de maria"),
                None
            )
            .await
            .is_ok(),
            "{label}"
        );
        test_db.drop_database().await;
    }
}

#[tokio::test]
async fn each_identification_has_hourly_limits_registered_or_not() {
    for test_db in support::databases().await {
        let mut f = fixture(&test_db.url).await;
        f.services.limites = Limites::default();
        let label = test_db.label;
        let conocida = busqueda(
            "usuario_general",
            "",
            "maria.perez@example.com",
            "1710034065",
        );
        let desconocida = busqueda("usuario_general", "", "x@example.com", "0926687856");
        for _ in 0..5 {
            assert!(
                registry::buscar_id(&f.services, &conocida, None)
                    .await
                    .is_ok(),
                "{label}"
            );
            assert!(matches!(
                registry::buscar_id(&f.services, &desconocida, None).await,
                Err(ServiceError::NoMatch)
            ));
        }
        // The sixth: limited, known or not, with the time left in the hour.
        for form in [&conocida, &desconocida] {
            match registry::buscar_id(&f.services, form, None).await {
                Err(ServiceError::Limite { segundos }) => assert_eq!(segundos, 3600, "{label}"),
                other => panic!("{label}: {other:?}"),
            }
        }
        // The window ends: allowed again.
        f.clock.advance_ms(60 * 60_000);
        assert!(
            registry::buscar_id(&f.services, &conocida, None)
                .await
                .is_ok(),
            "{label}"
        );
        test_db.drop_database().await;
    }
}

/// Resets are never refused for an identity: requests that do not match an account (an attacker
/// holding only the victim's cédula) leave the account's resets untouched, and the account's own
/// cap (3 e-mails an hour) is silent: the same answer, nothing more sent.
#[tokio::test]
async fn nobody_can_use_up_someone_elses_resets_and_the_per_account_cap_is_silent() {
    for test_db in support::databases().await {
        let mut f = fixture(&test_db.url).await;
        f.services.limites = Limites::default();
        let label = test_db.label;
        let dir = tempfile::tempdir().unwrap();
        let worker = f.worker(folder_mailer(dir.path()));
        let emails = || std::fs::read_dir(dir.path()).unwrap().count();

        // Twenty requests with MPerez's cédula and made-up IDs and addresses: all answered alike.
        let propia = reinicio("mperez", "1710034065", "maria.perez@example.com");
        let esperado = registry::solicitar_reinicio(&f.services, &propia, None)
            .await
            .unwrap();
        worker.run_once().await.unwrap();
        assert_eq!(emails(), 1, "{label}");
        for i in 0..20 {
            let ajena = reinicio(
                &format!("otro{i}"),
                "1710034065",
                &format!("x{i}@example.com"),
            );
            let respuesta = registry::solicitar_reinicio(&f.services, &ajena, None)
                .await
                .unwrap();
            assert_eq!(respuesta.vigencia_minutos, esperado.vigencia_minutos);
        }
        // MPerez still gets the next two e-mails of the hour...
        for n in 2..=3 {
            let respuesta = registry::solicitar_reinicio(&f.services, &propia, None)
                .await
                .unwrap();
            assert_eq!(respuesta, esperado, "{label}");
            worker.run_once().await.unwrap();
            assert_eq!(emails(), n, "{label}");
        }
        // ...and past three, the same answer and no more e-mail, until the hour is over.
        for _ in 0..3 {
            let respuesta = registry::solicitar_reinicio(&f.services, &propia, None)
                .await
                .unwrap();
            assert_eq!(respuesta, esperado, "{label}");
            worker.run_once().await.unwrap();
        }
        assert_eq!(emails(), 3, "{label}");
        let topes = audit_log::Entity::find()
            .filter(audit_log::Column::Outcome.eq("tope_por_cuenta"))
            .count(&f.db)
            .await
            .unwrap();
        assert_eq!(topes, 3, "{label}");
        f.clock.advance_ms(60 * 60_000);
        registry::solicitar_reinicio(&f.services, &propia, None)
            .await
            .unwrap();
        worker.run_once().await.unwrap();
        assert_eq!(emails(), 4, "{label}");
        test_db.drop_database().await;
    }
}

/// A voluntary change (from a session opened with the password, not a temporary one) needs the
/// current password; a wrong or missing one changes nothing and counts as a failed attempt.
#[tokio::test]
async fn a_voluntary_change_needs_the_current_password() {
    for test_db in support::databases().await {
        let f = fixture(&test_db.url).await;
        let label = test_db.label;
        let dir = tempfile::tempdir().unwrap();
        clave_propia(&f, dir.path(), "clave actual de maria").await;
        let normal = ingreso::ingresar(
            &f.services,
            &ingreso("mperez", "clave actual de maria"),
            None,
        )
        .await
        .unwrap();
        assert!(!normal.must_change);
        let sesion = ingreso::sesion(&f.services, &normal.token)
            .await
            .unwrap()
            .unwrap();
        for actual in [None, Some(""), Some("no es la clave actual")] {
            assert!(
                matches!(
                    ingreso::cambiar_clave(
                        &f.services,
                        &sesion,
                        &cambio("clave del intruso 1"),
                        actual,
                        None
                    )
                    .await,
                    Err(ingreso::CambioError::ClaveActual)
                ),
                "{label} {actual:?}"
            );
        }
        // Nothing changed: the old password still signs in, the intruder's does not.
        assert!(
            ingreso::ingresar(
                &f.services,
                &ingreso("mperez", "clave actual de maria"),
                None
            )
            .await
            .is_ok()
        );
        assert!(matches!(
            ingreso::ingresar(&f.services, &ingreso("mperez", "clave del intruso 1"), None).await,
            Err(IngresoError::Credenciales)
        ));
        ingreso::cambiar_clave(
            &f.services,
            &sesion,
            &cambio("una clave nueva elegida"),
            Some("clave actual de maria"),
            None,
        )
        .await
        .unwrap();
        assert!(
            ingreso::ingresar(
                &f.services,
                &ingreso("mperez", "una clave nueva elegida"),
                None
            )
            .await
            .is_ok(),
            "{label}"
        );
        test_db.drop_database().await;
    }
}

/// Someone else's failed guesses lock password sign-in for the ID, but not the owner's fresh
/// temporary password; and a wrong password costs one Argon2 verification for every account,
/// with a pending temporary password or without, known or not.
#[tokio::test]
async fn a_lockout_does_not_stop_the_temporary_password_and_every_miss_costs_one_hash() {
    for test_db in support::databases().await {
        let f = fixture(&test_db.url).await;
        let label = test_db.label;
        let dir = tempfile::tempdir().unwrap();
        let secret = temporal(&f, dir.path()).await;
        // MPerez now has a pending temporary password. Each wrong password: exactly one hash.
        for (i, usuario) in ["mperez", "nadie.existe", "aauditor", "mperez", "mperez"]
            .into_iter()
            .enumerate()
        {
            let antes = f.services.argon2.computed();
            assert!(matches!(
                ingreso::ingresar(&f.services, &ingreso(usuario, "una clave equivocada"), None)
                    .await,
                Err(IngresoError::Credenciales)
            ));
            assert_eq!(
                f.services.argon2.computed() - antes,
                1,
                "{label} {i} {usuario}"
            );
        }
        // Two more: MPerez's password sign-in is paused.
        for _ in 0..2 {
            let _ =
                ingreso::ingresar(&f.services, &ingreso("mperez", "otra equivocada"), None).await;
        }
        assert!(matches!(
            ingreso::ingresar(&f.services, &ingreso("mperez", seed::CLAVE_DEMO), None).await,
            Err(IngresoError::Bloqueado { .. })
        ));
        // The temporary password from the e-mail opens the forced change all the same.
        let antes = f.services.argon2.computed();
        let nueva = ingreso::ingresar(&f.services, &ingreso("mperez", &secret), None)
            .await
            .unwrap();
        assert!(nueva.must_change, "{label}");
        assert_eq!(
            f.services.argon2.computed(),
            antes,
            "no Argon2 for a temporary password"
        );
        test_db.drop_database().await;
    }
}

/// Rows that no longer mean anything are deleted: ended limit windows, old sign-in failures,
/// idle sessions, and sent e-mails past the retention; live rows, abandoned e-mails and the audit
/// log stay.
#[tokio::test]
async fn expired_rows_are_cleaned_up_and_live_ones_stay() {
    use sea_orm::ActiveValue::Set;
    use server::entities::{rate_limit, session};
    use server::services::cleanup;
    for test_db in support::databases().await {
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
            (outbox::SENT, Some(now - 31 * dia)),
            (outbox::SENT, Some(now - 29 * dia)),
            (outbox::ABANDONED, None),
        ] {
            let mut row = outbox::nuevo(registry::KIND_RESET, &mperez, None, now - 31 * dia);
            row.state = Set(state.into());
            row.sent_at = Set(sent_at);
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
        let left: Vec<String> = left.into_iter().map(|r| r.state).collect();
        assert_eq!(left, [outbox::SENT, outbox::ABANDONED], "{label}");
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

/// An operator's retry gives a revived message the queue key of its own kind: a revived notice
/// does not take the reset's key, so the account's next reset request queues and is sent.
#[tokio::test]
async fn a_retried_notice_does_not_absorb_the_next_reset() {
    use sea_orm::ActiveValue::Set;
    for test_db in support::databases().await {
        let f = fixture(&test_db.url).await;
        let label = test_db.label;
        let mperez = registration::Entity::find()
            .filter(registration::Column::UsuarioIdClave.eq("mperez"))
            .one(&f.db)
            .await
            .unwrap()
            .unwrap();
        let mut aviso = outbox::nuevo(ingreso::KIND_AVISO, &mperez, None, START_MS);
        aviso.state = Set(outbox::ABANDONED.into());
        mail_outbox::Entity::insert(aviso)
            .exec_without_returning(&f.db)
            .await
            .unwrap();
        let id = f.outbox().await[0].id;
        assert_eq!(outbox::retry(&f.db, &[id], START_MS).await.unwrap(), 1);
        assert_eq!(f.outbox().await[0].pending_key, None, "{label}");

        registry::solicitar_reinicio(
            &f.services,
            &reinicio("mperez", "1710034065", "maria.perez@example.com"),
            None,
        )
        .await
        .unwrap();
        let encolados = audit_log::Entity::find()
            .filter(audit_log::Column::Outcome.eq("encolado"))
            .count(&f.db)
            .await
            .unwrap();
        assert_eq!(
            encolados, 1,
            "{label}: the reset was queued, not taken as already queued"
        );
        let dir = tempfile::tempdir().unwrap();
        let worker = f.worker(folder_mailer(dir.path()));
        while worker.run_once().await.unwrap() > 0 {}
        let asuntos: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| {
                let raw = std::fs::read(e.unwrap().path()).unwrap();
                mail_parser::MessageParser::default()
                    .parse(&raw[..])
                    .unwrap()
                    .subject()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        assert!(
            asuntos.contains(&"ECUAPASS: su clave temporal".to_owned()),
            "{label}: {asuntos:?}"
        );
        test_db.drop_database().await;
    }
}

/// Every instant comes from the one injectable clock: the seed's (and the import's) timestamps
/// are the clock's, not the wall clock's.
#[tokio::test]
async fn the_seed_and_the_import_take_their_time_from_the_clock() {
    let test_db = support::TestDb::sqlite();
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
    let cuentas = support::cuentas(1);
    let parsed =
        server::registrations::parse_csv(support::cuentas_csv(&cuentas).as_bytes()).unwrap();
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

/// Guesses sent all at once get five tries in all, not one per request in flight: each attempt is
/// counted before any Argon2 work. The voluntary change's current password shares the lockout.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn simultaneous_guesses_get_five_tries_and_the_current_password_shares_the_lockout() {
    for test_db in support::databases().await {
        let f = fixture(&test_db.url).await;
        let label = test_db.label;
        let antes = f.services.argon2.computed();
        let mut tareas = Vec::new();
        for i in 0..20 {
            let services = f.services.clone();
            tareas.push(tokio::spawn(async move {
                ingreso::ingresar(
                    &services,
                    &ingreso("aauditor", &format!("adivinanza {i:02} x")),
                    None,
                )
                .await
            }));
        }
        let (mut credenciales, mut bloqueados) = (0, 0);
        for t in tareas {
            match t.await.unwrap() {
                Err(IngresoError::Credenciales) => credenciales += 1,
                Err(IngresoError::Bloqueado { .. }) => bloqueados += 1,
                other => panic!("{label}: {other:?}"),
            }
        }
        assert_eq!((credenciales, bloqueados), (5, 15), "{label}");
        assert_eq!(
            f.services.argon2.computed() - antes,
            5,
            "{label}: five hashes, not twenty"
        );

        // A session of MPerez: wrong current passwords count, and the sixth attempt is refused.
        let dir = tempfile::tempdir().unwrap();
        clave_propia(&f, dir.path(), "clave actual de maria").await;
        let normal = ingreso::ingresar(
            &f.services,
            &ingreso("mperez", "clave actual de maria"),
            None,
        )
        .await
        .unwrap();
        let sesion = ingreso::sesion(&f.services, &normal.token)
            .await
            .unwrap()
            .unwrap();
        for _ in 0..5 {
            assert!(matches!(
                ingreso::cambiar_clave(
                    &f.services,
                    &sesion,
                    &cambio("clave del intruso 1"),
                    Some("otra"),
                    None
                )
                .await,
                Err(ingreso::CambioError::ClaveActual)
            ));
        }
        assert!(matches!(
            ingreso::cambiar_clave(
                &f.services,
                &sesion,
                &cambio("clave del intruso 1"),
                Some("clave actual de maria"),
                None
            )
            .await,
            Err(ingreso::CambioError::Bloqueado { minutos: 15 })
        ));
        test_db.drop_database().await;
    }
}
