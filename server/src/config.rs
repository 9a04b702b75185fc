//! One typed configuration, read from `REINICIO_*` environment variables.
//!
//! Every setting has a default that runs the app on one machine with nothing else installed
//! (SQLite under `data/`, e-mail written to `data/outbox/`). Production overrides them. A bad value
//! stops start-up with one line that names the variable, so an operator fixes it in one go.

use std::{collections::HashMap, fmt, net::SocketAddr, path::PathBuf};

use url::Url;

use crate::mail::{MailTransport, redact};

pub const PREFIX: &str = "REINICIO_";

/// Settings renamed to English (CONTRIBUTING.md), and the names they had: the old name is still
/// read when the new one is not set, so existing deployments keep working. README lists both.
pub const ALIASES: [(&str, &str); 8] = [
    ("LOOKUP_LIMIT_PER_HOUR", "LIMITE_BUSQUEDAS_POR_HORA"),
    ("RESET_LIMIT_PER_HOUR", "LIMITE_REINICIOS_POR_HORA"),
    ("ADDRESS_LIMIT_PER_MINUTE", "LIMITE_IP_POR_MINUTO"),
    ("ADDRESS_LIMIT_BURST", "LIMITE_IP_RAFAGA"),
    ("TRUSTED_PROXY", "PROXY_CONFIABLE"),
    ("ARGON2_THREADS", "ARGON2_PARALELO"),
    ("MAIL_RETRY_SECONDS", "CORREO_REINTENTO_SEGUNDOS"),
    ("MAIL_CLAIM_SECONDS", "CORREO_RECLAMO_SEGUNDOS"),
];

#[derive(Debug, Clone, PartialEq, Eq, Copy)]
pub enum LogFormat {
    /// Human-readable lines, for a terminal.
    Text,
    /// One JSON object per line, for log collectors in production.
    Json,
}

#[derive(Clone)]
pub struct Config {
    pub listen_addr: SocketAddr,
    /// Where `/metrics` is served (never on the public port); `None` when set empty.
    pub metrics_addr: Option<SocketAddr>,
    pub database_url: String,
    pub mail: MailTransport,
    /// The sender of every e-mail.
    pub mail_from: String,
    /// The key every message is signed with; `None` (the default) sends unsigned mail.
    pub dkim: Option<crate::mail::dkim::Settings>,
    /// The address users reach the service at; links in e-mails are built from it, never from the
    /// request's Host header (which an attacker chooses).
    pub public_base_url: Url,
    /// A `tracing` filter such as `info` or `server=debug,sea_orm=warn`.
    pub log_level: String,
    pub log_format: LogFormat,
    /// An OpenTelemetry collector's OTLP/HTTP base URL; `None` (the default) exports nothing.
    pub otlp_endpoint: Option<Url>,
    /// How long a temporary password stays valid once e-mailed.
    pub reset_ttl_minutes: u32,
    /// Requests per identificación per hour.
    pub limits: crate::services::limits::Limits,
    /// "Buscar ID" and reset requests per client address: sustained per minute, and burst.
    pub address_limit_per_minute: u32,
    pub address_limit_burst: u32,
    /// Behind a reverse proxy that sets `X-Forwarded-For`: take the client's address from it.
    /// Off by default, since anyone can send that header.
    pub trusted_proxy: bool,
    /// The outbox's wait after a failed send (doubling each time), and how long a claimed message
    /// belongs to the instance that claimed it before another may take it over.
    pub mail_retry_seconds: u32,
    pub mail_claim_seconds: u32,
    /// Messages the outbox claims, sends and records at once: two commits per batch.
    pub mail_batch: u32,
    /// Argon2 hashes computed at once (each takes 19 MiB and one core): the number of threads
    /// of the Argon2 pool.
    pub argon2_threads: usize,
    /// Argon2 jobs allowed to wait for a thread; past it, sign-ins are refused at once (503).
    pub argon2_queue: usize,
    /// Sign-in attempts and password changes per client address: sustained per minute, and burst.
    pub sign_in_per_minute: u32,
    pub sign_in_burst: u32,
    /// The server: how long a client has to send a request's headers (also how long an idle
    /// keep-alive connection stays open), how long a request may take once its headers arrived,
    /// how many connections may be open at once, and how long a shutdown waits for requests in
    /// flight before closing what is left.
    pub header_timeout: std::time::Duration,
    pub request_timeout: std::time::Duration,
    pub max_connections: usize,
    pub shutdown_grace: std::time::Duration,
    /// Sent messages are deleted from the outbox after this many days.
    pub sent_mail_retention_days: u32,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("listen_addr", &self.listen_addr)
            .field("metrics_addr", &self.metrics_addr)
            .field("database_url", &redact_str(&self.database_url))
            .field("mail", &self.mail)
            .field("mail_from", &self.mail_from)
            .field("dkim", &self.dkim)
            .field("public_base_url", &self.public_base_url.as_str())
            .field("log_level", &self.log_level)
            .field("log_format", &self.log_format)
            .field("otlp_endpoint", &self.otlp_endpoint.as_ref().map(redact))
            .field("reset_ttl_minutes", &self.reset_ttl_minutes)
            .field("limites", &self.limits)
            .field("address_limit_per_minute", &self.address_limit_per_minute)
            .field("address_limit_burst", &self.address_limit_burst)
            .field("trusted_proxy", &self.trusted_proxy)
            .field("mail_retry_seconds", &self.mail_retry_seconds)
            .field("mail_claim_seconds", &self.mail_claim_seconds)
            .field("mail_batch", &self.mail_batch)
            .field("argon2_threads", &self.argon2_threads)
            .field("argon2_queue", &self.argon2_queue)
            .field("sign_in_per_minute", &self.sign_in_per_minute)
            .field("sign_in_burst", &self.sign_in_burst)
            .field("header_timeout", &self.header_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("max_connections", &self.max_connections)
            .field("shutdown_grace", &self.shutdown_grace)
            .field("sent_mail_retention_days", &self.sent_mail_retention_days)
            .finish()
    }
}

