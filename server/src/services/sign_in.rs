//! Signing in with the current or the temporary password, server-side sessions, the sign-in
//! lockout, and the change of password.
//!
//! - The temporary password works once: marking it used is a conditional `UPDATE … WHERE
//!   temp_used_at IS NULL`, so of two simultaneous sign-ins only one wins; the other (a double
//!   click) is refused without counting as a failure.
//! - It is checked first, with one SHA-256, and opens a session even while the ID is locked by
//!   failed attempts: only the owner's mailbox has it (see `password`).
//! - A session opened with it can do one thing, choose a new password; the new one may not be the
//!   temporary one. Any other session changes the password only with the current one. The change
//!   replaces the hash, drops the temporary one, ends every other session of the account and
//!   queues a notice e-mail without any secret in it.
//! - Five failures for an ID usuario within 15 minutes lock password sign-in for that ID until
//!   the window ends; unknown IDs are counted the same way, and every attempt that is not a
//!   correct temporary password costs exactly one Argon2 verification, so neither the lockout nor
//!   the timing tells whether an ID exists.
//! - Sessions are rows keyed by the SHA-256 of a random token; the cookie holds the token. They
//!   end on sign-out, after 30 minutes idle, and when the password changes elsewhere.

use std::net::IpAddr;

use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, DbErr, EntityTrait, QueryFilter, TransactionTrait,
    sea_query::{Expr, ExprTrait, OnConflict},
};
use sha2::{Digest, Sha256};
use validation::{
    CambioClaveInput, DatosCuenta, Field, FieldErrors, Identificacion, Ingreso, NuevaClave,
    ValidationError,
};

use super::{Services, audit, password};
use crate::entities::{
    credential, mail_outbox,
    registration::{self, Estado},
    session, sign_in_failure,
};

pub const MAX_FAILURES: i32 = 5;
pub const FAILURE_WINDOW_MS: i64 = 15 * 60_000;
pub const SESSION_IDLE_MS: i64 = 30 * 60_000;

#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// Wrong password, unknown ID, expired or used temporary password: one answer for all.
    #[error("ID usuario o clave incorrectos")]
    Credenciales,
    #[error("demasiados intentos fallidos")]
    Bloqueado { minutos: i64 },
    #[error("base de datos: {0}")]
    Database(#[from] DbErr),
    #[error("hash: {0}")]
    Hash(#[from] password::HashError),
}

/// A session just opened: the token goes into the cookie and nowhere else.
pub struct NewSession {
    pub token: String,
    pub must_change: bool,
}

// The token is a credential: never in a log line.
impl std::fmt::Debug for NewSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewSession")
            .field("must_change", &self.must_change)
            .finish_non_exhaustive()
    }
}

/// The session behind a request.
#[derive(Debug, Clone)]
pub struct Session {
    pub token_hash: String,
    pub registration_id: i64,
    pub must_change: bool,
    pub usuario: String,
    pub identificacion: String,
    /// The registered e-mail: a new password may not be built from it.
    pub correo: String,
}

