//! DKIM: the key the operator configures, the signature every message carries, and the key pair
//! and DNS record `server dkim-keygen` prints. Mailbox providers reject or spam-folder mail that
//! is not authenticated; a temporary password in the spam folder is a failed reset.

use std::path::PathBuf;

use base64::{Engine, engine::general_purpose::STANDARD as BASE64};
use lettre::message::{
    dkim::{
        DkimCanonicalization, DkimCanonicalizationType, DkimConfig, DkimSigningAlgorithm,
        DkimSigningKey,
    },
    header::HeaderName,
};
use rsa::{
    RsaPrivateKey,
    pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey},
    pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey, LineEnding},
    traits::PublicKeyParts,
};

use super::MailError;

/// Smaller RSA keys are refused: RFC 8301 asks signers for 2048 bits, and large providers
/// treat shorter ones as no signature.
pub const MIN_RSA_BITS: usize = 2048;

/// The headers the signature covers: those a forger would change, and those that say the
/// message is automatic. (The top-level `Content-Type` is written with the body by lettre; the
/// body hash covers the parts and their boundaries.)
const SIGNED_HEADERS: [&str; 7] = [
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "MIME-Version",
    "Auto-Submitted",
];

/// `REINICIO_DKIM_SELECTOR`, `REINICIO_DKIM_DOMAIN` and `REINICIO_DKIM_KEY_FILE`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// The DNS label the public key is published under: `SELECTOR._domainkey.DOMAIN`.
    pub selector: String,
    /// The signing domain (`d=`); DMARC wants it to be the sender's domain or its parent.
    pub domain: String,
    /// A PEM private key: RSA (PKCS#1 or PKCS#8) or Ed25519 (PKCS#8).
    pub key_file: PathBuf,
}

/// Why the DKIM settings are unusable: the variable (without the prefix), and the reason.
pub type SettingsError = (&'static str, &'static str);

impl Settings {
    /// All three settings or none: a signature that would silently not happen is worse than a
    /// server that refuses to start.
    pub fn from_values(
        selector: Option<String>,
        domain: Option<String>,
        key_file: Option<String>,
    ) -> Result<Option<Self>, SettingsError> {
        let (selector, domain, key_file) = match (selector, domain, key_file) {
            (None, None, None) => return Ok(None),
            (Some(s), Some(d), Some(k)) => (s, d, k),
            (None, ..) => return Err(("DKIM_SELECTOR", MISSING)),
            (_, None, _) => return Err(("DKIM_DOMAIN", MISSING)),
            (.., None) => return Err(("DKIM_KEY_FILE", MISSING)),
        };
        let (selector, domain) = names(&selector, &domain)?;
        Ok(Some(Settings {
            selector,
            domain,
            key_file: PathBuf::from(key_file),
        }))
    }

    /// Reads and checks the key; the signer every message goes through.
    pub fn signing_config(&self) -> Result<DkimConfig, MailError> {
        // The key's text is wiped from memory once parsed.
        let pem =
            zeroize::Zeroizing::new(std::fs::read_to_string(&self.key_file).map_err(|e| {
                MailError::Config(format!(
                    "REINICIO_DKIM_KEY_FILE: no se pudo leer {}: {e}",
                    self.key_file.display()
                ))
            })?);
        let key = signing_key(&pem).map_err(|reason| {
            MailError::Config(format!(
                "REINICIO_DKIM_KEY_FILE: {}: {reason}",
                self.key_file.display()
            ))
        })?;
        Ok(DkimConfig::new(
            self.selector.clone(),
            self.domain.clone(),
            key,
            SIGNED_HEADERS
                .iter()
                .map(|h| HeaderName::new_from_ascii_str(h))
                .collect(),
            // Relaxed on both: relays that re-fold headers or trim trailing spaces do not
            // break the signature.
            DkimCanonicalization {
                header: DkimCanonicalizationType::Relaxed,
                body: DkimCanonicalizationType::Relaxed,
            },
        ))
    }
}

/// The selector and the signing domain (lower-cased), checked: for the settings, and for the
/// record `server dkim-keygen` prints.
pub fn names(selector: &str, domain: &str) -> Result<(String, String), SettingsError> {
    let domain = domain.to_ascii_lowercase();
    if !is_dns_name(selector) {
        return Err((
            "DKIM_SELECTOR",
            "se espera una etiqueta DNS, p. ej. reinicio2026",
        ));
    }
    if !is_dns_name(&domain) || !domain.contains('.') {
        return Err(("DKIM_DOMAIN", "se espera un dominio, p. ej. aduana.gob.ec"));
    }
    Ok((selector.to_owned(), domain))
}

