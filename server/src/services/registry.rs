//! "Buscar ID" and the reset request, against the registry of *solicitudes de uso*.
//!
//! A miss, a pending registration and a disabled one take the same path to the same answer: the
//! same query runs, the same audit row is written, only its outcome differs. A reset request
//! goes further: its answer is the same whether or not an e-mail was queued.

use std::net::IpAddr;

use app::api::{ReinicioSolicitado, UsuarioEncontrado};
use sea_orm::{
    ColumnTrait, EntityTrait, QueryFilter, QueryOrder, TransactionTrait, sea_query::OnConflict,
};
use validation::{BusquedaId, ReinicioClave};

use super::{ServiceError, Services, audit};
use crate::entities::{mail_outbox, registration};

/// The only state in which a registration may look up its ID or reset its password.
pub const APROBADA: &str = "aprobada";
pub const ESTADOS: [&str; 3] = [APROBADA, "pendiente", "deshabilitada"];

pub const KIND_RESET: &str = "reinicio_clave";

pub async fn buscar_id(
    services: &Services,
    form: &BusquedaId,
    client: Option<IpAddr>,
) -> Result<UsuarioEncontrado, ServiceError> {
    let now = services.clock.now_ms();
    limitar(
        services,
        "buscar_id",
        form.identificacion.as_str(),
        services.limites.busquedas_por_hora,
        now,
    )
    .await?;
    // One indexed read: identification and classification, then the rest compared here.
    let candidates = registration::Entity::find()
        .filter(registration::Column::Identificacion.eq(form.identificacion.as_str()))
        .filter(registration::Column::Clasificacion.eq(form.clasificacion.code()))
        .order_by_asc(registration::Column::Id)
        .all(&services.db)
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
    let entry = |outcome, registration_id| audit::Entry {
        event: "buscar_id",
        outcome,
        client,
        identificacion: Some(&form.identificacion),
        registration_id,
    };
    match found {
        Some(r) => {
            audit::record(&services.db, now, entry("encontrado", Some(r.id))).await?;
            Ok(UsuarioEncontrado {
                usuario: r.usuario_id,
            })
        }
        None => {
            audit::record(&services.db, now, entry("sin_coincidencia", None)).await?;
            Err(ServiceError::NoMatch)
        }
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
/// [`Limites::reinicios_por_hora`]: super::limites::Limites
pub async fn solicitar_reinicio(
    services: &Services,
    form: &ReinicioClave,
    client: Option<IpAddr>,
) -> Result<ReinicioSolicitado, ServiceError> {
    let now = services.clock.now_ms();
    let txn = services.db.begin().await?;
    let found = registration::Entity::find()
        .filter(registration::Column::UsuarioIdClave.eq(form.usuario.canonical()))
        .one(&txn)
        .await?
        .filter(|r| {
            r.estado == APROBADA
                && r.identificacion == form.identificacion.as_str()
                && r.correo == form.correo.as_str()
        });
    let entry = |outcome, registration_id| audit::Entry {
        event: "solicitar_reinicio",
        outcome,
        client,
        identificacion: Some(&form.identificacion),
        registration_id,
    };
    // The answer is built from the request alone, before the registry has a say: whatever the
    // registry holds, the requester reads the same words (on a match the e-mail typed is the
    // registered one, so its masked form is the same either way).
    let respuesta = ReinicioSolicitado {
        correo: form.correo.masked(),
        vigencia_minutos: services.reset_ttl_minutes,
    };
    // A match and a miss both touch a counter row in the same transaction (on a miss one for the
    // identificación typed, which limits nothing), so that the only extra work of a match is the
    // outbox row.
    let clave = match &found {
        Some(r) => format!("reinicio:cuenta:{}", r.id),
        None => format!("reinicio:sin_cuenta:{}", form.identificacion.as_str()),
    };
    let dentro = super::limites::contar(&txn, &clave, services.limites.reinicios_por_hora, now)
        .await?
        .is_ok();
    let Some(registration) = found else {
        audit::record(&txn, now, entry("sin_coincidencia", None)).await?;
        txn.commit().await?;
        return Ok(respuesta);
    };

    let outcome = if dentro {
        // At most one reset e-mail waits per account: a second request while one is queued is
        // the same request (the worker generates the password when it sends, so it is fresh).
        let queued = mail_outbox::Entity::insert(super::outbox::nuevo(
            KIND_RESET,
            &registration,
            Some(pending_key(registration.id)),
            now,
        ))
        .on_conflict(
            OnConflict::column(mail_outbox::Column::PendingKey)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
        if queued == 1 {
            "encolado"
        } else {
            "ya_en_cola"
        }
    } else {
        tracing::warn!("tope de correos de reinicio por cuenta alcanzado");
        "tope_por_cuenta"
    };
    audit::record(&txn, now, entry(outcome, Some(registration.id))).await?;
    txn.commit().await?;
    services.outbox_wakeup.notify_one();
    Ok(respuesta)
}

/// Counts the request against its identificación's hourly limit, before anything is looked up.
async fn limitar(
    services: &Services,
    que: &str,
    identificacion: &str,
    limite: u32,
    now: i64,
) -> Result<(), ServiceError> {
    match super::limites::contar(
        &services.db,
        &format!("{que}:{identificacion}"),
        limite,
        now,
    )
    .await?
    {
        Ok(()) => Ok(()),
        Err(segundos) => {
            tracing::warn!(limite = que, "límite por identificación alcanzado");
            Err(ServiceError::Limite { segundos })
        }
    }
}

pub fn pending_key(registration_id: i64) -> String {
    format!("{KIND_RESET}:{registration_id}")
}