fn redact_str(raw: &str) -> String {
    Url::parse(raw)
        .map(|u| redact(&u))
        .unwrap_or_else(|_| raw.to_owned())
}

/// A setting that cannot be used: the message names the variable and what it accepts.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("configuración inválida: {variable}={value:?}: {reason}")]
pub struct ConfigError {
    pub variable: String,
    pub value: String,
    pub reason: String,
}

pub const DEFAULT_LISTEN_ADDR: &str = "127.0.0.1:3000";
pub const DEFAULT_METRICS_ADDR: &str = "127.0.0.1:9464";
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/reinicio-clave.sqlite3?mode=rwc";
pub const DEFAULT_MAIL_URL: &str = "file://data/outbox";
pub const DEFAULT_MAIL_FROM: &str = "ECUAPASS <no-responder@localhost>";
pub const DEFAULT_LOG_LEVEL: &str = "info";

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        let vars: HashMap<String, String> = std::env::vars()
            .filter(|(k, _)| k.starts_with(PREFIX) || k == "DATABASE_URL")
            .collect();
        Self::from_lookup(|name| vars.get(name).cloned())
    }

    /// Reads settings through `lookup`, so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        // The setting's value and the variable it came from (the new name, or else its old one),
        // so that an error names what the operator wrote.
        let get = |name: &str, default: &str| -> (String, String) {
            let set = |variable: String| {
                lookup(&variable)
                    .filter(|v| !v.trim().is_empty())
                    .map(|v| (variable, v.trim().to_owned()))
            };
            let old = ALIASES
                .iter()
                .find(|(new, _)| *new == name)
                .map(|(_, old)| format!("{PREFIX}{old}"));
            set(format!("{PREFIX}{name}"))
                .or_else(|| old.and_then(set))
                .unwrap_or_else(|| (format!("{PREFIX}{name}"), default.to_owned()))
        };
        let invalid = |variable: &str, value: &str, reason: &str| ConfigError {
            variable: variable.to_owned(),
            value: value.to_owned(),
            reason: reason.to_owned(),
        };

        let (var, raw) = get("LISTEN_ADDR", DEFAULT_LISTEN_ADDR);
        let listen_addr = raw
            .parse()
            .map_err(|_| invalid(&var, &raw, "se espera IP:puerto, p. ej. 0.0.0.0:3000"))?;

        // Set but empty: no metrics listener at all.
        let metrics_addr = match lookup(&format!("{PREFIX}METRICS_ADDR")) {
            Some(v) if v.trim().is_empty() => None,
            _ => {
                let (var, raw) = get("METRICS_ADDR", DEFAULT_METRICS_ADDR);
                Some(raw.parse().map_err(|_| {
                    invalid(
                        &var,
                        &raw,
                        "se espera IP:puerto, p. ej. 127.0.0.1:9464, o vacío para no servir métricas",
                    )
                })?)
            }
        };

        // DATABASE_URL is the name every hosting platform sets; ours wins when both exist.
        let (var, raw) = match lookup("REINICIO_DATABASE_URL").filter(|v| !v.trim().is_empty()) {
            Some(v) => ("REINICIO_DATABASE_URL".to_owned(), v.trim().to_owned()),
            None => match lookup("DATABASE_URL").filter(|v| !v.trim().is_empty()) {
                Some(v) => ("DATABASE_URL".to_owned(), v.trim().to_owned()),
                None => get("DATABASE_URL", DEFAULT_DATABASE_URL),
            },
        };
        if !(raw.starts_with("sqlite:")
            || raw.starts_with("postgres://")
            || raw.starts_with("postgresql://"))
        {
            return Err(invalid(
                &var,
                &redact_str(&raw),
                "se espera sqlite://RUTA?mode=rwc o postgres://USUARIO@HOST/BASE",
            ));
        }
        let database_url = raw;

        let (var, raw) = get("MAIL_URL", DEFAULT_MAIL_URL);
        let mail = parse_mail(&raw).map_err(|reason| invalid(&var, &redact_str(&raw), reason))?;

        let (var, raw) = get("MAIL_FROM", DEFAULT_MAIL_FROM);
        if !raw.contains('@') {
            return Err(invalid(
                &var,
                &raw,
                "se espera una dirección, p. ej. ECUAPASS <no-responder@aduana.gob.ec>",
            ));
        }
        let mail_from = raw;

        let set = |name: &str| {
            lookup(&format!("{PREFIX}{name}"))
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let dkim = crate::mail::dkim::Settings::from_values(
            set("DKIM_SELECTOR"),
            set("DKIM_DOMAIN"),
            set("DKIM_KEY_FILE"),
        )
        .map_err(|(name, reason)| {
            invalid(
                &format!("{PREFIX}{name}"),
                &set(name).unwrap_or_default(),
                reason,
            )
        })?;

        let (var, raw) = get("PUBLIC_BASE_URL", &format!("http://{listen_addr}"));
        let public_base_url = Url::parse(&raw)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
            .ok_or_else(|| invalid(&var, &raw, "se espera una URL http(s)://HOST[:PUERTO]"))?;

        let (var, raw) = get("LOG_LEVEL", DEFAULT_LOG_LEVEL);
        if tracing_subscriber::EnvFilter::try_new(&raw).is_err() {
            return Err(invalid(
                &var,
                &raw,
                "se espera un filtro de tracing, p. ej. info o server=debug",
            ));
        }
        let log_level = raw;

        let (var, raw) = get("LOG_FORMAT", "text");
        let log_format = match raw.as_str() {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            _ => return Err(invalid(&var, &raw, "se espera text o json")),
        };

        let (var, raw) = get("OTLP_ENDPOINT", "");
        let otlp_endpoint = match raw.as_str() {
            "" => None,
            _ => Some(
                Url::parse(&raw)
                    .ok()
                    .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
                    .ok_or_else(|| {
                        invalid(
                            &var,
                            &redact_str(&raw),
                            "se espera la URL OTLP/HTTP del colector, p. ej. http://otel:4318",
                        )
                    })?,
            ),
        };

        let (var, raw) = get("RESET_TTL_MINUTES", "60");
        let reset_ttl_minutes = raw
            .parse()
            .ok()
            .filter(|m| (5..=1440).contains(m))
            .ok_or_else(|| invalid(&var, &raw, "se esperan minutos entre 5 y 1440"))?;

        let por_hora = |name: &str, default: u32| -> Result<u32, ConfigError> {
            let (var, raw) = get(name, &default.to_string());
            raw.parse().ok().filter(|n| *n >= 1).ok_or_else(|| {
                invalid(
                    &var,
                    &raw,
                    "se espera un número entero de solicitudes por hora, 1 o más",
                )
            })
        };
        let limits = crate::services::limits::Limits {
            lookups_per_hour: por_hora("LOOKUP_LIMIT_PER_HOUR", 5)?,
            resets_per_hour: por_hora("RESET_LIMIT_PER_HOUR", 3)?,
        };

        let por_minuto = |name: &str, default: u32| -> Result<u32, ConfigError> {
            let (var, raw) = get(name, &default.to_string());
            raw.parse()
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| invalid(&var, &raw, "se espera un número entero, 1 o más"))
        };
        let address_limit_per_minute = por_minuto("ADDRESS_LIMIT_PER_MINUTE", 10)?;
        let address_limit_burst = por_minuto("ADDRESS_LIMIT_BURST", 5)?;
        let (var, raw) = get("TRUSTED_PROXY", "false");
        let trusted_proxy = match raw.as_str() {
            "true" | "1" | "si" | "sí" => true,
            "false" | "0" | "no" => false,
            _ => return Err(invalid(&var, &raw, "se espera true o false")),
        };

        let segundos = |name: &str, default: u32, min: u32| -> Result<u32, ConfigError> {
            let (var, raw) = get(name, &default.to_string());
            raw.parse()
                .ok()
                .filter(|n| (min..=86_400).contains(n))
                .ok_or_else(|| {
                    invalid(
                        &var,
                        &raw,
                        &format!("se esperan segundos entre {min} y 86400"),
                    )
                })
        };
        let mail_retry_seconds = segundos("MAIL_RETRY_SECONDS", 5, 1)?;
        // A claim shorter than an SMTP conversation could let two instances send one message.
        let mail_claim_seconds = segundos("MAIL_CLAIM_SECONDS", 120, 2)?;
        let (var, raw) = get("MAIL_BATCH", "100");
        let mail_batch = raw
            .parse()
            .ok()
            .filter(|n| (1..=1000).contains(n))
            .ok_or_else(|| invalid(&var, &raw, "se espera un número entero entre 1 y 1000"))?;

        let default_paralelo = crate::services::password::default_parallelism().to_string();
        let (var, raw) = get("ARGON2_THREADS", &default_paralelo);
        let argon2_threads = raw
            .parse()
            .ok()
            .filter(|n| (1..=256).contains(n))
            .ok_or_else(|| {
                invalid(
                    &var,
                    &raw,
                    "se espera un número de hashes a la vez, de 1 a 256",
                )
            })?;

        let entero = |name: &str, default: u64, min: u64, max: u64| -> Result<u64, ConfigError> {
            let (var, raw) = get(name, &default.to_string());
            raw.parse()
                .ok()
                .filter(|n| (min..=max).contains(n))
                .ok_or_else(|| {
                    invalid(
                        &var,
                        &raw,
                        &format!("se espera un número entero de {min} a {max}"),
                    )
                })
        };
        let argon2_queue = entero("ARGON2_QUEUE", 32, 1, 100_000)? as usize;
        let sign_in_per_minute = entero("SIGN_IN_LIMIT_PER_MINUTE", 10, 1, 1_000_000_000)? as u32;
        let sign_in_burst = entero("SIGN_IN_LIMIT_BURST", 10, 1, 1_000_000_000)? as u32;
        let seconds = std::time::Duration::from_secs;
        let header_timeout = seconds(entero("HEADER_TIMEOUT_SECONDS", 10, 1, 3_600)?);
        let request_timeout = seconds(entero("REQUEST_TIMEOUT_SECONDS", 30, 1, 3_600)?);
        let max_connections = entero("MAX_CONNECTIONS", 1_000, 1, 1_000_000)? as usize;
        let shutdown_grace = seconds(entero("SHUTDOWN_GRACE_SECONDS", 10, 0, 3_600)?);
        let sent_mail_retention_days = entero("SENT_MAIL_RETENTION_DAYS", 30, 1, 3_650)? as u32;

        Ok(Config {
            argon2_queue,
            sign_in_per_minute,
            sign_in_burst,
            header_timeout,
            request_timeout,
            max_connections,
            shutdown_grace,
            sent_mail_retention_days,
            argon2_threads,
            mail_retry_seconds,
            mail_claim_seconds,
            mail_batch,
            address_limit_per_minute,
            address_limit_burst,
            trusted_proxy,
            limits,
            reset_ttl_minutes,
            listen_addr,
            metrics_addr,
            database_url,
            mail,
            mail_from,
            dkim,
            public_base_url,
            log_level,
            log_format,
            otlp_endpoint,
        })
    }
}

