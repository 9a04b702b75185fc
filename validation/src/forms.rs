//! The two forms of the page, validated whole: every field's error at once, so a person fixes
//! everything in one pass, and the same result in the browser and on the server.

use serde::{Deserialize, Serialize};

use crate::{
    Classification, Email, Field, FieldErrors, Identificacion, MAX_RAW_LEN, Requirement, Ruc,
    UsuarioId, ValidationError as E,
};

/// The raw fields of "Búsqueda de ID de usuario", as typed. A locked field is sent empty (a
/// disabled input is not even posted, hence the defaults).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BusquedaIdInput {
    pub clasificacion: String,
    pub ruc_empresa: String,
    pub correo: String,
    pub identificacion: String,
}

/// A valid "Búsqueda de ID de usuario": what the registry is searched with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusquedaId {
    pub clasificacion: Classification,
    /// Present exactly when the classification requires "RUC empresa".
    pub ruc_empresa: Option<Ruc>,
    /// Present exactly when the classification requires "Correo electrónico".
    pub correo: Option<Email>,
    pub identificacion: Identificacion,
}

impl BusquedaId {
    pub fn validate(input: &BusquedaIdInput) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let clasificacion = parse_clasificacion(&input.clasificacion)
            .map_err(|e| errors.push(Field::Clasificacion, e))
            .ok();
        let ruc_empresa = dependent(
            clasificacion.map(Classification::ruc_empresa),
            &input.ruc_empresa,
            Ruc::parse,
        )
        .map_err(|e| errors.push(Field::RucEmpresa, e))
        .ok()
        .flatten();
        let correo = dependent(
            clasificacion.map(Classification::correo),
            &input.correo,
            Email::parse,
        )
        .map_err(|e| errors.push(Field::Correo, e))
        .ok()
        .flatten();
        let identificacion = Identificacion::parse(&input.identificacion)
            .map_err(|e| errors.push(Field::Identificacion, e))
            .ok();

        match (clasificacion, identificacion) {
            (Some(clasificacion), Some(identificacion)) if errors.is_empty() => Ok(BusquedaId {
                clasificacion,
                ruc_empresa,
                correo,
                identificacion,
            }),
            _ => Err(errors),
        }
    }
}

fn parse_clasificacion(raw: &str) -> Result<Classification, E> {
    if raw.len() > MAX_RAW_LEN {
        return Err(E::TooLong);
    }
    let code = raw.trim();
    if code.is_empty() {
        return Err(E::Required);
    }
    Classification::from_code(code).ok_or(E::ClasificacionUnknown)
}

/// A field whose requirement depends on the classification. Unknown classification: a value is
/// still checked for its own format (so the person sees every mistake), an empty one is fine.
fn dependent<T>(
    requirement: Option<Requirement>,
    raw: &str,
    parse: impl Fn(&str) -> Result<T, E>,
) -> Result<Option<T>, E> {
    let empty = raw.len() <= MAX_RAW_LEN && raw.trim().is_empty();
    match requirement {
        Some(Requirement::Required) => parse(raw).map(Some),
        Some(Requirement::Locked) if empty => Ok(None),
        Some(Requirement::Locked) => Err(E::Locked),
        None if empty => Ok(None),
        None => parse(raw).map(|_| None),
    }
}

/// The raw fields of "Reinicio de clave de acceso", as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ReinicioClaveInput {
    pub usuario: String,
    pub identificacion: String,
    pub correo: String,
}

/// A valid "Reinicio de clave de acceso": the account and the address the password goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReinicioClave {
    pub usuario: UsuarioId,
    pub identificacion: Identificacion,
    pub correo: Email,
}

impl ReinicioClave {
    pub fn validate(input: &ReinicioClaveInput) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let usuario =
            UsuarioId::parse(&input.usuario).map_err(|e| errors.push(Field::UsuarioId, e));
        let identificacion = Identificacion::parse(&input.identificacion)
            .map_err(|e| errors.push(Field::Identificacion, e));
        let correo = Email::parse(&input.correo).map_err(|e| errors.push(Field::Correo, e));
        match (usuario, identificacion, correo) {
            (Ok(usuario), Ok(identificacion), Ok(correo)) => Ok(ReinicioClave {
                usuario,
                identificacion,
                correo,
            }),
            _ => Err(errors),
        }
    }
}

