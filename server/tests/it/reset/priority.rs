//! The outbox gives way to the requests during a flood (see `services::outbox`).

use super::*;

/// During a flood the requests go first: the outbox waits while the group-commit writer is busy,
/// for at most `max_yield`, and then sends anyway; with the writer idle it does not wait at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_outbox_lets_a_busy_writer_go_first_for_at_most_its_limit() {
    for test_db in helpers::databases().await {
        let f = fixture(&test_db.url).await;
        let label = test_db.label;
        request_mperez_reset(&f).await;
        let dir = tempfile::tempdir().unwrap();
        let mut worker = f.plain_worker(folder_mailer(dir.path()));
        worker.requests = Some(f.services.writer.clone());
        let max_yield = Duration::from_millis(400);
        worker.settings.max_yield = max_yield;
        let worker = Arc::new(worker);

        // Idle: nothing queued up behind the last batch, nothing waits.
        assert!(f.services.writer.is_idle(), "{label}");
        assert_eq!(worker.run_once().await.unwrap(), 1, "{label}");

        // Busy: 32 clients look up without pause, so requests queue up behind every batch.
        let flood = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let mut clients = Vec::new();
        for _ in 0..32 {
            let (services, flood) = (f.services.clone(), flood.clone());
            clients.push(tokio::spawn(async move {
                let form = busqueda("representante_legal", "0993370026001", "", "0926687856");
                while flood.load(std::sync::atomic::Ordering::Relaxed) {
                    let _ = registry::buscar_id(&services, &form, None).await;
                }
            }));
        }
        // On a loaded machine the clients themselves can stall for the writer's idle pause
        // (2 ms), and then the outbox rightly stops waiting early: such an attempt proves
        // nothing, and another is made. An outbox that never waited would fail every one.
        let mut waits = Vec::new();
        for _ in 0..5 {
            request_mperez_reset(&f).await;
            let since = std::time::Instant::now();
            while f.services.writer.is_idle() {
                assert!(
                    since.elapsed() < Duration::from_secs(10),
                    "{label}: never busy"
                );
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            let started = std::time::Instant::now();
            assert_eq!(
                worker.run_once().await.unwrap(),
                1,
                "{label}: sent after its wait"
            );
            let waited = started.elapsed();
            // At most its limit: the flood goes on, and the e-mail still goes out.
            assert!(
                waited < Duration::from_secs(5),
                "{label}: waited {waited:?}"
            );
            waits.push(waited);
            if waited >= max_yield {
                break;
            }
        }
        assert!(
            waits.iter().any(|w| *w >= max_yield),
            "{label}: the outbox waited for the requests ({waits:?})"
        );
        flood.store(false, std::sync::atomic::Ordering::Relaxed);
        for client in clients {
            client.await.unwrap();
        }
    }
}
