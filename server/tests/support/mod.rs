//! Shared test fixtures: the databases every database test runs against, and a running server.
#![allow(dead_code)] // Each test binary uses a different part.

use std::net::SocketAddr;

use sea_orm::{ConnectionTrait, Database};
use server::config::Config;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

/// A fresh, empty database: a SQLite file, or a PostgreSQL database made for this test alone.
pub struct TestDb {
    pub label: &'static str,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    postgres: Option<(String, String)>,
}

impl TestDb {
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}/test.sqlite3?mode=rwc", dir.path().display());
        TestDb {
            label: "sqlite",
            url,
            _dir: Some(dir),
            postgres: None,
        }
    }

    async fn postgres(admin_url: &str) -> Self {
        let admin = Database::connect(admin_url)
            .await
            .unwrap_or_else(|e| panic!("TEST_POSTGRES_URL no responde: {e}"));
        let name = format!("reinicio_test_{:016x}", rand_u64());
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .expect("CREATE DATABASE");
        let mut url = url::Url::parse(admin_url).expect("TEST_POSTGRES_URL es una URL");
        url.set_path(&name);
        TestDb {
            label: "postgres",
            url: url.to_string(),
            _dir: None,
            postgres: Some((admin_url.to_owned(), name)),
        }
    }

    /// Drops a PostgreSQL test database (SQLite files go with their temporary folder). A test
    /// that ends early (a failed assertion) drops it all the same, in `Drop`.
    pub async fn drop_database(mut self) {
        if let Some((admin_url, name)) = self.postgres.take() {
            let admin = Database::connect(&admin_url).await.expect("admin");
            admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .await
                .expect("DROP DATABASE");
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((admin_url, name)) = self.postgres.take() else {
            return;
        };
        // Drop cannot await, and it may run on a runtime's thread: a thread with a runtime of
        // its own does the work. Errors are ignored: the test has already failed.
        let _ = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async {
                if let Ok(admin) = Database::connect(&admin_url).await {
                    let _ = admin
                        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await;
                }
            });
        })
        .join();
    }
}

/// SQLite always; PostgreSQL too when TEST_POSTGRES_URL is set. Under CI=true PostgreSQL is
/// required: a database test that silently skipped it would prove nothing.
pub async fn databases() -> Vec<TestDb> {
    let mut all = vec![TestDb::sqlite()];
    match std::env::var("TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => all.push(TestDb::postgres(&url).await),
        _ if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("CI=true exige TEST_POSTGRES_URL para las pruebas de base de datos")
        }
        _ => eprintln!("TEST_POSTGRES_URL no definida: solo SQLite"),
    }
    all
}

/// PostgreSQL alone, for tests that mean something only there (several instances, a network
/// cut): None without TEST_POSTGRES_URL, which under CI=true is a failure as above.
pub async fn postgres_only() -> Option<TestDb> {
    let postgres = databases()
        .await
        .into_iter()
        .find(|d| d.label == "postgres");
    if postgres.is_none() {
        eprintln!("sin PostgreSQL (TEST_POSTGRES_URL): prueba omitida");
    }
    postgres
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    // RandomState is seeded per process from the OS: enough to keep parallel tests apart.
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    );
    h.finish()
}

/// Configuration for a server on a random loopback port with its own database and mail folder.
/// Every test comes from 127.0.0.1: the per-address limit is raised unless a test sets it.
pub fn config(db: &TestDb, mail_dir: &std::path::Path) -> Config {
    config_with(db, mail_dir, &[])
}

pub fn config_with(db: &TestDb, mail_dir: &std::path::Path, extra: &[(&str, &str)]) -> Config {
    let mut vars: std::collections::HashMap<String, String> = [
        ("REINICIO_LISTEN_ADDR", "127.0.0.1:0".to_owned()),
        ("REINICIO_DATABASE_URL", db.url.clone()),
        (
            "REINICIO_MAIL_URL",
            format!("file://{}", mail_dir.display()),
        ),
        ("REINICIO_LIMITE_IP_POR_MINUTO", "10000".to_owned()),
        ("REINICIO_LIMITE_IP_RAFAGA", "10000".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    for (k, v) in extra {
        vars.insert((*k).to_owned(), (*v).to_owned());
    }
    Config::from_lookup(move |name| vars.get(name).cloned()).expect("test configuration")
}

/// A plain HTTP/1.1 GET over a fresh connection: (status, body).
pub async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let (status, _, body) = request(addr, "GET", path, "", b"").await;
    (status, body)
}

pub mod proxy;
pub mod smtp;

/// A plain HTTP/1.1 POST: (status, response head, body).
pub async fn post_head(
    addr: SocketAddr,
    path: &str,
    content_type: &str,
    body: &[u8],
) -> (u16, String, String) {
    request(addr, "POST", path, content_type, body).await
}

/// One request over a fresh connection: (status, response head, de-chunked body).
async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    content_type: &str,
    body: &[u8],
) -> (u16, String, String) {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.expect("write");
    let _ = stream.write_all(body).await;
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw).await;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    (status, head.to_owned(), dechunk(body))
}

