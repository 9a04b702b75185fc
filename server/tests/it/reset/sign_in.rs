//! Signing in with the current or the temporary password, the lockout, and changing the password.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_temporary_password_signs_in_once_and_forces_a_change() {
    for test_db in helpers::databases().await {
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
                auth::attempt(&services, &form, None).await
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
                auth::attempt(&f.services, &ingreso("mperez", &typed), None).await,
                Err(SignInError::Credenciales)
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

        let sesion = auth::session(&f.services, &nueva.token)
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
            match auth::change_password(&f.services, &sesion, &cambio(clave), None, None).await {
                Err(auth::ChangeError::Campos(e)) => {
                    assert_eq!(
                        e.get(validation::Field::Clave).map(|e| e.code()),
                        Some(code),
                        "{label} {clave}"
                    )
                }
                other => panic!("{label} {clave}: {other:?}"),
            }
        }
        auth::change_password(
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
            !auth::session(&f.services, &nueva.token)
                .await
                .unwrap()
                .unwrap()
                .must_change
        );
        assert!(matches!(
            auth::attempt(&f.services, &ingreso("mperez", &secret), None).await,
            Err(SignInError::Credenciales)
        ));
        let normal = auth::attempt(
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
    for test_db in helpers::databases().await {
        let f = fixture(&test_db.url).await;
        let dir = tempfile::tempdir().unwrap();
        let primera = clave_propia(&f, dir.path(), "primera clave larga").await;
        let otra = auth::attempt(&f.services, &ingreso("mperez", "primera clave larga"), None)
            .await
            .unwrap();
        let s_otra = auth::session(&f.services, &otra.token)
            .await
            .unwrap()
            .unwrap();
        auth::change_password(
            &f.services,
            &s_otra,
            &cambio("segunda clave larga"),
            Some("primera clave larga"),
            None,
        )
        .await
        .unwrap();
        assert!(
            auth::session(&f.services, &primera)
                .await
                .unwrap()
                .is_none(),
            "{}",
            test_db.label
        );
        assert!(
            auth::session(&f.services, &otra.token)
                .await
                .unwrap()
                .is_some()
        );
        auth::sign_out(&f.services, &otra.token).await.unwrap();
        assert!(
            auth::session(&f.services, &otra.token)
                .await
                .unwrap()
                .is_none()
        );
        test_db.drop_database().await;
    }
}

#[tokio::test]
async fn expiry_idle_sessions_and_a_pending_reset_that_locks_nobody_out() {
    for test_db in helpers::databases().await {
        let f = fixture(&test_db.url).await;
        let dir = tempfile::tempdir().unwrap();
        let label = test_db.label;
        // Give MPerez a current password first.
        clave_propia(&f, dir.path(), "clave actual de maria").await;

        // A new reset: the current password keeps working while the temporary one waits...
        let secret = temporal(&f, dir.path()).await;
        assert!(
            auth::attempt(
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
                auth::attempt(&f.services, &ingreso("mperez", &secret), None).await,
                Err(SignInError::Credenciales)
            ),
            "{label}"
        );

        // Sessions end after 30 idle minutes; any use restarts the count.
        let token = auth::attempt(
            &f.services,
            &ingreso("mperez", "clave actual de maria"),
            None,
        )
        .await
        .unwrap()
        .token;
        f.clock.advance_ms(29 * 60_000);
        assert!(auth::session(&f.services, &token).await.unwrap().is_some());
        f.clock.advance_ms(29 * 60_000);
        assert!(auth::session(&f.services, &token).await.unwrap().is_some());
        f.clock.advance_ms(30 * 60_000);
        assert!(
            auth::session(&f.services, &token).await.unwrap().is_none(),
            "{label}"
        );
        test_db.drop_database().await;
    }
}