/// One *solicitud de uso* as the registry holds it (operator import): the e-mail is always
/// required, and "RUC empresa" exactly when the classification asks for it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RegistroInput {
    pub usuario: String,
    pub clasificacion: String,
    pub identificacion: String,
    pub ruc_empresa: String,
    pub correo: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registro {
    pub usuario: UsuarioId,
    pub clasificacion: Classification,
    pub identificacion: Identificacion,
    pub ruc_empresa: Option<Ruc>,
    pub correo: Email,
}

impl Registro {
    pub fn validate(input: &RegistroInput) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let usuario =
            UsuarioId::parse(&input.usuario).map_err(|e| errors.push(Field::UsuarioId, e));
        let clasificacion = parse_clasificacion(&input.clasificacion)
            .map_err(|e| errors.push(Field::Clasificacion, e));
        let identificacion = Identificacion::parse(&input.identificacion)
            .map_err(|e| errors.push(Field::Identificacion, e));
        let ruc_empresa = dependent(
            clasificacion.as_ref().ok().map(|c| c.ruc_empresa()),
            &input.ruc_empresa,
            Ruc::parse,
        )
        .map_err(|e| errors.push(Field::RucEmpresa, e));
        let correo = Email::parse(&input.correo).map_err(|e| errors.push(Field::Correo, e));
        match (usuario, clasificacion, identificacion, ruc_empresa, correo) {
            (Ok(usuario), Ok(clasificacion), Ok(identificacion), Ok(ruc_empresa), Ok(correo)) => {
                Ok(Registro {
                    usuario,
                    clasificacion,
                    identificacion,
                    ruc_empresa,
                    correo,
                })
            }
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn busqueda(
        clasificacion: &str,
        ruc: &str,
        correo: &str,
        identificacion: &str,
    ) -> BusquedaIdInput {
        BusquedaIdInput {
            clasificacion: clasificacion.into(),
            ruc_empresa: ruc.into(),
            correo: correo.into(),
            identificacion: identificacion.into(),
        }
    }

    #[test]
    fn a_general_user_searches_by_email() {
        let ok = BusquedaId::validate(&busqueda(
            "usuario_general",
            "",
            "Maria@Example.com",
            "1710034065",
        ))
        .unwrap();
        assert_eq!(ok.clasificacion, Classification::UsuarioGeneral);
        assert_eq!(ok.correo.unwrap().canonical(), "maria@example.com");
        assert_eq!(ok.ruc_empresa, None);
        assert_eq!(ok.identificacion.as_str(), "1710034065");
    }

    #[test]
    fn a_legal_representative_searches_by_ruc() {
        let ok = BusquedaId::validate(&busqueda(
            "representante_legal",
            "0993370026001",
            "",
            "0926687856",
        ))
        .unwrap();
        assert_eq!(ok.ruc_empresa.unwrap().as_str(), "0993370026001");
        assert_eq!(ok.correo, None);
    }

    #[test]
    fn every_classification_requires_its_field_and_locks_the_other() {
        for c in Classification::ALL {
            let errors =
                BusquedaId::validate(&busqueda(c.code(), "", "", "1710034065")).unwrap_err();
            let (required, locked) = if c.ruc_empresa().is_required() {
                (Field::RucEmpresa, Field::Correo)
            } else {
                (Field::Correo, Field::RucEmpresa)
            };
            assert_eq!(errors.get(required), Some(E::Required), "{c:?}");
            assert_eq!(errors.get(locked), None, "{c:?}");

            // A value in the locked field is an error, never silently used.
            let both = busqueda(c.code(), "0993370026001", "maria@example.com", "1710034065");
            let errors = BusquedaId::validate(&both).unwrap_err();
            assert_eq!(errors.len(), 1, "{c:?}");
            assert_eq!(errors.get(locked), Some(E::Locked), "{c:?}");
        }
    }

    #[test]
    fn every_error_comes_at_once() {
        let errors = BusquedaId::validate(&busqueda(
            "empleado",
            "123",
            "maria@example.com",
            "1710034066",
        ))
        .unwrap_err();
        assert_eq!(errors.get(Field::RucEmpresa), Some(E::RucLength));
        assert_eq!(errors.get(Field::Correo), Some(E::Locked));
        assert_eq!(errors.get(Field::Identificacion), Some(E::CedulaCheckDigit));
        assert_eq!(errors.len(), 3);

        let errors = BusquedaId::validate(&BusquedaIdInput::default()).unwrap_err();
        assert_eq!(errors.get(Field::Clasificacion), Some(E::Required));
        assert_eq!(errors.get(Field::Identificacion), Some(E::Required));
        assert_eq!(errors.len(), 2);
    }

    #[test]
    fn unknown_classification_still_checks_the_format_of_what_was_typed() {
        let errors = BusquedaId::validate(&busqueda("jefe", "12", "", "1710034065")).unwrap_err();
        assert_eq!(
            errors.get(Field::Clasificacion),
            Some(E::ClasificacionUnknown)
        );
        assert_eq!(errors.get(Field::RucEmpresa), Some(E::RucLength));
        assert_eq!(errors.get(Field::Correo), None);
    }

    #[test]
    fn the_reset_form() {
        let input = ReinicioClaveInput {
            usuario: "MPerez".into(),
            identificacion: "171003406-5".into(),
            correo: "MARIA.PEREZ@example.com".into(),
        };
        let ok = ReinicioClave::validate(&input).unwrap();
        assert_eq!(ok.usuario.canonical(), "mperez");
        assert_eq!(ok.identificacion.as_str(), "1710034065");
        assert_eq!(ok.correo.canonical(), "maria.perez@example.com");

        let errors = ReinicioClave::validate(&ReinicioClaveInput::default()).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| (e.field, e.error)).collect();
        assert_eq!(
            fields,
            [
                (Field::UsuarioId, E::Required),
                (Field::Identificacion, E::Required),
                (Field::Correo, E::Required)
            ]
        );
    }

