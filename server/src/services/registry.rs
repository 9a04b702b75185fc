//! "Buscar ID" and the reset request, against the registry of *solicitudes de uso*.
//!
//! A miss, a pending registration and a disabled one take the same path to the same answer: the
//! same query runs, the same audit row is written, only its outcome differs. A reset request
//! goes further: its answer is the same whether or not an e-mail was queued.

use std::net::IpAddr;

use app::api::{ReinicioSolicitado, UsuarioEncontrado};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use validation::{BusquedaId, ReinicioClave};

use super::{
    ServiceError, Services,
    writer::{Kind, Write, Written},
};
use crate::entities::registration;

/// The only state in which a registration may look up its ID or reset its password.
pub const APROBADA: &str = "aprobada";
pub const ESTADOS: [&str; 3] = [APROBADA, "pendiente", "deshabilitada"];

pub const KIND_RESET: &str = "reinicio_clave";

/// The columns a lookup compares and answers with: the index on (identificación,
/// clasificación) finds the rows, and nothing else is read.
#[derive(Debug, sea_orm::FromQueryResult)]
struct Candidate {
    id: i64,
    usuario_id: String,
    ruc_empresa: Option<String>,
    correo: String,
    estado: String,
}

/// One indexed read, then one group-committed write (the limit counter and the audit row, see
/// `writer`). Every lookup is counted, registered or not, so that being limited says nothing.
pub async fn buscar_id(
    services: &Services,
    form: &BusquedaId,
    client: Option<IpAddr>,
) -> Result<UsuarioEncontrado, ServiceError> {
    use registration::Column as C;
    let now = services.clock.now_ms();
    let candidates = registration::Entity::find()
        .select_only()
        .columns([C::Id, C::UsuarioId, C::RucEmpresa, C::Correo, C::Estado])
        .filter(C::Identificacion.eq(form.identificacion.as_str()))
        .filter(C::Clasificacion.eq(form.clasificacion.code()))
        .order_by_asc(C::Id)
        .into_model::<Candidate>()
        .all(&services.reader)
        .await?;
    let found = candidates.into_iter().find(|r| {
        r.estado == APROBADA
            && form
                .ruc_empresa
                .as_ref()
                .is_none_or(|ruc| r.ruc_empresa.as_deref() == Some(ruc.as_str()))
            && form
                .correo
                .as_ref()
                .is_none_or(|correo| r.correo == correo.as_str())
    });
    let written = services
        .writer
        .write(Write {
            now,
            counter: format!("buscar_id:{}", form.identificacion.as_str()),
            limit: services.limites.busquedas_por_hora,
            kind: Kind::Lookup {
                registration_id: found.as_ref().map(|r| r.id),
            },
            client,
            identificacion: form.identificacion.clone(),
        })
        .await?;
    match (written, found) {
        (Written::OverLimit { seconds }, _) => {
            tracing::warn!(limite = "buscar_id", "límite por identificación alcanzado");
            Err(ServiceError::Limite { segundos: seconds })
        }
        (_, Some(r)) => Ok(UsuarioEncontrado {
            usuario: r.usuario_id,
        }),
        (_, None) => Err(ServiceError::NoMatch),
    }
}

/// Queues a temporary password when the three fields match an approved registration. The answer
/// is the same whether or not anything was queued: a reset must not confirm that an ID, an
/// identification and an e-mail belong together (only "Buscar ID" answers that, and only to
/// someone who already holds the identification and the RUC or e-mail).
///
/// There is no per-identity refusal here: a `429` counted per identificación let anyone holding
/// someone's cédula use up that person's resets with made-up IDs and addresses. Instead:
/// - floods are refused per client address (before this runs, see `http`);
/// - the e-mails an account receives are capped per hour ([`Limites::reinicios_por_hora`]),
///   counted only for requests that match it, and silently: past the cap the answer is the same
///   `200` and nothing is queued. Only someone who already has the account's ID, identification
///   and registered address can reach the cap, and what they cause is e-mails to the owner, the
///   latest of which holds a valid password.
///
/// At most one reset e-mail waits per account: a second request while one is queued is the same
/// request (the worker generates the password when it sends, so it is fresh).
///
/// [`Limites::reinicios_por_hora`]: super::limites::Limites
pub async fn solicitar_reinicio(
    services: &Services,
    form: &ReinicioClave,
    client: Option<IpAddr>,
) -> Result<ReinicioSolicitado, ServiceError> {
    let now = services.clock.now_ms();
    let found = registration::Entity::find()
        .filter(registration::Column::UsuarioIdClave.eq(form.usuario.canonical()))
        .one(&services.reader)
        .await?
        .filter(|r| {
            r.estado == APROBADA
                && r.identificacion == form.identificacion.as_str()
                && r.correo == form.correo.as_str()
        });
    // The answer is built from the request alone, before the registry has a say: whatever the
    // registry holds, the requester reads the same words (on a match the e-mail typed is the
    // registered one, so its masked form is the same either way).
    let respuesta = ReinicioSolicitado {
        correo: form.correo.masked(),
        vigencia_minutos: services.reset_ttl_minutes,
    };
    // A match and a miss both count against a counter in the same batch (on a miss one for the
    // identificación typed, which limits nothing), so that the only extra work of a match is
    // the outbox row.
    let counter = match &found {
        Some(r) => format!("reinicio:cuenta:{}", r.id),
        None => format!("reinicio:sin_cuenta:{}", form.identificacion.as_str()),
    };
    let written = services
        .writer
        .write(Write {
            now,
            counter,
            limit: services.limites.reinicios_por_hora,
            kind: Kind::Reset {
                registration_id: found.as_ref().map(|r| r.id),
                mail: found.as_ref().map(|r| {
                    Box::new(super::outbox::nuevo(
                        KIND_RESET,
                        r,
                        Some(pending_key(r.id)),
                        now,
                    ))
                }),
            },
            client,
            identificacion: form.identificacion.clone(),
        })
        .await?;
    match written {
        Written::Queued => services.outbox_wakeup.notify_one(),
        Written::OverLimit { .. } if found.is_some() => {
            tracing::warn!("tope de correos de reinicio por cuenta alcanzado");
        }
        _ => {}
    }
    Ok(respuesta)
}

pub fn pending_key(registration_id: i64) -> String {
    format!("{KIND_RESET}:{registration_id}")
}
