//! The real application on a random port, reached over TCP.

mod support;

use std::process::Command;

// Leptos renders on tokio's multi-threaded runtime, as in production.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_healthz_and_the_server_rendered_page() {
    let test_db = support::TestDb::sqlite();
    let mail = tempfile::tempdir().unwrap();
    let running = server::start(&support::config(&test_db, mail.path()))
        .await
        .unwrap();
    let addr = running.addr;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(running.serve(async {
        let _ = stopped.await;
    }));

    assert_eq!(support::get(addr, "/healthz").await, (200, "ok".to_owned()));
    let (status, body) = support::get(addr, "/").await;
    assert_eq!(status, 200);
    assert!(
        // `<!>` is a hydration marker the renderer may leave after text.
        body.replace("<!>", "")
            .contains("<h1>Solicitud de reinicio de clave automática</h1>"),
        "{body}"
    );
    let (status, body) = support::get(addr, "/no-existe").await;
    assert_eq!(status, 404);
    assert!(body.contains("Página no encontrada"));

    stop.send(()).unwrap();
    task.await.unwrap().unwrap();
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
