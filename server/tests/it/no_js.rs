//! The page without JavaScript: forms posted to `/` come back as the page with the outcome; the
//! sign-in and account pages, and the headers every response carries.

use reqwest::header::HeaderMap;

use crate::helpers::{Exchange, FORM, TestApp};

async fn submit(app: &TestApp, body: &str) -> (u16, String) {
    let answer = app.post_form("/", body.to_owned()).await;
    (answer.status, answer.body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buscar_id_shows_the_id_and_prefills_the_reset_form() {
    let app = TestApp::spawn().await;
    let (status, html) = submit(
        &app,
        "accion=buscar&clasificacion=usuario_general&correo=maria.perez%40example.com&identificacion=1710034065",
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        html.replace("<!>", "")
            .contains(r#"<strong data-testid="id-usuario">MPerez</strong>"#),
        "{html}"
    );
    assert!(
        html.contains(r#"name="usuario" type="text""#) && html.contains(r#"value="MPerez""#),
        "{html}"
    );
    // Usuario general gives its e-mail in section 1: section 2 gets it too, still editable.
    let seccion_2 = html.split(r#"id="r-correo""#).nth(1).unwrap_or_default();
    let campo = seccion_2.split('>').next().unwrap_or_default();
    assert!(
        campo.contains(r#"value="maria.perez@example.com""#),
        "{campo}"
    );
    assert!(
        !campo.contains("disabled") && !campo.contains("readonly"),
        "{campo}"
    );
    // Without scripts the answer page carries no WASM.
    assert!(!html.contains("reinicio-clave.js"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn field_errors_come_back_with_the_values_kept() {
    let app = TestApp::spawn().await;
    let (status, html) = submit(
        &app,
        "accion=buscar&clasificacion=auditor&ruc_empresa=0993370026001&identificacion=1710034066",
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        html.contains("Este campo no corresponde a la clasificación elegida y debe quedar vacío."),
        "{html}"
    );
    assert!(html.contains("El número de cédula no es válido"), "{html}");
    assert!(html.contains(r#"value="1710034066""#), "the value is kept");
    assert!(
        html.contains(r##"href="#b-identificacion""##),
        "the error summary links to the field"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_miss_shows_the_uniform_message() {
    let app = TestApp::spawn().await;
    let (_, html) = submit(&app, "accion=buscar&clasificacion=perito&correo=pedro.pendiente%40example.com&identificacion=0102030400").await;
    assert!(
        html.contains("Los datos ingresados no coinciden con un registro aprobado."),
        "{html}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reset_asks_first_and_sends_only_on_yes() {
    let app = TestApp::spawn().await;
    let datos = "usuario=MPerez&identificacion=1710034065&correo=maria.perez%40example.com";
    let (_, html) = submit(&app, &format!("accion=reiniciar&{datos}")).await;
    assert!(
        html.contains(
            "¿Desea buscar su contraseña? Le enviaremos una clave temporal a su correo electrónico."
        ),
        "{html}"
    );
    assert!(html.contains(r#"value="confirmar""#));
    // "No" is a button of the same form: back to the form with every value kept, nothing sent.
    assert!(html.contains(r#"value="volver""#), "{html}");
    let (status, html) = submit(&app, &format!("accion=volver&{datos}")).await;
    assert_eq!(status, 200);
    for valor in ["MPerez", "1710034065", "maria.perez@example.com"] {
        assert!(
            html.contains(&format!(r#"value="{valor}""#)),
            "{valor}: {html}"
        );
    }
    assert!(
        !html.contains(r#"value="confirmar""#),
        "the question is gone"
    );
    // Nothing was queued by the question.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(std::fs::read_dir(app.mail_dir.path()).unwrap().count(), 0);

    let (_, html) = submit(&app, &format!("accion=confirmar&{datos}")).await;
    assert!(html.contains("le enviamos una clave temporal a"), "{html}");
    assert!(html.contains("m***@example.com"));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::fs::read_dir(app.mail_dir.path()).unwrap().count() == 0 {
        assert!(std::time::Instant::now() < deadline, "no e-mail");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_action_goes_back_to_the_page() {
    let app = TestApp::spawn().await;
    assert_eq!(app.post_form("/", "accion=otra").await.status, 303);
}

fn set_cookie(head: &HeaderMap) -> Option<String> {
    header(head, "set-cookie").map(str::to_owned)
}

/// A request with the session cookie, if any; returns (status, headers, body).
async fn request(
    app: &TestApp,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    body: &str,
) -> (u16, HeaderMap, String) {
    match cookie {
        Some(cookie) => request_with(app, method, path, &[("cookie", cookie)], body).await,
        None => request_with(app, method, path, &[], body).await,
    }
}

/// A form request (any method) with extra headers; returns (status, headers, body).
async fn request_with(
    app: &TestApp,
    method: &str,
    path: &str,
    extra: &[(&str, &str)],
    body: &str,
) -> (u16, HeaderMap, String) {
    let mut request = match method {
        "GET" => app.get(path),
        "POST" => app.post(path),
        other => panic!("{other}"),
    }
    .header("content-type", FORM)
    .body(body.to_owned());
    for (name, value) in extra {
        request = request.header(*name, *value);
    }
    let answer = request.answer().await;
    (answer.status, answer.headers, answer.body)
}

fn location(head: &HeaderMap) -> Option<&str> {
    header(head, "location")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_sets_an_http_only_session_cookie_and_sign_out_clears_it() {
    let app = TestApp::spawn().await;
    // Pages behind a session send strangers to "Ingreso".
    for path in ["/cambio-clave", "/clave-actualizada", "/cuenta"] {
        let (status, head, _) = request(&app, "GET", path, None, "").await;
        assert_eq!((status, location(&head)), (303, Some("/ingreso")), "{path}");
        // The guard is the page's: a method the path does not take is a plain 405, with no
        // session lookup and no redirect.
        if path != "/cambio-clave" {
            let (status, _, _) = request(&app, "POST", path, None, "").await;
            assert_eq!(status, 405, "POST {path}");
        }
    }
    let (status, _, body) =
        request(&app, "POST", "/ingreso", None, "usuario=mperez&clave=otra").await;
    assert_eq!(status, 200);
    assert!(
        body.contains("El ID usuario o la clave no son correctos."),
        "{body}"
    );
    assert!(body.contains(r#"value="mperez""#), "the ID is kept");

    let clave = server::seed::CLAVE_DEMO
        .replace(' ', "+")
        .replace('ó', "%C3%B3");
    let (status, head, _) = request(
        &app,
        "POST",
        "/ingreso",
        None,
        &format!("usuario=MPerez&clave={clave}"),
    )
    .await;
    assert_eq!(
        (status, location(&head)),
        (303, Some("/cuenta")),
        "{head:?}"
    );
    let cookie = set_cookie(&head).unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/"),
        "{cookie}"
    );
    assert!(!cookie.contains("Secure"), "plain http in tests");
    let par = cookie.split(';').next().unwrap().to_owned();

    let (status, _, body) = request(&app, "GET", "/cuenta", Some(&par), "").await;
    assert_eq!(status, 200);
    assert!(body.contains("Sesión iniciada"));
    // Not forced to change: the change page sends them on.
    let (status, head, _) = request(&app, "GET", "/cambio-clave", Some(&par), "").await;
    assert_eq!((status, location(&head)), (303, Some("/cuenta")));

    let (status, head, _) = request(&app, "POST", "/salir", Some(&par), "").await;
    assert_eq!((status, location(&head)), (303, Some("/ingreso")));
    assert!(set_cookie(&head).unwrap().contains("Max-Age=0"));
    let (status, head, _) = request(&app, "GET", "/cuenta", Some(&par), "").await;
    assert_eq!(
        (status, location(&head)),
        (303, Some("/ingreso")),
        "the session is over"
    );
}

fn header<'a>(head: &'a HeaderMap, name: &str) -> Option<&'a str> {
    head.get(name).and_then(|v| v.to_str().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_carry_a_nonce_csp_and_every_response_the_hardening_headers() {
    let app = TestApp::spawn().await;
    let (status, head, body) = request_with(&app, "GET", "/", &[], "").await;
    assert_eq!(status, 200);
    let csp = header(&head, "content-security-policy").expect("CSP");
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|r| r.split('\'').next())
        .expect("a nonce");
    assert!(
        csp.contains("'wasm-unsafe-eval'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    // The hydration script carries the same nonce; no other inline script runs.
    assert!(body.contains(&format!(r#"nonce="{nonce}""#)), "{body}");
    for (name, value) in [
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("x-frame-options", "DENY"),
    ] {
        assert_eq!(header(&head, name), Some(value), "{name}");
    }
    assert_eq!(
        header(&head, "strict-transport-security"),
        None,
        "plain http: no HSTS"
    );
    // A second page load gets a fresh nonce.
    let (_, head2, _) = request_with(&app, "GET", "/", &[], "").await;
    assert_ne!(header(&head2, "content-security-policy"), Some(csp));

    let (_, head, _) = request_with(&app, "GET", "/healthz", &[], "").await;
    assert!(
        header(&head, "content-security-policy")
            .unwrap()
            .contains("script-src 'none'")
    );
    assert_eq!(header(&head, "x-content-type-options"), Some("nosniff"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_an_https_address_every_response_carries_hsts_and_cookies_are_secure() {
    let app = TestApp::spawn_with(&[(
        "REINICIO_PUBLIC_BASE_URL",
        "https://reinicio.aduana.example",
    )])
    .await;
    for path in [
        "/",
        "/healthz",
        "/ingreso",
        "/no-existe",
        "/pkg/no-existe.js",
    ] {
        let (_, head, _) = request_with(&app, "GET", path, &[], "").await;
        assert_eq!(
            header(&head, "strict-transport-security"),
            Some("max-age=31536000; includeSubDomains"),
            "{path}: {head:?}"
        );
    }
    let (status, head, _) = request_with(
        &app,
        "POST",
        "/ingreso",
        &[],
        "usuario=lmora.aux&clave=clave%20de%20demostraci%C3%B3n",
    )
    .await;
    assert_eq!(status, 303);
    let cookie = header(&head, "set-cookie").expect("session cookie");
    assert!(
        cookie.contains("; Secure") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_go_out_compressed_and_are_never_stored() {
    let app = TestApp::spawn().await;
    for encoding in ["br", "gzip"] {
        let (status, head, _) =
            request_with(&app, "GET", "/", &[("accept-encoding", encoding)], "").await;
        assert_eq!(status, 200);
        assert_eq!(
            header(&head, "content-encoding"),
            Some(encoding),
            "{head:?}"
        );
        assert_eq!(header(&head, "cache-control"), Some("no-store"), "{head:?}");
    }
    let (_, head, body) = request_with(&app, "GET", "/", &[], "").await;
    assert_eq!(header(&head, "content-encoding"), None, "{head:?}");
    assert!(body.contains("</html>"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posts_from_another_site_are_refused() {
    let app = TestApp::spawn().await;
    let form = "accion=buscar&clasificacion=auditor&correo=ana.auditora%40example.com&identificacion=AB123456";
    let origin = format!("http://{}", app.addr);
    for (extra, expected) in [
        (&[("sec-fetch-site", "cross-site")][..], 403),
        (&[("sec-fetch-site", "same-site")], 403),
        (&[("origin", "http://malicioso.example")], 403),
        (&[("sec-fetch-site", "same-origin")], 200),
        (&[("origin", origin.as_str())], 200),
        (&[], 200), // curl and other non-browser clients
    ] {
        let (status, _, body) = request_with(&app, "POST", "/", extra, form).await;
        assert_eq!(status, expected, "{extra:?}");
        if expected == 403 {
            assert!(body.contains("debe enviarse desde la página del servicio"));
        }
    }
    let (status, _, _) = request_with(
        &app,
        "POST",
        "/salir",
        &[("sec-fetch-site", "cross-site")],
        "",
    )
    .await;
    assert_eq!(
        status, 403,
        "sign-out too: no logging people out from other sites"
    );
}

/// Signs in with the demo password; returns the session cookie (`sesion=…`).
async fn sign_in_demo(app: &TestApp, usuario: &str) -> String {
    let (status, head, body) = request(
        app,
        "POST",
        "/ingreso",
        None,
        &format!("usuario={usuario}&clave=clave+de+demostraci%C3%B3n"),
    )
    .await;
    assert_eq!((status, location(&head)), (303, Some("/cuenta")), "{body}");
    set_cookie(&head)
        .and_then(|c| c.split(';').next().map(str::to_owned))
        .expect("a session cookie")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_normal_session_changes_the_password_only_with_the_current_one() {
    let app = TestApp::spawn().await;
    let cookie = sign_in_demo(&app, "aauditor").await;
    // The page offers the voluntary change, asking for the current password.
    let (status, _, page) = request(&app, "GET", "/cuenta", Some(&cookie), "").await;
    assert_eq!(status, 200);
    assert!(page.contains(r#"name="clave_actual""#), "{page}");
    // Without it, or with a wrong one: refused, nothing changes.
    for actual in ["", "&clave_actual=no+es+esta"] {
        let (status, head, page) = request(
            &app,
            "POST",
            "/cambio-clave",
            Some(&cookie),
            &format!("clave=clave+del+intruso+1&confirmacion=clave+del+intruso+1{actual}"),
        )
        .await;
        assert_eq!((status, location(&head)), (200, None), "{actual}");
        assert!(page.contains("La clave actual no es correcta"), "{page}");
    }
    let (status, head, _) = request(
        &app,
        "POST",
        "/ingreso",
        None,
        "usuario=aauditor&clave=clave+del+intruso+1",
    )
    .await;
    assert_eq!(
        (status, location(&head)),
        (200, None),
        "the intruder's password is refused"
    );
    // The server's verdict on the new password shows at its field, with the reason: the cheap
    // rules and the strength estimate alike (this page works without any script).
    for (nueva, razon) in [
        ("qwertyuiop12", "secuencia"),
        ("ana.auditora 77", "ID usuario"),
        ("1er viaje AB123456", "identificación"),
        ("Password2024!", "fácil de adivinar"),
    ] {
        let nueva_form = nueva.replace(' ', "+").replace('!', "%21");
        let (status, _, page) = request(
            &app,
            "POST",
            "/cambio-clave",
            Some(&cookie),
            &format!("clave_actual=clave+de+demostraci%C3%B3n&clave={nueva_form}&confirmacion={nueva_form}"),
        )
        .await;
        assert_eq!(status, 200, "{nueva}");
        let campo = page
            .split(r#"id="v-clave-error""#)
            .nth(1)
            .unwrap_or_default();
        assert!(campo.contains(razon), "{nueva}: {page}");
    }
    // With the current password: changed.
    let (status, head, _) = request(
        &app,
        "POST",
        "/cambio-clave",
        Some(&cookie),
        "clave_actual=clave+de+demostraci%C3%B3n&clave=una+clave+nueva+propia&confirmacion=una+clave+nueva+propia",
    )
    .await;
    assert_eq!((status, location(&head)), (303, Some("/clave-actualizada")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_paths_with_a_trailing_slash_are_not_found() {
    let app = TestApp::spawn().await;
    for path in ["/cuenta/", "/clave-actualizada/", "/cambio-clave/"] {
        let (status, _, page) = request(&app, "GET", path, None, "").await;
        assert_eq!(status, 404, "{path}");
        assert!(page.contains("Página no encontrada"), "{path}: {page}");
        assert!(
            !page.contains("Sesión iniciada") && !page.contains("Clave actualizada"),
            "{path}"
        );
    }
}

/// One address may try only so many sign-ins a minute; another address is not affected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_has_a_per_address_limit_with_a_spanish_page() {
    let app = TestApp::spawn_with(&[
        ("REINICIO_SIGN_IN_LIMIT_PER_MINUTE", "1"),
        ("REINICIO_SIGN_IN_LIMIT_BURST", "3"),
        ("REINICIO_PROXY_CONFIABLE", "true"),
    ])
    .await;
    let desde = |ip| [("x-forwarded-for", ip)];
    let intento = "usuario=mperez&clave=una+clave+equivocada";
    for i in 0..3 {
        let (status, _, _) =
            request_with(&app, "POST", "/ingreso", &desde("203.0.113.7"), intento).await;
        assert_eq!(status, 200, "attempt {i} is within the burst");
    }
    let (status, head, page) =
        request_with(&app, "POST", "/ingreso", &desde("203.0.113.7"), intento).await;
    assert_eq!(status, 429, "{page}");
    assert!(header(&head, "retry-after").is_some(), "{head:?}");
    assert!(
        page.contains("demasiados intentos de ingreso desde su conexión"),
        "{page}"
    );
    // Someone else, from another address, signs in as usual.
    let (status, head, _) = request_with(
        &app,
        "POST",
        "/ingreso",
        &desde("198.51.100.9"),
        "usuario=aauditor&clave=clave+de+demostraci%C3%B3n",
    )
    .await;
    assert_eq!((status, location(&head)), (303, Some("/cuenta")));
}

/// A flood of sign-ins larger than the Argon2 queue is refused at once with 503, a Spanish page
/// and Retry-After, instead of waiting in line; afterwards a real sign-in works at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_full_argon2_queue_refuses_fast_and_recovers() {
    let app = std::sync::Arc::new(
        TestApp::spawn_with(&[
            ("REINICIO_ARGON2_PARALELO", "1"),
            ("REINICIO_ARGON2_QUEUE", "2"),
            ("REINICIO_SIGN_IN_LIMIT_PER_MINUTE", "100000"),
            ("REINICIO_SIGN_IN_LIMIT_BURST", "100000"),
        ])
        .await,
    );
    let started = std::time::Instant::now();
    let mut tasks = Vec::new();
    for i in 0..40 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            request(
                &app,
                "POST",
                "/ingreso",
                None,
                &format!("usuario=nadie{i}&clave=una+clave+equivocada"),
            )
            .await
        }));
    }
    let mut busy = 0;
    for t in tasks {
        let (status, head, page) = t.await.unwrap();
        match status {
            200 => assert!(page.contains("no son correctos"), "{page}"),
            503 => {
                busy += 1;
                assert_eq!(header(&head, "retry-after"), Some("5"), "{head:?}");
                assert!(page.contains("Intente de nuevo en unos segundos"), "{page}");
            }
            other => panic!("{other}: {page}"),
        }
    }
    assert!(busy > 0, "40 at once over a queue of 2 must refuse some");
    // Refusing is quick: 40 attempts answered in far less than 40 hashes' time in line would be
    // with no bound (each is tens of milliseconds; a 30 s request timeout was reached before).
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    let cookie = sign_in_demo(&app, "aauditor").await;
    assert!(cookie.starts_with("sesion="));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sign_in_page_offers_reiniciar_clave() {
    let app = TestApp::spawn().await;
    let (_, _, page) = request(&app, "GET", "/ingreso", None, "").await;
    let page = page.replace("<!>", "");
    assert!(
        page.contains(r#"<a href="/">Reiniciar clave</a>"#),
        "{page}"
    );
    assert!(page.contains("le enviaremos una clave temporal"), "{page}");
}
