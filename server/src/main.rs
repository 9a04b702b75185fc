//! The `server` command: serves the app, or performs one operator task and exits.

use std::{path::PathBuf, process::ExitCode};

use clap::{Parser, Subcommand};
use server::{
    config::{Config, LogFormat},
    mail::{dkim, ecuador_time},
    services::{self, Clock},
};

/// Solicitud de reinicio de clave automática (ECUAPASS). Settings come from REINICIO_*
/// environment variables; see README.md.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the application (the default).
    Serve,
    /// Bring the database schema up to date, then exit.
    Migrate,
    /// Load the demonstration registrations (idempotent), then exit.
    SeedDemo,
    /// Load registrations from a CSV file (columns in README.md). Prints one JSON line per
    /// rejected value; writes nothing unless every row is valid or --skip-invalid is given.
    Import {
        file: PathBuf,
        /// Check the file only.
        #[arg(long)]
        dry_run: bool,
        /// Load the valid rows even if some are rejected.
        #[arg(long)]
        skip_invalid: bool,
    },
    /// The mail outbox.
    Outbox {
        #[command(subcommand)]
        command: OutboxCommand,
    },
    /// The classifications (the portal's table): code, label and which of "RUC empresa" and
    /// "Correo electrónico" each requires. The `clasificacion` column of `import` takes the code.
    Classifications {
        /// One JSON object per classification, for scripts (and the browser tests).
        #[arg(long)]
        json: bool,
    },
    /// Make a DKIM key pair: the private key for REINICIO_DKIM_KEY_FILE, and the DNS TXT record
    /// to publish (as a zone file line, on standard output).
    DkimKeygen {
        /// The DNS label of the key: the record goes at SELECTOR._domainkey.DOMAIN.
        #[arg(long)]
        selector: String,
        /// The sender's domain (REINICIO_DKIM_DOMAIN).
        #[arg(long)]
        domain: String,
        #[arg(long, value_enum, default_value_t = KeyAlgorithm::Rsa)]
        algorithm: KeyAlgorithm,
        /// Write the private key here (mode 0600, never over an existing file) instead of
        /// printing it.
        #[arg(long)]
        key_file: Option<PathBuf>,
    },
    /// Record a bounce: reads one delivery status notification (RFC 3464) on standard input, as
    /// a mail system's pipe delivers it, and marks the message it reports bounced. Exits 75
    /// (try again later) when the database cannot be reached, 0 otherwise.
    Bounce,
    /// The most recent audit entries, newest first.
    Audit {
        #[arg(long, default_value_t = 50)]
        limit: u64,
    },
}

/// `--algorithm` of `dkim-keygen`.
#[derive(Clone, Copy, clap::ValueEnum)]
enum KeyAlgorithm {
    /// RSA-2048: every receiver verifies it.
    Rsa,
    /// Ed25519 (RFC 8463): not every receiver verifies it yet.
    Ed25519,
}