#[tokio::test]
async fn five_failures_lock_an_id_for_fifteen_minutes_known_or_not() {
    for test_db in helpers::databases().await {
        let f = fixture(&test_db.url).await;
        let dir = tempfile::tempdir().unwrap();
        let label = test_db.label;
        clave_propia(&f, dir.path(), "clave buena de maria").await;

        for usuario in ["mperez", "nadie.existe"] {
            for _ in 0..5 {
                let r =
                    auth::attempt(&f.services, &ingreso(usuario, "clave equivocada"), None).await;
                assert!(
                    matches!(r, Err(SignInError::Credenciales)),
                    "{label} {usuario}"
                );
            }
            // Even the right password is refused now, with the time to wait.
            let r =
                auth::attempt(&f.services, &ingreso(usuario, "clave buena de maria"), None).await;
            assert!(
                matches!(r, Err(SignInError::Bloqueado { minutos: 15 })),
                "{label} {usuario}: {r:?}"
            );
        }
        f.clock.advance_ms(10 * 60_000);
        let r = auth::attempt(
            &f.services,
            &ingreso("MPEREZ", "clave buena de maria"),
            None,
        )
        .await;
        assert!(
            matches!(r, Err(SignInError::Bloqueado { minutos: 5 })),
            "{label}"
        );
        f.clock.advance_ms(5 * 60_000);
        assert!(
            auth::attempt(
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
            let _ = auth::attempt(&f.services, &ingreso("mperez", "otra equivocada"), None).await;
        }
        assert!(
            auth::attempt(
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

/// A voluntary change (from a session opened with the password, not a temporary one) needs the
/// current password; a wrong or missing one changes nothing and counts as a failed attempt.
#[tokio::test]
async fn a_voluntary_change_needs_the_current_password() {
    for test_db in helpers::databases().await {
        let f = fixture(&test_db.url).await;
        let label = test_db.label;
        let dir = tempfile::tempdir().unwrap();
        clave_propia(&f, dir.path(), "clave actual de maria").await;
        let normal = auth::attempt(
            &f.services,
            &ingreso("mperez", "clave actual de maria"),
            None,
        )
        .await
        .unwrap();
        assert!(!normal.must_change);
        let sesion = auth::session(&f.services, &normal.token)
            .await
            .unwrap()
            .unwrap();
        for actual in [None, Some(""), Some("no es la clave actual")] {
            assert!(
                matches!(
                    auth::change_password(
                        &f.services,
                        &sesion,
                        &cambio("clave del intruso 1"),
                        actual,
                        None
                    )
                    .await,
                    Err(auth::ChangeError::ClaveActual)
                ),
                "{label} {actual:?}"
            );
        }
        // Nothing changed: the old password still signs in, the intruder's does not.
        assert!(
            auth::attempt(
                &f.services,
                &ingreso("mperez", "clave actual de maria"),
                None
            )
            .await
            .is_ok()
        );
        assert!(matches!(
            auth::attempt(&f.services, &ingreso("mperez", "clave del intruso 1"), None).await,
            Err(SignInError::Credenciales)
        ));
        auth::change_password(
            &f.services,
            &sesion,
            &cambio("una clave nueva elegida"),
            Some("clave actual de maria"),
            None,
        )
        .await
        .unwrap();
        assert!(
            auth::attempt(
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
    for test_db in helpers::databases().await {
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
                auth::attempt(&f.services, &ingreso(usuario, "una clave equivocada"), None).await,
                Err(SignInError::Credenciales)
            ));
            assert_eq!(
                f.services.argon2.computed() - antes,
                1,
                "{label} {i} {usuario}"
            );
        }
        // Two more: MPerez's password sign-in is paused.
        for _ in 0..2 {
            let _ = auth::attempt(&f.services, &ingreso("mperez", "otra equivocada"), None).await;
        }
        assert!(matches!(
            auth::attempt(&f.services, &ingreso("mperez", seed::CLAVE_DEMO), None).await,
            Err(SignInError::Bloqueado { .. })
        ));
        // The temporary password from the e-mail opens the forced change all the same.
        let antes = f.services.argon2.computed();
        let nueva = auth::attempt(&f.services, &ingreso("mperez", &secret), None)
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

/// Guesses sent all at once get five tries in all, not one per request in flight: each attempt is
/// counted before any Argon2 work. The voluntary change's current password shares the lockout.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn simultaneous_guesses_get_five_tries_and_the_current_password_shares_the_lockout() {
    for test_db in helpers::databases().await {
        let f = fixture(&test_db.url).await;
        let label = test_db.label;
        let antes = f.services.argon2.computed();
        let mut tareas = Vec::new();
        for i in 0..20 {
            let services = f.services.clone();
            tareas.push(tokio::spawn(async move {
                auth::attempt(
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
                Err(SignInError::Credenciales) => credenciales += 1,
                Err(SignInError::Bloqueado { .. }) => bloqueados += 1,
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
        let normal = auth::attempt(
            &f.services,
            &ingreso("mperez", "clave actual de maria"),
            None,
        )
        .await
        .unwrap();
        let sesion = auth::session(&f.services, &normal.token)
            .await
            .unwrap()
            .unwrap();
        for _ in 0..5 {
            assert!(matches!(
                auth::change_password(
                    &f.services,
                    &sesion,
                    &cambio("clave del intruso 1"),
                    Some("otra"),
                    None
                )
                .await,
                Err(auth::ChangeError::ClaveActual)
            ));
        }
        assert!(matches!(
            auth::change_password(
                &f.services,
                &sesion,
                &cambio("clave del intruso 1"),
                Some("clave actual de maria"),
                None
            )
            .await,
            Err(auth::ChangeError::Bloqueado { minutos: 15 })
        ));
        test_db.drop_database().await;
    }
}
