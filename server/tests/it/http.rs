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
