//! Property tests: generated valid numbers always parse; every single-digit typo in a cédula is
//! caught; and no input, however strange or long, makes validation panic.

use proptest::prelude::*;
use validation::{
    BusquedaId, BusquedaIdInput, Cedula, Classification, Email, FieldErrors, Identificacion,
    ReinicioClave, ReinicioClaveInput, Ruc, TipoRuc, UsuarioId, ValidationError,
};

/// The check digit, computed independently of the crate (the textbook Luhn-like form).
fn check_digit(d: &[u32]) -> u32 {
    let mut sum = 0;
    for (i, x) in d.iter().take(9).enumerate() {
        let mut p = if i % 2 == 0 { x * 2 } else { *x };
        if p >= 10 {
            p -= 9;
        }
        sum += p;
    }
    (10 - sum % 10) % 10
}

fn province() -> impl Strategy<Value = u32> {
    prop_oneof![1u32..=24, Just(30), Just(50)]
}

/// A valid cédula as digits.
fn cedula_digits() -> impl Strategy<Value = Vec<u32>> {
    (province(), 0u32..=6, proptest::collection::vec(0u32..=9, 6)).prop_map(|(p, third, rest)| {
        let mut d = vec![p / 10, p % 10, third];
        d.extend(rest);
        let c = check_digit(&d);
        d.push(c);
        d
    })
}

fn text(d: &[u32]) -> String {
    d.iter()
        .map(|x| char::from_digit(*x, 10).unwrap())
        .collect()
}

/// Inserts spaces and hyphens at arbitrary places, as people type them.
fn with_separators(s: &str, seps: &[(usize, bool)]) -> String {
    let mut out: Vec<char> = s.chars().collect();
    for &(at, hyphen) in seps {
        let at = at % (out.len() + 1);
        out.insert(at, if hyphen { '-' } else { ' ' });
    }
    out.into_iter().collect()
}

proptest! {
    #[test]
    fn a_valid_cedula_parses_and_round_trips(d in cedula_digits(), seps in proptest::collection::vec((0usize..20, any::<bool>()), 0..4)) {
        let canonical = text(&d);
        let typed = with_separators(&canonical, &seps);
        let cedula = Cedula::parse(&typed).unwrap();
        prop_assert_eq!(cedula.as_str(), canonical.as_str());
        prop_assert_eq!(Cedula::parse(cedula.as_str()).unwrap(), cedula.clone());
        let id = Identificacion::parse(&typed).unwrap();
        prop_assert_eq!(id.as_str(), canonical.as_str());
    }

    #[test]
    fn any_single_digit_change_to_a_cedula_is_rejected(d in cedula_digits(), at in 0usize..10, delta in 1u32..=9) {
        let mut typo = d.clone();
        typo[at] = (typo[at] + delta) % 10;
        prop_assert!(Cedula::parse(&text(&typo)).is_err(), "{} accepted", text(&typo));
    }

    #[test]
    fn a_natural_person_ruc_parses_and_round_trips(d in cedula_digits(), establishment in 1u32..=999) {
        let canonical = format!("{}{:03}", text(&d), establishment);
        let ruc = Ruc::parse(&canonical).unwrap();
        prop_assert_eq!(ruc.as_str(), canonical.as_str());
        // A d3 = 6 cédula may happen to pass the public-entity check as well.
        if d[2] < 6 {
            prop_assert_eq!(ruc.tipo(), TipoRuc::PersonaNatural);
        }
        prop_assert_eq!(Ruc::parse(ruc.as_str()).unwrap(), ruc);
    }

    #[test]
    fn a_company_ruc_parses_whatever_its_check_digit(p in province(), middle in proptest::collection::vec(0u32..=9, 7), establishment in 1u32..=999) {
        let canonical = format!("{:02}9{}{:03}", p, text(&middle), establishment);
        let ruc = Ruc::parse(&canonical).unwrap();
        prop_assert_eq!(ruc.tipo(), TipoRuc::SociedadPrivada);
        prop_assert_eq!(ruc.as_str(), canonical.as_str());
    }

    #[test]
    fn a_public_entity_ruc_parses(p in province(), middle in proptest::collection::vec(0u32..=9, 5), suffix in 1u32..=9999) {
        let mut d = vec![p / 10, p % 10, 6];
        d.extend(middle);
        let sum: u32 = d.iter().zip([3, 2, 7, 6, 5, 4, 3, 2]).map(|(x, w)| x * w).sum();
        let r = sum % 11;
        prop_assume!(r != 1);
        d.push(if r == 0 { 0 } else { 11 - r });
        let canonical = format!("{}{:04}", text(&d), suffix);
        let ruc = Ruc::parse(&canonical).unwrap();
        prop_assert_eq!(ruc.tipo(), TipoRuc::EntidadPublica);
    }

    #[test]
    fn parsers_never_panic(s in any::<String>()) {
        let _ = Cedula::parse(&s);
        let _ = Ruc::parse(&s);
        let _ = Identificacion::parse(&s).map(|i| i.masked());
        let _ = Email::parse(&s).map(|e| e.masked());
        let _ = UsuarioId::parse(&s);
    }

    #[test]
    fn validate_never_panics_and_reports_only_known_fields(
        clasificacion in prop_oneof![any::<String>(), proptest::sample::select(Classification::ALL.map(|c| c.code().to_owned()).to_vec())],
        ruc in any::<String>(), correo in any::<String>(), identificacion in any::<String>(), usuario in any::<String>()
    ) {
        let input = BusquedaIdInput { clasificacion, ruc_empresa: ruc, correo: correo.clone(), identificacion: identificacion.clone() };
        check(BusquedaId::validate(&input).err(), 4);
        let input = ReinicioClaveInput { usuario, identificacion, correo };
        check(ReinicioClave::validate(&input).err(), 3);
    }

    #[test]
    fn validate_never_panics_on_long_inputs(len in 0usize..4096, c in any::<char>()) {
        let s: String = std::iter::repeat_n(c, len).collect();
        let input = BusquedaIdInput { clasificacion: s.clone(), ruc_empresa: s.clone(), correo: s.clone(), identificacion: s.clone() };
        check(BusquedaId::validate(&input).err(), 4);
        let input = ReinicioClaveInput { usuario: s.clone(), identificacion: s.clone(), correo: s };
        check(ReinicioClave::validate(&input).err(), 3);
    }
}

