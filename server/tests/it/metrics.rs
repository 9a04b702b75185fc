//! `/metrics` on the operators' listener: the real binary (the recorder is one per process), a
//! scripted journey, and the counters moved by exactly what was done.

use std::{
    io::{BufRead, BufReader},
    net::SocketAddr,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use crate::helpers::Http;

pub(crate) struct Server {
    pub child: Child,
    pub public: Http,
    pub metrics: Http,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn command(dir: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_server"));
    command
        .env(
            "REINICIO_DATABASE_URL",
            format!("sqlite://{}/m.sqlite3?mode=rwc", dir.display()),
        )
        .env(
            "REINICIO_MAIL_URL",
            format!("file://{}", dir.join("correo").display()),
        )
        .env("REINICIO_LISTEN_ADDR", "127.0.0.1:0")
        .env("REINICIO_METRICS_ADDR", "127.0.0.1:0")
        .env("REINICIO_LIMITE_BUSQUEDAS_POR_HORA", "2")
        // The journey's requests all come from 127.0.0.1: no per-address limit in the way.
        .env("REINICIO_ADDRESS_LIMIT_BURST", "1000")
        .env("REINICIO_LOG_LEVEL", "info")
        .env("REINICIO_LOG_FORMAT", "json");
    command
}

/// Seeds the demo accounts, starts `server serve` (with `extra` settings) and reads the two
/// addresses it prints.
pub(crate) fn start(dir: &std::path::Path, extra: &[(&str, &str)]) -> Server {
    let seed = command(dir).arg("seed-demo").output().unwrap();
    assert!(seed.status.success(), "{seed:?}");
    let mut child = command(dir)
        .envs(extra.iter().copied())
        .arg("serve")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(dir.join("server.log")).unwrap())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = |prefix: &str, suffix: &str| -> SocketAddr {
        let mut text = String::new();
        out.read_line(&mut text).unwrap();
        text.trim()
            .strip_prefix(prefix)
            .and_then(|rest| rest.strip_suffix(suffix))
            .unwrap_or_else(|| panic!("unexpected line: {text:?}"))
            .parse()
            .unwrap()
    };
    let public = line("Sirviendo en http://", "");
    let metrics = line("Métricas en http://", "/metrics");
    assert!(metrics.ip().is_loopback());
    assert_ne!(metrics.port(), public.port());
    Server {
        child,
        public: Http::new(public),
        metrics: Http::new(metrics),
    }
}

/// The value of one series (`name{labels}` exactly as rendered), or 0 when absent.
fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0.0, |v| v.trim().parse().unwrap())
}

