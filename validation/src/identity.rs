//! Ecuadorian identity numbers: cédula, RUC, and the passport accepted in their place.
//!
//! The algorithms and the decisions the sources leave open are in `docs/dominio.md`. The one that
//! matters most: a RUC whose third digit is 9 is not rejected for its check digit, because the SRI
//! issues real ones that fail it, and rejecting a real RUC locks a real person out.

use std::fmt;

use crate::{ValidationError as E, ascii_digits, normalise_number};

/// Whether `d1d2` is a province code: 01–24, 30 (Ecuadorians registered abroad) or 50.
fn valid_province(d: &[u8]) -> bool {
    let p = d[0] * 10 + d[1];
    (1..=24).contains(&p) || p == 30 || p == 50
}

/// The cédula check digit of d1..d9 (coefficients 2,1,2,1,…; products over 9 lose 9).
fn cedula_check(d: &[u8]) -> u8 {
    let sum: u32 = d[..9]
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            let p = u32::from(x) * if i % 2 == 0 { 2 } else { 1 };
            if p > 9 { p - 9 } else { p }
        })
        .sum();
    ((10 - sum % 10) % 10) as u8
}

/// The public-entity check digit d9 of d1..d8 (weights 3,2,7,6,5,4,3,2, modulo 11); `None` when
/// the remainder is 1, which has no valid digit.
fn public_entity_check(d: &[u8]) -> Option<u8> {
    const WEIGHTS: [u32; 8] = [3, 2, 7, 6, 5, 4, 3, 2];
    let sum: u32 = d[..8]
        .iter()
        .zip(WEIGHTS)
        .map(|(&x, w)| u32::from(x) * w)
        .sum();
    match sum % 11 {
        0 => Some(0),
        1 => None,
        r => Some((11 - r) as u8),
    }
}

/// The cédula rules on ten digits, with the errors to report for a cédula or for a RUC's first ten.
fn check_cedula_digits(d: &[u8], province: E, third: E, check: E) -> Result<(), E> {
    if !valid_province(d) {
        return Err(province);
    }
    if d[2] > 6 {
        return Err(third);
    }
    if cedula_check(d) != d[9] {
        return Err(check);
    }
    Ok(())
}

/// A cédula de identidad: ten digits, valid province, third digit 0–6, correct check digit.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cedula(String);

impl Cedula {
    pub fn parse(raw: &str) -> Result<Self, E> {
        let s = normalise_number(raw)?;
        if s.is_empty() {
            return Err(E::Required);
        }
        let d = ascii_digits(&s).ok_or(E::CedulaDigits)?;
        if d.len() != 10 {
            return Err(E::CedulaLength);
        }
        check_cedula_digits(
            &d,
            E::CedulaProvince,
            E::CedulaThirdDigit,
            E::CedulaCheckDigit,
        )?;
        Ok(Cedula(s))
    }

    /// Ten digits, no separators.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a RUC's third digit says its holder is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TipoRuc {
    /// d3 0–5 (or a d3 = 6 RUC built on a cédula): a person's cédula plus an establishment.
    PersonaNatural,
    /// d3 6: a public entity (mod-11 check on d9).
    EntidadPublica,
    /// d3 9: a private company, or a foreigner without cédula.
    SociedadPrivada,
}

/// A RUC (Registro Único de Contribuyentes): thirteen digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Ruc {
    number: String,
    tipo: TipoRuc,
}

