//! Demonstration registrations, one per classification plus a pending and a disabled one, loaded
//! by `server seed-demo` (and by `make run`) so that the page can be tried at once, and by the
//! browser tests. Loading twice changes nothing. The table is documented in README.md.

use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use validation::{Registro, RegistroInput};

use crate::{
    entities::registration::Estado,
    registrations::{self, Row},
};

/// (ID usuario, classification, identificación, RUC empresa, e-mail, state), as a person types
/// them; stored in canonical form.
#[rustfmt::skip]
pub const DEMO: &[(&str, &str, &str, &str, &str, &str)] = &[
    ("MPerez", "usuario_general", "1710034065", "", "Maria.Perez@example.com", "aprobada"),
    ("jsalazar.rl", "representante_legal", "0926687856", "0993370026001", "jorge.salazar@example.com", "aprobada"),
    ("jsalazar.emp", "empleado", "092668785-6", "1793213150001", "jorge.salazar@example.com", "aprobada"),
    ("lmora.aux", "auxiliar", "0601234560", "1793189906001", "luis.mora@example.com", "aprobada"),
    ("cvera.ep", "representante_entidad_publica", "1309876546", "1760001040001", "carla.vera@example.com", "aprobada"),
    ("rcampos.fp", "funcionario_publico", "0802468132", "1760001040001", "rosa.campos@example.com", "aprobada"),
    ("aauditor", "auditor", "ab123456", "", "ana.auditora@example.com", "aprobada"),
    ("pperito", "perito", "1101357927", "", "pablo.perito@example.com", "aprobada"),
    ("oint.onu", "organismo_internacional", "XK9876543", "1793213150001", "olga.int@example.com", "aprobada"),
    ("race.ec", "race", "2008642023", "0993370026001", "raul.race@example.com", "aprobada"),
    ("ppendiente", "perito", "0102030400", "", "pedro.pendiente@example.com", "pendiente"),
    ("ddeshabilitado", "usuario_general", "2401010109", "", "diana.d@example.com", "deshabilitada"),
];

/// The current password of every approved demo account (documented in README.md), so that the
/// whole journey can be tried: the old password keeps working until a temporary one is used.
pub const CLAVE_DEMO: &str = "clave de demostración";

/// Inserts the demo rows that are not there yet, and a current password for the approved ones
/// that have none; returns how many registrations were inserted.
/// `now_ms` comes from the caller's `services::Clock`.
pub async fn seed_demo(db: &impl ConnectionTrait, now_ms: i64) -> Result<u64, DbErr> {
    use crate::entities::{credential, registration};
    let rows = demo_rows()?;
    let inserted = registrations::insert_missing(db, &rows, now_ms).await?;
    let hash = crate::services::password::hash_offline(CLAVE_DEMO.to_owned())
        .await
        .map_err(|e| DbErr::Custom(e.to_string()))?;
    let now = now_ms;
    for row in rows.iter().filter(|r| r.estado == Estado::Aprobada) {
        let Some(r) = registration::Entity::find()
            .filter(registration::Column::UsuarioIdClave.eq(row.registro.usuario.canonical()))
            .one(db)
            .await?
        else {
            continue;
        };
        let cuenta = credential::ActiveModel {
            registration_id: Set(r.id),
            password_hash: Set(Some(hash.clone())),
            temp_hash: Set(None),
            temp_expires_at: Set(None),
            temp_used_at: Set(None),
            updated_at: Set(now),
        };
        // An account that already has credentials keeps them.
        credential::save(db, cuenta, &[]).await?;
    }
    Ok(inserted)
}

/// The demo table through the validation crate, exactly as an import would read it.
fn demo_rows() -> Result<Vec<Row>, DbErr> {
    let mut rows = Vec::with_capacity(DEMO.len());
    for &(usuario, clasificacion, identificacion, ruc_empresa, correo, estado) in DEMO {
        let input = RegistroInput {
            usuario: usuario.into(),
            clasificacion: clasificacion.into(),
            identificacion: identificacion.into(),
            ruc_empresa: ruc_empresa.into(),
            correo: correo.into(),
        };
        let registro = Registro::validate(&input).map_err(|e| {
            DbErr::Custom(format!("dato de demostración inválido ({usuario}): {e}"))
        })?;
        let estado = Estado::parse(estado)
            .ok_or_else(|| DbErr::Custom(format!("estado de demostración inválido: {estado}")))?;
        rows.push(Row { registro, estado });
    }
    Ok(rows)
}