#[tokio::test]
async fn metrics_count_exactly_what_a_journey_did_and_stay_off_the_public_port() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &[]);

    let hit = r#"{"clasificacion":"usuario_general","correo":"maria.perez@example.com","identificacion":"1710034065"}"#;
    let miss = r#"{"clasificacion":"usuario_general","correo":"nadie@example.com","identificacion":"0926687856"}"#;
    let reset =
        r#"{"usuario":"mperez","identificacion":"1710034065","correo":"maria.perez@example.com"}"#;
    assert_eq!(
        server.public.post_json("/api/buscar_id", hit).await.status,
        200
    );
    assert_eq!(
        server.public.post_json("/api/buscar_id", miss).await.status,
        404
    );
    // The limit is 2 per identity and hour: the third lookup for 1710034065 is refused.
    assert_eq!(
        server.public.post_json("/api/buscar_id", hit).await.status,
        200
    );
    assert_eq!(
        server.public.post_json("/api/buscar_id", hit).await.status,
        429
    );
    // Refused by the crate's rules or unreadable: "invalido", from the JSON API and the page
    // without JavaScript alike.
    let bad_cedula = r#"{"clasificacion":"usuario_general","correo":"maria.perez@example.com","identificacion":"1710034066"}"#;
    assert_eq!(
        server
            .public
            .post_json("/api/buscar_id", bad_cedula)
            .await
            .status,
        422
    );
    assert_eq!(
        server
            .public
            .post_json("/api/solicitar_reinicio", "{")
            .await
            .status,
        400
    );
    let no_js = server
        .public
        .post_form(
            "/",
            "accion=buscar&clasificacion=usuario_general&identificacion=12",
        )
        .await;
    assert_eq!(no_js.status, 200);
    let answer = server
        .public
        .post_json("/api/solicitar_reinicio", reset)
        .await;
    assert_eq!(answer.status, 200);
    let request_id = answer.headers["x-request-id"].to_str().unwrap().to_owned();
    // Five wrong passwords, then the lockout: the sixth is refused without an Argon2 check.
    for _ in 0..6 {
        let answer = server
            .public
            .post_form("/ingreso", "usuario=mperez&clave=no-es-la-clave-1")
            .await;
        assert_ne!(answer.status, 303, "{}", answer.body);
    }
    // The public port has no such page.
    assert_eq!(server.public.page("/metrics").await.status, 404);

    // The e-mail goes out in the background; wait for it to be counted.
    let deadline = Instant::now() + Duration::from_secs(20);
    let text = loop {
        let page = server.metrics.page("/metrics").await;
        assert_eq!(page.status, 200);
        assert!(
            page.headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/plain"),
        );
        if value(
            &page.body,
            r#"reinicio_mail_sent_total{kind="reinicio_clave"}"#,
        ) == 1.0
        {
            // Counted once its row was committed: the next scrape reads the outbox after that.
            break server.metrics.page("/metrics").await.body;
        }
        assert!(
            Instant::now() < deadline,
            "the reset e-mail was never counted:\n{}",
            page.body
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    let expect = |series: &str, n: f64| assert_eq!(value(&text, series), n, "{series}\n{text}");
    expect(r#"reinicio_lookups_total{outcome="encontrado"}"#, 2.0);
    expect(r#"reinicio_lookups_total{outcome="sin_coincidencia"}"#, 1.0);
    expect(r#"reinicio_lookups_total{outcome="limitado"}"#, 1.0);
    expect(r#"reinicio_resets_total{outcome="encolado"}"#, 1.0);
    expect(r#"reinicio_lookups_total{outcome="invalido"}"#, 2.0);
    expect(r#"reinicio_resets_total{outcome="invalido"}"#, 1.0);
    expect(
        r#"http_requests_total{route="/api/buscar_id",status="422"}"#,
        1.0,
    );
    expect(r#"reinicio_limit_refusals_total{kind="limitado"}"#, 1.0);
    expect(
        r#"reinicio_mail_failures_total{kind="reinicio_clave"}"#,
        0.0,
    );
    expect(
        r#"http_requests_total{route="/api/buscar_id",status="200"}"#,
        2.0,
    );
    expect(
        r#"http_requests_total{route="/api/buscar_id",status="404"}"#,
        1.0,
    );
    expect(
        r#"http_requests_total{route="/api/buscar_id",status="429"}"#,
        1.0,
    );
    expect(
        r#"http_requests_total{route="/api/solicitar_reinicio",status="200"}"#,
        1.0,
    );
    expect(
        r#"http_request_duration_seconds_count{route="/api/buscar_id"}"#,
        5.0,
    );
    expect(r#"reinicio_sign_ins_total{outcome="incorrecto"}"#, 5.0);
    expect(r#"reinicio_sign_ins_total{outcome="bloqueado"}"#, 1.0);
    expect("reinicio_sign_in_lockouts_total", 1.0);
    expect("reinicio_argon2_wait_seconds_count", 5.0);
    expect("reinicio_argon2_queue", 0.0);
    // Each of the 11 requests above that reached the database took at least one connection.
    let waits = value(&text, "reinicio_db_pool_wait_seconds_count");
    assert!(waits >= 11.0, "{waits}\n{text}");
    assert!(text.contains(r#"reinicio_db_pool_wait_seconds_bucket{le="0.0001"}"#));
    // Every answer is the sign-in page again, with its message.
    expect(r#"http_requests_total{route="/ingreso",status="200"}"#, 6.0);
    assert!(
        text.contains(r#"reinicio_db_pool_connections{state="idle"}"#),
        "{text}"
    );
    expect(r#"reinicio_outbox_messages{state="sent"}"#, 1.0);
    expect(r#"reinicio_outbox_messages{state="queued"}"#, 0.0);
    expect("reinicio_outbox_oldest_queued_seconds", 0.0);
    assert!(
        text.contains(&format!(
            r#"reinicio_build_info{{version="{}""#,
            env!("CARGO_PKG_VERSION")
        )),
        "{text}"
    );

    // The reset's audit line names its request, as its audit row does.
    let log = std::fs::read_to_string(dir.path().join("server.log")).unwrap();
    assert!(
        log.lines().any(|l| l.contains("auditoría")
            && l.contains("solicitar_reinicio")
            && l.contains(&format!(r#""request_id":"{request_id}""#))),
        "{log}"
    );
    // The batch's statements and the mail send each have a span, named in their lines.
    assert!(
        log.lines()
            .any(|l| l.contains("auditoría") && l.contains(r#""name":"escritura_en_grupo""#)),
        "{log}"
    );
    assert!(
        log.lines()
            .any(|l| l.contains("correo enviado") && l.contains(r#""name":"envio_correo""#)),
        "{log}"
    );
}