fn parse_mail(raw: &str) -> Result<MailTransport, &'static str> {
    const ACCEPTED: &str =
        "se espera file://CARPETA, smtp://[USUARIO:CLAVE@]HOST[:PUERTO] o smtps://…";
    if let Some(folder) = raw.strip_prefix("file://") {
        if folder.is_empty() {
            return Err(ACCEPTED);
        }
        return Ok(MailTransport::Folder(PathBuf::from(folder)));
    }
    let url = Url::parse(raw).map_err(|_| ACCEPTED)?;
    match url.scheme() {
        "smtp" | "smtps" if url.host_str().is_some_and(|h| !h.is_empty()) => {
            match url.query_pairs().find(|(k, _)| k == "tls").map(|(_, v)| v) {
                None => {}
                Some(v) if v == "none" => {}
                Some(_) => {
                    return Err("el único valor aceptado de tls es none (solo para un relé local)");
                }
            }
            Ok(MailTransport::Smtp(url))
        }
        _ => Err(ACCEPTED),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A configuration from these settings alone (also for other modules' tests).
    pub(crate) fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<&str, &str> = pairs.iter().copied().collect();
        Config::from_lookup(|k| map.get(k).map(|v| v.to_string()))
    }

    #[test]
    fn metrics_listen_on_loopback_unless_moved_or_turned_off() {
        let c = config(&[]).unwrap();
        assert_eq!(c.metrics_addr, Some(DEFAULT_METRICS_ADDR.parse().unwrap()));
        assert!(c.metrics_addr.unwrap().ip().is_loopback());
        let c = config(&[("REINICIO_METRICS_ADDR", "0.0.0.0:9100")]).unwrap();
        assert_eq!(c.metrics_addr.unwrap().port(), 9100);
        assert_eq!(
            config(&[("REINICIO_METRICS_ADDR", " ")])
                .unwrap()
                .metrics_addr,
            None
        );
        let error = config(&[("REINICIO_METRICS_ADDR", "metricas")]).unwrap_err();
        assert_eq!(error.variable, "REINICIO_METRICS_ADDR");
    }

    #[test]
    fn defaults_run_on_one_machine_without_services() {
        let c = config(&[]).unwrap();
        assert_eq!(c.listen_addr.to_string(), DEFAULT_LISTEN_ADDR);
        assert!(c.database_url.starts_with("sqlite://data/"));
        assert_eq!(c.mail, MailTransport::Folder(PathBuf::from("data/outbox")));
        assert_eq!(c.public_base_url.as_str(), "http://127.0.0.1:3000/");
        assert_eq!(c.log_format, LogFormat::Text);
        assert_eq!(c.reset_ttl_minutes, 60);
        assert_eq!(c.mail_batch, 100);
        assert_eq!(
            config(&[("REINICIO_MAIL_BATCH", "25")]).unwrap().mail_batch,
            25
        );
        assert_eq!(
            (c.limits.lookups_per_hour, c.limits.resets_per_hour),
            (5, 3)
        );
    }

    #[test]
    fn production_settings_are_read() {
        let c = config(&[
            ("REINICIO_LISTEN_ADDR", "0.0.0.0:8080"),
            ("DATABASE_URL", "postgres://app@db/reinicio"),
            (
                "REINICIO_MAIL_URL",
                "smtps://user:secreto@smtp.aduana.gob.ec:465",
            ),
            ("REINICIO_PUBLIC_BASE_URL", "https://reinicio.aduana.gob.ec"),
            ("REINICIO_LOG_FORMAT", "json"),
        ])
        .unwrap();
        assert_eq!(c.listen_addr.port(), 8080);
        assert_eq!(c.database_url, "postgres://app@db/reinicio");
        assert!(matches!(c.mail, MailTransport::Smtp(ref u) if u.scheme() == "smtps"));
        assert_eq!(c.log_format, LogFormat::Json);
    }

    #[test]
    fn prefixed_database_url_wins_over_the_platform_one() {
        let c = config(&[
            ("DATABASE_URL", "postgres://platform/db"),
            ("REINICIO_DATABASE_URL", "postgres://ours/db"),
        ])
        .unwrap();
        assert_eq!(c.database_url, "postgres://ours/db");
    }

    #[test]
    fn each_bad_value_names_its_variable() {
        for (var, value) in [
            ("REINICIO_LISTEN_ADDR", "localhost"),
            ("REINICIO_DATABASE_URL", "mysql://x/y"),
            ("REINICIO_MAIL_URL", "http://mail"),
            ("REINICIO_MAIL_URL", "smtp://relay?tls=maybe"),
            ("REINICIO_MAIL_FROM", "nadie"),
            ("REINICIO_PUBLIC_BASE_URL", "ftp://x"),
            ("REINICIO_LOG_LEVEL", "=,=[[["),
            ("REINICIO_LOG_FORMAT", "xml"),
            ("REINICIO_RESET_TTL_MINUTES", "0"),
            ("REINICIO_RESET_TTL_MINUTES", "una hora"),
            ("REINICIO_LIMITE_BUSQUEDAS_POR_HORA", "0"),
            ("REINICIO_LIMITE_REINICIOS_POR_HORA", "muchas"),
            ("REINICIO_LIMITE_IP_POR_MINUTO", "-3"),
            ("REINICIO_PROXY_CONFIABLE", "quizas"),
            ("REINICIO_CORREO_REINTENTO_SEGUNDOS", "0"),
            ("REINICIO_CORREO_RECLAMO_SEGUNDOS", "1"),
            ("REINICIO_ARGON2_PARALELO", "0"),
            ("REINICIO_ARGON2_QUEUE", "0"),
            ("REINICIO_SIGN_IN_LIMIT_PER_MINUTE", "0"),
            ("REINICIO_SIGN_IN_LIMIT_BURST", "x"),
            ("REINICIO_HEADER_TIMEOUT_SECONDS", "0"),
            ("REINICIO_REQUEST_TIMEOUT_SECONDS", "-1"),
            ("REINICIO_MAX_CONNECTIONS", "0"),
            ("REINICIO_SHUTDOWN_GRACE_SECONDS", "mucho"),
            ("REINICIO_SENT_MAIL_RETENTION_DAYS", "0"),
            ("REINICIO_MAIL_BATCH", "0"),
            ("REINICIO_MAIL_BATCH", "1001"),
            ("REINICIO_OTLP_ENDPOINT", "otel:4318"),
            ("REINICIO_OTLP_ENDPOINT", "grpc://otel:4317"),
        ] {
            let err = config(&[(var, value)]).unwrap_err();
            assert_eq!(err.variable, var, "{value}");
            let line = err.to_string();
            assert!(line.contains(var) && !line.contains('\n'), "{line}");
        }
    }

    /// The old Spanish names still work; the new name wins when both are set.
    #[test]
    fn renamed_settings_keep_their_old_names_as_aliases() {
        let old = config(&[("REINICIO_LIMITE_BUSQUEDAS_POR_HORA", "7")]).unwrap();
        assert_eq!(old.limits.lookups_per_hour, 7);
        let new = config(&[("REINICIO_LOOKUP_LIMIT_PER_HOUR", "8")]).unwrap();
        assert_eq!(new.limits.lookups_per_hour, 8);
        let both = config(&[
            ("REINICIO_LOOKUP_LIMIT_PER_HOUR", "9"),
            ("REINICIO_LIMITE_BUSQUEDAS_POR_HORA", "7"),
        ])
        .unwrap();
        assert_eq!(both.limits.lookups_per_hour, 9);
        let err = config(&[("REINICIO_ARGON2_THREADS", "0")]).unwrap_err();
        assert_eq!(err.variable, "REINICIO_ARGON2_THREADS");
        for (new, old) in ALIASES {
            assert_ne!(new, old);
        }
    }

    #[test]
    fn secrets_never_reach_debug_output_or_errors() {
        let c = config(&[
            ("REINICIO_MAIL_URL", "smtp://user:hunter2@relay.example"),
            ("REINICIO_DATABASE_URL", "postgres://app:pgsecret@db/x"),
        ])
        .unwrap();
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("pgsecret"),
            "{shown}"
        );

        let err = config(&[("REINICIO_DATABASE_URL", "mysql://app:pgsecret@db/x")]).unwrap_err();
        assert!(!err.to_string().contains("pgsecret"));
    }
}
