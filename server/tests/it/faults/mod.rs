//! Proof under faults, on loopback and bounded in time: the relay down, the server killed or
//! stopped mid-delivery, the database unreachable, two instances on one database. Each test
//! checks what a user would notice: an answer to every request, every e-mail delivered, none
//! delivered more often than the fault explains. The tests that kill or stop a server run the
//! real binary (`Instance`), a process of its own: its memory is measured alone, and a signal
//! reaches it and nothing else.

mod connections;
mod database_down;
mod durability;
mod mail;
mod memory;

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
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{self, Exchange, FORM, Http, JSON, TestApp, proxy::TcpProxy, smtp::SmtpSink};

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
async fn request_resets(http: &Http, accounts: &[(String, String, String)]) {
    for chunk in accounts.chunks(10) {
        let mut requests = tokio::task::JoinSet::new();
        for account in chunk {
            let (http, body) = (http.clone(), helpers::reset_json(account));
            requests.spawn(async move { http.post_json("/api/solicitar_reinicio", body).await });
        }
        while let Some(answer) = requests.join_next().await {
            let answer = answer.unwrap();
            assert_eq!(answer.status, 200, "{}", answer.body);
        }
    }
}

/// The real binary, as an operator runs it, on a SQLite file and an SMTP relay.
struct Instance {
    child: Child,
    addr: SocketAddr,
    http: Http,
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
        .env("REINICIO_METRICS_ADDR", "")
        .env("REINICIO_LIMITE_IP_POR_MINUTO", "10000")
        .env("REINICIO_LIMITE_IP_RAFAGA", "10000")
        .env("REINICIO_CORREO_REINTENTO_SEGUNDOS", "1")
        // A dead instance's claims pass to the next one after two seconds.
        .env("REINICIO_CORREO_RECLAMO_SEGUNDOS", "2")
        .env("REINICIO_LOG_LEVEL", "warn");
    command
}

impl Instance {
    /// Imports the accounts with the operator's command.
    fn import(dir: &Path, relay: SocketAddr, accounts: &[(String, String, String)]) {
        Self::import_with(dir, relay, accounts, &[]);
    }

    /// The same, with more settings (another database, say).
    fn import_with(
        dir: &Path,
        relay: SocketAddr,
        accounts: &[(String, String, String)],
        extra: &[(&str, &str)],
    ) {
        let file = dir.join("accounts.csv");
        std::fs::write(&file, helpers::accounts_csv(accounts)).unwrap();
        let out = server_command(dir, relay)
            .envs(extra.iter().copied())
            .arg("import")
            .arg(&file)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
    }

    /// Starts `server serve` and waits for the line that gives its address.
    fn start(dir: &Path, relay: SocketAddr) -> Self {
        Self::start_with(dir, relay, &[])
    }

    /// The same, with more settings.
    fn start_with(dir: &Path, relay: SocketAddr, extra: &[(&str, &str)]) -> Self {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("server.log"))
            .unwrap();
        let mut child = server_command(dir, relay)
            .envs(extra.iter().copied())
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
        Instance {
            child,
            addr,
            http: Http::new(addr),
        }
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

impl Drop for Instance {
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
        *states
            .entry(sea_orm::ActiveEnum::to_value(&row.state))
            .or_default() += 1;
    }
    states
}

/// A server binary with `n` accounts, each with a reset request answered, and a relay that takes
/// `ack_ms` to acknowledge each message.
async fn resets_queued_at_a_slow_relay(
    n: usize,
    ack_ms: u64,
) -> (tempfile::TempDir, SocketAddr, SmtpSink, Instance) {
    let dir = tempfile::tempdir().unwrap();
    let relay = helpers::free_port();
    let sink = SmtpSink::start_slow(relay, Duration::from_millis(ack_ms)).await;
    let accounts = helpers::accounts(n);
    Instance::import(dir.path(), relay, &accounts);
    let server = Instance::start(dir.path(), relay);
    request_resets(&server.http, &accounts).await;
    (dir, relay, sink, server)
}
