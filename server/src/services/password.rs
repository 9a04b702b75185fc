//! Passwords: the temporary ones (random, high-entropy, checked with one SHA-256) and the ones
//! people choose (Argon2id, on a pool of its own).
//!
//! **Why the temporary password is not hashed with Argon2.** It is 20 symbols drawn uniformly from
//! a 54-symbol alphabet by the operating system's CSPRNG: about 115 bits, more than the 112 bits
//! above which NIST SP 800-63B-4 (§3.1.1.2) allows a single pass of an approved hash instead of a
//! slow one; nobody can search that space, slow hash or not. The fast hash matters for fairness:
//! with Argon2, every matching reset put one 19 MiB, tens-of-milliseconds hash on the shared pool
//! (the outbox hashed the new password), so a sign-in sent just after a reset was slower exactly
//! when the reset had matched, and a wrong password for an account with a pending temporary one
//! cost two hashes instead of one. Now the outbox does no Argon2 work at all, checking a temporary
//! password costs microseconds for every account, known or not, and every sign-in that is not a
//! correct temporary password costs exactly one Argon2 verification.
//!
//! **Why Argon2 has a pool of its own.** Each hash takes 19 MiB and a core for tens of
//! milliseconds. On tokio's blocking threads, a flood of sign-ins grew the thread count and,
//! with it, the memory each thread's allocator keeps (hundreds of MiB), and every request waited
//! in an unbounded line. Here exactly `threads` OS threads compute hashes, and at most `queue`
//! jobs wait: past that, [`HashError::Busy`] answers at once (the page says "try again in a few
//! seconds", with `503` and `Retry-After`) instead of holding a connection for half a minute.

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicU64, Ordering},
    mpsc,
};

use argon2::{Argon2, PasswordHash, password_hash::SaltString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Letters and digits without look-alikes (no 0/O/o, 1/l/I): read from an e-mail and typed by
/// hand. 54 symbols.
pub const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789";

/// 20 symbols of 54: log2(54) × 20 ≈ 115 bits, at least the 112 that allow a fast hash.
pub const LENGTH: usize = 20;
/// Shown to people in groups of this size, joined by `-` (`ABCDE-FGHJK-…`); sign-in ignores the
/// hyphens and any spaces, so it may be typed either way.
pub const GROUP: usize = 5;
// The service's rule: at least 12 characters (README, Seguridad); the fast hash needs 112 bits.
const _: () = assert!(LENGTH >= 12 && LENGTH * 575 >= 112 * 100);

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

    /// As the e-mail shows it: groups of five joined by hyphens.
    pub fn grouped(&self) -> String {
        let mut out = String::with_capacity(LENGTH + LENGTH / GROUP);
        for (i, c) in self.0.chars().enumerate() {
            if i > 0 && i % GROUP == 0 {
                out.push('-');
            }
            out.push(c);
        }
        out
    }

    /// What the database keeps: see [`temporary_digest`].
    pub fn digest(&self) -> String {
        temporary_digest(&self.0)
    }
}

impl std::fmt::Debug for TemporaryPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TemporaryPassword(***)")
    }
}

/// Marks the stored form of a temporary password, so that it can never be taken for a PHC string.
const DIGEST_PREFIX: &str = "sha256$";

/// The stored form of a temporary password as typed: hyphens and white space dropped, then one
/// SHA-256 (domain-separated, so the digest means nothing anywhere else). Computed for every
/// sign-in attempt, whatever the ID, so that it costs the same for every account.
pub fn temporary_digest(typed: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"reinicio-clave/clave-temporal/v1\0");
    for c in typed.chars().filter(|c| *c != '-' && !c.is_whitespace()) {
        let mut buf = [0u8; 4];
        hasher.update(c.encode_utf8(&mut buf).as_bytes());
    }
    let mut out = String::with_capacity(DIGEST_PREFIX.len() + 64);
    out.push_str(DIGEST_PREFIX);
    out.push_str(&crate::hex(&hasher.finalize()));
    out
}

/// Whether `typed` is the temporary password stored as `stored`, in constant time. A stored value
/// of any other form (an Argon2 hash from before this scheme) never matches.
pub fn temporary_matches(typed_digest: &str, stored: &str) -> bool {
    stored.starts_with(DIGEST_PREFIX)
        && bool::from(typed_digest.as_bytes().ct_eq(stored.as_bytes()))
}

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("argon2: {0}")]
    Argon2(String),
    /// Every Argon2 thread is busy and the queue is full: try again in a moment.
    #[error("cola de Argon2 llena")]
    Busy,
    #[error("el grupo de Argon2 se detuvo")]
    Stopped,
}