/// A plain HTTP/1.1 POST: (status, content type, body).
pub async fn post(
    addr: SocketAddr,
    path: &str,
    content_type: &str,
    body: &[u8],
) -> (u16, String, String) {
    let (status, head, body) = post_head(addr, path, content_type, body).await;
    let content_type = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-type:")
                .map(|v| v.trim().to_owned())
        })
        .unwrap_or_default();
    (status, content_type, body)
}

/// Bodies may come chunked; the tests want the content.
fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    loop {
        let Some((size, after)) = rest.split_once("\r\n") else {
            return body.to_owned();
        };
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            return body.to_owned();
        };
        if n == 0 {
            return out;
        }
        if after.len() < n {
            return body.to_owned();
        }
        out.push_str(&after[..n]);
        rest = after[n..].strip_prefix("\r\n").unwrap_or(&after[n..]);
    }
}

/// A running server on a random port with the demo registrations; stops when dropped.
pub struct TestServer {
    pub addr: SocketAddr,
    pub mail_dir: tempfile::TempDir,
    /// The server's own connection pool (for tests that look at the rows it wrote).
    pub conn: sea_orm::DatabaseConnection,
    _db: Option<TestDb>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// On a SQLite database of its own.
    pub async fn start_with(extra: &[(&str, &str)]) -> Self {
        let db = TestDb::sqlite();
        let mut server = Self::start_on(&db, extra).await;
        server._db = Some(db);
        server
    }

    /// On `db`, which other servers may share (as production instances share PostgreSQL).
    pub async fn start_on(db: &TestDb, extra: &[(&str, &str)]) -> Self {
        let mail_dir = tempfile::tempdir().unwrap();
        let running = server::start(&config_with(db, mail_dir.path(), extra))
            .await
            .unwrap();
        server::seed::seed_demo(&running.services.db, running.services.clock.now_ms())
            .await
            .unwrap();
        let addr = running.addr;
        let conn = running.services.db.clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(running.serve(async {
            let _ = stopped.await;
        }));
        TestServer {
            addr,
            mail_dir,
            conn,
            _db: None,
            stop: Some(stop),
        }
    }
}

/// `n` approved accounts with passports, for tests that need many distinct recipients:
/// (ID usuario, identificación, correo).
pub fn cuentas(n: usize) -> Vec<(String, String, String)> {
    (0..n)
        .map(|i| {
            (
                format!("cuenta{i:03}"),
                format!("PX{i:06}"),
                format!("cuenta{i:03}@example.com"),
            )
        })
        .collect()
}

/// The same accounts as the operator's CSV import reads them.
pub fn cuentas_csv(cuentas: &[(String, String, String)]) -> String {
    let mut csv = String::from("usuario,clasificacion,identificacion,ruc_empresa,correo,estado\n");
    for (usuario, identificacion, correo) in cuentas {
        csv.push_str(&format!(
            "{usuario},usuario_general,{identificacion},,{correo},aprobada\n"
        ));
    }
    csv
}

/// Registers the accounts through the import code (which validates every row).
pub async fn registrar(db: &sea_orm::DatabaseConnection, cuentas: &[(String, String, String)]) {
    let parsed = server::registrations::parse_csv(cuentas_csv(cuentas).as_bytes()).unwrap();
    assert!(parsed.rejected.is_empty(), "{:?}", parsed.rejected);
    server::registrations::upsert(db, &parsed.rows, 1_764_400_000_000)
        .await
        .unwrap();
}

/// The JSON body of a reset request for one of [`cuentas`].
pub fn reinicio_json(cuenta: &(String, String, String)) -> String {
    format!(
        r#"{{"usuario":"{}","identificacion":"{}","correo":"{}"}}"#,
        cuenta.0, cuenta.1, cuenta.2
    )
}

/// A loopback port that was free a moment ago (for a service that starts later, on purpose).
pub fn free_port() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
