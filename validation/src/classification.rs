//! The ten user classifications of a *solicitud de uso*, and which of "RUC empresa" and "Correo
//! electrónico" each one requires. This table exists nowhere else in the project: the page locks
//! fields from it and the server checks requests against it.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Whether a field of "Búsqueda de ID de usuario" is to be filled for a classification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Requirement {
    /// Shown with the red asterisk; the search cannot go on without it.
    Required,
    /// Disabled and empty; a value sent in it is an error, never silently used.
    Locked,
}

impl Requirement {
    pub fn is_required(self) -> bool {
        self == Requirement::Required
    }
}

/// "Clasificación de usuario".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Classification {
    UsuarioGeneral,
    RepresentanteLegal,
    Empleado,
    Auxiliar,
    RepresentanteEntidadPublica,
    FuncionarioPublico,
    Auditor,
    Perito,
    OrganismoInternacional,
    Race,
}

use Requirement::{Locked, Required};

impl Classification {
    /// In the order the portal lists them.
    pub const ALL: [Classification; 10] = [
        Classification::UsuarioGeneral,
        Classification::RepresentanteLegal,
        Classification::Empleado,
        Classification::Auxiliar,
        Classification::RepresentanteEntidadPublica,
        Classification::FuncionarioPublico,
        Classification::Auditor,
        Classification::Perito,
        Classification::OrganismoInternacional,
        Classification::Race,
    ];

    /// (stable code, label, "RUC empresa", "Correo electrónico"). The code is what forms send and
    /// the database stores; it never changes once shipped.
    const fn row(self) -> (&'static str, &'static str, Requirement, Requirement) {
        match self {
            Classification::UsuarioGeneral => {
                ("usuario_general", "Usuario general", Locked, Required)
            }
            Classification::RepresentanteLegal => (
                "representante_legal",
                "Representante legal",
                Required,
                Locked,
            ),
            Classification::Empleado => ("empleado", "Empleado", Required, Locked),
            Classification::Auxiliar => ("auxiliar", "Auxiliar", Required, Locked),
            Classification::RepresentanteEntidadPublica => (
                "representante_entidad_publica",
                "Representante de entidad pública",
                Required,
                Locked,
            ),
            Classification::FuncionarioPublico => (
                "funcionario_publico",
                "Funcionario público",
                Required,
                Locked,
            ),
            Classification::Auditor => ("auditor", "Auditor", Locked, Required),
            Classification::Perito => ("perito", "Perito", Locked, Required),
            Classification::OrganismoInternacional => (
                "organismo_internacional",
                "Organismo internacional",
                Required,
                Locked,
            ),
            Classification::Race => ("race", "RACE", Required, Locked),
        }
    }

    pub const fn code(self) -> &'static str {
        self.row().0
    }

    /// The label users know from the portal.
    pub const fn label(self) -> &'static str {
        self.row().1
    }

    /// Whether "RUC empresa" is required or locked.
    pub const fn ruc_empresa(self) -> Requirement {
        self.row().2
    }

    /// Whether "Correo electrónico" is required or locked in "Búsqueda de ID de usuario".
    pub const fn correo(self) -> Requirement {
        self.row().3
    }

    /// The classification with this code (as sent by the form's select).
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.code() == code)
    }
}

// Serialised as its stable code, so JSON and the database speak the same word.
impl Serialize for Classification {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Classification {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Classification::from_code(&code)
            .ok_or_else(|| serde::de::Error::custom("clasificación de usuario desconocida"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_matches_the_portal() {
        // (label, RUC required, e-mail required), straight from docs/dominio.md.
        let expected = [
            ("Usuario general", false, true),
            ("Representante legal", true, false),
            ("Empleado", true, false),
            ("Auxiliar", true, false),
            ("Representante de entidad pública", true, false),
            ("Funcionario público", true, false),
            ("Auditor", false, true),
            ("Perito", false, true),
            ("Organismo internacional", true, false),
            ("RACE", true, false),
        ];
        for (c, (label, ruc, correo)) in Classification::ALL.into_iter().zip(expected) {
            assert_eq!(c.label(), label);
            assert_eq!(c.ruc_empresa().is_required(), ruc, "{label}");
            assert_eq!(c.correo().is_required(), correo, "{label}");
            // Exactly one of the two is asked for.
            assert_ne!(c.ruc_empresa(), c.correo(), "{label}");
        }
    }

    #[test]
    fn codes_are_unique_and_round_trip() {
        for c in Classification::ALL {
            assert_eq!(Classification::from_code(c.code()), Some(c));
            assert_eq!(
                Classification::ALL
                    .iter()
                    .filter(|o| o.code() == c.code())
                    .count(),
                1
            );
        }
        assert_eq!(Classification::from_code(""), None);
        assert_eq!(Classification::from_code("Auditor"), None);
    }

    #[test]
    fn codes_are_stable() {
        let codes: Vec<_> = Classification::ALL.iter().map(|c| c.code()).collect();
        assert_eq!(
            codes,
            [
                "usuario_general",
                "representante_legal",
                "empleado",
                "auxiliar",
                "representante_entidad_publica",
                "funcionario_publico",
                "auditor",
                "perito",
                "organismo_internacional",
                "race"
            ]
        );
    }
}
