//! Proof under faults, on loopback and bounded in time: the relay down, the server killed or
//! stopped mid-delivery, the database unreachable, two instances on one database. Each test
//! checks what a user would notice: an answer to every request, every e-mail delivered, none
//! delivered more often than the fault explains.

mod support;

use std::{
    collections::HashMap,
    io::{BufRead, BufReader},
    net::SocketAddr,
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use server::entities::mail_outbox;
use support::{TestServer, proxy::TcpProxy, smtp::SmtpSink};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const JSON: &str = "application/json";

/// Polls `done` every 50 ms until it holds; panics with `what` after `limit`.
async fn wait_until(limit: Duration, what: &str, mut done: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// How many messages each recipient got.
fn per_recipient(sink: &SmtpSink) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for to in sink.recipients() {
        *counts.entry(to).or_default() += 1;
    }
    counts
}

/// Waits (at most `limit`) until `n` distinct recipients got mail, then two seconds more, so that
/// a duplicate sent by a retry would show; returns how many messages each recipient got.
async fn delivered_to(sink: &SmtpSink, n: usize, limit: Duration) -> HashMap<String, usize> {
    wait_until(limit, &format!("{n} recipients got mail"), async || {
        per_recipient(sink).len() >= n
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    per_recipient(sink)
}

/// Sends a reset request for every account, ten at a time; every answer must be 200.
async fn request_resets(addr: SocketAddr, cuentas: &[(String, String, String)]) {
    for chunk in cuentas.chunks(10) {
        let mut requests = tokio::task::JoinSet::new();
        for cuenta in chunk {
            let body = support::reinicio_json(cuenta);
            requests.spawn(async move {
                support::post(addr, "/api/solicitar_reinicio", JSON, body.as_bytes()).await
            });
        }
        while let Some(answer) = requests.join_next().await {
            let (status, _, body) = answer.unwrap();
            assert_eq!(status, 200, "{body}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_resets_while_the_relay_is_down_are_each_delivered_once_it_is_up() {
    for db in support::databases().await {
        let relay = support::free_port();
        let mail_url = format!("smtp://{relay}?tls=none");
        let server = TestServer::start_on(
            &db,
            &[
                ("REINICIO_MAIL_URL", &mail_url),
                ("REINICIO_CORREO_REINTENTO_SEGUNDOS", "1"),
            ],
        )
        .await;
        let cuentas = support::cuentas(50);
        support::registrar(&server.conn, &cuentas).await;

        request_resets(server.addr, &cuentas).await;
        // The worker tries every message and fails: nothing listens on the relay's port.
        wait_until(
            Duration::from_secs(20),
            "every message failed once",
            async || {
                mail_outbox::Entity::find()
                    .filter(mail_outbox::Column::Attempts.gte(1))
                    .filter(mail_outbox::Column::State.eq("queued"))
                    .count(&server.conn)
                    .await
                    .unwrap()
                    == 50
            },
        )
        .await;

        let sink = SmtpSink::start(relay).await;
        let counts = delivered_to(&sink, 50, Duration::from_secs(30)).await;
        assert_eq!(counts.len(), 50, "{}", db.label);
        assert!(counts.values().all(|&n| n == 1), "{}: {counts:?}", db.label);
        for (_, _, correo) in &cuentas {
            assert_eq!(counts.get(correo), Some(&1), "{} {correo}", db.label);
        }
        let sent = mail_outbox::Entity::find()
            .filter(mail_outbox::Column::State.eq("sent"))
            .count(&server.conn)
            .await
            .unwrap();
        assert_eq!(sent, 50);
        drop(server);
        db.drop_database().await;
    }
}

/// The real binary, as an operator runs it, on a SQLite file and an SMTP relay.
struct Instancia {
    child: Child,
    addr: SocketAddr,
}

fn server_command(dir: &Path, relay: SocketAddr) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_server"));
    command
        .env(
            "REINICIO_DATABASE_URL",
            format!("sqlite://{}/faults.sqlite3?mode=rwc", dir.display()),
        )
        .env("REINICIO_MAIL_URL", format!("smtp://{relay}?tls=none"))
        .env("REINICIO_LISTEN_ADDR", "127.0.0.1:0")
        .env("REINICIO_LIMITE_IP_POR_MINUTO", "10000")
        .env("REINICIO_LIMITE_IP_RAFAGA", "10000")
        .env("REINICIO_CORREO_REINTENTO_SEGUNDOS", "1")
        // A dead instance's claims pass to the next one after two seconds.
        .env("REINICIO_CORREO_RECLAMO_SEGUNDOS", "2")
        .env("REINICIO_LOG_LEVEL", "warn");
    command
}

impl Instancia {
    /// Imports the accounts with the operator's command.
    fn import(dir: &Path, relay: SocketAddr, cuentas: &[(String, String, String)]) {
        let file = dir.join("cuentas.csv");
        std::fs::write(&file, support::cuentas_csv(cuentas)).unwrap();
        let out = server_command(dir, relay)
            .arg("import")
            .arg(&file)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
    }

    /// Starts `server serve` and waits for the line that gives its address.
    fn start(dir: &Path, relay: SocketAddr) -> Self {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("server.log"))
            .unwrap();
        let mut child = server_command(dir, relay)
            .arg("serve")
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .strip_prefix("Sirviendo en http://")
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
            .parse()
            .unwrap();
        Instancia { child, addr }
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the process to end, at most `limit`.
    async fn exit_status(&mut self, limit: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "the server did not stop");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Instancia {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn outbox_states(dir: &Path) -> HashMap<String, usize> {
    let db =
        sea_orm::Database::connect(format!("sqlite://{}/faults.sqlite3?mode=rw", dir.display()))
            .await
            .unwrap();
    let mut states = HashMap::new();
    for row in mail_outbox::Entity::find().all(&db).await.unwrap() {
        *states.entry(row.state).or_default() += 1;
    }
    states
}

/// A server binary with `n` accounts, each with a reset request answered, and a relay that takes
/// `ack_ms` to acknowledge each message.
async fn resets_queued_at_a_slow_relay(
    n: usize,
    ack_ms: u64,
) -> (tempfile::TempDir, SocketAddr, SmtpSink, Instancia) {
    let dir = tempfile::tempdir().unwrap();
    let relay = support::free_port();
    let sink = SmtpSink::start_slow(relay, Duration::from_millis(ack_ms)).await;
    let cuentas = support::cuentas(n);
    Instancia::import(dir.path(), relay, &cuentas);
    let server = Instancia::start(dir.path(), relay);
    request_resets(server.addr, &cuentas).await;
    (dir, relay, sink, server)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_server_killed_mid_delivery_sends_the_rest_after_a_restart_none_more_than_twice() {
    // A relay that takes 150 ms to acknowledge a message, so that the kill lands while one is
    // delivered but not yet acknowledged.
    let (dir, relay, sink, mut first) = resets_queued_at_a_slow_relay(50, 150).await;
    wait_until(
        Duration::from_secs(30),
        "ten messages went out",
        async || sink.recipients().len() >= 10,
    )
    .await;
    first.signal("KILL");
    first.exit_status(Duration::from_secs(5)).await;
    let before_restart = sink.recipients().len();
    assert!(
        before_restart < 50,
        "the kill came too late to prove anything"
    );

    let second = Instancia::start(dir.path(), relay);
    let counts = delivered_to(&sink, 50, Duration::from_secs(60)).await;
    let twice = counts.values().filter(|&&n| n == 2).count();
    eprintln!(
        "killed after {before_restart} messages; after the restart all 50 delivered, {twice} of them twice"
    );
    assert!(counts.values().all(|&n| n <= 2), "{counts:?}");
    assert_eq!(outbox_states(dir.path()).await.get("sent"), Some(&50));
    drop(second);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_finishes_requests_in_flight_and_leaves_the_outbox_consistent() {
    let (dir, relay, sink, mut first) = resets_queued_at_a_slow_relay(20, 200).await;
    // A request whose body is still on its way when the signal comes.
    let body = br#"{"clasificacion":"usuario_general","correo":"cuenta001@example.com","identificacion":"PX000001"}"#;
    let mut slow = tokio::net::TcpStream::connect(first.addr).await.unwrap();
    slow.write_all(
        format!(
            "POST /api/buscar_id HTTP/1.1\r\nHost: {}\r\nContent-Type: {JSON}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            first.addr,
            body.len()
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    slow.write_all(&body[..20]).await.unwrap();
    wait_until(
        Duration::from_secs(10),
        "two messages went out",
        async || sink.recipients().len() >= 2,
    )
    .await;

    first.signal("TERM");
    tokio::time::sleep(Duration::from_millis(300)).await;
    // No new connections once stopping…
    assert!(
        tokio::net::TcpStream::connect(first.addr).await.is_err(),
        "still accepting connections after SIGTERM"
    );
    // …but the one in flight gets its answer.
    slow.write_all(&body[20..]).await.unwrap();
    let mut answer = String::new();
    slow.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("cuenta001"), "{answer}");

    let status = first.exit_status(Duration::from_secs(20)).await;
    assert!(status.success(), "{status:?}");
    // The worker finished the message it was sending and recorded it: nothing is left claimed,
    // and what the relay accepted is exactly what is marked sent.
    let states = outbox_states(dir.path()).await;
    let delivered = sink.recipients().len();
    assert_eq!(states.get("sending"), None, "{states:?}");
    assert_eq!(
        states.get("sent").copied().unwrap_or(0),
        delivered,
        "{states:?}"
    );
    assert!(delivered < 20, "stopped too late to prove anything");

    // The next start sends the rest, and nothing twice.
    let second = Instancia::start(dir.path(), relay);
    let counts = delivered_to(&sink, 20, Duration::from_secs(30)).await;
    assert!(counts.values().all(|&n| n == 1), "{counts:?}");
    drop(second);
}

/// PostgreSQL behind a relay the test cuts: requests get a prompt 503 with a Spanish message,
/// and the same server answers again once the database is back, without a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_unreachable_database_gives_a_clean_503_and_the_server_recovers_by_itself() {
    let Some(db) = support::postgres_only().await else {
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
    let server = TestServer::start_on(&db, &[("REINICIO_DATABASE_URL", url.as_str())]).await;

    let lookup = br#"{"clasificacion":"usuario_general","correo":"maria.perez@example.com","identificacion":"1710034065"}"#;
    let form = b"accion=buscar&clasificacion=usuario_general&correo=maria.perez%40example.com&identificacion=1710034065";
    assert_eq!(
        support::post(server.addr, "/api/buscar_id", JSON, lookup)
            .await
            .0,
        200
    );

    // A signed-in session, to see what its pages say while the database is away.
    let (status, head, _) = support::post_head(
        server.addr,
        "/ingreso",
        "application/x-www-form-urlencoded",
        "usuario=aauditor&clave=clave+de+demostraci%C3%B3n".as_bytes(),
    )
    .await;
    assert_eq!(status, 303);
    let cookie = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .starts_with("set-cookie:")
                .then(|| l[11..].trim().to_owned())
        })
        .and_then(|c| c.split(';').next().map(str::to_owned))
        .unwrap();

    proxy.down();
    // The session cannot be read: 503 and the page that says so, not "Ingreso" as if signed out.
    for (method, path) in [("GET", "/cuenta"), ("POST", "/cambio-clave")] {
        let raw = format!(
            "{method} {path} HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        stream.write_all(raw.as_bytes()).await.unwrap();
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await.unwrap();
        let answer = String::from_utf8_lossy(&answer);
        assert!(
            answer.starts_with("HTTP/1.1 503"),
            "{method} {path}: {answer}"
        );
        assert!(
            answer.contains("El servicio no está disponible en este momento."),
            "{answer}"
        );
    }
    for _ in 0..3 {
        let start = Instant::now();
        let (status, _, body) = support::post(server.addr, "/api/buscar_id", JSON, lookup).await;
        assert_eq!((status, body.as_str()), (503, r#"{"error":"interno"}"#));
        assert!(
            start.elapsed() < Duration::from_secs(8),
            "{:?}",
            start.elapsed()
        );
    }
    let (status, _, html) =
        support::post(server.addr, "/", "application/x-www-form-urlencoded", form).await;
    assert_eq!(status, 503);
    assert!(
        html.contains("El servicio no está disponible en este momento."),
        "{html}"
    );
    assert_eq!(support::get(server.addr, "/healthz").await.0, 503);

    proxy.up().await;
    wait_until(Duration::from_secs(20), "lookups work again", async || {
        support::post(server.addr, "/api/buscar_id", JSON, lookup)
            .await
            .0
            == 200
    })
    .await;
    assert_eq!(
        support::get(server.addr, "/healthz").await,
        (200, "ok".to_owned())
    );
    let (status, _, html) =
        support::post(server.addr, "/", "application/x-www-form-urlencoded", form).await;
    assert_eq!(status, 200);
    assert!(
        html.contains(r#"data-testid="id-usuario">MPerez<"#),
        "{html}"
    );
    drop(server);
    db.drop_database().await;
}

/// Two instances on one PostgreSQL, requests alternating between them: the hourly limit per
/// identificación is counted once, and the shared outbox sends each message once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_share_the_limits_and_send_each_message_once() {
    let Some(db) = support::postgres_only().await else {
        return;
    };
    let relay = support::free_port();
    let sink = SmtpSink::start_slow(relay, Duration::from_millis(20)).await;
    let mail_url = format!("smtp://{relay}?tls=none");
    let settings = [("REINICIO_MAIL_URL", mail_url.as_str())];
    let a = TestServer::start_on(&db, &settings).await;
    let b = TestServer::start_on(&db, &settings).await;
    let instances = [a.addr, b.addr];

    let lookup = br#"{"clasificacion":"usuario_general","correo":"maria.perez@example.com","identificacion":"1710034065"}"#;
    let mut statuses = Vec::new();
    for i in 0..10 {
        statuses.push(
            support::post(instances[i % 2], "/api/buscar_id", JSON, lookup)
                .await
                .0,
        );
    }
    assert_eq!(statuses, [200, 200, 200, 200, 200, 429, 429, 429, 429, 429]);

    let reset = br#"{"usuario":"lmora.aux","identificacion":"0601234560","correo":"luis.mora@example.com"}"#;
    let mut statuses = Vec::new();
    for i in 0..6 {
        statuses.push(
            support::post(instances[i % 2], "/api/solicitar_reinicio", JSON, reset)
                .await
                .0,
        );
    }
    // Resets are never refused per identity (see registry::solicitar_reinicio); the per-account
    // cap of three e-mails an hour is silent.
    assert_eq!(statuses, [200; 6]);

    let cuentas = support::cuentas(40);
    support::registrar(&a.conn, &cuentas).await;
    let (first, second) = cuentas.split_at(20);
    tokio::join!(
        request_resets(a.addr, first),
        request_resets(b.addr, second)
    );
    // The 40 accounts and lmora.aux (whose own three resets may each have gone out).
    let counts = delivered_to(&sink, 41, Duration::from_secs(30)).await;
    for (_, _, correo) in &cuentas {
        assert_eq!(counts.get(correo), Some(&1), "{correo}");
    }
    drop((a, b));
    db.drop_database().await;
}

/// Waits until the server closes `stream` (reads to the end), at most `limit`; the time it took.
async fn closed_within(stream: &mut tokio::net::TcpStream, limit: Duration) -> Duration {
    let started = Instant::now();
    let mut sink = Vec::new();
    let read = tokio::time::timeout(limit, stream.read_to_end(&mut sink)).await;
    assert!(
        read.is_ok(),
        "the connection stayed open longer than {limit:?}"
    );
    started.elapsed()
}

/// Slow headers and idle keep-alive connections are closed after the header timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_idle_connections_are_closed() {
    let server = TestServer::start_with(&[("REINICIO_HEADER_TIMEOUT_SECONDS", "1")]).await;
    // Headers that never end.
    let mut slow = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    // A connection that sends nothing at all.
    let mut silent = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    // A keep-alive connection, idle after its first answer.
    let mut idle = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut first = [0u8; 12];
    idle.read_exact(&mut first).await.unwrap();
    assert_eq!(&first, b"HTTP/1.1 200");
    for (what, stream) in [
        ("slow", &mut slow),
        ("silent", &mut silent),
        ("idle", &mut idle),
    ] {
        let took = closed_within(stream, Duration::from_secs(5)).await;
        assert!(took < Duration::from_secs(5), "{what}: {took:?}");
    }
}

/// Past the cap on open connections, one more is answered 503 with Retry-After and closed; the
/// server keeps answering once connections are freed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_the_cap_are_refused_clearly() {
    let server = TestServer::start_with(&[
        ("REINICIO_MAX_CONNECTIONS", "20"),
        ("REINICIO_HEADER_TIMEOUT_SECONDS", "60"),
    ])
    .await;
    let mut held = Vec::new();
    for _ in 0..20 {
        let mut s = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        s.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
        held.push(s);
    }
    // Give the server a moment to accept all twenty.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (status, body) = support::get(server.addr, "/healthz").await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("demasiadas conexiones"), "{body}");
    let (_, head, _) = support::post_head(server.addr, "/healthz", JSON, b"").await;
    assert!(head.contains("Retry-After: 5"), "{head}");
    drop(held);
    wait_until(
        Duration::from_secs(5),
        "the server answers again",
        async || support::get(server.addr, "/healthz").await.0 == 200,
    )
    .await;
}

/// A shutdown waits for requests in flight at most the grace period, however many slow
/// connections are open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_has_a_deadline() {
    let db = support::TestDb::sqlite();
    let mail = tempfile::tempdir().unwrap();
    let config = support::config_with(
        &db,
        mail.path(),
        &[
            ("REINICIO_HEADER_TIMEOUT_SECONDS", "600"),
            ("REINICIO_REQUEST_TIMEOUT_SECONDS", "600"),
            ("REINICIO_SHUTDOWN_GRACE_SECONDS", "1"),
        ],
    );
    let running = server::start(&config).await.unwrap();
    let addr = running.addr;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(running.serve(async {
        let _ = stopped.await;
    }));
    // One connection mid-headers, one mid-body: both would hold a plain graceful shutdown.
    let mut headers = tokio::net::TcpStream::connect(addr).await.unwrap();
    headers
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut body = tokio::net::TcpStream::connect(addr).await.unwrap();
    body.write_all(b"POST /ingreso HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 50\r\n\r\nusuario=")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), served)
        .await
        .expect("serve() returned")
        .unwrap()
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

/// Argon2 runs on exactly REINICIO_ARGON2_PARALELO threads of its own: memory does not grow with
/// a flood of failed sign-ins (it reached 365 MiB after 400 of them on tokio's blocking threads).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_stays_bounded_under_a_flood_of_failed_sign_ins() {
    let dir = tempfile::tempdir().unwrap();
    let relay = support::free_port();
    let mut command = server_command(dir.path(), relay);
    command
        .env("REINICIO_ARGON2_PARALELO", "1")
        .env("REINICIO_SIGN_IN_LIMIT_PER_MINUTE", "100000")
        .env("REINICIO_SIGN_IN_LIMIT_BURST", "100000")
        .arg("serve")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = command.spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let server = Instancia {
        addr: line
            .trim()
            .strip_prefix("Sirviendo en http://")
            .unwrap()
            .parse()
            .unwrap(),
        child,
    };
    let addr = server.addr;
    let mut statuses = HashMap::new();
    for round in 0..25 {
        let mut batch = tokio::task::JoinSet::new();
        for i in 0..16 {
            batch.spawn(async move {
                support::post(
                    addr,
                    "/ingreso",
                    "application/x-www-form-urlencoded",
                    format!("usuario=nadie{round}x{i}&clave=una+clave+equivocada").as_bytes(),
                )
                .await
                .0
            });
        }
        while let Some(status) = batch.join_next().await {
            *statuses.entry(status.unwrap()).or_insert(0) += 1;
        }
    }
    assert_eq!(
        statuses,
        HashMap::from([(200, 400)]),
        "every attempt answered as a failure"
    );
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.child.id())).unwrap();
    let rss_kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    eprintln!("RSS after 400 failed sign-ins: {} MiB", rss_kib / 1024);
    assert!(rss_kib <= 96 * 1024, "RSS {} MiB", rss_kib / 1024);
}