    #[test]
    fn a_registration_always_has_an_email_and_a_ruc_exactly_when_required() {
        let input = |clasificacion: &str, ruc: &str, correo: &str| RegistroInput {
            usuario: "jsalazar".into(),
            clasificacion: clasificacion.into(),
            identificacion: "0926687856".into(),
            ruc_empresa: ruc.into(),
            correo: correo.into(),
        };
        let ok = Registro::validate(&input("empleado", "1793213150001", "J@example.com")).unwrap();
        assert_eq!(ok.ruc_empresa.unwrap().as_str(), "1793213150001");
        assert_eq!(ok.correo.canonical(), "j@example.com");
        let ok = Registro::validate(&input("perito", "", "j@example.com")).unwrap();
        assert_eq!(ok.ruc_empresa, None);

        let errors = Registro::validate(&input("perito", "1793213150001", "")).unwrap_err();
        assert_eq!(errors.get(Field::RucEmpresa), Some(E::Locked));
        assert_eq!(errors.get(Field::Correo), Some(E::Required));
        let errors = Registro::validate(&input("race", "", "j@example.com")).unwrap_err();
        assert_eq!(errors.get(Field::RucEmpresa), Some(E::Required));
        let errors = Registro::validate(&RegistroInput::default()).unwrap_err();
        assert_eq!(errors.len(), 4, "{errors:?}");
    }

    #[test]
    fn megabyte_fields_are_refused_as_too_long() {
        let huge = "9".repeat(1 << 20);
        let errors = BusquedaId::validate(&busqueda(&huge, &huge, &huge, &huge)).unwrap_err();
        assert_eq!(errors.len(), 4);
        assert!(errors.iter().all(|e| e.error == E::TooLong), "{errors:?}");
        let errors = ReinicioClave::validate(&ReinicioClaveInput {
            usuario: huge.clone(),
            identificacion: huge.clone(),
            correo: huge,
        })
        .unwrap_err();
        assert!(errors.iter().all(|e| e.error == E::TooLong) && errors.len() == 3);
    }
}
