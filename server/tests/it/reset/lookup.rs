//! "Buscar ID" against the registry, and the per-identity lookup limit.

use super::*;

#[tokio::test]
async fn buscar_id_finds_approved_registrations_only() {
    for test_db in helpers::databases().await {
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
        assert_eq!(found.unwrap().usuario_id, "MPerez", "{label}");
        let found = registry::buscar_id(
            s,
            &busqueda("representante_legal", "0993370026001", "", "0926687856"),
            None,
        )
        .await;
        assert_eq!(found.unwrap().usuario_id, "jsalazar.rl", "{label}");
        // Same person, another company: another account.
        let found = registry::buscar_id(
            s,
            &busqueda("empleado", "1793213150001", "", "0926687856"),
            None,
        )
        .await;
        assert_eq!(found.unwrap().usuario_id, "jsalazar.emp", "{label}");
        let found = registry::buscar_id(
            s,
            &busqueda("auditor", "", "ana.auditora@example.com", "AB123456"),
            None,
        )
        .await;
        assert_eq!(found.unwrap().usuario_id, "aauditor", "{label}");

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
async fn each_identification_has_hourly_limits_registered_or_not() {
    for test_db in helpers::databases().await {
        let mut f = fixture(&test_db.url).await;
        f.services.limits = Limits::default();
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
