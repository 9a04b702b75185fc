//! The JSON endpoints through the real router on a real socket: what a browser, `curl` or an
//! attacker gets back. Every failure is a 4xx with a JSON body; nothing reaches a 5xx or a panic.
//! An HTTP client throughout, except where the test is about the framing itself (a body that
//! never arrives, a chunked body made by hand).

use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use crate::helpers::{self, Answer, Exchange, JSON, TestApp};

async fn call(app: &TestApp, path: &str, body: Value) -> (u16, Value) {
    let answer = app.post_json(path, body.to_string()).await;
    assert!(
        answer.content_type().starts_with(JSON),
        "{} {} {}",
        answer.status,
        answer.content_type(),
        answer.body
    );
    (
        answer.status,
        serde_json::from_str(&answer.body).unwrap_or_else(|e| panic!("{e}: {}", answer.body)),
    )
}

// Leptos renders and serves on tokio's multi-threaded runtime, as in production.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buscar_id_answers_the_id_usuario() {
    let app = TestApp::spawn().await;
    let (status, body) = call(
        &app,
        "/api/buscar_id",
        json!({"clasificacion": "representante_legal", "ruc_empresa": "0993370026001", "identificacion": "0926687856"}),
    )
    .await;
    assert_eq!((status, body), (200, json!({"usuario": "jsalazar.rl"})));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn field_errors_come_back_all_at_once_with_codes_and_messages() {
    let app = TestApp::spawn().await;
    let (status, body) = call(
        &app,
        "/api/buscar_id",
        json!({"clasificacion": "empleado", "correo": "x@y.com", "identificacion": "1710034066"}),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(body["error"], "campos");
    let codes: Vec<(&str, &str)> = body["campos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["field"].as_str().unwrap(), e["code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        codes,
        [
            ("ruc_empresa", "field.required"),
            ("correo", "field.locked"),
            ("identificacion", "cedula.check_digit")
        ]
    );
    assert_eq!(body["campos"][0]["message"], "Este campo es obligatorio.");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_miss_a_pending_and_a_disabled_registration_look_the_same() {
    let app = TestApp::spawn().await;
    let mut answers = Vec::new();
    for (clasificacion, correo, identificacion) in [
        ("usuario_general", "nadie@example.com", "1710034065"),
        ("perito", "pedro.pendiente@example.com", "0102030400"),
        ("usuario_general", "diana.d@example.com", "2401010109"),
    ] {
        let answer = app
            .post_json(
                "/api/buscar_id",
                json!({"clasificacion": clasificacion, "correo": correo, "identificacion": identificacion})
                    .to_string(),
            )
            .await;
        answers.push((answer.status, answer.content_type().to_owned(), answer.body));
    }
    assert_eq!(answers[0].0, 404);
    assert!(answers.iter().all(|a| a == &answers[0]), "{answers:?}");
    let body: Value = serde_json::from_str(&answers[0].2).unwrap();
    assert_eq!(body, json!({"error": "sin_coincidencia"}));
}

/// A response with what legitimately differs between two identical requests taken out: the
/// `Date` header and the per-response CSP nonce. The status, every other header (name and
/// value, in order) and the body.
fn comparable(answer: Answer) -> String {
    let head: Vec<String> = answer
        .headers
        .iter()
        // The date and the request's ID differ on every answer, whatever it says.
        .filter(|(name, _)| *name != "date" && *name != "x-request-id")
        .map(|(name, value)| {
            let l = format!("{name}: {}", String::from_utf8_lossy(value.as_bytes()));
            match l.find("'nonce-") {
                Some(i) => {
                    let end = l[i + 1..].find('\'').map_or(l.len(), |e| i + 2 + e);
                    format!("{}'nonce-…'{}", &l[..i], &l[end..])
                }
                None => l,
            }
        })
        .collect();
    format!("{}\n{}\n\n{}", answer.status, head.join("\n"), answer.body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_answers_the_same_whether_or_not_an_email_is_queued() {
    let app = TestApp::spawn().await;
    let correo = "maria.perez@example.com";
    let requests = [
        ("mperez", "1710034065", "queued"),
        ("mperez", "1710034065", "already queued"),
        ("nadie", "1710034065", "no such ID"),
        ("mperez", "0926687856", "not their identification"),
        ("ppendiente", "0102030400", "pending registration"),
        ("ddeshabilitado", "2401010109", "disabled registration"),
    ];
    // Every answer must be the same; a second round rules out a passing fault.
    let mut rounds = 0;
    for attempt in 0.. {
        rounds += 1;
        let mut answers = Vec::new();
        for (usuario, identificacion, what) in requests {
            let body =
                json!({"usuario": usuario, "identificacion": identificacion, "correo": correo});
            let answer = app
                .post_json("/api/solicitar_reinicio", body.to_string())
                .await;
            answers.push((what, comparable(answer)));
        }
        if attempt < 2 && answers.iter().any(|(_, a)| a != &answers[0].1) {
            continue;
        }
        assert!(answers[0].1.starts_with("200\n"), "{}", answers[0].1);
        assert!(answers[0].1.contains(r#""correo":"m***@example.com""#));
        for (what, answer) in &answers {
            assert_eq!(answer, &answers[0].1, "{what}");
        }
        break;
    }
    // Messages went out only to the registered account, one for each request that queued one:
    // wait for the first (a busy machine may take a moment), then a little longer for any that
    // should not exist. Usually that is one; when the worker sent it before the "already
    // queued" request came, that request rightly queued a second.
    let sent = || std::fs::read_dir(app.mail_dir.path()).unwrap().count();
    let started = std::time::Instant::now();
    while sent() == 0 && started.elapsed() < std::time::Duration::from_secs(10) {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let outcome = |o: &'static str| {
        server::entities::audit_log::Entity::find()
            .filter(server::entities::audit_log::Column::Event.eq("solicitar_reinicio"))
            .filter(server::entities::audit_log::Column::Outcome.eq(o))
            .count(&app.conn)
    };
    let queued = outcome("encolado").await.unwrap();
    // Per round: the two requests of the registered account queue or find one queued; the four
    // others match nothing.
    assert!(queued >= 1);
    assert_eq!(queued + outcome("ya_en_cola").await.unwrap(), 2 * rounds);
    assert_eq!(outcome("sin_coincidencia").await.unwrap(), 4 * rounds);
    assert_eq!(sent() as u64, queued);
    for file in std::fs::read_dir(app.mail_dir.path()).unwrap() {
        let raw = std::fs::read(file.unwrap().path()).unwrap();
        assert!(String::from_utf8_lossy(&raw).contains("To: maria.perez@example.com"));
    }

    // Many more requests for the same identification are answered alike, known or unknown: a
    // reset is never refused per identity (someone holding only a cédula must not be able to
    // use up its owner's resets), only silently capped per account.
    let repeated = |usuario: &'static str, identificacion: &'static str, correo: &'static str| {
        let body = json!({"usuario": usuario, "identificacion": identificacion, "correo": correo});
        let http = app.http.clone();
        async move {
            let mut answers = Vec::new();
            for _ in 0..6 {
                answers.push(comparable(
                    http.post_json("/api/solicitar_reinicio", body.to_string())
                        .await,
                ));
            }
            answers
        }
    };
    let (known, unknown) = tokio::join!(
        repeated("lmora.aux", "0601234560", "luis.mora@example.com"),
        repeated("nadie", "0601234560", "luis.mora@example.com")
    );
    for answer in known.iter().chain(&unknown) {
        assert!(answer.starts_with("200\n"), "{answer}");
        assert!(!answer.contains("retry-after"), "{answer}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_answers_at_once_and_the_email_follows() {
    let app = TestApp::spawn().await;
    let (status, body) = call(
        &app,
        "/api/solicitar_reinicio",
        json!({"usuario": "mperez", "identificacion": "1710034065", "correo": "Maria.Perez@example.com"}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["correo"], "m***@example.com");
    assert_eq!(body["vigencia_minutos"], 60);
    // No expiry time: it counts from the sending, which the answer cannot know (the e-mail says it).
    assert!(body.get("vence").is_none(), "{body}");
    // The worker, woken by the request, writes the message to the outbox folder.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        if std::fs::read_dir(app.mail_dir.path()).unwrap().count() == 1 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no e-mail written");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreadable_requests_are_4xx_never_5xx() {
    let app = TestApp::spawn().await;
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        (JSON, b"{not json".to_vec(), 400),
        (JSON, b"".to_vec(), 400),
        (JSON, b"[1,2,3]".to_vec(), 400),
        (JSON, br#"{"identificacion": 7}"#.to_vec(), 400),
        (
            "text/plain",
            br#"{"clasificacion":"auditor"}"#.to_vec(),
            415,
        ),
        (
            "application/x-www-form-urlencoded",
            b"clasificacion=auditor".to_vec(),
            415,
        ),
        (
            JSON,
            format!(r#"{{"clasificacion": "{}"}}"#, "a".repeat(1 << 20)).into_bytes(),
            413,
        ),
    ];
    for path in ["/api/buscar_id", "/api/solicitar_reinicio"] {
        for (content_type, body, expected) in &cases {
            let answer = app.post_as(path, content_type, body.clone()).await;
            assert_eq!(
                answer.status,
                *expected,
                "{path} {content_type} {} bytes: {}",
                body.len(),
                answer.body
            );
        }
    }
    // A JSON body with unknown fields and missing ones is read as empty fields: field errors.
    let (status, body) = call(&app, "/api/buscar_id", json!({"otro": 1})).await;
    assert_eq!(status, 422);
    assert_eq!(body["campos"][0]["code"], "field.required");
    // And the server is still fine.
    let health = app.page("/healthz").await;
    assert_eq!((health.status, health.body.as_str()), (200, "ok"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sixth_lookup_in_an_hour_is_429_with_retry_after() {
    let app = TestApp::spawn().await;
    let body = json!({"clasificacion": "usuario_general", "correo": "nadie@example.com", "identificacion": "AB99999"});
    for _ in 0..5 {
        let (status, _) = call(&app, "/api/buscar_id", body.clone()).await;
        assert_eq!(status, 404);
    }
    let answer = app.post_json("/api/buscar_id", body.to_string()).await;
    assert_eq!(answer.status, 429, "{}", answer.body);
    let retry: u64 = answer
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .unwrap();
    assert!((3500..=3600).contains(&retry), "{retry}");
    let body: Value = serde_json::from_str(&answer.body).unwrap();
    assert_eq!(body["error"], "limite");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_address_has_a_burst_then_429() {
    let app = TestApp::spawn_with(&[
        ("REINICIO_LIMITE_IP_POR_MINUTO", "1"),
        ("REINICIO_LIMITE_IP_RAFAGA", "3"),
    ])
    .await;
    let request = |i: u32| json!({"clasificacion": "usuario_general", "correo": "x@example.com", "identificacion": format!("PAS{i:05}")});
    // Another method is a plain 405 and takes nothing from the quota (a crawler or a monitor
    // fetching the API must not use up a person's requests).
    for _ in 0..5 {
        let answer = app.page("/api/buscar_id").await;
        assert_eq!(answer.status, 405, "{answer:?}");
    }
    for i in 0..3 {
        let (status, _) = call(&app, "/api/buscar_id", request(i)).await;
        assert_eq!(status, 404, "request {i} is within the burst");
    }
    let answer = app
        .post_json("/api/buscar_id", request(9).to_string())
        .await;
    assert_eq!(answer.status, 429, "{}", answer.body);
    assert!(answer.header("retry-after").is_some(), "{answer:?}");
    assert_eq!(
        serde_json::from_str::<Value>(&answer.body).unwrap()["error"],
        "limite_direccion"
    );
    // The reset endpoint and the form post share the address's quota.
    let answer = app.post_json("/api/solicitar_reinicio", "{}").await;
    assert_eq!(answer.status, 429);
    let answer = app.post_form("/", "accion=buscar").await;
    assert_eq!(answer.status, 429);
    let text = answer.body;
    // The form's answer is the page, with the address's message (not the identity's) in the
    // section that was sent and the values kept.
    assert!(text.contains("<!DOCTYPE html>"), "{text}");
    assert!(
        text.contains("demasiadas solicitudes desde su conexión"),
        "{text}"
    );
    assert!(!text.contains("con esta identificación"), "{text}");
    let answer = app
        .post_form(
            "/",
            "accion=confirmar&usuario=mperez&identificacion=1710034065&correo=maria.perez%40example.com",
        )
        .await;
    assert_eq!(answer.status, 429);
    assert!(answer.header("retry-after").is_some(), "{answer:?}");
    assert!(
        answer.body.contains("desde su conexión")
            && answer.body.contains("maria.perez@example.com")
    );
    // Pages and health checks are not limited.
    assert_eq!(app.page("/healthz").await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn x_forwarded_for_counts_only_behind_a_trusted_proxy() {
    async fn three_from_two_clients(app: &TestApp) -> Vec<u16> {
        let mut statuses = Vec::new();
        for (i, client) in ["203.0.113.7", "203.0.113.7", "198.51.100.9"]
            .iter()
            .enumerate()
        {
            let body = json!({"clasificacion": "auditor", "correo": "x@example.com", "identificacion": format!("XFF{i:05}")});
            let answer = app
                .post("/api/buscar_id")
                .header("content-type", JSON)
                .header("x-forwarded-for", format!("10.0.0.1, {client}"))
                .body(body.to_string())
                .answer()
                .await;
            statuses.push(answer.status);
        }
        statuses
    }
    let limits = [
        ("REINICIO_LIMITE_IP_POR_MINUTO", "1"),
        ("REINICIO_LIMITE_IP_RAFAGA", "1"),
    ];
    // Untrusted: the header is ignored, all three come from 127.0.0.1.
    let app = TestApp::spawn_with(&limits).await;
    assert_eq!(three_from_two_clients(&app).await, [404, 429, 429]);
    // Trusted: the proxy's last hop tells the clients apart.
    let mut trusted = limits.to_vec();
    trusted.push(("REINICIO_PROXY_CONFIABLE", "true"));
    let app = TestApp::spawn_with(&trusted).await;
    assert_eq!(three_from_two_clients(&app).await, [404, 429, 404]);
}

/// 200 requests alternating between a registered and an unknown identity: the two must not be
/// told apart by time. Prints the figures (run with --nocapture to see them).
/// `known` and `unknown` are (JSON body, expected status).
async fn alternate_and_time(app: &TestApp, path: &str, known: (&str, u16), unknown: (&str, u16)) {
    // Warm up connections, caches and the database file.
    for _ in 0..10 {
        app.post_json(path, known.0.to_owned()).await;
        app.post_json(path, unknown.0.to_owned()).await;
    }
    let (mut t_known, mut t_unknown) = (Vec::new(), Vec::new());
    for _ in 0..100 {
        for ((body, expected), times) in [(known, &mut t_known), (unknown, &mut t_unknown)] {
            let start = std::time::Instant::now();
            let status = app.post_json(path, body.to_owned()).await.status;
            times.push(start.elapsed().as_secs_f64() * 1000.0);
            assert_eq!(status, expected, "{path} {body}");
        }
    }
    let pct = |v: &mut Vec<f64>, p: f64| {
        v.sort_by(f64::total_cmp);
        v[((v.len() - 1) as f64 * p) as usize]
    };
    let (m_known, m_unknown) = (pct(&mut t_known, 0.5), pct(&mut t_unknown, 0.5));
    let (lo_known, hi_known) = (pct(&mut t_known, 0.1), pct(&mut t_known, 0.9));
    let (lo_unknown, hi_unknown) = (pct(&mut t_unknown, 0.1), pct(&mut t_unknown, 0.9));
    eprintln!(
        "{path}: registered median {m_known:.3} ms (p10 {lo_known:.3}, p90 {hi_known:.3}); unknown median {m_unknown:.3} ms (p10 {lo_unknown:.3}, p90 {hi_unknown:.3}); difference {:.3} ms",
        (m_known - m_unknown).abs()
    );
    assert!(
        (m_known - m_unknown).abs() < 2.0,
        "{path}: medians {m_known:.3} vs {m_unknown:.3} ms"
    );
    assert!(
        lo_known <= hi_unknown && lo_unknown <= hi_known,
        "{path}: the middle 80% of the two distributions must overlap"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hit_and_a_miss_take_the_same_time() {
    let app = TestApp::spawn_with(&[("REINICIO_LIMITE_BUSQUEDAS_POR_HORA", "100000")]).await;
    let hit = json!({"clasificacion": "usuario_general", "correo": "maria.perez@example.com", "identificacion": "1710034065"});
    let miss = json!({"clasificacion": "usuario_general", "correo": "nadie@example.com", "identificacion": "0926687856"});
    alternate_and_time(
        &app,
        "/api/buscar_id",
        (&hit.to_string(), 200),
        (&miss.to_string(), 404),
    )
    .await;
}

/// The same for resets: a request that queues an e-mail (and wakes the worker, which hashes the
/// new password) and one that queues nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_that_queues_and_one_that_does_not_take_the_same_time() {
    let app = TestApp::spawn_with(&[("REINICIO_LIMITE_REINICIOS_POR_HORA", "100000")]).await;
    let hit = json!({"usuario": "mperez", "identificacion": "1710034065", "correo": "maria.perez@example.com"});
    let miss = json!({"usuario": "nadie", "identificacion": "0926687856", "correo": "maria.perez@example.com"});
    alternate_and_time(
        &app,
        "/api/solicitar_reinicio",
        (&hit.to_string(), 200),
        (&miss.to_string(), 200),
    )
    .await;
    assert!(std::fs::read_dir(app.mail_dir.path()).unwrap().count() > 1);
}

/// Behind a trusted proxy the client is the last entry of X-Forwarded-For in every form a proxy
/// writes (`IP:port`, `[v6]`, `[v6]:port`); an attacker who rotates the earlier entries, which
/// they write themselves, stays one client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_forwarded_entry_counts_with_a_port_or_brackets() {
    let app = TestApp::spawn_with(&[
        ("REINICIO_LIMITE_IP_POR_MINUTO", "1"),
        ("REINICIO_LIMITE_IP_RAFAGA", "1"),
        ("REINICIO_PROXY_CONFIABLE", "true"),
    ])
    .await;
    for (n, ultima) in ["203.0.113.7:4711", "[2001:db8::7]", "[2001:db8::8]:443"]
        .into_iter()
        .enumerate()
    {
        let mut statuses = Vec::new();
        for i in 0..3 {
            let body = json!({"clasificacion": "auditor", "correo": "x@example.com", "identificacion": format!("XFF{n}{i:04}")}).to_string();
            let answer = app
                .post("/api/buscar_id")
                .header("content-type", JSON)
                .header("x-forwarded-for", format!("10.9.{n}.{i}, {ultima}"))
                .body(body)
                .answer()
                .await;
            statuses.push(answer.status);
        }
        assert_eq!(statuses, [404, 429, 429], "{ultima}");
    }
}

/// A request whose body never arrives ends in 408, and that answer carries the same security
/// headers as every other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timed_out_request_gets_408_with_the_security_headers() {
    let app = TestApp::spawn_with(&[("REINICIO_REQUEST_TIMEOUT_SECONDS", "1")]).await;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // Raw TCP: an HTTP client sends the body it is given; this one must never arrive.
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    stream
        .write_all(b"POST /api/buscar_id HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"clasif")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_to_end(&mut answer),
    )
    .await;
    assert!(read.is_ok(), "the server must answer, not wait for ever");
    let answer = String::from_utf8_lossy(&answer).to_ascii_lowercase();
    assert!(answer.starts_with("http/1.1 408"), "{answer}");
    for header in [
        "x-content-type-options: nosniff",
        "x-frame-options: deny",
        "referrer-policy: no-referrer",
        "content-security-policy: default-src 'self'; script-src 'none'",
    ] {
        assert!(answer.contains(header), "{header} in {answer}");
    }
}

/// A body over 16 KiB is refused with 413 whether it says its size or comes in chunks. Raw TCP:
/// the chunks are made by hand, and the server answers before it has read the body.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunked_body_over_the_limit_gets_413_like_a_sized_one() {
    let app = TestApp::spawn().await;
    let grande = "a".repeat(20 * 1024);
    for (path, content_type) in [
        ("/api/buscar_id", JSON),
        ("/", "application/x-www-form-urlencoded"),
        ("/ingreso", "application/x-www-form-urlencoded"),
    ] {
        let mut chunked = format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {content_type}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        );
        for trozo in grande.as_bytes().chunks(4096) {
            chunked.push_str(&format!(
                "{:x}\r\n{}\r\n",
                trozo.len(),
                String::from_utf8_lossy(trozo)
            ));
        }
        chunked.push_str("0\r\n\r\n");
        let answer = helpers::raw_exchange(app.addr, chunked.as_bytes()).await;
        assert!(
            answer.starts_with("HTTP/1.1 413"),
            "{path} chunked: {answer}"
        );
        let sized = format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{grande}",
            grande.len()
        );
        let answer = helpers::raw_exchange(app.addr, sized.as_bytes()).await;
        assert!(answer.starts_with("HTTP/1.1 413"), "{path} sized: {answer}");
    }
    // A small chunked body is read as usual.
    let body =
        r#"{"clasificacion":"auditor","correo":"x@example.com","identificacion":"CHUNK001"}"#;
    let raw = format!(
        "POST /api/buscar_id HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n{body}\r\n0\r\n\r\n",
        body.len()
    );
    let answer = helpers::raw_exchange(app.addr, raw.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
}
