//! Memory under a flood of failed sign-ins. Measured on the real binary (`Instance`), a process
//! of its own: the other tests in this process do not count.

use super::*;

/// Argon2 runs on exactly REINICIO_ARGON2_PARALELO threads of its own: memory does not grow with
/// a flood of failed sign-ins (it reached 365 MiB after 400 of them on tokio's blocking threads).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_stays_bounded_under_a_flood_of_failed_sign_ins() {
    let dir = tempfile::tempdir().unwrap();
    let relay = helpers::free_port();
    let server = Instance::start_with(
        dir.path(),
        relay,
        &[
            ("REINICIO_ARGON2_PARALELO", "1"),
            ("REINICIO_SIGN_IN_LIMIT_PER_MINUTE", "100000"),
            ("REINICIO_SIGN_IN_LIMIT_BURST", "100000"),
        ],
    );
    let mut statuses = HashMap::new();
    for round in 0..25 {
        let mut batch = tokio::task::JoinSet::new();
        for i in 0..16 {
            let http = server.http.clone();
            batch.spawn(async move {
                http.post_form(
                    "/ingreso",
                    format!("usuario=nadie{round}x{i}&clave=una+clave+equivocada"),
                )
                .await
                .status
            });
        }
        while let Some(status) = batch.join_next().await {
            *statuses.entry(status.unwrap()).or_insert(0) += 1;
        }
    }
    assert_eq!(
        statuses,
        HashMap::from([(200, 400)]),
        "every attempt answered as a failure"
    );
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.child.id())).unwrap();
    let rss_kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    eprintln!("RSS after 400 failed sign-ins: {} MiB", rss_kib / 1024);
    assert!(rss_kib <= 96 * 1024, "RSS {} MiB", rss_kib / 1024);
}