/// How long a refused caller is told to wait (`Retry-After`): the queue drains in well under it.
pub const BUSY_RETRY_SECONDS: u64 = 5;

enum Job {
    Hash(
        String,
        tokio::sync::oneshot::Sender<Result<String, HashError>>,
    ),
    Verify(String, String, tokio::sync::oneshot::Sender<bool>),
}

/// Exactly `threads` OS threads computing Argon2id, fed by a queue of at most `queue` jobs.
/// Cheap to clone; the threads end when the last handle is dropped.
#[derive(Clone)]
pub struct Argon2Pool {
    /// Each job with the moment it was queued (for the wait it had).
    jobs: mpsc::SyncSender<(std::time::Instant, Job)>,
    counters: Arc<Counters>,
    /// A hash of nothing anyone knows, verified when there is no password to verify (an unknown
    /// ID, an account that never had one), so that every such attempt costs the same work as a
    /// wrong password. Built once, when the pool starts.
    dummy: Arc<str>,
}

#[derive(Default)]
struct Counters {
    computed: AtomicU64,
    /// Jobs queued and not yet taken by a thread (`reinicio_argon2_queue`).
    waiting: std::sync::atomic::AtomicI64,
}

impl Argon2Pool {
    pub fn new(threads: usize, queue: usize) -> Self {
        let (jobs, receiver) = mpsc::sync_channel::<(std::time::Instant, Job)>(queue.max(1));
        let receiver = Arc::new(Mutex::new(receiver));
        let counters = Arc::new(Counters::default());
        for i in 0..threads.max(1) {
            let receiver = receiver.clone();
            let counters = counters.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || {
                    let mut memory = Memory::new();
                    loop {
                        // The lock is held only while waiting for the next job.
                        let job = match receiver.lock() {
                            Ok(r) => r.recv(),
                            Err(_) => break,
                        };
                        let Ok((queued_at, job)) = job else { break };
                        counters.computed.fetch_add(1, Ordering::Relaxed);
                        let waiting = counters.waiting.fetch_sub(1, Ordering::Relaxed) - 1;
                        metrics::gauge!("reinicio_argon2_queue").set(waiting as f64);
                        metrics::histogram!("reinicio_argon2_wait_seconds")
                            .record(queued_at.elapsed().as_secs_f64());
                        match job {
                            Job::Hash(secret, reply) => {
                                let _ = reply.send(hash_now(&mut memory, &secret));
                            }
                            Job::Verify(secret, hash, reply) => {
                                let _ = reply.send(verify_now(&mut memory, &secret, &hash));
                            }
                        }
                    }
                });
            if let Err(error) = spawned {
                tracing::error!(%error, "no se pudo crear un hilo de Argon2");
            }
        }
        Argon2Pool {
            jobs,
            counters,
            dummy: dummy_hash(&mut Memory::new()).into(),
        }
    }

    /// The Argon2id PHC string of `secret` (OWASP parameters: 19 MiB, 2 iterations, 1 lane).
    pub async fn hash(&self, secret: String) -> Result<String, HashError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.submit(Job::Hash(secret, reply))?;
        answer.await.map_err(|_| HashError::Stopped)?
    }

    /// Whether `secret` matches the PHC string `hash`; a malformed hash matches nothing.
    pub async fn verify(&self, secret: String, hash: String) -> Result<bool, HashError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.submit(Job::Verify(secret, hash, reply))?;
        answer.await.map_err(|_| HashError::Stopped)
    }

    /// One verification against the dummy hash: the same work as a wrong password.
    pub async fn verify_dummy(&self, secret: String) -> Result<(), HashError> {
        self.verify(secret, self.dummy.to_string()).await.map(drop)
    }

    fn submit(&self, job: Job) -> Result<(), HashError> {
        // Counted before it is sent, so that a thread taking it at once never counts below zero.
        let waiting = self.counters.waiting.fetch_add(1, Ordering::Relaxed) + 1;
        metrics::gauge!("reinicio_argon2_queue").set(waiting as f64);
        self.jobs
            .try_send((std::time::Instant::now(), job))
            .map_err(|error| {
                self.counters.waiting.fetch_sub(1, Ordering::Relaxed);
                match error {
                    mpsc::TrySendError::Full(_) => {
                        metrics::counter!("reinicio_argon2_refusals_total").increment(1);
                        HashError::Busy
                    }
                    mpsc::TrySendError::Disconnected(_) => HashError::Stopped,
                }
            })
    }

    /// Argon2 computations this pool has started (for tests and metrics).
    pub fn computed(&self) -> u64 {
        self.counters.computed.load(Ordering::Relaxed)
    }
}

