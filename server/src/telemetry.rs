//! Metrics for operators, in Prometheus' text format, on a listener of their own
//! (`REINICIO_METRICS_ADDR`, loopback by default): never on the public port.
//!
//! The counters are kept by the `metrics` facade wherever the thing happens (the request layer
//! below, the group-commit writer, the outbox); the outbox's depth is read from the database
//! at each scrape, so it is the same whichever instance is asked. Without a metrics address no
//! recorder is installed and every `counter!` is a no-op.

use std::{
    sync::{Arc, Mutex},
    time::Instant,
};

use axum::{
    Router,
    extract::{MatchedPath, Request, State},
    http::{StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
    routing::get,
};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use sea_orm::{
    ActiveEnum, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect,
    sea_query::{Expr, ExprTrait},
};

use crate::{
    entities::mail_outbox::{self, State as MailState},
    services::Clock,
};

/// Latency buckets, in seconds: from a cached lookup to the request timeout.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 30.0,
];

/// Waiting for a database connection: usually far under a millisecond, so finer buckets.
const POOL_WAIT_BUCKETS: [f64; 10] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 3.0,
];

/// The process's one recorder: every server started in this process reports to it.
static RECORDER: Mutex<Option<PrometheusHandle>> = Mutex::new(None);

/// Installs the recorder (once per process) and returns its handle.
pub fn install() -> Result<PrometheusHandle, String> {
    let mut recorder = RECORDER.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(handle) = recorder.as_ref() {
        return Ok(handle.clone());
    }
    let handle = PrometheusBuilder::new()
        .set_buckets(&BUCKETS)
        .and_then(|b| {
            b.set_buckets_for_metric(
                metrics_exporter_prometheus::Matcher::Full("reinicio_db_pool_wait_seconds".into()),
                &POOL_WAIT_BUCKETS,
            )
        })
        .and_then(PrometheusBuilder::install_recorder)
        .map_err(|e| e.to_string())?;
    describe();
    metrics::gauge!(
        "reinicio_build_info",
        "version" => env!("CARGO_PKG_VERSION"),
        "commit" => option_env!("REINICIO_COMMIT").unwrap_or("desconocido"),
    )
    .set(1.0);
    *recorder = Some(handle.clone());
    Ok(handle)
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!("http_requests_total", "Peticiones HTTP por ruta y estado");
    describe_histogram!(
        "http_request_duration_seconds",
        metrics::Unit::Seconds,
        "Duración de las peticiones HTTP por ruta"
    );
    describe_counter!("reinicio_lookups_total", "Búsquedas de ID por resultado");
    describe_counter!(
        "reinicio_resets_total",
        "Solicitudes de reinicio por resultado"
    );
    describe_counter!(
        "reinicio_limit_refusals_total",
        "Peticiones rechazadas por un límite, por tipo de límite"
    );
    describe_counter!(
        "reinicio_mail_sent_total",
        "Correos aceptados por el relé, por tipo"
    );
    describe_counter!(
        "reinicio_mail_failures_total",
        "Intentos de envío fallidos (se reintentan), por tipo"
    );
    describe_counter!(
        "reinicio_mail_abandoned_total",
        "Correos abandonados, por tipo"
    );
    describe_gauge!(
        "reinicio_outbox_messages",
        "Mensajes en el buzón de salida, por estado"
    );
    describe_gauge!(
        "reinicio_outbox_oldest_queued_seconds",
        metrics::Unit::Seconds,
        "Antigüedad del mensaje en cola más antiguo (0 sin cola)"
    );
    describe_gauge!("reinicio_build_info", "Versión y commit del binario");
    describe_counter!("reinicio_sign_ins_total", "Ingresos por resultado");
    describe_gauge!(
        "reinicio_db_pool_connections",
        "Conexiones del grupo de la base de datos, en uso y libres"
    );
    describe_histogram!(
        "reinicio_db_pool_wait_seconds",
        metrics::Unit::Seconds,
        "Espera de cada petición de una conexión del grupo de la base de datos"
    );
    describe_counter!(
        "reinicio_sign_in_lockouts_total",
        "ID usuario cuyo ingreso con clave quedó en pausa por intentos fallidos"
    );
    describe_gauge!(
        "reinicio_argon2_queue",
        "Cálculos de Argon2 esperando un hilo"
    );
    describe_histogram!(
        "reinicio_argon2_wait_seconds",
        metrics::Unit::Seconds,
        "Espera de cada cálculo de Argon2 antes de empezar"
    );
    describe_counter!(
        "reinicio_argon2_refusals_total",
        "Cálculos rechazados con la cola de Argon2 llena (503)"
    );
}

/// A tracing layer that turns the database pool's report of each acquire (a TRACE event of
/// target `sqlx::pool::acquire`, switched on in `db`) into `reinicio_db_pool_wait_seconds`.
/// Its own filter lets only that target through, whatever `REINICIO_LOG_LEVEL` says.
pub fn pool_wait<S>() -> impl tracing_subscriber::Layer<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    use tracing_subscriber::{Layer, filter::Targets};
    PoolWait.with_filter(Targets::new().with_target("sqlx::pool::acquire", tracing::Level::TRACE))
}

