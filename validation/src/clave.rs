//! Passwords chosen by people: the sign-in form and the forced change after a temporary password.
//!
//! The policy follows NIST SP 800-63B and OWASP ASVS 5: long enough (12 to 128 characters, any
//! character, spaces included, never trimmed), no composition rules, not the account's own ID or
//! identification, not a commonly used password. The common-password list (about 20,000 entries)
//! is compiled in only with the `lista-comun` feature, which the server enables: the browser gives
//! instant feedback on the other rules without downloading the list, and the server enforces all.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{Field, FieldErrors, MAX_RAW_LEN, ValidationError as E, case};

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

/// What the password must not be built from: the account's own data.
#[derive(Debug, Clone, Copy, Default)]
pub struct DatosCuenta<'a> {
    pub usuario: &'a str,
    pub identificacion: &'a str,
    /// The registered e-mail; its local part counts.
    pub correo: &'a str,
}

impl NuevaClave {
    /// Checks the new password against the policy and the account it is for.
    pub fn validate(
        input: &CambioClaveInput,
        cuenta: DatosCuenta<'_>,
    ) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        if let Err(e) = check(&input.clave, cuenta) {
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

/// The words of this service: a password built on them is among the first an attacker tries
/// against it (NIST SP 800-63B-4 §3.1.1.2, "context-specific words").
/// Longest first, so that "aduanas" is taken out before "aduana".
pub const PALABRAS_DEL_SERVICIO: [&str; 5] = ["ecuapass", "reinicio", "aduanas", "aduana", "senae"];

/// Data shorter than this is refused only as the whole password, not inside a longer one: a
/// three-letter ID would otherwise forbid every phrase that happens to contain it.
const MIN_CONTENIDO: usize = 4;

fn check(clave: &str, cuenta: DatosCuenta<'_>) -> Result<(), E> {
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
    let folded = case::fold(clave);
    let plano = alfanumerico(&folded);
    if contiene_dato(&plano, cuenta.usuario) {
        return Err(E::ClaveSameAsUser);
    }
    if contiene_dato(&plano, cuenta.identificacion) {
        return Err(E::ClaveSameAsIdentification);
    }
    let local = cuenta.correo.rsplit_once('@').map_or("", |(l, _)| l);
    if contiene_dato(&plano, local) {
        return Err(E::ClaveContainsEmail);
    }
    if basada_en_el_servicio(&plano, &folded) {
        return Err(E::ClaveServiceWord);
    }
    if es_repeticion(&folded) {
        return Err(E::ClaveRepetition);
    }
    if es_secuencia(&plano) {
        return Err(E::ClaveSequence);
    }
    if es_comun(&folded) {
        return Err(E::ClaveCommon);
    }
    if es_debil(clave, cuenta) {
        return Err(E::ClaveWeak);
    }
    Ok(())
}

/// Without separators, spaces and punctuation: they do not make data different. (ASCII and the
/// few Spanish signs only: Unicode's tables would weigh more in the browser than they catch.)
fn alfanumerico(folded: &str) -> String {
    folded
        .chars()
        .filter(|c| {
            !(c.is_ascii_punctuation()
                || c.is_ascii_whitespace()
                || matches!(c, '¡' | '¿' | '·' | '«' | '»' | '\u{a0}'))
        })
        .collect()
}

/// Whether `plano` is `dato`, or holds it (or it reversed) when it is long enough to matter.
fn contiene_dato(plano: &str, dato: &str) -> bool {
    let dato = alfanumerico(&case::fold(dato));
    if dato.is_empty() {
        return false;
    }
    if plano == dato {
        return true;
    }
    let reves: String = dato.chars().rev().collect();
    dato.chars().count() >= MIN_CONTENIDO && (plano.contains(&dato) || plano.contains(&reves))
}

/// The usual substitutions (`3` for `e`, `@` for `a`…) undone, so that `3cu4p4ss` is `ecuapass`.
fn sin_sustituciones(folded: &str) -> String {
    folded
        .chars()
        .map(|c| match c {
            '4' | '@' => 'a',
            '3' => 'e',
            '1' | '!' => 'i',
            '0' => 'o',
            '5' | '$' => 's',
            '7' => 't',
            c => c,
        })
        .collect()
}

/// A service word with little else: once the words are taken out, fewer than six letters remain
/// (digits, years and symbols around them do not count: `Aduana.2026*`, `senae123456789`).
fn basada_en_el_servicio(plano: &str, folded: &str) -> bool {
    // Checked on both readings: digits may be digits (a year) or substitutions. The substitutions
    // are undone before punctuation is dropped, since `@`, `$` and `!` stand for letters.
    [plano.to_owned(), alfanumerico(&sin_sustituciones(folded))]
        .iter()
        .any(|texto| {
            let mut resto = texto.clone();
            let mut hallada = false;
            for palabra in PALABRAS_DEL_SERVICIO {
                if resto.contains(palabra) {
                    hallada = true;
                    resto = resto.replace(palabra, "");
                }
            }
            hallada && resto.chars().filter(|c| !c.is_ascii_digit()).count() < 6
        })
}

/// One character or one short group over and over: `aaaaaaaaaaaa`, `abcabcabcabc`, `abab…`, or
/// at most two different characters in all.
fn es_repeticion(folded: &str) -> bool {
    let chars: Vec<char> = folded.chars().collect();
    let mut distintos: Vec<char> = Vec::with_capacity(3);
    for c in &chars {
        if !distintos.contains(c) {
            distintos.push(*c);
            if distintos.len() > 2 {
                break;
            }
        }
    }
    if distintos.len() <= 2 {
        return true;
    }
    // A period of at most a third of the length: the group appears three times or more.
    (1..=chars.len() / 3).any(|p| (p..chars.len()).all(|i| chars[i] == chars[i - p]))
}

/// Rows of the keyboard (QWERTY, as in Ecuador's Latin American layout), for walks.
const FILAS: [&str; 4] = ["1234567890", "qwertyuiop", "asdfghjklñ", "zxcvbnm"];

/// The position of a key on the keyboard: (row, column), with each row shifted as on a real
/// keyboard so that diagonal neighbours are one apart.
fn tecla(c: char) -> Option<(i32, i32)> {
    FILAS.iter().enumerate().find_map(|(fila, teclas)| {
        teclas
            .chars()
            .position(|t| t == c)
            .map(|col| (fila as i32, col as i32 * 2 + fila as i32))
    })
}

/// One step of a sequence: to the next or previous letter, the next or previous digit (`9` then
/// `0` too), or to a neighbouring key in a given direction.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Paso {
    Letra(i32),
    Digito(i32),
    Tecla(i32, i32),
}

/// Every way `b` follows `a` (at most three).
fn pasos(a: char, b: char) -> Vec<Paso> {
    let mut out = Vec::new();
    let (x, y) = (a as i32, b as i32);
    if a.is_ascii_lowercase() && b.is_ascii_lowercase() && (y - x).abs() == 1 {
        out.push(Paso::Letra(y - x));
    }
    if a.is_ascii_digit() && b.is_ascii_digit() {
        match (y - x).rem_euclid(10) {
            1 => out.push(Paso::Digito(1)),
            9 => out.push(Paso::Digito(-1)),
            _ => {}
        }
    }
    if let (Some((fa, ca)), Some((fb, cb))) = (tecla(a), tecla(b)) {
        let (df, dc) = (fb - fa, cb - ca);
        if (df == 0 && dc.abs() == 2) || (df.abs() == 1 && dc.abs() <= 1) {
            out.push(Paso::Tecla(df, dc));
        }
    }
    out
}

/// Runs and keyboard walks: `123456789012`, `abcdefghijkl`, `qwertyuiop12`, `1qaz2wsx3edc`. A run
/// is four or more characters that keep going in one direction (along the alphabet, the digits,
/// a row or a column of the keyboard); a password is a sequence when such runs make up at least
/// four fifths of it. Words whose letters merely sit near each other on the keyboard change
/// direction at every step and are not runs.
fn es_secuencia(plano: &str) -> bool {
    let chars: Vec<char> = plano.chars().collect();
    let n = chars.len();
    if n < 4 {
        return false;
    }
    let mut cubiertos = 0;
    let mut i = 0;
    while i + 1 < n {
        let mut direcciones = pasos(chars[i], chars[i + 1]);
        let mut j = i + 1;
        while !direcciones.is_empty() && j + 1 < n {
            let siguientes: Vec<Paso> = pasos(chars[j], chars[j + 1])
                .into_iter()
                .filter(|p| direcciones.contains(p))
                .collect();
            if siguientes.is_empty() {
                break;
            }
            direcciones = siguientes;
            j += 1;
        }
        let largo = j - i + 1;
        if !direcciones.is_empty() && largo >= 4 {
            cubiertos += largo;
            i = j + 1;
        } else {
            i += 1;
        }
    }
    cubiertos * 5 >= n * 4
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

/// The strength estimate of zxcvbn (Dropbox's estimator: dictionaries, names, dates, patterns),
/// with the account's data and the service's words as known inputs: at least score 3 ("safely
/// unguessable: moderate protection from offline slow-hash attacks", 10^10 guesses). Its
/// dictionaries are large, so it runs on the server only; the browser checks the rules above.
#[cfg(feature = "estimador")]
fn es_debil(clave: &str, cuenta: DatosCuenta<'_>) -> bool {
    let local = cuenta.correo.rsplit_once('@').map_or("", |(l, _)| l);
    let mut conocidas = vec![cuenta.usuario, cuenta.identificacion, local, cuenta.correo];
    conocidas.extend(PALABRAS_DEL_SERVICIO);
    conocidas.retain(|d| !d.is_empty());
    // Its matching grows quickly with length: the first 100 characters decide (a password that
    // strong there is strong).
    let muestra: String = clave.chars().take(100).collect();
    zxcvbn::zxcvbn(&muestra, &conocidas).score() < zxcvbn::Score::Three
}

#[cfg(not(feature = "estimador"))]
fn es_debil(_: &str, _: DatosCuenta<'_>) -> bool {
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

    const CUENTA: DatosCuenta<'static> = DatosCuenta {
        usuario: "MPerez.Aduana",
        identificacion: "1710034065",
        correo: "maria.perez@example.com",
    };

    fn nueva(clave: &str, confirmacion: &str) -> Result<NuevaClave, FieldErrors> {
        NuevaClave::validate(
            &CambioClaveInput {
                clave: clave.into(),
                confirmacion: confirmacion.into(),
            },
            CUENTA,
        )
    }

    fn veredicto(clave: &str) -> Option<E> {
        nueva(clave, clave).err().and_then(|e| e.get(Field::Clave))
    }

    /// NIST SP 800-63B-4's blocklist: sequences, repetitions, the service's words, the account's
    /// data (inside a longer password, reversed), each with its own reason. These hold in the
    /// browser too: none needs the server's lists.
    #[test]
    fn the_blocklist_refuses_each_kind_with_its_reason() {
        for (clave, razon) in [
            ("123456789012", E::ClaveSequence),
            ("abcdefghijkl", E::ClaveSequence),
            ("qwertyuiop12", E::ClaveSequence),
            ("1qaz2wsx3edc", E::ClaveSequence),
            ("0987654321098", E::ClaveSequence),
            ("zyxwvutsrqpo", E::ClaveSequence),
            ("asdfghjklñ12", E::ClaveSequence),
            ("ASDFGHJKLÑ12", E::ClaveSequence),
            ("aaaaaaaaaaaa", E::ClaveRepetition),
            ("abcabcabcabc", E::ClaveRepetition),
            ("abababababab", E::ClaveRepetition),
            ("1212121212121", E::ClaveRepetition),
            ("ecuapass2026!", E::ClaveServiceWord),
            ("Aduana.2026*", E::ClaveServiceWord),
            ("senae123456789", E::ClaveServiceWord),
            ("3cu4p4ss.2026", E::ClaveServiceWord),
            ("Ecu@p@ss.2026", E::ClaveServiceWord),
            ("$3n@3!2026-2027", E::ClaveServiceWord),
            ("SENAE-ADUANAS-2026", E::ClaveServiceWord),
            ("mperez.aduana", E::ClaveSameAsUser),
            ("mi clave MPerezAduana 7", E::ClaveSameAsUser),
            ("anaudazerepm!!", E::ClaveSameAsUser),
            ("1710034065ab", E::ClaveSameAsIdentification),
            ("clave 171-003-4065", E::ClaveSameAsIdentification),
            ("5604300171 al revés", E::ClaveSameAsIdentification),
            ("Maria.Perez 1985!", E::ClaveContainsEmail),
            ("zerepairam y algo más", E::ClaveContainsEmail),
        ] {
            assert_eq!(veredicto(clave), Some(razon), "{clave}");
            assert!(!razon.message().is_empty() && razon.code().starts_with("clave."));
        }
    }

    #[test]
    fn phrases_and_unrelated_passwords_pass_the_cheap_checks() {
        for clave in [
            "Cañón verde sobre el río Guayas",
            "una frase larga y propia",
            "mañana vuelvo al puerto de Manta",
            "trabajo en la aduana de Guayaquil",
            "ñandú del río Napo",
            "Tr4nsp0rt3 de c4rg4 p0r M4nt4",
            // Letters that sit near each other on the keyboard are not a walk.
            "fresas de rio",
            "tu red de redes",
            "sere de tu red",
            "asesores de aduanas del sur",
        ] {
            assert_eq!(veredicto(clave), None, "{clave}");
        }
    }

    /// The server's estimate (zxcvbn) refuses what only dictionaries and patterns reveal.
    #[test]
    #[cfg(feature = "estimador")]
    fn the_estimate_refuses_guessable_passwords_and_welcomes_passphrases() {
        for clave in [
            "Password2024!",
            "correcthorse1",
            "Guayaquil1990",
            "iloveyou2026",
        ] {
            assert!(
                matches!(veredicto(clave), Some(E::ClaveWeak | E::ClaveCommon)),
                "{clave}: {:?}",
                veredicto(clave)
            );
        }
        for clave in [
            "Cañón verde sobre el río Guayas",
            "una frase larga y propia",
            "mañana vuelvo al puerto de Manta",
        ] {
            assert_eq!(veredicto(clave), None, "{clave}");
        }
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
        assert!(nueva("ñandú del río Napo", "ñandú del río Napo").is_ok());
        let texto = "En el puerto de Guayaquil los barcos esperan su turno mientras las grúas \
                     descargan contenedores rojos, azules y verdes bajo un sol que no perdona nada";
        let max: String = texto.chars().take(128).collect();
        assert!(nueva(&max, &max).is_ok());
        let over: String = texto.chars().take(129).collect();
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
            DatosCuenta {
                usuario: "otro",
                identificacion: "ab1234567890",
                correo: "",
            },
        );
        assert_eq!(
            id.unwrap_err().get(Field::Clave),
            Some(E::ClaveSameAsIdentification)
        );
        // Upper case is folded for Cyrillic data as well (see `case`).
        let correo = NuevaClave::validate(
            &CambioClaveInput {
                clave: "ДМИТРИЙ y sus gatos".into(),
                confirmacion: "ДМИТРИЙ y sus gatos".into(),
            },
            DatosCuenta {
                usuario: "otro",
                identificacion: "1710034065",
                correo: "дмитрий@example.com",
            },
        );
        assert_eq!(
            correo.unwrap_err().get(Field::Clave),
            Some(E::ClaveContainsEmail)
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
        // (Keyboard walks such as q1w2e3r4t5y6 are refused earlier, as sequences.)
        for common in ["PASSWORD1234", "password1234"] {
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