/// One hash outside any server's pool, for the operator's commands (the demo seed): never on a
/// request's path.
pub async fn hash_offline(secret: String) -> Result<String, HashError> {
    tokio::task::spawn_blocking(move || hash_now(&mut Memory::new(), &secret))
        .await
        .map_err(|_| HashError::Stopped)?
}

/// The default number of threads: every core but one, which stays free for everything else.
pub fn default_parallelism() -> usize {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    cores.saturating_sub(1).max(1)
}

/// One Argon2 thread's working memory (19 MiB), allocated once and reused by every hash the
/// thread computes. Allocating it per hash let the C allocator keep freed copies in several of its
/// per-thread arenas: RSS grew far past the pool's size under a flood of sign-ins.
pub struct Memory(Vec<argon2::Block>);

impl Memory {
    pub fn new() -> Self {
        Memory(vec![argon2::Block::new(); params().block_count()])
    }
}

impl Default for Memory {
    fn default() -> Self {
        Self::new()
    }
}

fn hash_now(memory: &mut Memory, secret: &str) -> Result<String, HashError> {
    let error = |e: &dyn std::fmt::Display| HashError::Argon2(e.to_string());
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| error(&e))?;
    hash_with_salt(memory, secret.as_bytes(), &salt)
}

fn hash_with_salt(memory: &mut Memory, secret: &[u8], salt: &[u8]) -> Result<String, HashError> {
    let error = |e: &dyn std::fmt::Display| HashError::Argon2(e.to_string());
    let params = params();
    let mut out = [0u8; 32];
    argon2()
        .hash_password_into_with_memory(secret, salt, &mut out, &mut memory.0)
        .map_err(|e| error(&e))?;
    let salt = SaltString::encode_b64(salt).map_err(|e| error(&e))?;
    let phc = PasswordHash {
        algorithm: argon2::ARGON2ID_IDENT,
        version: Some(argon2::Version::V0x13.into()),
        params: argon2::password_hash::ParamsString::try_from(&params).map_err(|e| error(&e))?,
        salt: Some(salt.as_salt()),
        hash: Some(argon2::password_hash::Output::new(&out).map_err(|e| error(&e))?),
    };
    Ok(phc.to_string())
}

/// Checks `secret` against a PHC string with our memory. A hash that is not Argon2id, or that
/// asks for more memory than ours (no row of ours does; a forged one must not make a thread
/// allocate gigabytes), matches nothing.
fn verify_now(memory: &mut Memory, secret: &str, hash: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    let (Ok(params), Some(expected), Some(salt)) =
        (argon2::Params::try_from(&parsed), parsed.hash, parsed.salt)
    else {
        return false;
    };
    let mut salt_buf = [0u8; 64];
    let (Ok(salt), true, true) = (
        salt.decode_b64(&mut salt_buf),
        parsed.algorithm == argon2::ARGON2ID_IDENT,
        params.block_count() <= memory.0.len(),
    ) else {
        return false;
    };
    let version = parsed
        .version
        .and_then(|v| argon2::Version::try_from(v).ok())
        .unwrap_or_default();
    let mut out = vec![0u8; expected.len()];
    Argon2::new(argon2::Algorithm::Argon2id, version, params)
        .hash_password_into_with_memory(secret.as_bytes(), salt, &mut out, &mut memory.0)
        .is_ok()
        && bool::from(out.as_slice().ct_eq(expected.as_bytes()))
}

/// Infallible: the salt is fixed and public (nobody signs in through this hash; it only has to
/// cost what a real one costs), and the secret is random when the OS gives randomness.
fn dummy_hash(memory: &mut Memory) -> String {
    let mut secret = [0u8; 32];
    let _ = getrandom::fill(&mut secret);
    hash_with_salt(memory, &secret, b"reinicio-clave: ficticia")
        .expect("Argon2 with fixed, valid parameters and salt")
}

fn params() -> argon2::Params {
    argon2::Params::new(19 * 1024, 2, 1, Some(32)).expect("valid Argon2 parameters")
}