impl Ruc {
    pub fn parse(raw: &str) -> Result<Self, E> {
        let s = normalise_number(raw)?;
        if s.is_empty() {
            return Err(E::Required);
        }
        let d = ascii_digits(&s).ok_or(E::RucDigits)?;
        if d.len() != 13 {
            return Err(E::RucLength);
        }
        // Every RUC starts with the province of registration.
        if !valid_province(&d) {
            return Err(E::RucProvince);
        }
        let natural = || -> Result<TipoRuc, E> {
            check_cedula_digits(&d, E::RucProvince, E::RucThirdDigit, E::RucCheckDigit)?;
            if d[10..] == [0, 0, 0] {
                return Err(E::RucSuffix);
            }
            Ok(TipoRuc::PersonaNatural)
        };
        let tipo = match d[2] {
            0..=5 => natural()?,
            6 => {
                if d[9..] == [0, 0, 0, 0] {
                    return Err(E::RucSuffix);
                }
                if public_entity_check(&d) == Some(d[8]) {
                    TipoRuc::EntidadPublica
                } else {
                    // Foreigners' cédulas also start d3 = 6; their RUC is a natural person's.
                    natural()?
                }
            }
            9 => {
                if d[10..] == [0, 0, 0] {
                    return Err(E::RucSuffix);
                }
                TipoRuc::SociedadPrivada
            }
            _ => return Err(E::RucThirdDigit),
        };
        Ok(Ruc { number: s, tipo })
    }

    /// Thirteen digits, no separators.
    pub fn as_str(&self) -> &str {
        &self.number
    }

    pub fn tipo(&self) -> TipoRuc {
        self.tipo
    }
}

/// A passport number: 5 to 20 ASCII letters and digits, kept in upper case.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Pasaporte(String);