/// At most one error per field, each with a code that round-trips through JSON.
fn check(errors: Option<FieldErrors>, max: usize) {
    let Some(errors) = errors else { return };
    assert!(!errors.is_empty() && errors.len() <= max);
    let json = serde_json::to_string(&errors).unwrap();
    let back: FieldErrors = serde_json::from_str(&json).unwrap();
    assert_eq!(back, errors);
    for e in errors.iter() {
        assert_eq!(ValidationError::from_code(e.error.code()), Some(e.error));
    }
}

#[test]
fn field_errors_travel_as_field_code_and_message() {
    let errors = BusquedaId::validate(&BusquedaIdInput {
        clasificacion: "auditor".into(),
        identificacion: "17-10".into(),
        ..Default::default()
    })
    .unwrap_err();
    let json = serde_json::to_value(&errors).unwrap();
    assert_eq!(
        json,
        serde_json::json!([
            {"field": "correo", "code": "field.required", "message": "Este campo es obligatorio."},
            {"field": "identificacion", "code": "pasaporte.length", "message": "El pasaporte debe tener entre 5 y 20 caracteres."}
        ])
    );
    // Unknown codes are refused rather than shown as something else.
    let bad = serde_json::json!([{"field": "correo", "code": "no.such", "message": "x"}]);
    assert!(serde_json::from_value::<FieldErrors>(bad).is_err());
}

#[test]
fn classifications_travel_as_their_codes() {
    for c in Classification::ALL {
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(json, format!("\"{}\"", c.code()));
        assert_eq!(serde_json::from_str::<Classification>(&json).unwrap(), c);
    }
    assert!(serde_json::from_str::<Classification>("\"jefe\"").is_err());
}

/// A large fuzz-style run in the test command: arbitrary bytes decoded lossily, many cases.
#[test]
fn fuzz_validate_with_many_cases() {
    let mut runner = proptest::test_runner::TestRunner::new(proptest::test_runner::Config {
        cases: 20_000,
        failure_persistence: None,
        ..Default::default()
    });
    let field = proptest::collection::vec(any::<u8>(), 0..64)
        .prop_map(|b| String::from_utf8_lossy(&b).into_owned());
    runner
        .run(
            &(field.clone(), field.clone(), field.clone(), field),
            |(a, b, c, d)| {
                let input = BusquedaIdInput {
                    clasificacion: a.clone(),
                    ruc_empresa: b.clone(),
                    correo: c.clone(),
                    identificacion: d.clone(),
                };
                check(BusquedaId::validate(&input).err(), 4);
                check(
                    ReinicioClave::validate(&ReinicioClaveInput {
                        usuario: a,
                        identificacion: d,
                        correo: c,
                    })
                    .err(),
                    3,
                );
                Ok(())
            },
        )
        .unwrap();
}

#[test]
fn a_megabyte_per_field_is_refused_quickly() {
    let huge = "x".repeat(1 << 20);
    let start = std::time::Instant::now();
    for _ in 0..100 {
        let input = BusquedaIdInput {
            clasificacion: huge.clone(),
            ruc_empresa: huge.clone(),
            correo: huge.clone(),
            identificacion: huge.clone(),
        };
        let errors = BusquedaId::validate(&input).unwrap_err();
        assert!(errors.iter().all(|e| e.error == ValidationError::TooLong));
    }
    // Cloning the inputs dominates; validation itself must not walk the megabytes.
    assert!(
        start.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
}