#[tracing::instrument(name = "ingreso", skip_all)]
pub async fn attempt(
    services: &Services,
    form: &Ingreso,
    client: Option<IpAddr>,
) -> Result<NewSession, SignInError> {
    let now = services.clock.now_ms();
    let clave = form.usuario.canonical();
    let db = &services.db;

    let cuenta = registration::Entity::find()
        .filter(registration::Column::UsuarioIdClave.eq(&clave))
        .filter(registration::Column::Estado.eq(Estado::Aprobada))
        .one(db)
        .await?;
    let credencial = match &cuenta {
        Some(r) => credential::Entity::find_by_id(r.id).one(db).await?,
        None => None,
    };

    // 1. The temporary password: one SHA-256 for every attempt, whatever the ID (see
    //    `password`). It is checked before the lockout: it is a 115-bit secret sent only to the
    //    owner's address, so a lockout caused by someone else's guesses must not keep the owner
    //    out. A correct one that cannot open a session (already used: the second request of a
    //    double click; or expired) is not a guess and is not counted as a failure.
    let digest = password::temporary_digest(&form.clave);
    if let (Some(r), Some(c)) = (&cuenta, &credencial)
        && let Some(guardado) = &c.temp_hash
        && password::temporary_matches(&digest, guardado)
    {
        let vigente = c.temp_used_at.is_none() && c.temp_expires_at.is_some_and(|e| e > now);
        // Used once: of simultaneous sign-ins only the one whose update lands wins.
        let marcado = vigente
            && credential::Entity::update_many()
                .col_expr(credential::Column::TempUsedAt, Expr::value(now))
                .filter(credential::Column::RegistrationId.eq(r.id))
                .filter(credential::Column::TempUsedAt.is_null())
                .filter(credential::Column::TempHash.eq(guardado.clone()))
                .exec(db)
                .await?
                .rows_affected
                == 1;
        if !marcado {
            audit_ingreso(services, now, "clave_temporal_no_vigente", client, Some(r)).await?;
            return Err(SignInError::Credenciales);
        }
        return abrir(services, clave, r, true, now, client).await;
    }

    // 2. The lockout, for unknown IDs exactly as for known ones. The attempt is counted before
    //    any Argon2 work, in one atomic statement: simultaneous guesses each see their own count,
    //    so a burst of them gets five tries, not one per request in flight.
    if let Err(minutos) = contar_intento(services, &clave, now).await? {
        audit_ingreso(services, now, "bloqueado", client, None).await?;
        return Err(SignInError::Bloqueado { minutos });
    }

    // 3. Exactly one Argon2 verification on every remaining path: the account's password, or a
    //    dummy hash when there is none (unknown ID, no password yet), so neither time nor work
    //    tells the cases apart.
    let propia = credencial.as_ref().and_then(|c| c.password_hash.clone());
    let correcta = match (&cuenta, propia) {
        (Some(_), Some(hash)) => services.argon2.verify(form.clave.clone(), hash).await?,
        _ => {
            services.argon2.verify_dummy(form.clave.clone()).await?;
            false
        }
    };
    match &cuenta {
        Some(r) if correcta => abrir(services, clave, r, false, now, client).await,
        _ => {
            audit_ingreso(services, now, "fallido", client, cuenta.as_ref()).await?;
            Err(SignInError::Credenciales)
        }
    }
}

/// A successful sign-in: the failure count starts over and a session opens.
async fn abrir(
    services: &Services,
    clave: String,
    cuenta: &registration::Model,
    must_change: bool,
    now: i64,
    client: Option<IpAddr>,
) -> Result<NewSession, SignInError> {
    sign_in_failure::Entity::delete_by_id(clave)
        .exec(&services.db)
        .await?;
    let token = crear_sesion(services, cuenta.id, must_change, now).await?;
    let outcome = if must_change {
        "clave_temporal"
    } else {
        "exitoso"
    };
    audit_ingreso(services, now, outcome, client, Some(cuenta)).await?;
    Ok(NewSession { token, must_change })
}

/// One more attempt for this ID, in one statement so that simultaneous attempts all count; a
/// window older than 15 minutes starts over. `Err(minutes left)` once the attempts in the window
/// are past [`MAX_FAILURES`]. Every password attempt is counted before it is checked; a success
/// deletes the row.
async fn contar_intento(
    services: &Services,
    clave: &str,
    now: i64,
) -> Result<Result<(), i64>, DbErr> {
    use sign_in_failure::{Column as C, Entity as T};
    let vencida = Expr::col((T, C::WindowStart)).lte(now - FAILURE_WINDOW_MS);
    T::insert(sign_in_failure::ActiveModel {
        usuario_clave: Set(clave.to_owned()),
        failures: Set(1),
        window_start: Set(now),
    })
    .on_conflict(
        OnConflict::column(C::UsuarioClave)
            .value(
                C::Failures,
                Expr::case(vencida.clone(), 1).finally(Expr::col((T, C::Failures)).add(1)),
            )
            .value(
                C::WindowStart,
                Expr::case(vencida, now).finally(Expr::col((T, C::WindowStart))),
            )
            .to_owned(),
    )
    .exec_with_returning(&services.db)
    .await
    .map(|intento| {
        if intento.failures > MAX_FAILURES {
            if intento.failures == MAX_FAILURES + 1 {
                metrics::counter!("reinicio_sign_in_lockouts_total").increment(1);
            }
            Err((intento.window_start + FAILURE_WINDOW_MS - now + 59_999) / 60_000)
        } else {
            Ok(())
        }
    })
}