const MISSING: &str = "la firma DKIM necesita las tres variables REINICIO_DKIM_SELECTOR, REINICIO_DKIM_DOMAIN y REINICIO_DKIM_KEY_FILE";

fn is_dns_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// Whether DMARC's relaxed alignment can hold: the signing domain is the sender's domain or
/// one of its parents (or the other way round).
pub fn aligned(from_domain: &str, dkim_domain: &str) -> bool {
    let from = from_domain.to_ascii_lowercase();
    let dkim = dkim_domain.to_ascii_lowercase();
    let under = |child: &str, parent: &str| child.ends_with(&format!(".{parent}"));
    from == dkim || under(&from, &dkim) || under(&dkim, &from)
}

/// The private key of a PEM file, as lettre signs with it.
fn signing_key(pem: &str) -> Result<DkimSigningKey, &'static str> {
    let pem = pem.trim();
    let rsa = if pem.contains("-----BEGIN RSA PRIVATE KEY-----") {
        Some(RsaPrivateKey::from_pkcs1_pem(pem).map_err(|_| "clave RSA (PKCS#1) ilegible")?)
    } else if pem.contains("-----BEGIN PRIVATE KEY-----") {
        RsaPrivateKey::from_pkcs8_pem(pem).ok()
    } else {
        return Err("se espera una clave privada PEM (RSA o Ed25519)");
    };
    let invalid = |_| "clave ilegible";
    match rsa {
        Some(rsa) => {
            if rsa.size() * 8 < MIN_RSA_BITS {
                return Err("la clave RSA debe tener al menos 2048 bits");
            }
            let pkcs1 = rsa
                .to_pkcs1_pem(LineEnding::LF)
                .map_err(|_| "clave RSA ilegible")?;
            DkimSigningKey::new(&pkcs1, DkimSigningAlgorithm::Rsa).map_err(invalid)
        }
        None => {
            use ed25519_dalek::pkcs8::DecodePrivateKey as _;
            let ed = ed25519_dalek::SigningKey::from_pkcs8_pem(pem)
                .map_err(|_| "se espera una clave RSA o Ed25519 en PKCS#8")?;
            let raw = zeroize::Zeroizing::new(BASE64.encode(ed.to_bytes()));
            DkimSigningKey::new(&raw, DkimSigningAlgorithm::Ed25519).map_err(invalid)
        }
    }
}

/// The algorithms `server dkim-keygen` makes keys for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    /// RSA-2048: every receiver verifies it.
    Rsa,
    /// Ed25519 (RFC 8463): short, but not every receiver verifies it yet; publish it beside an
    /// RSA key, not instead of one.
    Ed25519,
}

/// A new key pair: the private key for `REINICIO_DKIM_KEY_FILE` and the public key's DNS record.
pub struct KeyPair {
    /// PKCS#8 PEM.
    pub private_pem: zeroize::Zeroizing<String>,
    /// The TXT record's value: `v=DKIM1; k=…; p=…`.
    pub record: String,
}

pub fn generate(algorithm: Algorithm) -> Result<KeyPair, MailError> {
    let failed = |e: &dyn std::fmt::Display| MailError::Config(format!("generación de clave: {e}"));
    match algorithm {
        Algorithm::Rsa => {
            let key = RsaPrivateKey::new(&mut rsa::rand_core::OsRng, MIN_RSA_BITS)
                .map_err(|e| failed(&e))?;
            let public = key
                .to_public_key()
                .to_public_key_der()
                .map_err(|e| failed(&e))?;
            Ok(KeyPair {
                private_pem: key.to_pkcs8_pem(LineEnding::LF).map_err(|e| failed(&e))?,
                record: format!("v=DKIM1; k=rsa; p={}", BASE64.encode(public.as_bytes())),
            })
        }
        Algorithm::Ed25519 => {
            use ed25519_dalek::pkcs8::EncodePrivateKey as _;
            let mut seed = zeroize::Zeroizing::new([0u8; 32]);
            getrandom::fill(seed.as_mut()).map_err(|e| failed(&e))?;
            let key = ed25519_dalek::SigningKey::from_bytes(&seed);
            Ok(KeyPair {
                private_pem: key.to_pkcs8_pem(LineEnding::LF).map_err(|e| failed(&e))?,
                // RFC 8463: the bare 32-byte public key, not a SubjectPublicKeyInfo.
                record: format!(
                    "v=DKIM1; k=ed25519; p={}",
                    BASE64.encode(key.verifying_key().to_bytes())
                ),
            })
        }
    }
}

