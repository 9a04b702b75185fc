//! The `server` command: serves the app, or performs one operator task and exits.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use server::config::{Config, LogFormat};

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
    init_tracing(&config);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(error) => {
            eprintln!("no se pudo iniciar el runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command.unwrap_or(Command::Serve), config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "fin con error");
            eprintln!("{error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, config: Config) -> Result<(), server::StartError> {
    match command {
        Command::Serve => {
            let running = server::start(&config).await?;
            // The run script and the browser tests wait for this line or for /healthz.
            println!("Sirviendo en http://{}", running.addr);
            tracing::info!(addr = %running.addr, public = %config.public_base_url, "servidor listo");
            running.serve(server::shutdown_signal()).await
        }
        Command::Migrate => {
            server::db::connect_and_migrate(&config.database_url).await?;
            println!("Esquema de base de datos al día.");
            Ok(())
        }
        Command::SeedDemo => {
            let db = server::db::connect_and_migrate(&config.database_url).await?;
            let inserted = server::seed::seed_demo(&db).await?;
            println!("Registros de demostración insertados: {inserted}");
            Ok(())
        }
    }
}

fn init_tracing(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::new(&config.log_level);
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match config.log_format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}
