//! The database unreachable, then back.

use super::*;

/// PostgreSQL behind a relay the test cuts: requests get a prompt 503 with a Spanish message,
/// and the same server answers again once the database is back, without a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_unreachable_database_gives_a_clean_503_and_the_server_recovers_by_itself() {
    let Some(db) = helpers::postgres_only().await else {
        return;
    };
    let mut url = url::Url::parse(&db.url).unwrap();
    let target = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap_or(5432));
    let proxy = TcpProxy::start(
        tokio::net::lookup_host(&target)
            .await
            .unwrap()
            .next()
            .unwrap(),
    )
    .await;
    url.set_host(Some("127.0.0.1")).unwrap();
    url.set_port(Some(proxy.addr.port())).unwrap();
    let app = TestApp::spawn_on(&db, &[("REINICIO_DATABASE_URL", url.as_str())]).await;

    let lookup = r#"{"clasificacion":"usuario_general","correo":"maria.perez@example.com","identificacion":"1710034065"}"#;
    let form = "accion=buscar&clasificacion=usuario_general&correo=maria.perez%40example.com&identificacion=1710034065";
    assert_eq!(app.post_json("/api/buscar_id", lookup).await.status, 200);

    // A signed-in session, to see what its pages say while the database is away.
    let signed_in = app
        .post_form(
            "/ingreso",
            "usuario=aauditor&clave=clave+de+demostraci%C3%B3n",
        )
        .await;
    assert_eq!(signed_in.status, 303);
    let cookie = signed_in.cookie().unwrap();

    proxy.down();
    // The session cannot be read: 503 and the page that says so, not "Ingreso" as if signed out.
    for request in [app.get("/cuenta"), app.post("/cambio-clave")] {
        let answer = request
            .header("cookie", &cookie)
            .header("content-type", FORM)
            .answer()
            .await;
        assert_eq!(answer.status, 503, "{answer:?}");
        assert!(
            answer
                .body
                .contains("El servicio no está disponible en este momento."),
            "{}",
            answer.body
        );
    }
    for _ in 0..3 {
        let start = Instant::now();
        let answer = app.post_json("/api/buscar_id", lookup).await;
        assert_eq!(
            (answer.status, answer.body.as_str()),
            (503, r#"{"error":"interno"}"#)
        );
        assert!(
            start.elapsed() < Duration::from_secs(8),
            "{:?}",
            start.elapsed()
        );
    }
    let answer = app.post_form("/", form).await;
    assert_eq!(answer.status, 503);
    assert!(
        answer
            .body
            .contains("El servicio no está disponible en este momento."),
        "{}",
        answer.body
    );
    assert_eq!(app.page("/healthz").await.status, 503);

    proxy.up().await;
    wait_until(Duration::from_secs(20), "lookups work again", async || {
        app.post_json("/api/buscar_id", lookup).await.status == 200
    })
    .await;
    let health = app.page("/healthz").await;
    assert_eq!((health.status, health.body.as_str()), (200, "ok"));
    let answer = app.post_form("/", form).await;
    assert_eq!(answer.status, 200);
    assert!(
        answer.body.contains(r#"data-testid="id-usuario">MPerez<"#),
        "{}",
        answer.body
    );
    drop(app);
    db.drop_database().await;
}
