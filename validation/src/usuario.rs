//! "ID usuario": the name a person chose when registering, used to sign in to ECUAPASS.

use std::fmt;

use crate::{MAX_RAW_LEN, ValidationError as E};

/// 3 to 30 characters from ASCII letters, digits, `.`, `_` and `-`. Kept as typed (it is shown
/// back to its owner); compared through [`UsuarioId::canonical`], which ignores case.
#[derive(Debug, Clone)]
pub struct UsuarioId(String);

impl UsuarioId {
    pub fn parse(raw: &str) -> Result<Self, E> {
        if raw.len() > MAX_RAW_LEN {
            return Err(E::TooLong);
        }
        let s = raw.trim();
        if s.is_empty() {
            return Err(E::Required);
        }
        if !s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        {
            return Err(E::UsuarioCharacters);
        }
        if !(3..=30).contains(&s.len()) {
            return Err(E::UsuarioLength);
        }
        Ok(UsuarioId(s.to_owned()))
    }

    /// As the person typed it.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form the database keys on: lower case.
    pub fn canonical(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

/// Equal when equal ignoring case, as the registry compares them.
impl PartialEq for UsuarioId {
    fn eq(&self, other: &Self) -> bool {
        self.0.eq_ignore_ascii_case(&other.0)
    }
}

impl Eq for UsuarioId {}

impl fmt::Display for UsuarioId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_ids_keep_their_case_and_compare_without_it() {
        let id = UsuarioId::parse(" JSalazar.RL_01-x ").unwrap();
        assert_eq!(id.as_str(), "JSalazar.RL_01-x");
        assert_eq!(id.canonical(), "jsalazar.rl_01-x");
        assert_eq!(id, UsuarioId::parse("jsalazar.rl_01-X").unwrap());
    }

    #[test]
    fn length_boundaries() {
        assert_eq!(UsuarioId::parse("ab"), Err(E::UsuarioLength));
        assert!(UsuarioId::parse("abc").is_ok());
        assert!(UsuarioId::parse(&"a".repeat(30)).is_ok());
        assert_eq!(UsuarioId::parse(&"a".repeat(31)), Err(E::UsuarioLength));
        assert_eq!(UsuarioId::parse(""), Err(E::Required));
        assert_eq!(UsuarioId::parse(&"a".repeat(1 << 20)), Err(E::TooLong));
    }

    #[test]
    fn characters() {
        for bad in ["josé", "juan perez", "ana@aduana", "a/b/c", "ñandu"] {
            assert_eq!(UsuarioId::parse(bad), Err(E::UsuarioCharacters), "{bad}");
        }
    }
}
