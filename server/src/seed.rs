//! Demonstration registrations, loaded by `server seed-demo` so that the app can be tried, and the
//! browser tests run, against a registry with known content. Loading twice changes nothing.

use sea_orm::{ActiveValue::Set, ConnectionTrait, DbErr, EntityTrait, sea_query::OnConflict};

use crate::entities::registration;

/// One demo registration: (ID usuario, classification code, identificación, RUC, e-mail, state).
type Demo = (
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
    &'static str,
    &'static str,
);

pub const DEMO: &[Demo] = &[
    (
        "mperez",
        "usuario_general",
        "1710034065",
        None,
        "maria.perez@example.com",
        "aprobada",
    ),
    (
        "jsalazar.rl",
        "representante_legal",
        "0926687856",
        Some("0993370026001"),
        "jorge.salazar@example.com",
        "aprobada",
    ),
    (
        "jsalazar.emp",
        "empleado",
        "0926687856",
        Some("1793213150001"),
        "jorge.salazar@example.com",
        "aprobada",
    ),
    (
        "aauditor",
        "auditor",
        "AB123456",
        None,
        "ana.auditora@example.com",
        "aprobada",
    ),
    (
        "ppendiente",
        "perito",
        "0102030400",
        None,
        "pedro.pendiente@example.com",
        "pendiente",
    ),
    (
        "ddeshabilitado",
        "usuario_general",
        "2401010109",
        None,
        "diana.d@example.com",
        "deshabilitada",
    ),
];

/// Inserts the demo rows that are not there yet; returns how many were inserted.
pub async fn seed_demo(db: &impl ConnectionTrait) -> Result<u64, DbErr> {
    let now = time::OffsetDateTime::now_utc();
    let rows = DEMO.iter().map(
        |&(usuario, clasificacion, identificacion, ruc, correo, estado)| {
            registration::ActiveModel {
                usuario_id: Set(usuario.to_owned()),
                usuario_id_clave: Set(usuario.to_lowercase()),
                clasificacion: Set(clasificacion.to_owned()),
                identificacion: Set(identificacion.to_owned()),
                ruc_empresa: Set(ruc.map(str::to_owned)),
                correo: Set(correo.to_owned()),
                estado: Set(estado.to_owned()),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            }
        },
    );
    registration::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::column(registration::Column::UsuarioIdClave)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await
}
