//! Shared test fixtures: the databases every database test runs against, the real server on a
//! random port with an HTTP client ([`TestApp`], after zero-to-production's `tests/api/helpers.rs`),
//! and the few raw-TCP helpers of the tests that are about the bytes on the wire.

use std::{future::Future, net::SocketAddr, time::Duration};

use reqwest::{
    Body, RequestBuilder,
    header::{CONTENT_TYPE, HeaderMap, SET_COOKIE},
};
use sea_orm::{ConnectionTrait, Database};
use server::config::Config;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

pub mod proxy;
pub mod smtp;

pub const JSON: &str = "application/json";
pub const FORM: &str = "application/x-www-form-urlencoded";

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

/// Configuration for a server on a random loopback port with its own database and mail folder,
/// and `extra` settings, read from them alone (never from this process's environment, which
/// every test shares). Every test comes from 127.0.0.1: the per-address limit is raised unless a
/// test sets it.
pub fn config_with(db: &TestDb, mail_dir: &std::path::Path, extra: &[(&str, &str)]) -> Config {
    let mut vars: std::collections::HashMap<String, String> = [
        ("REINICIO_LISTEN_ADDR", "127.0.0.1:0".to_owned()),
        // One metrics recorder per process: the metrics tests run the binary (`metrics.rs`).
        ("REINICIO_METRICS_ADDR", String::new()),
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

/// What a test sees of an answer: the status, the headers and the body as text (lossily: a
/// compressed body is kept as bytes only to be looked at, never parsed).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    /// The first value of header `name`, when it is text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The whole `Set-Cookie` header (with its attributes), if the answer sets a cookie.
    pub fn set_cookie(&self) -> Option<&str> {
        self.header(SET_COOKIE.as_str())
    }

    /// The `name=value` pair of the cookie the answer sets, as a client sends it back.
    pub fn cookie(&self) -> Option<String> {
        self.set_cookie()
            .and_then(|c| c.split(';').next())
            .map(str::to_owned)
    }

    pub fn content_type(&self) -> &str {
        self.header(CONTENT_TYPE.as_str()).unwrap_or_default()
    }
}

/// Sending a request and reading the whole answer, as one step.
pub trait Exchange {
    fn answer(self) -> impl Future<Output = Answer> + Send;
}

impl Exchange for RequestBuilder {
    async fn answer(self) -> Answer {
        let response = self.send().await.expect("an answer from the server");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("the whole body");
        Answer {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }
}

/// A real HTTP client for one server (ours in this process, or the real binary's).
///
/// It follows no redirects (the tests check them), keeps no cookies (the tests that sign in send
/// the session cookie themselves, and check its attributes) and asks for no compression. Every
/// request goes over a fresh connection, as the raw client this replaced did: no test depends on
/// reusing a keep-alive connection at the moment the server closes it for being idle.
#[derive(Clone)]
pub struct Http {
    base: String,
    client: reqwest::Client,
}

impl Http {
    pub fn new(addr: SocketAddr) -> Self {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(0)
            .build()
            .expect("an HTTP client");
        Http {
            base: format!("http://{addr}"),
            client,
        }
    }

    pub fn get(&self, path: &str) -> RequestBuilder {
        self.client.get(format!("{}{path}", self.base))
    }

    pub fn post(&self, path: &str) -> RequestBuilder {
        self.client.post(format!("{}{path}", self.base))
    }

    /// A GET, answered.
    pub async fn page(&self, path: &str) -> Answer {
        self.get(path).answer().await
    }

    /// A POST of `body` as `content_type`, answered.
    pub async fn post_as(&self, path: &str, content_type: &str, body: impl Into<Body>) -> Answer {
        self.post(path)
            .header(CONTENT_TYPE, content_type)
            .body(body)
            .answer()
            .await
    }

    pub async fn post_json(&self, path: &str, body: impl Into<Body>) -> Answer {
        self.post_as(path, JSON, body).await
    }

    pub async fn post_form(&self, path: &str, body: impl Into<Body>) -> Answer {
        self.post_as(path, FORM, body).await
    }
}

/// The real server, started as `main` starts it (`server::start`, then `Running::serve`), on a
/// random loopback port with its own mail folder and the demo registrations, and a client for
/// it (through `Deref`: `app.post_json(…)`). Stops when dropped; its SQLite database, if it has
/// one of its own, goes with it.
pub struct TestApp {
    pub addr: SocketAddr,
    pub http: Http,
    pub mail_dir: tempfile::TempDir,
    /// The server's own connection pool (for tests that look at the rows it wrote).
    pub conn: sea_orm::DatabaseConnection,
    _db: Option<TestDb>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    served: Option<tokio::task::JoinHandle<Result<(), server::StartError>>>,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(&[]).await
    }

    /// With more settings, on a SQLite database of its own.
    pub async fn spawn_with(extra: &[(&str, &str)]) -> Self {
        let db = TestDb::sqlite();
        let mut app = Self::spawn_on(&db, extra).await;
        app._db = Some(db);
        app
    }

    /// On `db`, which other servers may share (as production instances share PostgreSQL).
    pub async fn spawn_on(db: &TestDb, extra: &[(&str, &str)]) -> Self {
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
        let served = tokio::spawn(running.serve(async {
            let _ = stopped.await;
        }));
        TestApp {
            addr,
            http: Http::new(addr),
            mail_dir,
            conn,
            _db: None,
            stop: Some(stop),
            served: Some(served),
        }
    }

    /// Asks the server to stop, as a signal does, and waits at most `limit` for `serve` to
    /// return; its result.
    pub async fn shut_down(mut self, limit: Duration) -> Result<(), server::StartError> {
        let _ = self.stop.take().expect("running").send(());
        let served = self.served.take().expect("running");
        tokio::time::timeout(limit, served)
            .await
            .expect("serve() returned in time")
            .expect("serve() did not panic")
    }
}

impl std::ops::Deref for TestApp {
    type Target = Http;

    fn deref(&self) -> &Http {
        &self.http
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// For the tests about the bytes on the wire (malformed requests, hand-made framing, connections
/// that are slow, cut or too many): `raw` as it is, over a fresh connection; the whole answer as
/// text, whatever arrived before the server closed.
pub async fn raw_exchange(addr: SocketAddr, raw: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    // The server may answer (413) and close before it has read everything.
    let _ = stream.write_all(raw).await;
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    String::from_utf8_lossy(&answer).into_owned()
}

/// The status of a raw answer, if it has a status line.
pub fn raw_status(answer: &str) -> Option<u16> {
    answer.split_whitespace().nth(1)?.parse().ok()
}

/// `n` approved accounts with passports, for tests that need many distinct recipients:
/// (ID usuario, identificación, correo).
pub fn accounts(n: usize) -> Vec<(String, String, String)> {
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
pub fn accounts_csv(accounts: &[(String, String, String)]) -> String {
    let mut csv = String::from("usuario,clasificacion,identificacion,ruc_empresa,correo,estado\n");
    for (usuario, identificacion, correo) in accounts {
        csv.push_str(&format!(
            "{usuario},usuario_general,{identificacion},,{correo},aprobada\n"
        ));
    }
    csv
}

/// Registers the accounts through the import code (which validates every row).
pub async fn register(db: &sea_orm::DatabaseConnection, accounts: &[(String, String, String)]) {
    let parsed = server::registrations::parse_csv(accounts_csv(accounts).as_bytes()).unwrap();
    assert!(parsed.rejected.is_empty(), "{:?}", parsed.rejected);
    server::registrations::upsert(db, &parsed.rows, 1_764_400_000_000)
        .await
        .unwrap();
}

/// The JSON body of a reset request for one of [`accounts`].
pub fn reset_json(account: &(String, String, String)) -> String {
    format!(
        r#"{{"usuario":"{}","identificacion":"{}","correo":"{}"}}"#,
        account.0, account.1, account.2
    )
}

/// A loopback port that was free a moment ago (for a service that starts later, on purpose).
pub fn free_port() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// The database's own plan for a statement, one line per step: `EXPLAIN QUERY PLAN` on SQLite,
/// `EXPLAIN` on PostgreSQL.
pub async fn query_plan(
    db: &sea_orm::DatabaseConnection,
    statement: &impl sea_orm::StatementBuilder,
) -> String {
    let backend = db.get_database_backend();
    let stmt = backend.build(statement);
    // Each database's own EXPLAIN, and the column its lines come in.
    let (explain, column) = match backend {
        sea_orm::DbBackend::Sqlite => ("EXPLAIN QUERY PLAN", "detail"),
        _ => ("EXPLAIN", "QUERY PLAN"),
    };
    let rows = db
        .query_all_raw(sea_orm::Statement::from_sql_and_values(
            backend,
            format!("{explain} {}", stmt.sql),
            stmt.values.map(|v| v.0).unwrap_or_default(),
        ))
        .await
        .unwrap();
    let lines: Vec<String> = rows
        .iter()
        .map(|row| row.try_get::<String>("", column).unwrap())
        .collect();
    lines.join("\n")
}