/// The record as a zone file line. A TXT string holds at most 255 bytes, so a long value is
/// split into several quoted strings, which resolvers join.
pub fn zone_line(selector: &str, domain: &str, record: &str) -> String {
    let strings: Vec<String> = record
        .as_bytes()
        .chunks(250)
        .map(|chunk| format!("\"{}\"", String::from_utf8_lossy(chunk)))
        .collect();
    format!(
        "{selector}._domainkey.{domain}. IN TXT ( {} )",
        strings.join(" ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(
        s: Option<&str>,
        d: Option<&str>,
        k: Option<&str>,
    ) -> Result<Option<Settings>, SettingsError> {
        Settings::from_values(s.map(Into::into), d.map(Into::into), k.map(Into::into))
    }

    #[test]
    fn all_three_settings_or_none() {
        assert_eq!(values(None, None, None), Ok(None));
        let s = values(Some("r2026"), Some("Aduana.gob.ec"), Some("/k.pem"))
            .unwrap()
            .unwrap();
        assert_eq!(s.domain, "aduana.gob.ec");
        assert_eq!(
            values(None, Some("a.ec"), Some("/k")).unwrap_err().0,
            "DKIM_SELECTOR"
        );
        assert_eq!(
            values(Some("s"), None, Some("/k")).unwrap_err().0,
            "DKIM_DOMAIN"
        );
        assert_eq!(
            values(Some("s"), Some("a.ec"), None).unwrap_err().0,
            "DKIM_KEY_FILE"
        );
        for bad in ["", "a b", "-x", "x..y", "á"] {
            assert_eq!(
                values(Some(bad), Some("a.ec"), Some("/k")).unwrap_err().0,
                "DKIM_SELECTOR"
            );
        }
        for bad in ["localhost", "a_b c.ec", "aduana.gob.ec."] {
            assert_eq!(
                values(Some("s"), Some(bad), Some("/k")).unwrap_err().0,
                "DKIM_DOMAIN"
            );
        }
    }

    #[test]
    fn alignment_is_the_domain_or_a_parent() {
        assert!(aligned("aduana.gob.ec", "aduana.gob.ec"));
        assert!(aligned("correo.aduana.gob.ec", "aduana.gob.ec"));
        assert!(aligned("aduana.gob.ec", "mail.aduana.gob.ec"));
        assert!(!aligned("aduana.gob.ec", "otra.ec"));
        assert!(!aligned("noaduana.gob.ec", "aduana.gob.ec"));
    }

    #[test]
    fn generated_keys_load_and_short_or_foreign_keys_do_not() {
        let ed = generate(Algorithm::Ed25519).unwrap();
        assert!(ed.record.starts_with("v=DKIM1; k=ed25519; p="));
        assert_eq!(ed.record.len(), "v=DKIM1; k=ed25519; p=".len() + 44);
        assert!(signing_key(&ed.private_pem).is_ok());
        assert!(signing_key("hola").is_err());
        assert!(
            signing_key("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----").is_err()
        );
        // 1024 bits: refused.
        let short = RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 1024).unwrap();
        let pem = short.to_pkcs1_pem(LineEnding::LF).unwrap();
        assert_eq!(
            signing_key(&pem).err(),
            Some("la clave RSA debe tener al menos 2048 bits")
        );
    }

    #[test]
    fn long_records_are_split_into_txt_strings() {
        let record = format!("v=DKIM1; k=rsa; p={}", "A".repeat(392));
        let line = zone_line("r2026", "aduana.gob.ec", &record);
        assert!(
            line.starts_with("r2026._domainkey.aduana.gob.ec. IN TXT ( \"v=DKIM1; k=rsa; p=AAA")
        );
        let joined: String = line.split('"').skip(1).step_by(2).collect();
        assert_eq!(joined, record);
        assert!(line.split('"').all(|s| s.len() <= 255));
    }
}
