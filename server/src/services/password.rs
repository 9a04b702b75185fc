//! Temporary passwords: generated from the operating system's CSPRNG, hashed with Argon2id.
//!
//! Hashing is deliberately slow, so it runs on the blocking pool, never on the async threads.

use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier, password_hash::SaltString};

/// Letters and digits without look-alikes (no 0/O/o, 1/l/I): read from an e-mail and typed by
/// hand. 54 symbols.
pub const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789";

/// 14 symbols of 54: about 80 bits.
pub const LENGTH: usize = 14;
// DOMAIN.md: at least 12 characters.
const _: () = assert!(LENGTH >= 12);

/// A secret that must never be logged: `Debug` shows nothing.
pub struct TemporaryPassword(String);

impl TemporaryPassword {
    pub fn generate() -> Result<Self, getrandom::Error> {
        // Rejection sampling keeps every symbol equally likely (256 is not a multiple of 54).
        let limit = 256 - 256 % ALPHABET.len();
        let mut out = String::with_capacity(LENGTH);
        let mut buf = [0u8; 32];
        while out.len() < LENGTH {
            getrandom::fill(&mut buf)?;
            for &b in &buf {
                if (b as usize) < limit && out.len() < LENGTH {
                    out.push(ALPHABET[b as usize % ALPHABET.len()] as char);
                }
            }
        }
        Ok(TemporaryPassword(out))
    }

    /// The plain text, for the e-mail body only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for TemporaryPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TemporaryPassword(***)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("argon2: {0}")]
    Argon2(String),
    #[error("la tarea de hash no terminó: {0}")]
    Join(#[from] tokio::task::JoinError),
}

/// The Argon2id PHC string of `secret` (OWASP parameters: 19 MiB, 2 iterations, 1 lane).
pub async fn hash(secret: String) -> Result<String, HashError> {
    let _permit = permit().await;
    tokio::task::spawn_blocking(move || {
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).map_err(|e| HashError::Argon2(e.to_string()))?;
        let salt = SaltString::encode_b64(&salt).map_err(|e| HashError::Argon2(e.to_string()))?;
        argon2()
            .hash_password(secret.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| HashError::Argon2(e.to_string()))
    })
    .await?
}

/// Whether `secret` matches the PHC string `hash`.
pub async fn verify(secret: String, hash: String) -> Result<bool, HashError> {
    let _permit = permit().await;
    tokio::task::spawn_blocking(move || {
        let parsed = PasswordHash::new(&hash).map_err(|e| HashError::Argon2(e.to_string()))?;
        Ok(argon2().verify_password(secret.as_bytes(), &parsed).is_ok())
    })
    .await?
}

/// Argon2 takes 19 MiB and tens of milliseconds of one core. At most this many run at once, so
/// that a flood of sign-ins and resets waits its turn instead of taking every core from the
/// requests that need none (lookups, pages) and exhausting memory.
static PERMITS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();

/// The default bound: every core but one, which stays free for everything else.
pub fn default_parallelism() -> usize {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    cores.saturating_sub(1).max(1)
}

/// Sets the bound (`REINICIO_ARGON2_PARALELO`); only the first call counts, and only before the
/// first hash.
pub fn set_parallelism(n: usize) {
    let _ = PERMITS.set(tokio::sync::Semaphore::new(n.max(1)));
}

async fn permit() -> tokio::sync::SemaphorePermit<'static> {
    PERMITS
        .get_or_init(|| tokio::sync::Semaphore::new(default_parallelism()))
        .acquire()
        .await
        .expect("the semaphore is never closed")
}

/// A hash of nothing anyone knows, verified when an ID usuario does not exist so that a miss
/// costs the same Argon2 work as a wrong password.
pub async fn dummy_hash() -> &'static str {
    static DUMMY: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    DUMMY
        .get_or_init(|| async {
            let secret = TemporaryPassword::generate()
                .map(|t| t.0)
                .unwrap_or_default();
            hash(secret).await.unwrap_or_default()
        })
        .await
}

fn argon2() -> Argon2<'static> {
    let params = argon2::Params::new(19 * 1024, 2, 1, None).expect("valid Argon2 parameters");
    Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_long_from_the_alphabet_and_differ() {
        let a = TemporaryPassword::generate().unwrap();
        let b = TemporaryPassword::generate().unwrap();
        assert_eq!(a.expose().len(), LENGTH);
        assert!(a.expose().bytes().all(|c| ALPHABET.contains(&c)));
        assert_ne!(a.expose(), b.expose());
        for look_alike in ["0", "O", "o", "1", "l", "I"] {
            assert!(!std::str::from_utf8(ALPHABET).unwrap().contains(look_alike));
        }
        assert_eq!(format!("{a:?}"), "TemporaryPassword(***)");
    }

    #[test]
    fn every_symbol_appears() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            seen.extend(TemporaryPassword::generate().unwrap().expose().bytes());
        }
        assert_eq!(seen.len(), ALPHABET.len());
    }

    #[tokio::test]
    async fn hashes_are_argon2id_and_verify() {
        let h = hash("clave-temporal".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify("clave-temporal".into(), h.clone()).await.unwrap());
        assert!(!verify("otra".into(), h).await.unwrap());
    }
}
