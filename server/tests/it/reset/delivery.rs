//! Reset requests, the outbox that sends them, and its faults: relay down, dead workers, retries, two instances.

use super::*;

#[tokio::test]
async fn a_reset_is_queued_sent_by_email_and_the_password_verifies() {
    for test_db in helpers::databases().await {
        let f = fixture(&test_db.url).await;
        let label = test_db.label;
        let answer = request_mperez_reset(&f).await;
        assert_eq!(answer.correo.masked(), "m***@example.com");
        assert_eq!(answer.valid_minutes, 60);
        // Queued, nothing sent, nothing stored yet: the request did not wait for mail.
        let rows = f.outbox().await;
        assert_eq!(rows.len(), 1, "{label}");
        assert_eq!(rows[0].state, outbox::State::Queued);
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
            text.contains(&server::mail::ecuador_time(START_MS + 3_600_000)),
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
            (row.state, row.attempts, row.pending_key.as_deref()),
            (outbox::State::Sent, 1, None)
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
    for test_db in helpers::databases().await {
        let f = fixture(&test_db.url).await;
        for miss in [
            reinicio("mperez", "1710034065", "otra@example.com"), // not the registered e-mail
            reinicio("mperez", "0926687856", "maria.perez@example.com"), // not their identification
            reinicio("nadie", "1710034065", "maria.perez@example.com"), // no such ID
            reinicio("ppendiente", "0102030400", "pedro.pendiente@example.com"), // pending
            reinicio("ddeshabilitado", "2401010109", "diana.d@example.com"), // disabled
        ] {
            // Answered as a match would be: the e-mail typed (the API masks it), the validity.
            let r = registry::solicitar_reinicio(&f.services, &miss, None)
                .await
                .unwrap();
            assert_eq!(r.correo, miss.correo, "{}", test_db.label);
            assert_eq!(r.valid_minutes, 60);
        }
        assert!(f.outbox().await.is_empty());
        test_db.drop_database().await;
    }
}

#[tokio::test]
async fn twenty_simultaneous_requests_leave_one_valid_password_the_last_one_sent() {
    for test_db in helpers::databases().await {
        let f = fixture(&test_db.url).await;
        let form = reinicio("jsalazar.rl", "0926687856", "jorge.salazar@example.com");
        let outbox_dir = tempfile::tempdir().unwrap();
        let worker = f.worker(folder_mailer(outbox_dir.path()));

        // Requests and the worker race each other.
        let mut tasks = Vec::new();
        for i in 0..20 {
            let services = f.services.clone();
            let form = form.clone();
            let worker = worker.clone();
            tasks.push(tokio::spawn(async move {
                registry::solicitar_reinicio(&services, &form, None)
                    .await
                    .unwrap();
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
        assert!(
            rows.iter().all(|r| r.state == outbox::State::Sent),
            "{rows:?}"
        );
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
    for test_db in helpers::databases().await {
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
            rows.iter().all(|r| r.state == outbox::State::Queued
                && r.attempts == 1
                && r.last_error.is_some()),
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
                .all(|r| r.state == outbox::State::Sent && r.attempts == 2)
        );
        sink.stop();
        test_db.drop_database().await;
    }
}

#[tokio::test]
async fn a_message_is_abandoned_after_the_last_attempt_and_can_be_retried() {
    for test_db in helpers::databases().await {
        let f = fixture(&test_db.url).await;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        request_mperez_reset(&f).await;
        let worker = f.worker(smtp_mailer(port));
        for attempt in 1..=3 {
            assert_eq!(worker.run_once().await.unwrap(), 1, "attempt {attempt}");
            f.clock
                .advance_ms(Duration::from_secs(3600).as_millis() as i64);
        }
        let row = f.outbox().await.remove(0);
        assert_eq!((row.state, row.attempts), (outbox::State::Abandoned, 3));
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
        assert_eq!(f.outbox().await[0].state, outbox::State::Sent);
        sink.stop();
        test_db.drop_database().await;
    }
}

#[tokio::test]
async fn a_registration_disabled_while_queued_gets_no_password() {
    for test_db in helpers::databases().await {
        let f = fixture(&test_db.url).await;
        request_mperez_reset(&f).await;
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
        assert_eq!(f.outbox().await[0].state, outbox::State::Abandoned);
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
    for test_db in helpers::databases().await {
        let f = fixture(&test_db.url).await;
        request_mperez_reset(&f).await;
        // A worker claimed it and died before recording anything.
        let claim_ends = START_MS + 120_000;
        mail_outbox::Entity::update_many()
            .col_expr(
                mail_outbox::Column::State,
                sea_orm::sea_query::Expr::value(outbox::State::Sending),
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
        assert_eq!((row.state, row.attempts), (outbox::State::Sent, 2));
        test_db.drop_database().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_share_the_outbox_without_sending_twice() {
    for test_db in helpers::databases().await {
        let f = fixture(&test_db.url).await;
        let approved: Vec<_> = seed::DEMO.iter().filter(|d| d.5 == "aprobada").collect();
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
                let mut w = f.plain_worker(smtp_mailer(sink.addr));
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
                .all(|r| r.state == outbox::State::Sent && r.attempts == 1)
        );
        sink.stop();
        test_db.drop_database().await;
    }
}

/// Resets are never refused for an identity: requests that do not match an account (an attacker
/// holding only the victim's cédula) leave the account's resets untouched, and the account's own
/// cap (3 e-mails an hour) is silent: the same answer, nothing more sent.
#[tokio::test]
async fn nobody_can_use_up_someone_elses_resets_and_the_per_account_cap_is_silent() {
    for test_db in helpers::databases().await {
        let mut f = fixture(&test_db.url).await;
        f.services.limits = Limits::default();
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
            assert_eq!(respuesta.valid_minutes, esperado.valid_minutes);
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

/// An operator's retry gives a revived message the queue key of its own kind: a revived notice
/// does not take the reset's key, so the account's next reset request queues and is sent.
#[tokio::test]
async fn a_retried_notice_does_not_absorb_the_next_reset() {
    use sea_orm::ActiveValue::Set;
    for test_db in helpers::databases().await {
        let f = fixture(&test_db.url).await;
        let label = test_db.label;
        let mperez = registration::Entity::find()
            .filter(registration::Column::UsuarioIdClave.eq("mperez"))
            .one(&f.db)
            .await
            .unwrap()
            .unwrap();
        let mut aviso = outbox::new_message(outbox::Kind::ChangeNotice, &mperez, START_MS);
        aviso.state = Set(outbox::State::Abandoned);
        mail_outbox::Entity::insert(aviso)
            .exec_without_returning(&f.db)
            .await
            .unwrap();
        let id = f.outbox().await[0].id;
        assert_eq!(outbox::retry(&f.db, &[id], START_MS).await.unwrap(), 1);
        assert_eq!(f.outbox().await[0].pending_key, None, "{label}");

        request_mperez_reset(&f).await;
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
