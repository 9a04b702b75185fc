//! Loading *solicitudes de uso* into the registry: the operator's CSV import and the demo seed.
//!
//! Every row goes through the validation crate (`Registro::validate`), so the registry only ever
//! holds canonical values: the same forms the lookups compare against.

use std::io::Read;

use sea_orm::{
    ActiveValue::Set, ConnectionTrait, DbErr, EntityTrait, TransactionTrait, sea_query::OnConflict,
};
use serde::Serialize;
use validation::{Registro, RegistroInput};

use crate::entities::registration::{self, Estado};

/// The CSV header, in this order. `ruc_empresa` is empty for classifications without RUC;
/// `estado` is `aprobada`, `pendiente` or `deshabilitada`.
pub const COLUMNS: [&str; 6] = [
    "usuario",
    "clasificacion",
    "identificacion",
    "ruc_empresa",
    "correo",
    "estado",
];

/// A valid registration and its state.
#[derive(Debug, Clone)]
pub struct Row {
    pub registro: Registro,
    pub estado: Estado,
}

/// One rejected value: its line in the file (the header is line 1), field, code and message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejection {
    pub fila: u64,
    pub campo: String,
    pub codigo: String,
    pub mensaje: String,
}

#[derive(Debug, Default)]
pub struct Parsed {
    pub rows: Vec<Row>,
    pub rejected: Vec<Rejection>,
    /// Lines with at least one rejection.
    pub rejected_rows: u64,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, Default)]
#[serde(default)]
struct CsvRow {
    usuario: String,
    clasificacion: String,
    identificacion: String,
    ruc_empresa: String,
    correo: String,
    estado: String,
}

/// Reads and validates every row; nothing is written.
pub fn parse_csv(reader: impl Read) -> Result<Parsed, csv::Error> {
    let mut csv = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(reader);
    let header: Vec<String> = csv.headers()?.iter().map(str::to_owned).collect();
    let mut parsed = Parsed::default();
    if header != COLUMNS {
        parsed.rejected.push(Rejection {
            fila: 1,
            campo: "encabezado".into(),
            codigo: "csv.header".into(),
            mensaje: format!("La primera línea debe ser: {}", COLUMNS.join(",")),
        });
        parsed.rejected_rows = 1;
        return Ok(parsed);
    }
    let mut seen = std::collections::HashSet::new();
    for (i, record) in csv.deserialize::<CsvRow>().enumerate() {
        let fila = i as u64 + 2;
        let before = parsed.rejected.len();
        let mut reject = |campo: &str, codigo: &str, mensaje: &str| {
            parsed.rejected.push(Rejection {
                fila,
                campo: campo.into(),
                codigo: codigo.into(),
                mensaje: mensaje.into(),
            })
        };
        let record = match record {
            Ok(record) => record,
            Err(error) => {
                reject("fila", "csv.format", &format!("Fila ilegible: {error}"));
                parsed.rejected_rows += 1;
                continue;
            }
        };
        let estado = Estado::parse(&record.estado);
        if estado.is_none() {
            reject(
                "estado",
                "estado.unknown",
                "El estado debe ser aprobada, pendiente o deshabilitada.",
            );
        }
        let input = RegistroInput {
            usuario: record.usuario,
            clasificacion: record.clasificacion,
            identificacion: record.identificacion,
            ruc_empresa: record.ruc_empresa,
            correo: record.correo,
        };
        match Registro::validate(&input) {
            Ok(registro) => {
                if !seen.insert(registro.usuario.canonical()) {
                    reject(
                        "usuario",
                        "usuario.duplicate",
                        "Este ID usuario ya aparece en una fila anterior del archivo.",
                    );
                } else if let Some(estado) = estado {
                    parsed.rows.push(Row { registro, estado });
                }
            }
            Err(errors) => {
                for e in errors.iter() {
                    reject(e.field.name(), e.error.code(), e.error.message());
                }
            }
        }
        if parsed.rejected.len() > before {
            parsed.rejected_rows += 1;
        }
    }
    Ok(parsed)
}

