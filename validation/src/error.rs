//! What can be wrong with a field: a stable machine code for programs and a Spanish message for
//! people that says how to fix the value.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

/// One broken rule. The code (`cedula.check_digit`) is stable: clients, logs and tests key on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValidationError {
    Required,
    Locked,
    TooLong,
    ClasificacionUnknown,
    CedulaDigits,
    CedulaLength,
    CedulaProvince,
    CedulaThirdDigit,
    CedulaCheckDigit,
    RucDigits,
    RucLength,
    RucProvince,
    RucThirdDigit,
    RucCheckDigit,
    RucSuffix,
    PasaporteLength,
    PasaporteCharacters,
    EmailFormat,
    EmailLocalPart,
    EmailDomain,
    EmailSpaces,
    EmailLength,
    UsuarioLength,
    UsuarioCharacters,
    ClaveLength,
    ClaveSameAsUser,
    ClaveSameAsIdentification,
    ClaveCommon,
    ClaveMismatch,
    ClaveTemporal,
    ClaveContainsEmail,
    ClaveServiceWord,
    ClaveRepetition,
    ClaveSequence,
    ClaveWeak,
}

impl ValidationError {
    pub const ALL: [ValidationError; 35] = [
        ValidationError::Required,
        ValidationError::Locked,
        ValidationError::TooLong,
        ValidationError::ClasificacionUnknown,
        ValidationError::CedulaDigits,
        ValidationError::CedulaLength,
        ValidationError::CedulaProvince,
        ValidationError::CedulaThirdDigit,
        ValidationError::CedulaCheckDigit,
        ValidationError::RucDigits,
        ValidationError::RucLength,
        ValidationError::RucProvince,
        ValidationError::RucThirdDigit,
        ValidationError::RucCheckDigit,
        ValidationError::RucSuffix,
        ValidationError::PasaporteLength,
        ValidationError::PasaporteCharacters,
        ValidationError::EmailFormat,
        ValidationError::EmailLocalPart,
        ValidationError::EmailDomain,
        ValidationError::EmailSpaces,
        ValidationError::EmailLength,
        ValidationError::UsuarioLength,
        ValidationError::UsuarioCharacters,
        ValidationError::ClaveLength,
        ValidationError::ClaveSameAsUser,
        ValidationError::ClaveSameAsIdentification,
        ValidationError::ClaveCommon,
        ValidationError::ClaveMismatch,
        ValidationError::ClaveTemporal,
        ValidationError::ClaveContainsEmail,
        ValidationError::ClaveServiceWord,
        ValidationError::ClaveRepetition,
        ValidationError::ClaveSequence,
        ValidationError::ClaveWeak,
    ];

