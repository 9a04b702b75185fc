//! The reinicio-clave server: configuration, database, mail and the HTTP surface.
//!
//! `main.rs` is only the command line; everything here is a library so that integration tests
//! start the real application on a random port.

// Leptos' typed views nest deeply; the page's future needs more than the default 128.
#![recursion_limit = "256"]

#[cfg(test)]
mod allocations;
pub mod background;
pub mod config;
pub mod db;
pub mod entities;
pub mod mail;
pub mod middleware;
pub mod otlp;
pub mod registrations;
pub mod routes;
pub mod seed;
pub mod serve;
pub mod services;
pub mod state;
pub mod telemetry;

use std::{net::SocketAddr, sync::Arc};

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
    #[error("métricas: {0}")]
    Metrics(String),
    #[error("no se pudo iniciar el hilo de envío de correo: {0}")]
    MailThread(std::io::Error),
    #[error("no se pudo iniciar el hilo de escritura en la base de datos: {0}")]
    WriterThread(std::io::Error),
    #[error("{0}")]
    Input(String),
}

/// Lower-case hexadecimal, two digits a byte: digests, tokens and message IDs.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}

/// The Leptos options for this build; the listen address comes from our configuration.
pub fn leptos_options(listen_addr: SocketAddr) -> Result<LeptosOptions, StartError> {
    // `None`: read the LEPTOS_* variables cargo-leptos sets or compiled in, with their defaults.
    let mut options = leptos::config::get_configuration(None)
        .map_err(|e| StartError::Leptos(e.to_string()))?
        .leptos_options;
    options.site_addr = listen_addr;
    // A release build names its files after their content and says so in a hash file next to
    // the executable; with it the bundle can be cached for good (see `routes::assets`).
    if std::env::var_os("LEPTOS_HASH_FILES").is_none() {
        options.hash_files = std::env::current_exe()
            .ok()
            .and_then(|exe| Some(exe.parent()?.join(options.hash_file.as_ref())))
            .is_some_and(|path| path.is_file());
    }
    Ok(options)
}

/// A server that is listening and ready to serve.
pub struct Running {
    pub addr: SocketAddr,
    /// Where `/metrics` is served, when it is.
    pub metrics_addr: Option<SocketAddr>,
    metrics: Option<(TcpListener, axum::Router)>,
    pub services: services::Services,
    listener: TcpListener,
    app: axum::Router,
    worker: services::outbox::Worker<mail::LettreMailer>,
    /// The outbox's lower-priority thread; it lives as long as the server.
    _sending: background::Background,
    connections: serve::Settings,
    sent_mail_retention_days: u32,
}