async fn audit_ingreso(
    services: &Services,
    now: i64,
    outcome: &'static str,
    client: Option<IpAddr>,
    cuenta: Option<&registration::Model>,
) -> Result<(), DbErr> {
    let identificacion = cuenta.and_then(|r| Identificacion::parse(&r.identificacion).ok());
    let request_id = audit::current_request_id();
    audit::record(
        &services.db,
        now,
        audit::Entry {
            request_id: request_id.as_deref(),
            event: "ingreso",
            outcome,
            client,
            identificacion: identificacion.as_ref(),
            registration_id: cuenta.map(|r| r.id),
        },
    )
    .await
}

fn token_hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    crate::hex(&digest)
}

async fn crear_sesion(
    services: &Services,
    registration_id: i64,
    must_change: bool,
    now: i64,
) -> Result<String, SignInError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| password::HashError::Argon2(e.to_string()))?;
    let token = crate::hex(&bytes);
    session::Entity::insert(session::ActiveModel {
        token_hash: Set(token_hash(&token)),
        registration_id: Set(registration_id),
        must_change: Set(i16::from(must_change)),
        created_at: Set(now),
        last_seen_at: Set(now),
    })
    .exec_without_returning(&services.db)
    .await?;
    Ok(token)
}

/// The live session for a cookie's token, touched (idle time restarts); `None` once it has
/// been idle for 30 minutes, signed out, or ended by a password change.
pub async fn session(services: &Services, token: &str) -> Result<Option<Session>, DbErr> {
    let now = services.clock.now_ms();
    let hash = token_hash(token);
    let Some(s) = session::Entity::find_by_id(hash.clone())
        .one(&services.db)
        .await?
    else {
        return Ok(None);
    };
    if now - s.last_seen_at >= SESSION_IDLE_MS {
        session::Entity::delete_by_id(hash)
            .exec(&services.db)
            .await?;
        return Ok(None);
    }
    let Some(r) = registration::Entity::find_by_id(s.registration_id)
        .one(&services.db)
        .await?
        .filter(|r| r.estado == Estado::Aprobada)
    else {
        return Ok(None);
    };
    session::Entity::update_many()
        .col_expr(session::Column::LastSeenAt, Expr::value(now))
        .filter(session::Column::TokenHash.eq(hash.clone()))
        .exec(&services.db)
        .await?;
    Ok(Some(Session {
        token_hash: hash,
        registration_id: r.id,
        must_change: s.must_change != 0,
        usuario: r.usuario_id,
        identificacion: r.identificacion,
        correo: r.correo,
    }))
}

pub async fn sign_out(services: &Services, token: &str) -> Result<(), DbErr> {
    session::Entity::delete_by_id(token_hash(token))
        .exec(&services.db)
        .await
        .map(drop)
}