    /// (machine code, message for people).
    const fn row(self) -> (&'static str, &'static str) {
        use ValidationError as E;
        match self {
            E::Required => ("field.required", "Este campo es obligatorio."),
            E::Locked => (
                "field.locked",
                "Este campo no corresponde a la clasificación elegida y debe quedar vacío.",
            ),
            E::TooLong => ("field.too_long", "El valor es demasiado largo."),
            E::ClasificacionUnknown => (
                "clasificacion.unknown",
                "Elija una clasificación de usuario de la lista.",
            ),
            E::CedulaDigits => (
                "cedula.digits",
                "La cédula solo puede contener dígitos del 0 al 9.",
            ),
            E::CedulaLength => ("cedula.length", "La cédula debe tener 10 dígitos."),
            E::CedulaProvince => (
                "cedula.province",
                "Los dos primeros dígitos de la cédula deben ser un código de provincia (01 a 24, 30 o 50).",
            ),
            E::CedulaThirdDigit => (
                "cedula.third_digit",
                "El tercer dígito de la cédula debe estar entre 0 y 6.",
            ),
            E::CedulaCheckDigit => (
                "cedula.check_digit",
                "El número de cédula no es válido: revise que cada dígito esté bien escrito.",
            ),
            E::RucDigits => (
                "ruc.digits",
                "El RUC solo puede contener dígitos del 0 al 9.",
            ),
            E::RucLength => ("ruc.length", "El RUC debe tener 13 dígitos."),
            E::RucProvince => (
                "ruc.province",
                "Los dos primeros dígitos del RUC deben ser un código de provincia (01 a 24, 30 o 50).",
            ),
            E::RucThirdDigit => (
                "ruc.third_digit",
                "El tercer dígito del RUC no puede ser 7 ni 8.",
            ),
            E::RucCheckDigit => (
                "ruc.check_digit",
                "El número de RUC no es válido: revise que cada dígito esté bien escrito.",
            ),
            E::RucSuffix => (
                "ruc.suffix",
                "El RUC debe terminar en el número de establecimiento, p. ej. 001.",
            ),
            E::PasaporteLength => (
                "pasaporte.length",
                "El pasaporte debe tener entre 5 y 20 caracteres.",
            ),
            E::PasaporteCharacters => (
                "pasaporte.characters",
                "La identificación solo puede contener letras sin tilde (A-Z) y dígitos (0-9).",
            ),
            E::EmailFormat => (
                "email.format",
                "Escriba el correo con una sola arroba (@), p. ej. nombre@dominio.com.",
            ),
            E::EmailLocalPart => (
                "email.local_part",
                "Falta el nombre antes de la arroba (@).",
            ),
            E::EmailDomain => (
                "email.domain",
                "Después de la arroba (@) escriba un dominio con punto, p. ej. dominio.com.",
            ),
            E::EmailSpaces => ("email.spaces", "El correo no puede contener espacios."),
            E::EmailLength => (
                "email.length",
                "El correo puede tener como máximo 254 caracteres.",
            ),
            E::UsuarioLength => (
                "usuario.length",
                "El ID usuario debe tener entre 3 y 30 caracteres.",
            ),
            E::UsuarioCharacters => (
                "usuario.characters",
                "El ID usuario solo puede contener letras sin tilde, dígitos, punto (.), guion bajo (_) y guion (-).",
            ),
            E::ClaveLength => (
                "clave.length",
                "La clave debe tener entre 12 y 128 caracteres; una frase fácil de recordar sirve.",
            ),
            E::ClaveSameAsUser => (
                "clave.same_as_user",
                "La clave no puede ser ni contener su ID usuario, tampoco al revés.",
            ),
            E::ClaveSameAsIdentification => (
                "clave.same_as_identification",
                "La clave no puede ser ni contener su número de identificación, tampoco al revés.",
            ),
            E::ClaveCommon => (
                "clave.common",
                "Esa clave es demasiado común y fácil de adivinar; elija otra.",
            ),
            E::ClaveMismatch => (
                "clave.mismatch",
                "Las dos claves no coinciden; escríbala igual en ambos campos.",
            ),
            E::ClaveTemporal => (
                "clave.temporal",
                "La clave nueva no puede ser la clave temporal que recibió.",
            ),
            E::ClaveContainsEmail => (
                "clave.contains_email",
                "La clave no puede contener su correo electrónico (lo que va antes de @), tampoco al revés.",
            ),
            E::ClaveServiceWord => (
                "clave.service_word",
                "La clave no puede basarse en el nombre del servicio (ECUAPASS, SENAE, Aduana) con números o signos.",
            ),
            E::ClaveRepetition => (
                "clave.repetition",
                "La clave no puede repetir un mismo carácter o grupo de caracteres (como aaaaaaaaaaaa o abcabcabcabc).",
            ),
            E::ClaveSequence => (
                "clave.sequence",
                "La clave no puede ser una secuencia de caracteres o de teclas vecinas (como 123456789012, abcdefghijkl o qwertyuiop12).",
            ),
            E::ClaveWeak => (
                "clave.weak",
                "La clave es fácil de adivinar. Use una frase más larga o palabras que no vayan juntas; una frase propia es lo mejor.",
            ),
        }
    }

    pub const fn code(self) -> &'static str {
        self.row().0
    }

    /// The Spanish message shown under the field.
    pub const fn message(self) -> &'static str {
        self.row().1
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.code() == code)
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for ValidationError {}

/// The fields of the two forms. The name is the form field's `name` attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    Clasificacion,
    RucEmpresa,
    Correo,
    Identificacion,
    UsuarioId,
    Clave,
    Confirmacion,
}

impl Field {
    pub const ALL: [Field; 7] = [
        Field::Clasificacion,
        Field::RucEmpresa,
        Field::Correo,
        Field::Identificacion,
        Field::UsuarioId,
        Field::Clave,
        Field::Confirmacion,
    ];

