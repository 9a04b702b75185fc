//! Malformed input to every endpoint: random bytes, huge fields, wrong types, invalid UTF-8,
//! missing and duplicated fields, under every content type. Whatever arrives, the answer is a
//! 2xx, 3xx or 4xx, never a 5xx, and nothing panics. The number of cases tried is printed
//! (`cargo test -p server --test it malformed -- --nocapture`). The cases go over raw TCP: an
//! HTTP client would refuse to send many of them.

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
};

use crate::helpers::{self, TestApp};

/// The name of this test's runtime threads: the panic hook is process-wide, and counts only the
/// panics on them (another test's failing assertion must not fail this one).
const THREADS: &str = "malformed-runtime";

/// A deterministic generator (xorshift64*), so that a failure can be replayed.
struct Bytes(u64);

impl Bytes {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn fill(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

struct Case {
    method: &'static str,
    path: String,
    headers: String,
    body: Vec<u8>,
}

/// Sends one raw request; returns the status, or None if the server closed without answering.
async fn send(addr: SocketAddr, case: &Case) -> Option<u16> {
    let mut raw = format!(
        "{} {} HTTP/1.1\r\nHost: {addr}\r\n{}Content-Length: {}\r\nConnection: close\r\n\r\n",
        case.method,
        case.path,
        case.headers,
        case.body.len()
    )
    .into_bytes();
    raw.extend_from_slice(&case.body);
    helpers::raw_status(&helpers::raw_exchange(addr, &raw).await)
}

const JSON_FIELDS: [&[&str]; 2] = [
    &["clasificacion", "ruc_empresa", "correo", "identificacion"],
    &["usuario", "identificacion", "correo"],
];

const FORM_FIELDS: [(&str, &[&str]); 4] = [
    (
        "/",
        &[
            "accion",
            "clasificacion",
            "ruc_empresa",
            "correo",
            "identificacion",
            "usuario",
        ],
    ),
    ("/ingreso", &["usuario", "clave"]),
    ("/cambio-clave", &["clave", "confirmacion", "clave_actual"]),
    ("/salir", &[]),
];

/// Values of every wrong kind for a JSON field.
fn json_values() -> Vec<Vec<u8>> {
    let mut values: Vec<Vec<u8>> = [
        "null",
        "true",
        "0",
        "-1",
        "1e999",
        "123456789012345678901234567890",
        "[]",
        "{}",
        "[\"1710034065\"]",
        "{\"a\":1}",
        "\"\"",
        "\" \"",
        "\"\\u0000\"",
        "\"\\ud800\"",
        "\"\\udfff\\ud800\"",
        "\"1710034065\\u0000\"",
        "\"１７１００３４０６５\"",
        "\"<script>alert(1)</script>\"",
        "\"' OR 1=1 --\"",
        "\"%00%ff\"",
        "\"maria.perez@example.com\"",
        "\"usuario_general\"",
        "\"0993370026001\"",
        "\"\\\"\"",
    ]
    .iter()
    .map(|v| v.as_bytes().to_vec())
    .collect();
    values.push(b"\"\xff\xfe\x80\"".to_vec()); // invalid UTF-8 inside a string
    values.push(b"\"\xc3\x28\"".to_vec());
    values.push(format!("\"{}\"", "9".repeat(15_000)).into_bytes()); // under the body cap
    values.push(format!("\"{}\"", "a".repeat(100_000)).into_bytes()); // over it
    values.push(format!("{}1{}", "[".repeat(5_000), "]".repeat(5_000)).into_bytes());
    values
}

fn cases(cookie: &str) -> Vec<Case> {
    let mut out = Vec::new();
    let mut rng = Bytes(0x5EED_1234_ABCD_0001);
    let content_types = [
        "Content-Type: application/json\r\n",
        "Content-Type: application/x-www-form-urlencoded\r\n",
        "Content-Type: text/plain\r\n",
        "Content-Type: multipart/form-data; boundary=x\r\n",
        "Content-Type: application/json; charset=latin1\r\n",
        "",
    ];
    let post_paths = [
        "/api/buscar_id",
        "/api/solicitar_reinicio",
        "/",
        "/ingreso",
        "/cambio-clave",
        "/salir",
    ];
    let with_cookie = |path: &str| {
        if path == "/cambio-clave" || path == "/salir" {
            format!("Cookie: sesion={cookie}\r\n")
        } else {
            String::new()
        }
    };

    // Random bytes of many sizes, under every content type, to every endpoint.
    for path in post_paths {
        for content_type in content_types {
            for len in [0, 1, 2, 7, 64, 512, 4_096, 16_000, 16_384, 16_385, 40_000] {
                for _ in 0..3 {
                    out.push(Case {
                        method: "POST",
                        path: path.to_owned(),
                        headers: format!("{content_type}{}", with_cookie(path)),
                        body: rng.fill(len),
                    });
                }
            }
        }
    }

    // JSON: each field with each wrong value, the others valid; each field missing; duplicates.
    for (path, fields) in ["/api/buscar_id", "/api/solicitar_reinicio"]
        .into_iter()
        .zip(JSON_FIELDS)
    {
        let headers = "Content-Type: application/json\r\n".to_owned();
        let valid = |field: &str| -> &'static str {
            match field {
                "clasificacion" => "\"usuario_general\"",
                "correo" => "\"maria.perez@example.com\"",
                "identificacion" => "\"1710034065\"",
                "usuario" => "\"mperez\"",
                _ => "\"\"",
            }
        };
        let object = |pairs: &[(&str, Vec<u8>)]| -> Vec<u8> {
            let mut body = b"{".to_vec();
            for (i, (k, v)) in pairs.iter().enumerate() {
                if i > 0 {
                    body.push(b',');
                }
                body.extend_from_slice(format!("\"{k}\":").as_bytes());
                body.extend_from_slice(v);
            }
            body.push(b'}');
            body
        };
        for target in fields {
            for value in json_values() {
                let pairs: Vec<(&str, Vec<u8>)> = fields
                    .iter()
                    .map(|f| {
                        let v = if f == target {
                            value.clone()
                        } else {
                            valid(f).as_bytes().to_vec()
                        };
                        (*f, v)
                    })
                    .collect();
                out.push(Case {
                    method: "POST",
                    path: path.to_owned(),
                    headers: headers.clone(),
                    body: object(&pairs),
                });
            }
            // Missing, duplicated with another value, and an unknown extra field.
            let without: Vec<(&str, Vec<u8>)> = fields
                .iter()
                .filter(|f| *f != target)
                .map(|f| (*f, valid(f).as_bytes().to_vec()))
                .collect();
            let mut duplicated: Vec<(&str, Vec<u8>)> = fields
                .iter()
                .map(|f| (*f, valid(f).as_bytes().to_vec()))
                .collect();
            duplicated.push((target, b"\"otro\"".to_vec()));
            let mut extra = duplicated.clone();
            extra.pop();
            extra.push(("campo_desconocido", b"[1,2,3]".to_vec()));
            for pairs in [without, duplicated, extra] {
                out.push(Case {
                    method: "POST",
                    path: path.to_owned(),
                    headers: headers.clone(),
                    body: object(&pairs),
                });
            }
        }
        // Not an object at all.
        for body in json_values() {
            out.push(Case {
                method: "POST",
                path: path.to_owned(),
                headers: headers.clone(),
                body,
            });
        }
    }

    // Forms: each field with hostile values, missing, duplicated; broken percent-encoding.
    let form_values: [&[u8]; 14] = [
        b"",
        b"%",
        b"%zz",
        b"%ff%fe",
        b"%c3%28",
        b"%00",
        b"\xff\xfe",
        b"a+b+c",
        b"%2B%26%3D",
        b"buscar",
        b"confirmar",
        b"reiniciar",
        b"usuario_general",
        b"1710034065",
    ];
    for (path, fields) in FORM_FIELDS {
        let headers = format!(
            "Content-Type: application/x-www-form-urlencoded\r\n{}",
            with_cookie(path)
        );
        let mut bodies: Vec<Vec<u8>> = vec![
            b"&&&".to_vec(),
            b"=".to_vec(),
            b"==&==".to_vec(),
            b"a=1&a=2&a=3".to_vec(),
            format!("accion=buscar&identificacion={}", "1".repeat(15_000)).into_bytes(),
            format!("clave={}", "x".repeat(20_000)).into_bytes(),
        ];
        for field in fields {
            for value in form_values {
                let mut body = format!("accion=buscar&{field}=").into_bytes();
                body.extend_from_slice(value);
                bodies.push(body.clone());
                // Duplicated: the same field again with another value.
                body.extend_from_slice(format!("&{field}=otro&accion=confirmar").as_bytes());
                bodies.push(body);
            }
        }
        for body in bodies {
            out.push(Case {
                method: "POST",
                path: path.to_owned(),
                headers: headers.clone(),
                body,
            });
        }
    }

    // GETs with hostile paths and query strings.
    for path in [
        "/",
        "/ingreso",
        "/cambio-clave",
        "/cuenta",
        "/clave-actualizada",
        "/healthz",
        "/pkg/reinicio-clave.js",
    ] {
        for query in [
            "",
            "?",
            "?a=%ff",
            "?%zz=1",
            "?usuario=%00",
            "?x=1&x=2",
            "/..%2f..%2fetc%2fpasswd",
            "%2e%2e/",
            "/%ff",
        ] {
            out.push(Case {
                method: "GET",
                path: format!("{path}{query}"),
                headers: String::new(),
                body: Vec::new(),
            });
        }
    }
    // Methods the endpoints do not take.
    for path in post_paths {
        for method in ["PUT", "DELETE", "PATCH", "GET"] {
            out.push(Case {
                method,
                path: path.to_owned(),
                headers: "Content-Type: application/json\r\n".to_owned(),
                body: b"{}".to_vec(),
            });
        }
    }
    out
}

/// Signs in as a demo account and returns the session token, so that the account pages are
/// reached past the session check.
async fn session(app: &TestApp) -> String {
    let answer = app
        .post_form(
            "/ingreso",
            "usuario=lmora.aux&clave=clave%20de%20demostraci%C3%B3n",
        )
        .await;
    assert_eq!(answer.status, 303, "{answer:?}");
    answer
        .cookie()
        .as_deref()
        .and_then(|c| c.strip_prefix("sesion="))
        .expect("session cookie")
        .to_owned()
}

/// Tokio's multi-threaded runtime with two workers, as `#[tokio::test(flavor = "multi_thread")]`
/// builds it, but with threads of a name of their own: the server's handlers run on them, and
/// the panic hook counts the panics there and on the test's own thread. (The hook stays after
/// the test, counting nothing: those threads are gone.)
#[test]
fn malformed_input_never_gets_a_5xx_or_a_panic() {
    let panics = Arc::new(AtomicUsize::new(0));
    let test_thread = std::thread::current().id();
    let previous = std::panic::take_hook();
    let counter = panics.clone();
    std::panic::set_hook(Box::new(move |info| {
        let current = std::thread::current();
        if current.name() == Some(THREADS) || current.id() == test_thread {
            counter.fetch_add(1, Ordering::SeqCst);
        }
        previous(info);
    }));
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(THREADS)
        .enable_all()
        .build()
        .unwrap()
        .block_on(sweep(panics));
}

async fn sweep(panics: Arc<AtomicUsize>) {
    // Limits raised so that every case reaches the code behind them.
    let app = TestApp::spawn_with(&[
        ("REINICIO_LIMITE_BUSQUEDAS_POR_HORA", "1000000"),
        ("REINICIO_LIMITE_REINICIOS_POR_HORA", "1000000"),
    ])
    .await;
    let cookie = session(&app).await;
    let cases = cases(&cookie);
    let mut by_status = std::collections::BTreeMap::<u16, usize>::new();
    for chunk in cases.chunks(16) {
        let mut answers = tokio::task::JoinSet::new();
        for (i, case) in chunk.iter().enumerate() {
            let addr = app.addr;
            let case = Case {
                method: case.method,
                path: case.path.clone(),
                headers: case.headers.clone(),
                body: case.body.clone(),
            };
            answers.spawn(async move { (i, send(addr, &case).await) });
        }
        while let Some(answer) = answers.join_next().await {
            let (i, status) = answer.unwrap();
            let case = &chunk[i];
            let shown = || {
                format!(
                    "{} {} [{}] {:?}",
                    case.method,
                    case.path,
                    case.headers.trim(),
                    String::from_utf8_lossy(&case.body[..case.body.len().min(200)])
                )
            };
            let status = status.unwrap_or_else(|| panic!("no answer to {}", shown()));
            assert!(status < 500, "{status} for {}", shown());
            *by_status.entry(status).or_default() += 1;
        }
    }
    eprintln!(
        "malformed inputs tried: {}; answers by status: {by_status:?}",
        cases.len()
    );
    assert!(cases.len() > 1_000);
    assert_eq!(panics.load(Ordering::SeqCst), 0, "a handler panicked");
    // And the server still works.
    assert_eq!(app.page("/healthz").await.status, 200);
}