/// Connects to the database, migrates, binds the port. Returns once requests can be accepted.
pub async fn start(config: &config::Config) -> Result<Running, StartError> {
    let db = db::connect_and_migrate(&config.database_url).await?;
    let mailer = mail::LettreMailer::from_config(&config.mail)?;
    let composer = mail::Composer::new(
        &config.mail_from,
        &config.public_base_url,
        config.dkim.as_ref(),
    )?;
    let leptos_options = leptos_options(config.listen_addr)?;
    let listener = TcpListener::bind(config.listen_addr)
        .await
        .map_err(|source| StartError::Bind {
            addr: config.listen_addr,
            source,
        })?;
    let addr = listener.local_addr().map_err(StartError::Serve)?;
    let clock: Arc<dyn services::Clock> = Arc::new(services::SystemClock);
    let services = services::Services {
        db: db.clone(),
        writer: services::writer::Writer::start(db.clone(), &config.database_url)
            .map_err(StartError::WriterThread)?,
        clock: clock.clone(),
        outbox_wakeup: Default::default(),
        reset_ttl_minutes: config.reset_ttl_minutes,
        limits: config.limits,
        argon2: services::password::Argon2Pool::new(config.argon2_threads, config.argon2_queue),
    };
    let sending = background::Background::start("correo", background::MAIL_NICE)
        .map_err(StartError::MailThread)?;
    let worker = services::outbox::Worker {
        db: db.clone(),
        mailer,
        clock,
        wakeup: services.outbox_wakeup.clone(),
        settings: services::outbox::Settings {
            reset_ttl_minutes: config.reset_ttl_minutes,
            base_backoff: std::time::Duration::from_secs(config.mail_retry_seconds.into()),
            claim_lock: std::time::Duration::from_secs(config.mail_claim_seconds.into()),
            batch: config.mail_batch.into(),
            ..Default::default()
        },
        composer,
        sending: Some(sending.handle().clone()),
        requests: Some(services.writer.clone()),
    };
    let lookup_address_limit = Arc::new(state::AddressLimit::new(
        config.address_limit_per_minute,
        config.address_limit_burst,
    ));
    let sign_in_address_limit = Arc::new(state::AddressLimit::new(
        config.sign_in_per_minute,
        config.sign_in_burst,
    ));
    // Forget idle addresses now and then, so the tables follow current traffic.
    let limits = (
        Arc::downgrade(&lookup_address_limit),
        Arc::downgrade(&sign_in_address_limit),
    );
    tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(60));
        loop {
            every.tick().await;
            match (limits.0.upgrade(), limits.1.upgrade()) {
                (Some(a), Some(b)) => {
                    a.forget_idle();
                    b.forget_idle();
                }
                _ => break,
            }
        }
    });
    let app = routes::router(state::AppState::new(state::Shared {
        leptos_options,
        db,
        backend: app::api::ssr::SharedBackend(Arc::new(routes::api::Adapter(services.clone()))),
        services: services.clone(),
        secure_cookies: config.public_base_url.scheme() == "https",
        lookup_address_limit: lookup_address_limit.clone(),
        sign_in_address_limit,
        trusted_proxy: config.trusted_proxy,
        request_timeout: config.request_timeout,
    }));
    let (app, metrics) = match config.metrics_addr {
        Some(metrics_addr) => {
            let handle = telemetry::install().map_err(StartError::Metrics)?;
            let listener =
                TcpListener::bind(metrics_addr)
                    .await
                    .map_err(|source| StartError::Bind {
                        addr: metrics_addr,
                        source,
                    })?;
            let router = telemetry::router(telemetry::Scrape {
                handle,
                db: services.db.clone(),
                clock: services.clock.clone(),
            });
            (
                app.route_layer(axum::middleware::from_fn(telemetry::track)),
                Some((listener, router)),
            )
        }
        None => (app, None),
    };
    let metrics_addr = match &metrics {
        Some((listener, _)) => Some(listener.local_addr().map_err(StartError::Serve)?),
        None => None,
    };
    Ok(Running {
        addr,
        metrics_addr,
        metrics,
        services,
        listener,
        app,
        worker,
        _sending: sending,
        connections: serve::Settings {
            header_timeout: config.header_timeout,
            max_connections: config.max_connections,
            shutdown_grace: config.shutdown_grace,
        },
        sent_mail_retention_days: config.sent_mail_retention_days,
    })
}

impl Running {
    /// Serves until `shutdown` completes, then lets requests in flight finish (for at most the
    /// shutdown grace) and stops the outbox worker after its current message (what it has not
    /// sent stays queued).
    pub async fn serve(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartError> {
        let (stop_worker, worker_stop) = tokio::sync::watch::channel(false);
        let worker = tokio::spawn(self.worker.run(worker_stop));
        let cleanup = services::cleanup::spawn(
            self.services.db.clone(),
            self.services.clock.clone(),
            self.sent_mail_retention_days,
        );
        let metrics = self.metrics.map(|(listener, router)| {
            tokio::spawn(async move {
                if let Err(error) = axum::serve(listener, router).await {
                    tracing::error!(%error, "el servidor de métricas se detuvo");
                }
            })
        });
        serve::connections(self.listener, self.app, self.connections, shutdown).await;
        if let Some(metrics) = metrics {
            metrics.abort();
        }
        cleanup.abort();
        let _ = stop_worker.send(true);
        let _ = worker.await;
        Ok(())
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
