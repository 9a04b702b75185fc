//! DKIM end to end: `server dkim-keygen` makes the key and the DNS record, the server signs the
//! reset e-mail it delivers to an SMTP relay, and an independent verifier (dkimpy, through
//! `scripts/dkim-verify.py`) accepts it against that record and refuses it once altered.

use std::{path::Path, process::Command, time::Duration};

use crate::helpers::{TestApp, free_port, smtp::SmtpSink};

const SELECTOR: &str = "reinicio2026";
const DOMAIN: &str = "aduana.example";

/// A Python that has dkimpy (pyenv's first, then the system's, where Debian's package goes).
fn python() -> &'static str {
    ["python3", "/usr/bin/python3"]
        .into_iter()
        .find(|python| {
            Command::new(python)
                .args(["-c", "import dkim"])
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .expect("dkimpy is missing: run scripts/install-tools.sh --test")
}

/// Whether dkimpy verifies the message against the record published at `name`.
fn verifies(message: &[u8], name: &str, record: &str) -> bool {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("m.eml");
    std::fs::write(&file, message).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/dkim-verify.py");
    let out = Command::new(python())
        .arg(script)
        .arg(&file)
        .arg(name)
        .arg(record)
        .output()
        .unwrap();
    match out.status.code() {
        Some(0) => true,
        Some(1) => false,
        _ => panic!("dkim-verify.py: {out:?}"),
    }
}

/// Runs `server dkim-keygen`; the record's value, joined from the zone line's strings as a
/// resolver joins them.
fn keygen(algorithm: &str, key_file: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_server"))
        .args(["dkim-keygen", "--selector", SELECTOR, "--domain", DOMAIN])
        .args(["--algorithm", algorithm, "--key-file"])
        .arg(key_file)
        .env_remove("REINICIO_DATABASE_URL")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let line = stdout.trim();
    assert!(
        line.starts_with(&format!("{SELECTOR}._domainkey.{DOMAIN}. IN TXT (")),
        "{line}"
    );
    // With --key-file, the private key is not printed.
    assert!(!stdout.contains("PRIVATE KEY"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    line.split('"').skip(1).step_by(2).collect()
}

/// The reset e-mail for MPerez, as the relay received it, from a server configured with `extra`.
async fn reset_mail(extra: &[(&str, &str)]) -> Vec<u8> {
    let relay = free_port();
    let sink = SmtpSink::start(relay).await;
    let url = format!("smtp://{relay}?tls=none");
    let mut settings = vec![("REINICIO_MAIL_URL", url.as_str())];
    settings.extend_from_slice(extra);
    let app = TestApp::spawn_with(&settings).await;
    let answer = app
        .post_json(
            "/api/solicitar_reinicio",
            r#"{"usuario":"mperez","identificacion":"1710034065","correo":"maria.perez@example.com"}"#,
        )
        .await;
    assert_eq!(answer.status, 200, "{answer:?}");
    let started = std::time::Instant::now();
    while sink.messages().is_empty() {
        assert!(started.elapsed() < Duration::from_secs(20), "no e-mail");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    sink.messages().remove(0)
}

/// The message with one character of its text part changed (whatever its transfer encoding).
fn body_altered(message: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(message);
    let part = text.find("text/plain").expect("a text part");
    let content = part + text[part..].find("\r\n\r\n").unwrap() + 4 + 3;
    let mut out = message.to_vec();
    out[content] = if out[content] == b'A' { b'B' } else { b'A' };
    out
}

/// The message with its first occurrence of `from` replaced.
fn altered(message: &[u8], from: &str, to: &str) -> Vec<u8> {
    let text = String::from_utf8(message.to_vec()).unwrap();
    assert!(text.contains(from), "{from:?} not in the message");
    text.replacen(from, to, 1).into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivered_reset_is_signed_and_verifies_until_altered() {
    for algorithm in ["rsa", "ed25519"] {
        let dir = tempfile::tempdir().unwrap();
        let key_file = dir.path().join("dkim.pem");
        let record = keygen(algorithm, &key_file);
        assert!(record.starts_with(&format!("v=DKIM1; k={algorithm}; p=")));
        let key_path = key_file.display().to_string();
        let message = reset_mail(&[
            (
                "REINICIO_MAIL_FROM",
                "ECUAPASS <no-responder@aduana.example>",
            ),
            ("REINICIO_DKIM_SELECTOR", SELECTOR),
            ("REINICIO_DKIM_DOMAIN", DOMAIN),
            ("REINICIO_DKIM_KEY_FILE", &key_path),
        ])
        .await;
        let name = format!("{SELECTOR}._domainkey.{DOMAIN}.");
        assert!(verifies(&message, &name, &record), "{algorithm}");

        // One character of the body; the subject, a signed header.
        assert!(
            !verifies(&body_altered(&message), &name, &record),
            "{algorithm}: body"
        );
        let subject = altered(&message, "Subject: ", "Subject: URGENTE ");
        assert!(!verifies(&subject, &name, &record), "{algorithm}: subject");
        // Another key published under the name: refused.
        let other = keygen(algorithm, &dir.path().join("otra.pem"));
        assert!(!verifies(&message, &name, &other), "{algorithm}: other key");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_message_is_marked_automatic_with_an_id_on_the_senders_domain() {
    let raw = reset_mail(&[(
        "REINICIO_MAIL_FROM",
        "ECUAPASS <no-responder@aduana.example>",
    )])
    .await;
    // The embedded default signs nothing.
    assert!(!String::from_utf8_lossy(&raw).contains("DKIM-Signature"));
    let message = mail_parser::MessageParser::default().parse(&raw).unwrap();
    let id = message.message_id().unwrap();
    assert!(id.ends_with("@aduana.example") && id.len() > 32, "{id}");
    assert!(message.date().is_some());
    assert_eq!(
        message.header_raw("Auto-Submitted").map(str::trim),
        Some("auto-generated")
    );
    assert!(
        message
            .body_text(0)
            .unwrap()
            .contains("Su clave temporal es")
    );
    assert!(
        message
            .body_html(0)
            .unwrap()
            .contains("<strong>MPerez</strong>")
    );
}

#[tokio::test]
async fn a_missing_or_unreadable_key_stops_the_server_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("basura.pem");
    std::fs::write(&garbage, "no es una clave").unwrap();
    for (file, expected) in [
        (dir.path().join("no-existe.pem"), "no se pudo leer"),
        (garbage, "se espera una clave privada PEM"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_server"))
            .arg("serve")
            .env(
                "REINICIO_DATABASE_URL",
                format!("sqlite://{}/d.sqlite3?mode=rwc", dir.path().display()),
            )
            .env("REINICIO_LISTEN_ADDR", "127.0.0.1:0")
            .env("REINICIO_METRICS_ADDR", "")
            .env("REINICIO_DKIM_SELECTOR", SELECTOR)
            .env("REINICIO_DKIM_DOMAIN", DOMAIN)
            .env("REINICIO_DKIM_KEY_FILE", &file)
            .output()
            .unwrap();
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("REINICIO_DKIM_KEY_FILE") && stderr.contains(expected),
            "{stderr}"
        );
    }
    // Only two of the three settings: refused before anything starts.
    let out = Command::new(env!("CARGO_BIN_EXE_server"))
        .arg("serve")
        .env("REINICIO_DKIM_SELECTOR", SELECTOR)
        .env("REINICIO_DKIM_DOMAIN", DOMAIN)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("REINICIO_DKIM_KEY_FILE"));
}

#[test]
fn keygen_never_overwrites_a_key_and_names_a_bad_argument() {
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("dkim.pem");
    std::fs::write(&key_file, "clave en uso").unwrap();
    let run = |selector: &str, domain: &str| {
        Command::new(env!("CARGO_BIN_EXE_server"))
            .args([
                "dkim-keygen",
                "--selector",
                selector,
                "--domain",
                domain,
                "--key-file",
            ])
            .arg(&key_file)
            .output()
            .unwrap()
    };
    let out = run(SELECTOR, DOMAIN);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no se pudo escribir"));
    assert!(
        out.stdout.is_empty(),
        "no record for a key that was not written"
    );
    assert_eq!(std::fs::read_to_string(&key_file).unwrap(), "clave en uso");
    for (selector, domain, flag) in [
        ("mal selector", DOMAIN, "--selector"),
        (SELECTOR, "localhost", "--domain"),
    ] {
        let out = run(selector, domain);
        assert!(!out.status.success());
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(flag),
            "{out:?}"
        );
    }
}