/// `now` is milliseconds since the Unix epoch from the one `services::Clock`.
fn active_model(row: &Row, now: i64) -> registration::ActiveModel {
    let r = &row.registro;
    registration::ActiveModel {
        usuario_id_clave: Set(r.usuario.canonical()),
        usuario_id: Set(r.usuario.as_str().to_owned()),
        clasificacion: Set(r.clasificacion.code().to_owned()),
        identificacion: Set(r.identificacion.as_str().to_owned()),
        ruc_empresa: Set(r.ruc_empresa.as_ref().map(|ruc| ruc.as_str().to_owned())),
        correo: Set(r.correo.canonical()),
        estado: Set(row.estado),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
}

/// Inserts or updates (by ID usuario, ignoring case) every row, all or nothing, at `now_ms`.
pub async fn upsert(
    db: &sea_orm::DatabaseConnection,
    rows: &[Row],
    now_ms: i64,
) -> Result<u64, DbErr> {
    let now = now_ms;
    let txn = db.begin().await?;
    let mut n = 0;
    for chunk in rows.chunks(500) {
        n += registration::Entity::insert_many(chunk.iter().map(|r| active_model(r, now)))
            .on_conflict(
                OnConflict::column(registration::Column::UsuarioIdClave)
                    .update_columns([
                        registration::Column::UsuarioId,
                        registration::Column::Clasificacion,
                        registration::Column::Identificacion,
                        registration::Column::RucEmpresa,
                        registration::Column::Correo,
                        registration::Column::Estado,
                        registration::Column::UpdatedAt,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(&txn)
            .await?;
    }
    txn.commit().await?;
    // Fresh statistics for the planner: right after a large import PostgreSQL knows nothing of
    // the table until autovacuum gets to it, and a lookup batch's `identificacion IN (…)` was
    // then planned as a scan of every row (10 ms instead of 0.1 ms).
    db.execute_unprepared("ANALYZE registrations").await?;
    if db.get_database_backend() == sea_orm::DbBackend::Sqlite {
        forget_value_samples(db).await?;
    }
    Ok(n)
}

/// Keeps SQLite's row counts per index (`sqlite_stat1`, enough to choose the identificación and
/// ID usuario indexes) but drops its samples of indexed values (`sqlite_stat4`, filled by
/// `ANALYZE` in this build of SQLite). With samples, every statement that compares an indexed
/// column with a bound value is compiled again each time its values change, which every group
/// commit's `IN (…)` does: a tenth of SQLite's thread under a lookup load (BENCHMARKS.md, "Issue
/// 14: the statement journal and the value samples"). Our keys are all but unique, so the
/// samples never change a plan. `ANALYZE sqlite_schema` makes the connection reload what is left.
async fn forget_value_samples(db: &impl ConnectionTrait) -> Result<(), DbErr> {
    let stat4 = db
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Sqlite,
            "SELECT 1 FROM sqlite_schema WHERE name = 'sqlite_stat4'",
        ))
        .await?;
    if stat4.is_some() {
        db.execute_unprepared("DELETE FROM sqlite_stat4").await?;
        db.execute_unprepared("ANALYZE sqlite_schema").await?;
    }
    Ok(())
}

/// Inserts the rows whose ID usuario is not there yet, at `now_ms`; leaves existing ones alone.
pub async fn insert_missing(
    db: &impl ConnectionTrait,
    rows: &[Row],
    now_ms: i64,
) -> Result<u64, DbErr> {
    let now = now_ms;
    registration::Entity::insert_many(rows.iter().map(|r| active_model(r, now)))
        .on_conflict(
            OnConflict::column(registration::Column::UsuarioIdClave)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_valid_file_parses_every_row() {
        let csv = "usuario,clasificacion,identificacion,ruc_empresa,correo,estado\n\
                   MPerez,usuario_general,171003406-5,,Maria@Example.com,aprobada\n\
                   jsalazar,empleado,0926687856,1793213150001,j@example.com,pendiente\n";
        let parsed = parse_csv(csv.as_bytes()).unwrap();
        assert!(parsed.rejected.is_empty(), "{:?}", parsed.rejected);
        assert_eq!(parsed.rows.len(), 2);
        assert_eq!(
            parsed.rows[0].registro.identificacion.as_str(),
            "1710034065"
        );
        assert_eq!(parsed.rows[1].estado, Estado::Pendiente);
    }

    #[test]
    fn every_bad_value_is_reported_with_its_line_field_and_code() {
        let csv = "usuario,clasificacion,identificacion,ruc_empresa,correo,estado\n\
                   ok1,usuario_general,1710034065,,a@example.com,aprobada\n\
                   x,jefe,1710034066,,no-es-correo,activa\n\
                   OK1,auditor,AB12345,,b@example.com,aprobada\n\
                   solo,dos\n";
        let parsed = parse_csv(csv.as_bytes()).unwrap();
        assert_eq!(parsed.rows.len(), 1);
        assert_eq!(parsed.rejected_rows, 3);
        let got: Vec<(u64, &str, &str)> = parsed
            .rejected
            .iter()
            .map(|r| (r.fila, r.campo.as_str(), r.codigo.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (3, "estado", "estado.unknown"),
                (3, "usuario", "usuario.length"),
                (3, "clasificacion", "clasificacion.unknown"),
                (3, "identificacion", "cedula.check_digit"),
                (3, "correo", "email.format"),
                (4, "usuario", "usuario.duplicate"),
                (5, "fila", "csv.format"),
            ]
        );
    }

    #[test]
    fn a_wrong_header_rejects_the_file() {
        let parsed = parse_csv("id,clase\nx,y\n".as_bytes()).unwrap();
        assert!(parsed.rows.is_empty());
        assert_eq!(parsed.rejected[0].codigo, "csv.header");
    }
}
