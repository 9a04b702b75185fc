//! The real application on a random port, reached over HTTP; and a start-up it refuses.

use std::{process::Command, time::Duration};

use crate::helpers::TestApp;

// Leptos renders on tokio's multi-threaded runtime, as in production.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_healthz_and_the_server_rendered_page() {
    let app = TestApp::spawn().await;

    let health = app.page("/healthz").await;
    assert_eq!((health.status, health.body.as_str()), (200, "ok"));
    let page = app.page("/").await;
    assert_eq!(page.status, 200);
    assert!(
        // `<!>` is a hydration marker the renderer may leave after text.
        page.body
            .replace("<!>", "")
            .contains("<h1>Solicitud de reinicio de clave automática</h1>"),
        "{}",
        page.body
    );
    // The islands hydrate in a task of their own, after the module's instantiation
    // (vendor/leptos.patch): the two together were one long task of the page load.
    let script = page
        .body
        .split("<script")
        .find(|s| s.contains("hydrateIslands(document.body, mod)"))
        .expect("the hydration script");
    let instantiated = script.find("mod.default(").expect("instantiation");
    let deferred = script
        .find("setTimeout(() => {")
        .expect("a task of its own");
    let hydrated = script.find("mod.hydrate();").expect("hydrate call");
    assert!(instantiated < deferred && deferred < hydrated, "{script}");
    let missing = app.page("/no-existe").await;
    assert_eq!(missing.status, 404);
    assert!(missing.body.contains("Página no encontrada"));

    app.shut_down(Duration::from_secs(10)).await.unwrap();
}

#[test]
fn bad_configuration_stops_start_up_with_one_line_naming_the_variable() {
    let output = Command::new(env!("CARGO_BIN_EXE_server"))
        .arg("migrate")
        .env("REINICIO_LISTEN_ADDR", "no-es-una-direccion")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("REINICIO_LISTEN_ADDR"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// Every answer names its request (`x-request-id`); the same ID is in the audit row the request
/// caused. A client cannot choose it: only a trusted proxy's plain ID is kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_has_an_id_that_its_audit_row_repeats() {
    use sea_orm::{EntityTrait, QueryOrder};
    use server::entities::audit_log;

    let lookup = r#"{"clasificacion":"usuario_general","correo":"maria.perez@example.com","identificacion":"1710034065"}"#;
    let id_of = |answer: &crate::helpers::Answer| -> String {
        answer.headers["x-request-id"].to_str().unwrap().to_owned()
    };
    let last_audit = |conn: sea_orm::DatabaseConnection| async move {
        audit_log::Entity::find()
            .order_by_desc(audit_log::Column::Id)
            .one(&conn)
            .await
            .unwrap()
            .unwrap()
    };

    let app = TestApp::spawn().await;
    let first = app.post_json("/api/buscar_id", lookup).await;
    assert_eq!(first.status, 200);
    let id = id_of(&first);
    assert_eq!(id.len(), 32, "{id}");
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
    let row = last_audit(app.conn.clone()).await;
    assert_eq!(row.event, "buscar_id");
    assert_eq!(row.request_id.as_deref(), Some(id.as_str()));
    // Pages and health checks have one too, each its own.
    let page = app.page("/healthz").await;
    assert_ne!(id_of(&page), id);
    // A client's own ID is not taken.
    let chosen = app
        .post("/api/buscar_id")
        .header("content-type", "application/json")
        .header("x-request-id", "elegido-por-el-cliente")
        .body(lookup)
        .send()
        .await
        .unwrap();
    let got = chosen.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_ne!(got, "elegido-por-el-cliente");

    // Behind a trusted proxy its plain ID is kept, in the answer and in the audit row; one
    // with other characters or too long is replaced.
    let proxied = TestApp::spawn_with(&[("REINICIO_TRUSTED_PROXY", "true")]).await;
    let send = |value: &'static str| {
        proxied
            .post("/api/buscar_id")
            .header("content-type", "application/json")
            .header("x-forwarded-for", "203.0.113.7")
            .header("x-request-id", value)
            .body(lookup)
            .send()
    };
    let kept = send("proxy-7f3a.1_b").await.unwrap();
    assert_eq!(kept.headers()["x-request-id"], "proxy-7f3a.1_b");
    let row = last_audit(proxied.conn.clone()).await;
    assert_eq!(row.request_id.as_deref(), Some("proxy-7f3a.1_b"));
    assert_eq!(row.client_addr.as_deref(), Some("203.0.113.7"));
    for bad in ["con espacio", "x;y", &"a".repeat(65)] {
        let bad: &'static str = Box::leak(bad.to_owned().into_boxed_str());
        let replaced = send(bad).await.unwrap();
        let got = replaced.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_owned();
        assert_eq!(got.len(), 32, "{bad:?} -> {got}");
    }
}
