//! The services behind the page: plain Rust over the database, tested without a browser.
//!
//! They return domain values and [`ServiceError`]; the server functions (in `app::api`) reach
//! them through one adapter, `routes::api::Adapter`, which turns them into the API's types.

pub mod audit;
pub mod bounce;
pub mod cleanup;
pub mod limits;
pub mod outbox;
pub mod password;
pub mod registry;
pub mod sign_in;
pub mod writer;

use std::sync::{
    Arc,
    atomic::{AtomicI64, Ordering},
};

use sea_orm::{DatabaseConnection, DbErr};
use tokio::sync::Notify;

/// Milliseconds since the Unix epoch, injectable so that expiry is tested without sleeping.
pub trait Clock: Send + Sync + 'static {
    fn now_ms(&self) -> i64;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        jiff::Timestamp::now().as_millisecond()
    }
}

/// A clock that moves only when told to.
pub struct ManualClock(AtomicI64);

impl ManualClock {
    pub fn new(start_ms: i64) -> Self {
        ManualClock(AtomicI64::new(start_ms))
    }

    pub fn advance_ms(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// No approved registration matches. Deliberately one variant for every kind of miss.
    #[error("sin coincidencia")]
    NoMatch,
    /// Too many requests for this identificación in the last hour.
    #[error("límite por identificación")]
    Limite { segundos: u64 },
    #[error("base de datos: {0}")]
    Database(#[from] DbErr),
}

/// Everything a request handler needs; cheap to clone.
#[derive(Clone)]
pub struct Services {
    pub db: DatabaseConnection,
    /// The lookups' and reset requests' reads and writes, in groups (see [`writer`]).
    pub writer: writer::Writer,
    pub clock: Arc<dyn Clock>,
    /// Wakes the outbox worker as soon as a message is queued: the e-mail leaves at once.
    pub outbox_wakeup: Arc<Notify>,
    pub reset_ttl_minutes: u32,
    pub limits: limits::Limits,
    /// The only place Argon2 runs (sign-in and password changes; never the outbox).
    pub argon2: password::Argon2Pool,
}