#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    #[error("campos inválidos")]
    Campos(FieldErrors),
    /// A voluntary change whose current password is missing or wrong.
    #[error("la clave actual no es correcta")]
    ClaveActual,
    /// Too many wrong passwords for this ID: wait until the window ends.
    #[error("demasiados intentos fallidos")]
    Bloqueado { minutos: i64 },
    #[error("base de datos: {0}")]
    Database(#[from] DbErr),
    #[error("hash: {0}")]
    Hash(#[from] password::HashError),
}

/// Sets the account's new password from a signed-in session. Only the session opened with a
/// temporary password (whose owner just proved they read the e-mail) changes it without the
/// current password; any other session must give it, so that a session left open on a shared
/// computer cannot be turned into the account for good.
#[tracing::instrument(name = "cambio_clave", skip_all)]
pub async fn change_password(
    services: &Services,
    sesion: &Session,
    input: &CambioClaveInput,
    clave_actual: Option<&str>,
    client: Option<IpAddr>,
) -> Result<(), ChangeError> {
    let cuenta = DatosCuenta {
        usuario: &sesion.usuario,
        identificacion: &sesion.identificacion,
        correo: &sesion.correo,
    };
    let nueva = NuevaClave::validate(input, cuenta).map_err(ChangeError::Campos)?;
    let credencial = credential::Entity::find_by_id(sesion.registration_id)
        .one(&services.db)
        .await?;
    if !sesion.must_change {
        // The current password is a guess like a sign-in: counted first, under the same lockout.
        let now = services.clock.now_ms();
        let clave_usuario = sesion.usuario.to_ascii_lowercase();
        if let Err(minutos) = contar_intento(services, &clave_usuario, now).await? {
            return Err(ChangeError::Bloqueado { minutos });
        }
        let actual = clave_actual.unwrap_or_default().to_owned();
        let correcta = match credencial.as_ref().and_then(|c| c.password_hash.clone()) {
            Some(hash) if !actual.is_empty() => services.argon2.verify(actual, hash).await?,
            _ => false,
        };
        if !correcta {
            return Err(ChangeError::ClaveActual);
        }
        sign_in_failure::Entity::delete_by_id(clave_usuario)
            .exec(&services.db)
            .await?;
    }
    // The temporary password must not become the long-term one.
    if let Some(temporal) = credencial.as_ref().and_then(|c| c.temp_hash.as_deref())
        && password::temporary_matches(&password::temporary_digest(nueva.expose()), temporal)
    {
        let mut errores = FieldErrors::new();
        errores.push(Field::Clave, ValidationError::ClaveTemporal);
        return Err(ChangeError::Campos(errores));
    }
    let hash = services.argon2.hash(nueva.expose().to_owned()).await?;
    let now = services.clock.now_ms();

    let txn = services.db.begin().await?;
    credential::save(
        &txn,
        credential::ActiveModel {
            registration_id: Set(sesion.registration_id),
            password_hash: Set(Some(hash)),
            temp_hash: Set(None),
            temp_expires_at: Set(None),
            temp_used_at: Set(None),
            updated_at: Set(now),
        },
        &[
            credential::Column::PasswordHash,
            credential::Column::TempHash,
            credential::Column::TempExpiresAt,
            credential::Column::TempUsedAt,
            credential::Column::UpdatedAt,
        ],
    )
    .await?;
    session::Entity::delete_many()
        .filter(session::Column::RegistrationId.eq(sesion.registration_id))
        .filter(session::Column::TokenHash.ne(sesion.token_hash.clone()))
        .exec(&txn)
        .await?;
    session::Entity::update_many()
        .col_expr(session::Column::MustChange, Expr::value(0i16))
        .filter(session::Column::TokenHash.eq(sesion.token_hash.clone()))
        .exec(&txn)
        .await?;
    let cuenta = registration::Entity::find_by_id(sesion.registration_id)
        .one(&txn)
        .await?;
    if let Some(cuenta) = &cuenta {
        mail_outbox::Entity::insert(super::outbox::new_message(
            super::outbox::Kind::ChangeNotice,
            cuenta,
            now,
        ))
        .exec_without_returning(&txn)
        .await?;
    }
    let identificacion = Identificacion::parse(&sesion.identificacion).ok();
    let request_id = audit::current_request_id();
    audit::record(
        &txn,
        now,
        audit::Entry {
            request_id: request_id.as_deref(),
            event: "cambio_clave",
            outcome: "exitoso",
            client,
            identificacion: identificacion.as_ref(),
            registration_id: Some(sesion.registration_id),
        },
    )
    .await?;
    txn.commit().await?;
    services.outbox_wakeup.notify_one();
    Ok(())
}
