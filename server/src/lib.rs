//! The reinicio-clave server: configuration, database, mail and the HTTP surface.
//!
//! `main.rs` is only the command line; everything here is a library so that integration tests
//! start the real application on a random port.

pub mod config;
pub mod db;
pub mod entities;
pub mod http;
pub mod mail;
pub mod seed;

use std::net::SocketAddr;

use leptos::config::LeptosOptions;
use tokio::net::TcpListener;

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error("configuración de Leptos inválida: {0}")]
    Leptos(String),
    #[error("base de datos: {0}")]
    Database(#[from] sea_orm::DbErr),
    #[error("correo: {0}")]
    Mail(#[from] mail::MailError),
    #[error("no se pudo escuchar en {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("el servidor se detuvo: {0}")]
    Serve(std::io::Error),
}

/// The Leptos options for this build; the listen address comes from our configuration.
pub fn leptos_options(listen_addr: SocketAddr) -> Result<LeptosOptions, StartError> {
    // `None`: read the LEPTOS_* variables cargo-leptos sets or compiled in, with their defaults.
    let mut options = leptos::config::get_configuration(None)
        .map_err(|e| StartError::Leptos(e.to_string()))?
        .leptos_options;
    options.site_addr = listen_addr;
    Ok(options)
}

/// A server that is listening and ready to serve.
pub struct Running {
    pub addr: SocketAddr,
    listener: TcpListener,
    app: axum::Router,
}

/// Connects to the database, migrates, binds the port. Returns once requests can be accepted.
pub async fn start(config: &config::Config) -> Result<Running, StartError> {
    let db = db::connect_and_migrate(&config.database_url).await?;
    mail::LettreMailer::from_config(&config.mail)?;
    let leptos_options = leptos_options(config.listen_addr)?;
    let listener = TcpListener::bind(config.listen_addr)
        .await
        .map_err(|source| StartError::Bind {
            addr: config.listen_addr,
            source,
        })?;
    let addr = listener.local_addr().map_err(StartError::Serve)?;
    let app = http::router(http::AppState { leptos_options, db });
    Ok(Running {
        addr,
        listener,
        app,
    })
}

impl Running {
    /// Serves until `shutdown` completes, then lets requests in flight finish.
    pub async fn serve(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartError> {
        axum::serve(self.listener, self.app)
            .with_graceful_shutdown(shutdown)
            .await
            .map_err(StartError::Serve)
    }
}

/// Completes on Ctrl-C or SIGTERM (what orchestrators send before they kill an instance).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("señal de parada recibida: terminando las solicitudes en curso");
}
