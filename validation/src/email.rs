//! "Correo electrónico": the personal address registered in the *solicitud de uso*.

use std::fmt;

use crate::{MAX_RAW_LEN, ValidationError as E};

/// The longest address SMTP can carry (RFC 5321 path limit less the angle brackets).
const MAX_LEN: usize = 254;

/// An e-mail address: one `@`, a local part, a dotted domain, no spaces, at most 254 characters.
/// Kept as typed (trimmed); addresses compare case-insensitively, by their [`Email::canonical`]
/// form.
#[derive(Debug, Clone)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, E> {
        if raw.len() > MAX_RAW_LEN {
            return Err(E::TooLong);
        }
        let s = raw.trim();
        if s.is_empty() {
            return Err(E::Required);
        }
        // Control characters count as spaces: a line break in an address is a header injection.
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(E::EmailSpaces);
        }
        if s.chars().count() > MAX_LEN {
            return Err(E::EmailLength);
        }
        let (local, domain) = match s.split_once('@') {
            Some((l, d)) if !d.contains('@') => (l, d),
            _ => return Err(E::EmailFormat),
        };
        if local.is_empty() {
            return Err(E::EmailLocalPart);
        }
        if !domain.contains('.') || domain.split('.').any(str::is_empty) {
            return Err(E::EmailDomain);
        }
        Ok(Email(s.to_owned()))
    }

    /// In lower case: what the registry stores and compares. Not computed by `parse`, which the
    /// browser runs on every keystroke for its verdict alone: Unicode's case tables would be
    /// about 6 KB of its gzipped bundle (BENCHMARKS.md).
    pub fn canonical(&self) -> String {
        self.0.to_lowercase()
    }

    /// For screens and logs: the first character of the local part and the domain, in lower
    /// case, e.g. `m***@example.com`.
    pub fn masked(&self) -> String {
        let canonical = self.canonical();
        let (local, domain) = canonical.split_once('@').unwrap_or((&canonical, ""));
        let first = local.chars().next().unwrap_or('*');
        format!("{first}***@{domain}")
    }
}

/// Equal when their canonical forms are.
impl PartialEq for Email {
    fn eq(&self, other: &Self) -> bool {
        self.canonical() == other.canonical()
    }
}

impl Eq for Email {}

impl std::hash::Hash for Email {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.canonical().hash(state);
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.canonical())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_addresses_compare_in_lower_case() {
        let typed = Email::parse(" Maria.Perez@Example.COM ").unwrap();
        assert_eq!(typed.canonical(), "maria.perez@example.com");
        assert_eq!(typed, Email::parse("maria.perez@example.com").unwrap());
        assert_eq!(typed.to_string(), "maria.perez@example.com");
        assert_eq!(
            Email::parse("JOSÉ.ДМИТРИЙ@Correo.EC").unwrap().canonical(),
            "josé.дмитрий@correo.ec"
        );
        assert_eq!(Email::parse("a@b.ec").unwrap().canonical(), "a@b.ec");
        assert_eq!(
            Email::parse("nombre+aduana@correo.gob.ec")
                .unwrap()
                .canonical(),
            "nombre+aduana@correo.gob.ec"
        );
        assert_ne!(typed, Email::parse("maria.perez@example.ec").unwrap());
    }

    #[test]
    fn exactly_one_at() {
        assert_eq!(Email::parse("maria.example.com"), Err(E::EmailFormat));
        assert_eq!(Email::parse("a@b@example.com"), Err(E::EmailFormat));
    }

    #[test]
    fn local_part_and_domain() {
        assert_eq!(Email::parse("@example.com"), Err(E::EmailLocalPart));
        assert_eq!(Email::parse("maria@localhost"), Err(E::EmailDomain));
        assert_eq!(Email::parse("maria@"), Err(E::EmailDomain));
        assert_eq!(Email::parse("maria@.com"), Err(E::EmailDomain));
        assert_eq!(Email::parse("maria@example."), Err(E::EmailDomain));
        assert_eq!(Email::parse("maria@example..com"), Err(E::EmailDomain));
    }

    #[test]
    fn no_spaces_or_control_characters() {
        assert_eq!(Email::parse("maria perez@example.com"), Err(E::EmailSpaces));
        assert_eq!(
            Email::parse("maria@example.com\r\nBcc: x@y.z"),
            Err(E::EmailSpaces)
        );
        assert_eq!(Email::parse("maria@exa\u{a0}mple.com"), Err(E::EmailSpaces));
    }

    #[test]
    fn at_most_254_characters() {
        let local = "a".repeat(64);
        let domain = format!("{}.com", "b".repeat(254 - 64 - 1 - 4));
        let longest = format!("{local}@{domain}");
        assert_eq!(longest.len(), 254);
        assert!(Email::parse(&longest).is_ok());
        assert_eq!(Email::parse(&format!("a{longest}")), Err(E::EmailLength));
        assert_eq!(Email::parse(&"a".repeat(1 << 20)), Err(E::TooLong));
        assert_eq!(Email::parse("   "), Err(E::Required));
    }

    #[test]
    fn masking_shows_one_letter_and_the_domain() {
        assert_eq!(
            Email::parse("Maria@Example.com").unwrap().masked(),
            "m***@example.com"
        );
    }
}
