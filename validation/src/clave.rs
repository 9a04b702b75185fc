//! Passwords chosen by people: the sign-in form and the forced change after a temporary password.
//!
//! The policy follows NIST SP 800-63B and OWASP ASVS 5: long enough (12 to 128 characters, any
//! character, spaces included, never trimmed), no composition rules, not the account's own ID or
//! identification, not a commonly used password. The common-password list (about 20,000 entries)
//! is compiled in only with the `lista-comun` feature, which the server enables: the browser gives
//! instant feedback on the other rules without downloading the list, and the server enforces all.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{Field, FieldErrors, MAX_RAW_LEN, ValidationError as E};

pub const MIN_CHARS: usize = 12;
pub const MAX_CHARS: usize = 128;

/// A password that passed every rule. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct NuevaClave(String);

impl NuevaClave {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for NuevaClave {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NuevaClave(***)")
    }
}

/// "Cambio de clave obligatorio": the new password, twice.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CambioClaveInput {
    pub clave: String,
    pub confirmacion: String,
}

impl fmt::Debug for CambioClaveInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CambioClaveInput(***)")
    }
}

impl NuevaClave {
    /// Checks the new password against the policy and the account it is for.
    pub fn validate(
        input: &CambioClaveInput,
        usuario: &str,
        identificacion: &str,
    ) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        if let Err(e) = check(&input.clave, usuario, identificacion) {
            errors.push(Field::Clave, e);
        }
        if input.confirmacion.is_empty() {
            errors.push(Field::Confirmacion, E::Required);
        } else if input.confirmacion != input.clave {
            errors.push(Field::Confirmacion, E::ClaveMismatch);
        }
        if errors.is_empty() {
            Ok(NuevaClave(input.clave.clone()))
        } else {
            Err(errors)
        }
    }
}

fn check(clave: &str, usuario: &str, identificacion: &str) -> Result<(), E> {
    if clave.is_empty() {
        return Err(E::Required);
    }
    if clave.len() > MAX_RAW_LEN {
        return Err(E::ClaveLength);
    }
    let chars = clave.chars().count();
    if !(MIN_CHARS..=MAX_CHARS).contains(&chars) {
        return Err(E::ClaveLength);
    }
    let folded = clave.to_lowercase();
    if !usuario.trim().is_empty() && folded == usuario.trim().to_lowercase() {
        return Err(E::ClaveSameAsUser);
    }
    // Compared as the identification is compared: without spaces or hyphens, ignoring case.
    let sin_separadores = |s: &str| {
        crate::normalise_number(s)
            .map(|n| n.to_lowercase())
            .unwrap_or_default()
    };
    let identificacion = sin_separadores(identificacion);
    if !identificacion.is_empty() && sin_separadores(&folded) == identificacion {
        return Err(E::ClaveSameAsIdentification);
    }
    if es_comun(&folded) {
        return Err(E::ClaveCommon);
    }
    Ok(())
}

#[cfg(feature = "lista-comun")]
fn es_comun(folded: &str) -> bool {
    use std::{collections::HashSet, sync::LazyLock};
    static LISTA: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
        include_str!("../data/contrasenas-comunes.txt")
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .collect()
    });
    LISTA.contains(folded)
}

#[cfg(not(feature = "lista-comun"))]
fn es_comun(_: &str) -> bool {
    false
}

/// "Ingreso a ECUAPASS": ID usuario and password, as typed.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct IngresoInput {
    pub usuario: String,
    pub clave: String,
}

impl fmt::Debug for IngresoInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IngresoInput")
            .field("usuario", &self.usuario)
            .finish_non_exhaustive()
    }
}

/// A sign-in attempt worth checking against the registry.
pub struct Ingreso {
    pub usuario: crate::UsuarioId,
    pub clave: String,
}

