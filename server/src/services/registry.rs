//! "Buscar ID" and the reset request, against the registry of *solicitudes de uso*.
//!
//! A miss, a pending registration and a disabled one take the same path to the same answer: the
//! same query runs, the same audit row is written, only its outcome differs. A reset request
//! goes further: its answer is the same whether or not an e-mail was queued.

use std::net::IpAddr;

use validation::{BusquedaId, Email, ReinicioClave};

use super::{
    ServiceError, Services,
    writer::{Decision, Kind, Read, Write, Written},
};
use crate::entities::registration::{self, Estado};

/// A reset request taken: what the requester is told, built from the request alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResetAccepted {
    /// The e-mail typed (on a match, the registered one).
    pub correo: Email,
    /// How long the temporary password will be valid once sent.
    pub valid_minutes: u32,
}

/// Reads, counts and writes in one group commit (see `writer`): the registrations with the
/// identificación typed, then this rule picks the match. Every lookup is counted, registered or
/// not, so that being limited says nothing. A match is its approved registration.
#[tracing::instrument(name = "buscar_id", skip_all)]
pub async fn buscar_id(
    services: &Services,
    form: &BusquedaId,
    client: Option<IpAddr>,
) -> Result<registration::Model, ServiceError> {
    let limit = services.limits.lookups_per_hour;
    let counter = format!("buscar_id:{}", form.identificacion.as_str());
    let rule = form.clone();
    // Lower-cased once per request, not once per row compared.
    let correo = form.correo.as_ref().map(Email::canonical);
    let (written, found) = services
        .writer
        .write(Write {
            now: services.clock.now_ms(),
            read: Read::Identificacion(form.identificacion.as_str().to_owned()),
            decide: Box::new(move |rows| Decision {
                counter,
                limit,
                kind: Kind::Lookup {
                    found: rows
                        .into_iter()
                        .find(|r| matches(&rule, correo.as_deref(), r)),
                },
            }),
            client,
            identificacion: form.identificacion.clone(),
            request_id: super::audit::current_request_id(),
        })
        .await?;
    match (written, found) {
        (Written::OverLimit { seconds }, _) => {
            tracing::warn!(limite = "buscar_id", "límite por identificación alcanzado");
            Err(ServiceError::Limite { segundos: seconds })
        }
        (_, Some(r)) => Ok(r),
        (_, None) => Err(ServiceError::NoMatch),
    }
}

/// "Buscar ID" matches an approved registration on classification and identificación, and on
/// the RUC or the e-mail when the classification asks for it (`correo`: the form's, canonical).
fn matches(form: &BusquedaId, correo: Option<&str>, r: &registration::Model) -> bool {
    r.estado == Estado::Aprobada
        && r.identificacion == form.identificacion.as_str()
        && r.clasificacion == form.clasificacion.code()
        && form
            .ruc_empresa
            .as_ref()
            .is_none_or(|ruc| r.ruc_empresa.as_deref() == Some(ruc.as_str()))
        && correo.is_none_or(|correo| r.correo == correo)
}

/// Queues a temporary password when the three fields match an approved registration. The answer
/// is the same whether or not anything was queued: a reset must not confirm that an ID, an
/// identification and an e-mail belong together (only "Buscar ID" answers that, and only to
/// someone who already holds the identification and the RUC or e-mail).
///
/// There is no per-identity refusal here: a `429` counted per identificación let anyone holding
/// someone's cédula use up that person's resets with made-up IDs and addresses. Instead:
/// - floods are refused per client address (before this runs, see `http`);
/// - the e-mails an account receives are capped per hour ([`Limits::resets_per_hour`]),
///   counted only for requests that match it, and silently: past the cap the answer is the same
///   `200` and nothing is queued. Only someone who already has the account's ID, identification
///   and registered address can reach the cap, and what they cause is e-mails to the owner, the
///   latest of which holds a valid password.
///
/// At most one reset e-mail waits per account: a second request while one is queued is the same
/// request (the worker generates the password when it sends, so it is fresh).
///
/// [`Limits::resets_per_hour`]: super::limits::Limits
#[tracing::instrument(name = "solicitar_reinicio", skip_all)]
pub async fn solicitar_reinicio(
    services: &Services,
    form: &ReinicioClave,
    client: Option<IpAddr>,
) -> Result<ResetAccepted, ServiceError> {
    let now = services.clock.now_ms();
    // The answer is built from the request alone, before the registry has a say: whatever the
    // registry holds, the requester reads the same words (on a match the e-mail typed is the
    // registered one).
    let accepted = ResetAccepted {
        correo: form.correo.clone(),
        valid_minutes: services.reset_ttl_minutes,
    };
    let limit = services.limits.resets_per_hour;
    let rule = form.clone();
    let correo = form.correo.canonical();
    let (written, found) = services
        .writer
        .write(Write {
            now,
            read: Read::Usuario(form.usuario.canonical()),
            decide: Box::new(move |rows| {
                let found = rows.into_iter().find(|r| {
                    r.estado == Estado::Aprobada
                        && r.identificacion == rule.identificacion.as_str()
                        && r.correo == correo
                });
                // A match and a miss both count against a counter (on a miss one for the
                // identificación typed, which limits nothing), so that the only extra work of
                // a match is the outbox row.
                let counter = match &found {
                    Some(r) => format!("reinicio:cuenta:{}", r.id),
                    None => format!("reinicio:sin_cuenta:{}", rule.identificacion.as_str()),
                };
                let mail = found.as_ref().map(|r| {
                    Box::new(super::outbox::new_message(
                        super::outbox::Kind::Reset,
                        r,
                        now,
                    ))
                });
                Decision {
                    counter,
                    limit,
                    kind: Kind::Reset { found, mail },
                }
            }),
            client,
            identificacion: form.identificacion.clone(),
            request_id: super::audit::current_request_id(),
        })
        .await?;
    match written {
        Written::Queued => services.outbox_wakeup.notify_one(),
        Written::OverLimit { .. } if found.is_some() => {
            tracing::warn!("tope de correos de reinicio por cuenta alcanzado");
        }
        _ => {}
    }
    Ok(accepted)
}
