//! Demonstration registrations, loaded by `server seed-demo` so that the app can be tried, and the
//! browser tests run, against a registry with known content. Loading twice changes nothing.

use sea_orm::{ActiveValue::Set, ConnectionTrait, DbErr, EntityTrait, sea_query::OnConflict};
use validation::{Classification as C, Email, Identificacion, Ruc, UsuarioId};

use crate::entities::registration;

/// One demo registration: (ID usuario, classification, identificación, RUC, e-mail, state), as a
/// person would type them; stored in canonical form.
type Demo = (
    &'static str,
    C,
    &'static str,
    Option<&'static str>,
    &'static str,
    &'static str,
);

#[rustfmt::skip]
pub const DEMO: &[Demo] = &[
    ("MPerez", C::UsuarioGeneral, "1710034065", None, "Maria.Perez@example.com", "aprobada"),
    ("jsalazar.rl", C::RepresentanteLegal, "0926687856", Some("0993370026001"), "jorge.salazar@example.com", "aprobada"),
    ("jsalazar.emp", C::Empleado, "092668785-6", Some("1793213150001"), "jorge.salazar@example.com", "aprobada"),
    ("aauditor", C::Auditor, "ab123456", None, "ana.auditora@example.com", "aprobada"),
    ("ppendiente", C::Perito, "0102030400", None, "pedro.pendiente@example.com", "pendiente"),
    ("ddeshabilitado", C::UsuarioGeneral, "2401010109", None, "diana.d@example.com", "deshabilitada"),
];

/// Inserts the demo rows that are not there yet; returns how many were inserted.
pub async fn seed_demo(db: &impl ConnectionTrait) -> Result<u64, DbErr> {
    let now = time::OffsetDateTime::now_utc();
    let invalid = |what: &str, value: &str| {
        DbErr::Custom(format!("dato de demostración inválido: {what} {value}"))
    };
    let mut rows = Vec::with_capacity(DEMO.len());
    for &(usuario, clasificacion, identificacion, ruc, correo, estado) in DEMO {
        // The validation crate decides the canonical forms, exactly as for real registrations.
        let usuario = UsuarioId::parse(usuario).map_err(|_| invalid("usuario", usuario))?;
        let identificacion = Identificacion::parse(identificacion)
            .map_err(|_| invalid("identificación", identificacion))?;
        let ruc = ruc
            .map(|r| Ruc::parse(r).map_err(|_| invalid("RUC", r)))
            .transpose()?;
        let correo = Email::parse(correo).map_err(|_| invalid("correo", correo))?;
        rows.push(registration::ActiveModel {
            usuario_id_clave: Set(usuario.canonical()),
            usuario_id: Set(usuario.as_str().to_owned()),
            clasificacion: Set(clasificacion.code().to_owned()),
            identificacion: Set(identificacion.as_str().to_owned()),
            ruc_empresa: Set(ruc.map(|r| r.as_str().to_owned())),
            correo: Set(correo.as_str().to_owned()),
            estado: Set(estado.to_owned()),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        });
    }
    registration::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::column(registration::Column::UsuarioIdClave)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await
}