/// OWASP's parameters: 19 MiB, 2 iterations, 1 lane.
fn argon2() -> Argon2<'static> {
    Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        params(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_long_from_the_alphabet_and_differ() {
        let a = TemporaryPassword::generate().unwrap();
        let b = TemporaryPassword::generate().unwrap();
        assert_eq!(a.0.len(), LENGTH);
        assert!(a.0.bytes().all(|c| ALPHABET.contains(&c)));
        assert_ne!(a.0, b.0);
        for look_alike in ["0", "O", "o", "1", "l", "I"] {
            assert!(!std::str::from_utf8(ALPHABET).unwrap().contains(look_alike));
        }
        assert_eq!(format!("{a:?}"), "TemporaryPassword(***)");
        // At least 112 bits.
        assert!((ALPHABET.len() as f64).log2() * LENGTH as f64 >= 112.0);
    }

    #[test]
    fn every_symbol_appears() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            seen.extend(TemporaryPassword::generate().unwrap().0.bytes());
        }
        assert_eq!(seen.len(), ALPHABET.len());
    }

    #[test]
    fn shown_in_groups_and_recognised_with_or_without_them() {
        let t = TemporaryPassword::generate().unwrap();
        let shown = t.grouped();
        assert_eq!(shown.len(), 23);
        assert_eq!(shown.split('-').map(str::len).collect::<Vec<_>>(), [5; 4]);
        let stored = t.digest();
        assert!(
            stored.starts_with("sha256$") && stored.len() == 7 + 64,
            "{stored}"
        );
        for typed in [
            shown.clone(),
            t.0.clone(),
            shown.replace('-', " "),
            format!(" {shown} "),
        ] {
            assert!(
                temporary_matches(&temporary_digest(&typed), &stored),
                "{typed}"
            );
        }
        for wrong in [shown.to_lowercase(), shown[1..].to_owned(), String::new()] {
            assert!(
                !temporary_matches(&temporary_digest(&wrong), &stored),
                "{wrong}"
            );
        }
        // An Argon2 string is never taken for a digest, even if someone typed it.
        assert!(!temporary_matches("$argon2id$x", "$argon2id$x"));
    }

    #[tokio::test]
    async fn hashes_are_argon2id_verify_and_are_counted() {
        let pool = Argon2Pool::new(1, 4);
        let h = pool.hash("clave-temporal".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(
            pool.verify("clave-temporal".into(), h.clone())
                .await
                .unwrap()
        );
        assert!(!pool.verify("otra".into(), h).await.unwrap());
        assert!(
            !pool
                .verify("otra".into(), "no es un hash".into())
                .await
                .unwrap()
        );
        pool.verify_dummy("x".into()).await.unwrap();
        assert_eq!(pool.computed(), 5);
    }

    #[tokio::test]
    async fn hashes_made_by_the_crate_itself_still_verify() {
        use argon2::{PasswordHasher, PasswordVerifier};
        let salt = SaltString::encode_b64(b"sal-de-dieciseis").unwrap();
        let theirs = argon2()
            .hash_password(b"clave de antes", &salt)
            .unwrap()
            .to_string();
        let pool = Argon2Pool::new(1, 4);
        assert!(
            pool.verify("clave de antes".into(), theirs.clone())
                .await
                .unwrap()
        );
        assert!(!pool.verify("otra".into(), theirs).await.unwrap());
        let ours = pool.hash("clave nueva".into()).await.unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(argon2().verify_password(b"clave nueva", &parsed).is_ok());
        // A hash asking for more memory than ours is refused without computing it.
        let greedy = ours.replace("m=19456", "m=4000000");
        assert!(!pool.verify("clave nueva".into(), greedy).await.unwrap());
    }

    #[test]
    fn the_dummy_hash_is_built_at_start_and_is_a_real_argon2_hash() {
        let pool = Argon2Pool::new(1, 1);
        assert!(pool.dummy.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(PasswordHash::new(&pool.dummy).is_ok());
    }

    #[tokio::test]
    async fn a_full_queue_refuses_at_once() {
        // One thread, a queue of one: of eight simultaneous jobs at least six are refused, at once.
        let pool = Argon2Pool::new(1, 1);
        let started = std::time::Instant::now();
        let mut jobs = tokio::task::JoinSet::new();
        for i in 0..8 {
            let pool = pool.clone();
            jobs.spawn(async move { pool.hash(format!("secreto-{i}")).await });
        }
        let results = jobs.join_all().await;
        let busy = results
            .iter()
            .filter(|r| matches!(r, Err(HashError::Busy)))
            .count();
        assert!(busy >= 6, "{busy} refused of 8");
        assert!(results.iter().any(Result::is_ok));
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }
}
