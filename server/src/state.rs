//! The one state every handler and middleware layer shares, and what it holds.

use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;
use sea_orm::DatabaseConnection;

/// What every request may need, shared: every middleware layer and handler takes its own copy of
/// the state, so a copy is one reference count, not a copy of every handle inside.
#[derive(Clone)]
pub struct AppState(std::sync::Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> Self {
        AppState(std::sync::Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

// What leptos_axum and `/healthz` extract from the state.
impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

impl FromRef<AppState> for DatabaseConnection {
    fn from_ref(state: &AppState) -> Self {
        state.db.clone()
    }
}

pub struct Shared {
    pub leptos_options: LeptosOptions,
    pub db: DatabaseConnection,
    pub backend: app::api::ssr::SharedBackend,
    pub services: crate::services::Services,
    /// Session cookies get `Secure` when the public base URL is https.
    pub secure_cookies: bool,
    /// "Buscar ID" and reset requests per client address.
    pub lookup_address_limit: std::sync::Arc<AddressLimit>,
    /// Sign-in attempts and password changes per client address.
    pub sign_in_address_limit: std::sync::Arc<AddressLimit>,
    pub trusted_proxy: bool,
    /// Longest a request may take once its headers arrived, slow clients included.
    pub request_timeout: std::time::Duration,
}

/// A per-address limit (in memory: each instance counts its own share; the per-identity limits,
/// in the database, are the shared ones).
pub struct AddressLimit {
    limiter: governor::DefaultKeyedRateLimiter<std::net::IpAddr>,
    clock: governor::clock::DefaultClock,
}

impl AddressLimit {
    pub fn new(por_minuto: u32, rafaga: u32) -> Self {
        use std::num::NonZeroU32;
        let n = |v: u32| NonZeroU32::new(v.max(1)).unwrap_or(NonZeroU32::MIN);
        let quota = governor::Quota::per_minute(n(por_minuto)).allow_burst(n(rafaga));
        AddressLimit {
            limiter: governor::RateLimiter::keyed(quota),
            clock: governor::clock::DefaultClock::default(),
        }
    }

    /// `Err(seconds to wait)` when `addr` is over its quota.
    pub fn check(&self, addr: std::net::IpAddr) -> Result<(), u64> {
        use governor::clock::Clock;
        self.limiter
            .check_key(&addr)
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()).as_secs().max(1))
    }

    /// Forgets addresses whose quota is full again, so memory follows current traffic.
    pub fn forget_idle(&self) {
        self.limiter.retain_recent();
    }
}
