//! Lower case for the password rules, without Unicode's case tables.
//!
//! `str::to_lowercase` links Unicode's whole mapping (about 6 KB of the gzipped browser bundle,
//! BENCHMARKS.md). The password rules compare with words and data written in ASCII, Spanish
//! letters and, in the common-password list, Cyrillic: those scripts are folded exactly as
//! Unicode folds them, and any other character compares as typed.

/// `text` with every letter of ASCII, Latin-1 (Á, É, Ñ…) and basic Cyrillic in lower case.
pub(crate) fn fold(text: &str) -> String {
    text.chars().map(lower).collect()
}

fn lower(c: char) -> char {
    let shift = match c {
        'A'..='Z' | 'À'..='Þ' if c != '×' => 32,
        // Cyrillic: А–Я, then Ѐ–Џ, whose lower case is 80 code points further.
        'А'..='Я' => 32,
        'Ѐ'..='Џ' => 80,
        _ => return c,
    };
    char::from_u32(c as u32 + shift).unwrap_or(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The scripts folded, exactly as Unicode folds them.
    const FOLDED: [(char, char); 4] = [('\0', '\u{7f}'), ('\u{80}', 'ÿ'), ('Ѐ', 'я'), ('ѐ', 'џ')];

    #[test]
    fn folds_ascii_latin1_and_cyrillic_as_unicode_does() {
        for (from, to) in FOLDED {
            for c in from..=to {
                let unicode: Vec<char> = c.to_lowercase().collect();
                assert_eq!(vec![lower(c)], unicode, "{c:?}");
            }
        }
        assert_eq!(fold("ÑANDÚ Пароль Mañana"), "ñandú пароль mañana");
    }

    #[test]
    fn other_scripts_compare_as_typed() {
        for c in ['Ā', 'Ω', 'Ÿ', 'İ', 'Ａ', '中', '😀'] {
            assert_eq!(lower(c), c, "{c:?}");
        }
        assert_eq!(fold(""), "");
    }
}