impl Ingreso {
    pub fn validate(input: &IngresoInput) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let usuario =
            crate::UsuarioId::parse(&input.usuario).map_err(|e| errors.push(Field::UsuarioId, e));
        if input.clave.is_empty() {
            errors.push(Field::Clave, E::Required);
        } else if input.clave.len() > MAX_RAW_LEN {
            errors.push(Field::Clave, E::TooLong);
        }
        match usuario {
            Ok(usuario) if errors.is_empty() => Ok(Ingreso {
                usuario,
                clave: input.clave.clone(),
            }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nueva(clave: &str, confirmacion: &str) -> Result<NuevaClave, FieldErrors> {
        NuevaClave::validate(
            &CambioClaveInput {
                clave: clave.into(),
                confirmacion: confirmacion.into(),
            },
            "MPerez.Aduana",
            "1710034065",
        )
    }

    #[test]
    fn length_from_12_to_128_characters_any_kind() {
        assert_eq!(
            nueva("corta", "corta").unwrap_err().get(Field::Clave),
            Some(E::ClaveLength)
        );
        assert_eq!(
            nueva("onceletrass", "onceletrass")
                .unwrap_err()
                .get(Field::Clave),
            Some(E::ClaveLength)
        );
        assert!(nueva("docecaracter", "docecaracter").is_ok());
        // No composition rules; spaces and any script count, as characters, not bytes.
        assert!(nueva("una frase larga sin números", "una frase larga sin números").is_ok());
        assert!(nueva("ñandúñandúña", "ñandúñandúña").is_ok());
        let max = "x".repeat(128);
        assert!(nueva(&max, &max).is_ok());
        let over = "x".repeat(129);
        assert_eq!(
            nueva(&over, &over).unwrap_err().get(Field::Clave),
            Some(E::ClaveLength)
        );
        // Never trimmed: the spaces are part of it.
        assert!(nueva("  docecaract", "  docecaract").is_ok());
    }

    #[test]
    fn not_the_account_id_or_identification() {
        assert_eq!(
            nueva("mperez.aduana", "mperez.aduana")
                .unwrap_err()
                .get(Field::Clave),
            Some(E::ClaveSameAsUser)
        );
        let id = NuevaClave::validate(
            &CambioClaveInput {
                clave: "AB1234567890".into(),
                confirmacion: "AB1234567890".into(),
            },
            "otro",
            "ab1234567890",
        );
        assert_eq!(
            id.unwrap_err().get(Field::Clave),
            Some(E::ClaveSameAsIdentification)
        );
    }

    #[test]
    fn confirmation_must_match() {
        let e = nueva("docecaracter", "docecaracteR").unwrap_err();
        assert_eq!(e.get(Field::Confirmacion), Some(E::ClaveMismatch));
        assert_eq!(e.get(Field::Clave), None);
        assert_eq!(nueva("", "").unwrap_err().len(), 2);
    }

    #[test]
    #[cfg(feature = "lista-comun")]
    fn common_passwords_are_refused_whatever_their_case() {
        for common in ["q1w2e3r4t5y6", "1QAZ2WSX3EDC", "PASSWORD1234"] {
            let e = nueva(common, common);
            assert_eq!(
                e.unwrap_err().get(Field::Clave),
                Some(E::ClaveCommon),
                "{common}"
            );
        }
    }

    #[test]
    fn secrets_never_show_in_debug() {
        let c = nueva("docecaracter", "docecaracter").unwrap();
        assert_eq!(format!("{c:?}"), "NuevaClave(***)");
        let i = IngresoInput {
            usuario: "mperez".into(),
            clave: "secreto-de-prueba".into(),
        };
        assert!(!format!("{i:?}").contains("secreto"));
    }

    #[test]
    fn sign_in_needs_a_valid_id_and_a_password() {
        let e = Ingreso::validate(&IngresoInput::default()).err().unwrap();
        assert_eq!(e.get(Field::UsuarioId), Some(E::Required));
        assert_eq!(e.get(Field::Clave), Some(E::Required));
        assert!(
            Ingreso::validate(&IngresoInput {
                usuario: "mperez".into(),
                clave: "x".into()
            })
            .is_ok()
        );
    }
}
