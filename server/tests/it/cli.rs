//! The operator's command line, run as the real binary against a temporary SQLite database.

use std::process::{Command, Output};

use server::entities::registration::Estado;

struct Cli {
    dir: tempfile::TempDir,
}

impl Cli {
    fn new() -> Self {
        Cli {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_server"))
            .args(args)
            .env(
                "REINICIO_DATABASE_URL",
                format!(
                    "sqlite://{}/cli.sqlite3?mode=rwc",
                    self.dir.path().display()
                ),
            )
            .env(
                "REINICIO_MAIL_URL",
                format!("file://{}/outbox", self.dir.path().display()),
            )
            .env("REINICIO_LOG_LEVEL", "warn")
            .output()
            .unwrap()
    }

    fn file(&self, name: &str, content: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        path.display().to_string()
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

const HEADER: &str = "usuario,clasificacion,identificacion,ruc_empresa,correo,estado\n";

#[test]
fn import_loads_a_valid_file_and_updates_on_a_second_run() {
    let cli = Cli::new();
    let file = cli.file(
        "ok.csv",
        &format!("{HEADER}MPerez,usuario_general,1710034065,,maria@example.com,aprobada\njsalazar,empleado,0926687856,1793213150001,j@example.com,aprobada\n"),
    );
    let dry = cli.run(&["import", &file, "--dry-run"]);
    assert!(dry.status.success(), "{dry:?}");
    assert!(String::from_utf8_lossy(&dry.stderr).contains("--dry-run: no se escribió nada."));

    let out = cli.run(&["import", &file]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(stdout(&out), "", "no rejections");

    // Disabling an account is a re-import with another state.
    let file = cli.file(
        "disable.csv",
        &format!("{HEADER}mperez,usuario_general,1710034065,,maria@example.com,deshabilitada\n"),
    );
    assert!(cli.run(&["import", &file]).status.success());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let rows = rt.block_on(async {
        use sea_orm::EntityTrait;
        let url = format!("sqlite://{}/cli.sqlite3", cli.dir.path().display());
        let db = server::db::connect(&url).await.unwrap();
        server::entities::registration::Entity::find()
            .all(&db)
            .await
            .unwrap()
    });
    let states: Vec<(&str, Estado)> = rows
        .iter()
        .map(|r| (r.usuario_id.as_str(), r.estado))
        .collect();
    assert_eq!(
        states,
        [
            ("mperez", Estado::Deshabilitada),
            ("jsalazar", Estado::Aprobada)
        ]
    );
}

/// The import leaves SQLite's planner its row counts per index but no samples of indexed
/// values: with samples, every group commit's `IN (…)` was compiled again for its new values.
#[test]
fn import_keeps_index_statistics_without_value_samples() {
    let cli = Cli::new();
    let mut csv = HEADER.to_owned();
    for i in 0..200 {
        csv.push_str(&format!(
            "user{i},usuario_general,AB{i:06},,persona{i}@example.com,aprobada\n"
        ));
    }
    let file = cli.file("many.csv", &csv);
    let out = cli.run(&["import", &file]);
    assert!(out.status.success(), "{out:?}");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (stat1, stat4) = rt.block_on(async {
        use sea_orm::{ConnectionTrait, DbBackend, Statement};
        let url = format!("sqlite://{}/cli.sqlite3", cli.dir.path().display());
        let db = server::db::connect(&url).await.unwrap();
        let count = |sql: &'static str| {
            let db = db.clone();
            async move {
                db.query_one_raw(Statement::from_string(DbBackend::Sqlite, sql))
                    .await
                    .unwrap()
                    .unwrap()
                    .try_get_by_index::<i64>(0)
                    .unwrap()
            }
        };
        (
            count("SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'registrations'").await,
            count("SELECT count(*) FROM sqlite_stat4").await,
        )
    });
    assert!(stat1 >= 2, "the indexes' row counts are kept: {stat1}");
    assert_eq!(stat4, 0, "no value samples");
}

#[test]
fn an_invalid_file_writes_nothing_and_reports_every_value() {
    let cli = Cli::new();
    let file = cli.file(
        "bad.csv",
        &format!("{HEADER}ok1,usuario_general,1710034065,,a@example.com,aprobada\nx,auditor,1710034066,,a@b,aprobada\n"),
    );
    let out = cli.run(&["import", &file]);
    assert_eq!(out.status.code(), Some(1));
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert_eq!(
        lines[0],
        serde_json::json!({"fila": 3, "campo": "usuario", "codigo": "usuario.length", "mensaje": "El ID usuario debe tener entre 3 y 30 caracteres."})
    );
    assert_eq!(lines[1]["codigo"], "cedula.check_digit");
    assert_eq!(lines[2]["codigo"], "email.domain");

    // Nothing was written: importing only the good row now inserts it (no conflict to update).
    let seed = cli.run(&["seed-demo"]);
    assert!(stdout(&seed).contains("insertados: 12"), "{seed:?}");

    let skip = cli.run(&["import", &file, "--skip-invalid"]);
    assert!(skip.status.success(), "{skip:?}");
    assert!(
        String::from_utf8_lossy(&skip.stderr).contains("Registros cargados o actualizados: 1.")
    );
}

#[test]
fn outbox_and_audit_commands_answer() {
    let cli = Cli::new();
    for args in [
        &["outbox", "list"][..],
        &["outbox", "list", "--state", "abandoned"],
        &["outbox", "retry", "1"],
        &["audit", "--limit", "5"],
    ] {
        let out = cli.run(args);
        assert!(out.status.success(), "{args:?}: {out:?}");
    }
    assert!(stdout(&cli.run(&["outbox", "retry", "1"])).contains("en cola: 0"));
    // A state the outbox does not have is refused, with the ones it has.
    let unknown = cli.run(&["outbox", "list", "--state", "enviado"]);
    assert_eq!(unknown.status.code(), Some(2), "{unknown:?}");
    assert!(
        String::from_utf8_lossy(&unknown.stderr)
            .contains("queued, sending, sent, abandoned o bounced"),
        "{unknown:?}"
    );
}

/// The browser tests take the table from this command, so it must list every classification of
/// the validation crate with its codes and requirements, in both forms.
#[test]
fn classifications_list_the_validation_table() {
    let cli = Cli::new();
    let json = cli.run(&["classifications", "--json"]);
    assert!(json.status.success());
    let rows: Vec<serde_json::Value> = stdout(&json)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), validation::Classification::ALL.len());
    for (row, c) in rows.iter().zip(validation::Classification::ALL) {
        assert_eq!(row["codigo"], c.code());
        assert_eq!(row["etiqueta"], c.label());
        assert_eq!(row["ruc"], c.ruc_empresa().is_required());
        assert_eq!(row["correo"], c.correo().is_required());
    }
    let text = stdout(&cli.run(&["classifications"]));
    assert!(
        text.contains(
            "empleado\tEmpleado\tRUC empresa: obligatorio\tCorreo electrónico: bloqueado"
        ),
        "{text}"
    );
    assert_eq!(text.lines().count(), rows.len());
}

#[test]
fn bounce_consumes_what_is_not_a_bounce_and_asks_to_retry_without_a_database() {
    use std::io::Write;
    let pipe = |database: &str, input: &[u8]| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_server"))
            .arg("bounce")
            .env("REINICIO_DATABASE_URL", database)
            .env("REINICIO_LOG_LEVEL", "warn")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(input).unwrap();
        child.wait_with_output().unwrap()
    };
    let cli = Cli::new();
    let sqlite = format!("sqlite://{}/b.sqlite3?mode=rwc", cli.dir.path().display());
    let out = pipe(
        &sqlite,
        b"From: alguien@example.com\r\nSubject: hola\r\n\r\nTexto\r\n",
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("Ignorado: no es un aviso"));
    // No database: the mail system must keep the notice and try later (EX_TEMPFAIL).
    let out = pipe("postgres://nadie@127.0.0.1:1/nada", b"Status: 5.1.1\r\n");
    assert_eq!(out.status.code(), Some(75), "{out:?}");
}