#[derive(Subcommand)]
enum OutboxCommand {
    /// Messages, newest first.
    List {
        /// Only this state: queued, sending, sent, abandoned, bounced.
        #[arg(long)]
        state: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u64,
    },
    /// Queue abandoned messages again.
    Retry { ids: Vec<i64> },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::from(2);
        }
    };
    // Before the runtime: the trace exporter's blocking HTTP client must not start inside it.
    let exporter = match init_tracing(&config) {
        Ok(exporter) => exporter,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(error) => {
            eprintln!("no se pudo iniciar el runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let code = match runtime.block_on(run(cli.command.unwrap_or(Command::Serve), config)) {
        Ok(code) => code,
        Err(error) => {
            tracing::error!(%error, "fin con error");
            eprintln!("{error}");
            ExitCode::FAILURE
        }
    };
    drop(runtime);
    // The spans of the last requests, sent before the process ends.
    if let Some(exporter) = exporter {
        exporter.shutdown();
    }
    code
}

async fn run(command: Command, config: Config) -> Result<ExitCode, server::StartError> {
    if let Command::Classifications { json } = command {
        for line in classifications(json) {
            println!("{line}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    if let Command::DkimKeygen {
        selector,
        domain,
        algorithm,
        key_file,
    } = command
    {
        let algorithm = match algorithm {
            KeyAlgorithm::Rsa => dkim::Algorithm::Rsa,
            KeyAlgorithm::Ed25519 => dkim::Algorithm::Ed25519,
        };
        return dkim_keygen(&selector, &domain, algorithm, key_file.as_deref());
    }
    if let Command::Serve = command {
        let running = server::start(&config).await?;
        // The run script and the browser tests wait for this line or for /healthz.
        println!("Sirviendo en http://{}", running.addr);
        if let Some(metrics) = running.metrics_addr {
            // Not println!: a reader that stopped after the first line must not end the server.
            use std::io::Write;
            let _ = writeln!(std::io::stdout(), "Métricas en http://{metrics}/metrics");
        }
        tracing::info!(addr = %running.addr, public = %config.public_base_url, "servidor listo");
        running.serve(server::shutdown_signal()).await?;
        return Ok(ExitCode::SUCCESS);
    }
    let db = match server::db::connect_and_migrate(&config.database_url).await {
        Ok(db) => db,
        // The mail system keeps the notice and pipes it again later.
        Err(error) if matches!(command, Command::Bounce) => {
            eprintln!("base de datos: {error}");
            return Ok(ExitCode::from(75));
        }
        Err(error) => return Err(error.into()),
    };
    match command {
        Command::Serve | Command::Classifications { .. } | Command::DkimKeygen { .. } => {
            unreachable!("handled above")
        }
        Command::Migrate => println!("Esquema de base de datos al día."),
        Command::SeedDemo => {
            let inserted = server::seed::seed_demo(&db, services::SystemClock.now_ms()).await?;
            println!("Registros de demostración insertados: {inserted}");
        }
        Command::Import {
            file,
            dry_run,
            skip_invalid,
        } => {
            let reader = std::fs::File::open(&file).map_err(|e| {
                server::StartError::Input(format!("no se pudo abrir {}: {e}", file.display()))
            })?;
            let parsed = server::registrations::parse_csv(reader)
                .map_err(|e| server::StartError::Input(format!("CSV ilegible: {e}")))?;
            for rejection in &parsed.rejected {
                println!("{}", serde_json::to_string(rejection).unwrap_or_default());
            }
            let valid = parsed.rows.len();
            eprintln!(
                "Filas válidas: {valid}. Filas rechazadas: {}.",
                parsed.rejected_rows
            );
            if parsed.rejected_rows > 0 && !skip_invalid {
                eprintln!(
                    "No se escribió nada: corrija las filas rechazadas o use --skip-invalid."
                );
                return Ok(ExitCode::from(1));
            }
            if dry_run {
                eprintln!("--dry-run: no se escribió nada.");
            } else {
                server::registrations::upsert(&db, &parsed.rows, services::SystemClock.now_ms())
                    .await?;
                eprintln!("Registros cargados o actualizados: {valid}.");
            }
        }
        Command::Outbox {
            command: OutboxCommand::List { state, limit },
        } => {
            let state = match state.as_deref().map(services::outbox::State::parse) {
                Some(None) => {
                    eprintln!(
                        "Estado desconocido: use queued, sending, sent, abandoned o bounced."
                    );
                    return Ok(ExitCode::from(2));
                }
                Some(Some(state)) => Some(state),
                None => None,
            };
            for m in services::outbox::list(&db, state, limit).await? {
                println!(
                    "{}\t{}\t{}\tintentos={}\t{}\t{}",
                    m.id,
                    sea_orm::ActiveEnum::to_value(&m.state),
                    sea_orm::ActiveEnum::to_value(&m.kind),
                    m.attempts,
                    validation::Email::parse(&m.recipient)
                        .map(|e| e.masked())
                        .unwrap_or_default(),
                    m.last_error.unwrap_or_default()
                );
            }
        }
        Command::Outbox {
            command: OutboxCommand::Retry { ids },
        } => {
            let now = services::SystemClock.now_ms();
            let n = services::outbox::retry(&db, &ids, now).await?;
            println!("Mensajes puestos de nuevo en cola: {n}");
        }
        Command::Bounce => {
            use std::io::Read;
            let mut raw = Vec::new();
            // A notice quotes at most the original message; more than 10 MiB is not one.
            std::io::stdin()
                .take(10 << 20)
                .read_to_end(&mut raw)
                .map_err(|e| server::StartError::Input(format!("entrada ilegible: {e}")))?;
            match services::bounce::parse(&raw) {
                Err(ignored) => println!("Ignorado: {ignored}."),
                Ok(bounce) => match services::bounce::record(&db, &bounce).await {
                    Ok(true) => println!(
                        "Rebote registrado: mensaje {} ({}).",
                        bounce.outbox_id, bounce.status
                    ),
                    Ok(false) => println!(
                        "Ignorado: ningún mensaje enviado {} a ese destinatario.",
                        bounce.outbox_id
                    ),
                    Err(error) => {
                        eprintln!("base de datos: {error}");
                        return Ok(ExitCode::from(75));
                    }
                },
            }
        }
        Command::Audit { limit } => {
            for a in services::audit::recent(&db, limit).await? {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    ecuador_time(a.at),
                    a.event,
                    a.outcome,
                    a.client_addr.unwrap_or_else(|| "-".into()),
                    a.identificacion.unwrap_or_else(|| "-".into()),
                    a.request_id.unwrap_or_else(|| "-".into())
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `server dkim-keygen`: the zone file line on standard output (after the private key when no
/// file is given); what to do with them on standard error.
fn dkim_keygen(
    selector: &str,
    domain: &str,
    algorithm: dkim::Algorithm,
    key_file: Option<&std::path::Path>,
) -> Result<ExitCode, server::StartError> {
    let input = |e: String| server::StartError::Input(e);
    let (selector, domain) = dkim::names(selector, domain).map_err(|(name, reason)| {
        let flag = if name == "DKIM_SELECTOR" {
            "--selector"
        } else {
            "--domain"
        };
        input(format!("{flag}: {reason}"))
    })?;
    let pair = dkim::generate(algorithm)?;
    match key_file {
        Some(file) => write_private(file, &pair.private_pem)
            .map_err(|e| input(format!("no se pudo escribir {}: {e}", file.display())))?,
        None => print!("{}", pair.private_pem.as_str()),
    }
    println!("{}", dkim::zone_line(&selector, &domain, &pair.record));
    eprintln!(
        "Publique el registro TXT en el DNS de {domain} y luego configure:\n  \
         REINICIO_DKIM_SELECTOR={selector}\n  REINICIO_DKIM_DOMAIN={domain}\n  \
         REINICIO_DKIM_KEY_FILE={}",
        key_file.map_or_else(
            || "(archivo con la clave privada de arriba)".into(),
            |p| p.display().to_string()
        ),
    );
    Ok(ExitCode::SUCCESS)
}

/// A new file only its owner can read.
fn write_private(path: &std::path::Path, pem: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(pem.as_bytes())
}

/// The lines `server classifications` prints, straight from the validation crate's table.
fn classifications(json: bool) -> Vec<String> {
    use validation::Classification;
    let word = |required: bool| if required { "obligatorio" } else { "bloqueado" };
    Classification::ALL
        .iter()
        .map(|c| {
            let (ruc, correo) = (c.ruc_empresa().is_required(), c.correo().is_required());
            if json {
                serde_json::json!({
                    "codigo": c.code(),
                    "etiqueta": c.label(),
                    "ruc": ruc,
                    "correo": correo,
                })
                .to_string()
            } else {
                format!(
                    "{}\t{}\tRUC empresa: {}\tCorreo electrónico: {}",
                    c.code(),
                    c.label(),
                    word(ruc),
                    word(correo)
                )
            }
        })
        .collect()
}

/// Log lines on standard error and, with `REINICIO_OTLP_ENDPOINT`, the same spans to a collector.
/// Layers that are off are `None`: statically typed, so the request path checks one branch and
/// calls nothing of theirs.
fn init_tracing(config: &Config) -> Result<Option<server::otlp::Exporter>, String> {
    use tracing_subscriber::{Layer, fmt, layer::SubscriberExt, util::SubscriberInitExt};
    let (text, json) = match config.log_format {
        LogFormat::Text => (Some(fmt::layer().with_writer(std::io::stderr)), None),
        LogFormat::Json => (None, Some(fmt::layer().json().with_writer(std::io::stderr))),
    };
    let (export, exporter) = match &config.otlp_endpoint {
        Some(endpoint) => {
            let (layer, exporter) = server::otlp::layer(endpoint)?;
            (Some(layer), Some(exporter))
        }
        None => (None, None),
    };
    // `Layer::and_then`, not `Option::and_then`: the layers stack, each `None` when off.
    let logs = Layer::and_then(Layer::and_then(text, json), export)
        .with_filter(tracing_subscriber::EnvFilter::new(&config.log_level));
    // The pool's waits, for `/metrics`; only with a metrics listener.
    let pool_wait = config.metrics_addr.map(|_| server::telemetry::pool_wait());
    tracing_subscriber::registry()
        .with(logs)
        .with(pool_wait)
        .init();
    Ok(exporter)
}