struct PoolWait;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for PoolWait {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        struct Wait(Option<f64>);
        impl tracing::field::Visit for Wait {
            fn record_f64(&mut self, field: &tracing::field::Field, value: f64) {
                if field.name() == "acquired_after_secs" {
                    self.0 = Some(value);
                }
            }
            fn record_debug(&mut self, _: &tracing::field::Field, _: &dyn std::fmt::Debug) {}
        }
        let mut wait = Wait(None);
        event.record(&mut wait);
        if let Some(seconds) = wait.0 {
            metrics::histogram!("reinicio_db_pool_wait_seconds").record(seconds);
        }
    }
}

/// The two forms of the page.
pub enum Form {
    Lookup,
    Reset,
}

/// One more `outcome="invalido"`: a request refused before it reached the service.
pub fn count_invalid(form: Form) {
    let name = match form {
        Form::Lookup => "reinicio_lookups_total",
        Form::Reset => "reinicio_resets_total",
    };
    metrics::counter!(name, "outcome" => "invalido").increment(1);
}

/// Counts every routed request by its route's pattern (never the raw path: a scan of made-up
/// paths must not create series) and its status, and times it.
pub async fn track(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "otra".to_owned(), |p| p.as_str().to_owned());
    let started = Instant::now();
    let response = next.run(request).await;
    let code = response.status().as_u16();
    // A request the crate's rules or the JSON reader refused never reaches the service (which
    // counts the other outcomes, `services::writer`): counted here.
    if matches!(code, 400 | 413 | 415 | 422) {
        match route.as_str() {
            "/api/buscar_id" => count_invalid(Form::Lookup),
            "/api/solicitar_reinicio" => count_invalid(Form::Reset),
            _ => {}
        }
    }
    metrics::counter!("http_requests_total", "route" => route.clone(), "status" => code.to_string())
        .increment(1);
    metrics::histogram!("http_request_duration_seconds", "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

/// What the metrics listener needs: the recorder and, for the outbox's depth, the database.
#[derive(Clone)]
pub struct Scrape {
    pub handle: PrometheusHandle,
    pub db: DatabaseConnection,
    pub clock: Arc<dyn Clock>,
}

/// The metrics listener's only route.
pub fn router(scrape: Scrape) -> Router {
    Router::new()
        .route("/metrics", get(metrics_page))
        .with_state(scrape)
}

async fn metrics_page(State(scrape): State<Scrape>) -> Response {
    if let Err(error) = outbox_depth(&scrape).await {
        tracing::warn!(%error, "métricas: no se pudo leer el buzón de salida");
    }
    pool_gauges(&scrape.db);
    scrape.handle.run_upkeep();
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        scrape.handle.render(),
    )
        .into_response()
}

/// The database pool's connections in use and idle, at the moment of the scrape.
fn pool_gauges(db: &DatabaseConnection) {
    let (size, idle) = match db.get_database_backend() {
        sea_orm::DbBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            (pool.size(), pool.num_idle())
        }
        sea_orm::DbBackend::Sqlite => {
            let pool = db.get_sqlite_connection_pool();
            (pool.size(), pool.num_idle())
        }
        _ => return,
    };
    let idle = idle as f64;
    metrics::gauge!("reinicio_db_pool_connections", "state" => "in_use")
        .set(f64::from(size) - idle);
    metrics::gauge!("reinicio_db_pool_connections", "state" => "idle").set(idle);
}

/// Sets the outbox gauges from the database: messages per state and the age of the oldest
/// queued one (what the "outbox stuck" alert watches).
async fn outbox_depth(scrape: &Scrape) -> Result<(), sea_orm::DbErr> {
    use mail_outbox::Column as C;
    let counts: Vec<(MailState, i64)> = mail_outbox::Entity::find()
        .select_only()
        .column(C::State)
        .column_as(Expr::col(C::Id).count(), "n")
        .group_by(C::State)
        .into_tuple()
        .all(&scrape.db)
        .await?;
    for state in [
        MailState::Queued,
        MailState::Sending,
        MailState::Sent,
        MailState::Abandoned,
        MailState::Bounced,
    ] {
        let n = counts
            .iter()
            .find(|(s, _)| *s == state)
            .map_or(0, |(_, n)| *n);
        metrics::gauge!("reinicio_outbox_messages", "state" => state.to_value()).set(n as f64);
    }
    let oldest: Option<Option<i64>> = mail_outbox::Entity::find()
        .select_only()
        .column_as(Expr::col(C::CreatedAt).min(), "oldest")
        .filter(C::State.eq(MailState::Queued))
        .into_tuple()
        .one(&scrape.db)
        .await?;
    let age_ms = oldest
        .flatten()
        .map_or(0, |created| Ord::max(scrape.clock.now_ms() - created, 0));
    metrics::gauge!("reinicio_outbox_oldest_queued_seconds").set(age_ms as f64 / 1000.0);
    Ok(())
}