impl Pasaporte {
    pub fn parse(raw: &str) -> Result<Self, E> {
        let s = normalise_number(raw)?;
        if s.is_empty() {
            return Err(E::Required);
        }
        if !s.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(E::PasaporteCharacters);
        }
        if !(5..=20).contains(&s.len()) {
            return Err(E::PasaporteLength);
        }
        Ok(Pasaporte(s.to_ascii_uppercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// "Identificación": a cédula when the value is ten digits, otherwise a passport.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Identificacion {
    Cedula(Cedula),
    Pasaporte(Pasaporte),
}

impl Identificacion {
    pub fn parse(raw: &str) -> Result<Self, E> {
        let s = normalise_number(raw)?;
        if s.len() == 10 && s.bytes().all(|b| b.is_ascii_digit()) {
            Cedula::parse(&s).map(Identificacion::Cedula)
        } else {
            Pasaporte::parse(&s).map(Identificacion::Pasaporte)
        }
    }

    /// The canonical form stored and compared: the cédula's digits, or the passport in upper case.
    pub fn as_str(&self) -> &str {
        match self {
            Identificacion::Cedula(c) => c.as_str(),
            Identificacion::Pasaporte(p) => p.as_str(),
        }
    }

    /// For logs and audit: the first two and last two characters, e.g. `17******65`.
    pub fn masked(&self) -> String {
        let s = self.as_str();
        let n = s.len();
        let mut out = String::with_capacity(n);
        out.push_str(&s[..2]);
        out.extend(std::iter::repeat_n('*', n - 4));
        out.push_str(&s[n - 2..]);
        out
    }
}

impl fmt::Display for Identificacion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_cedulas_of_every_kind_of_province() {
        for c in [
            "0102030400", // 01 Azuay
            "1710034065", // 17 Pichincha
            "2401010109", // 24 Santa Elena, the last
            "3001234560", // 30 Ecuadorians registered abroad
            "5001234565", // 50
            "0926687856",
            "1765432107", // third digit 6: a foreigner with a cédula
        ] {
            assert_eq!(
                Cedula::parse(c).map(|c| c.as_str().to_owned()),
                Ok(c.to_owned()),
                "{c}"
            );
        }
    }

    #[test]
    fn province_boundaries() {
        // 00, 25, 29, 31, 49, 51 are no provinces (check digits made right so only d1d2 fails).
        for c in [
            "0012345674",
            "2512345675",
            "2912345671",
            "3112345677",
            "4912345677",
            "5112345672",
        ] {
            assert_eq!(Cedula::parse(c), Err(E::CedulaProvince), "{c}");
        }
    }

    #[test]
    fn third_digit_above_six_is_rejected() {
        assert_eq!(Cedula::parse("1770034065"), Err(E::CedulaThirdDigit));
        assert_eq!(Cedula::parse("1790034065"), Err(E::CedulaThirdDigit));
    }

    #[test]
    fn wrong_check_digit_is_rejected() {
        assert_eq!(Cedula::parse("1710034066"), Err(E::CedulaCheckDigit));
        assert_eq!(Cedula::parse("1710034060"), Err(E::CedulaCheckDigit));
    }

    #[test]
    fn length_digits_and_empty() {
        assert_eq!(Cedula::parse("171003406"), Err(E::CedulaLength));
        assert_eq!(Cedula::parse("17100340655"), Err(E::CedulaLength));
        assert_eq!(Cedula::parse("17100340a5"), Err(E::CedulaDigits));
        assert_eq!(Cedula::parse("   "), Err(E::Required));
        // Arabic-Indic and full-width digits are digits to Unicode, not to the registry.
        assert_eq!(Cedula::parse("١٧١٠٠٣٤٠٦٥"), Err(E::CedulaDigits));
        assert_eq!(Cedula::parse("１７１００３４０６５"), Err(E::CedulaDigits));
    }

    #[test]
    fn spaces_and_hyphens_are_dropped() {
        for raw in [
            "171003406-5",
            " 17 1003 4065 ",
            "17-10034065",
            "1710034065\t",
        ] {
            assert_eq!(
                Cedula::parse(raw).unwrap().as_str(),
                "1710034065",
                "{raw:?}"
            );
        }
        // Only ASCII space and hyphen: an en dash or a non-breaking space is not a separator.
        assert_eq!(Cedula::parse("171003406–5"), Err(E::CedulaDigits));
        assert_eq!(Cedula::parse("17\u{a0}10034065"), Err(E::CedulaDigits));
    }

    #[test]
    fn sri_issued_company_rucs_that_fail_mod_11_are_accepted() {
        for r in ["0993370026001", "1793213150001", "1793189906001"] {
            let ruc = Ruc::parse(r).unwrap_or_else(|e| panic!("{r}: {e:?}"));
            assert_eq!(ruc.tipo(), TipoRuc::SociedadPrivada);
            assert_eq!(ruc.as_str(), r);
        }
    }

    #[test]
    fn company_ruc_rules() {
        assert_eq!(Ruc::parse("0993370026000"), Err(E::RucSuffix));
        assert_eq!(Ruc::parse("9993370026001"), Err(E::RucProvince));
        assert_eq!(Ruc::parse("0093370026001"), Err(E::RucProvince));
    }

    #[test]
    fn public_entity_rucs() {
        let ruc = Ruc::parse("1760001040001").unwrap();
        assert_eq!(ruc.tipo(), TipoRuc::EntidadPublica);
        assert_eq!(Ruc::parse("1760001040000"), Err(E::RucSuffix));
        // d9 wrong for mod 11 and d1..d10 no valid cédula either.
        assert_eq!(Ruc::parse("1760001050001"), Err(E::RucCheckDigit));
    }

    #[test]
    fn a_third_digit_six_ruc_built_on_a_foreigners_cedula_is_a_natural_person() {
        // 1765432107 is a valid cédula with d3 = 6; its d9 fails the public-entity check.
        assert_ne!(public_entity_check(&[1, 7, 6, 5, 4, 3, 2, 1]), Some(0));
        let ruc = Ruc::parse("1765432107001").unwrap();
        assert_eq!(ruc.tipo(), TipoRuc::PersonaNatural);
    }

    #[test]
    fn natural_person_rucs() {
        let ruc = Ruc::parse("1710034065001").unwrap();
        assert_eq!(ruc.tipo(), TipoRuc::PersonaNatural);
        assert_eq!(Ruc::parse("1710034065000"), Err(E::RucSuffix));
        assert_eq!(Ruc::parse("1710034066001"), Err(E::RucCheckDigit));
        assert_eq!(
            Ruc::parse("0926687856001").unwrap().tipo(),
            TipoRuc::PersonaNatural
        );
    }

    #[test]
    fn ruc_third_digit_seven_or_eight_is_rejected() {
        assert_eq!(Ruc::parse("1770034065001"), Err(E::RucThirdDigit));
        assert_eq!(Ruc::parse("1780034065001"), Err(E::RucThirdDigit));
    }

    #[test]
    fn ruc_length_digits_normalisation() {
        assert_eq!(Ruc::parse("179321315000"), Err(E::RucLength));
        assert_eq!(Ruc::parse("17932131500011"), Err(E::RucLength));
        assert_eq!(Ruc::parse("17932131500O1"), Err(E::RucDigits));
        assert_eq!(
            Ruc::parse(" 1793213150-001 ").unwrap().as_str(),
            "1793213150001"
        );
        assert_eq!(Ruc::parse(""), Err(E::Required));
    }

    #[test]
    fn public_entity_check_has_no_digit_for_remainder_one() {
        // Weights 3,2,7,6,5,4,3,2: digits summing to 12 leave remainder 1.
        assert_eq!(public_entity_check(&[4, 0, 0, 0, 0, 0, 0, 0]), None);
        // Remainder 0 gives digit 0.
        assert_eq!(public_entity_check(&[0; 8]), Some(0));
    }

    #[test]
    fn passports() {
        assert_eq!(Pasaporte::parse("ab123456").unwrap().as_str(), "AB123456");
        assert_eq!(Pasaporte::parse("A1234").unwrap().as_str(), "A1234");
        assert_eq!(Pasaporte::parse("A123"), Err(E::PasaporteLength));
        assert_eq!(
            Pasaporte::parse(&"A".repeat(20)).unwrap().as_str().len(),
            20
        );
        assert_eq!(Pasaporte::parse(&"A".repeat(21)), Err(E::PasaporteLength));
        assert_eq!(Pasaporte::parse("AÑ12345"), Err(E::PasaporteCharacters));
        assert_eq!(Pasaporte::parse("AB.12345"), Err(E::PasaporteCharacters));
        assert_eq!(Pasaporte::parse("AB-123 456").unwrap().as_str(), "AB123456");
    }

    #[test]
    fn identificacion_is_a_cedula_exactly_when_ten_digits() {
        assert!(matches!(
            Identificacion::parse("1710034065"),
            Ok(Identificacion::Cedula(_))
        ));
        assert!(matches!(
            Identificacion::parse("171003406-5"),
            Ok(Identificacion::Cedula(_))
        ));
        // Ten digits with a bad check digit is a bad cédula, not a passport.
        assert_eq!(
            Identificacion::parse("1710034066"),
            Err(E::CedulaCheckDigit)
        );
        assert!(matches!(
            Identificacion::parse("ab123456"),
            Ok(Identificacion::Pasaporte(_))
        ));
        // Nine or eleven digits are read as a passport, per docs/dominio.md.
        assert!(matches!(
            Identificacion::parse("171003406"),
            Ok(Identificacion::Pasaporte(_))
        ));
        assert_eq!(Identificacion::parse(""), Err(E::Required));
        assert_eq!(
            Identificacion::parse("١٧١٠٠٣٤٠٦٥"),
            Err(E::PasaporteCharacters)
        );
    }

    #[test]
    fn masking_keeps_two_characters_at_each_end() {
        assert_eq!(
            Identificacion::parse("1710034065").unwrap().masked(),
            "17******65"
        );
        assert_eq!(Identificacion::parse("ab123").unwrap().masked(), "AB*23");
    }

    #[test]
    fn over_long_input_is_refused_before_any_work() {
        let huge = "1".repeat(1 << 20);
        assert_eq!(Cedula::parse(&huge), Err(E::TooLong));
        assert_eq!(Ruc::parse(&huge), Err(E::TooLong));
        assert_eq!(Identificacion::parse(&huge), Err(E::TooLong));
    }
}