    const fn row(self) -> (&'static str, &'static str) {
        match self {
            Field::Clasificacion => ("clasificacion", "Clasificación de usuario"),
            Field::RucEmpresa => ("ruc_empresa", "RUC empresa"),
            Field::Correo => ("correo", "Correo electrónico"),
            Field::Identificacion => ("identificacion", "Identificación"),
            Field::UsuarioId => ("usuario", "ID usuario"),
            Field::Clave => ("clave", "Clave"),
            Field::Confirmacion => ("confirmacion", "Repita la clave nueva"),
        }
    }

    pub const fn name(self) -> &'static str {
        self.row().0
    }

    /// The label users know from the portal.
    pub const fn label(self) -> &'static str {
        self.row().1
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }
}

/// A broken rule on one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FieldError {
    pub field: Field,
    pub error: ValidationError,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field.label(), self.error.message())
    }
}

/// Sent as `{"field": "identificacion", "code": "cedula.check_digit", "message": "…"}`: a client
/// without this crate can still show the message; one with it reads only the code.
impl Serialize for FieldError {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Wire {
            field: self.field.name(),
            code: self.error.code(),
            message: self.error.message(),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for FieldError {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let wire = WireIn::deserialize(deserializer)?;
        let field = Field::from_name(&wire.field)
            .ok_or_else(|| de::Error::custom(format_args!("campo desconocido: {}", wire.field)))?;
        let error = ValidationError::from_code(&wire.code)
            .ok_or_else(|| de::Error::custom(format_args!("código desconocido: {}", wire.code)))?;
        Ok(FieldError { field, error })
    }
}

#[derive(Serialize)]
struct Wire {
    field: &'static str,
    code: &'static str,
    message: &'static str,
}

#[derive(Deserialize)]
struct WireIn {
    field: String,
    code: String,
}

/// Every field's error of one submission, at most one per field, in the order the form shows them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FieldErrors(Vec<FieldError>);

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `error` for `field` unless the field already has one (the first is the one to fix).
    /// Forms push in the order they show their fields.
    pub fn push(&mut self, field: Field, error: ValidationError) {
        if self.get(field).is_none() {
            self.0.push(FieldError { field, error });
        }
    }

    pub fn get(&self, field: Field) -> Option<ValidationError> {
        self.0.iter().find(|e| e.field == field).map(|e| e.error)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = &FieldError> {
        self.0.iter()
    }
}

impl fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for FieldErrors {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_round_trip() {
        for e in ValidationError::ALL {
            assert_eq!(ValidationError::from_code(e.code()), Some(e));
            assert_eq!(
                ValidationError::ALL
                    .iter()
                    .filter(|o| o.code() == e.code())
                    .count(),
                1
            );
            assert!(e.message().ends_with('.'), "{e:?}");
        }
        for f in Field::ALL {
            assert_eq!(Field::from_name(f.name()), Some(f));
        }
    }

    #[test]
    fn the_spec_codes_exist() {
        for code in [
            "field.required",
            "field.locked",
            "cedula.length",
            "cedula.province",
            "cedula.third_digit",
            "cedula.check_digit",
            "ruc.suffix",
            "email.format",
        ] {
            assert!(ValidationError::from_code(code).is_some(), "{code}");
        }
    }

    #[test]
    fn messages_say_how_to_fix_in_spanish() {
        assert_eq!(
            ValidationError::CedulaLength.message(),
            "La cédula debe tener 10 dígitos."
        );
        assert_eq!(
            ValidationError::Required.to_string(),
            "Este campo es obligatorio."
        );
    }

    #[test]
    fn keeps_the_first_error_of_each_field_in_the_order_given() {
        let mut errors = FieldErrors::new();
        errors.push(Field::Identificacion, ValidationError::CedulaLength);
        errors.push(Field::Clasificacion, ValidationError::Required);
        errors.push(Field::Identificacion, ValidationError::Required);
        assert_eq!(errors.len(), 2);
        assert_eq!(
            errors.get(Field::Identificacion),
            Some(ValidationError::CedulaLength)
        );
        let order: Vec<_> = errors.iter().map(|e| e.field).collect();
        assert_eq!(order, [Field::Identificacion, Field::Clasificacion]);
    }
}
