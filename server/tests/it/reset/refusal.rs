//! A relay's permanent refusal (an SMTP 5xx) ends a message at once: recorded on its row, not
//! tried again ten times. (Passing failures are retried: `delivery.rs`.)

use super::*;

#[tokio::test]
async fn a_permanent_refusal_is_recorded_and_not_retried() {
    for test_db in helpers::databases().await {
        let f = fixture(&test_db.url).await;
        let label = test_db.label;
        let sink = SmtpSink::start_refusing("127.0.0.1:0".parse().unwrap()).await;
        request_mperez_reset(&f).await;
        let worker = f.worker(smtp_mailer(sink.addr));
        assert_eq!(worker.run_once().await.unwrap(), 1, "{label}");

        let row = f.outbox().await.remove(0);
        assert_eq!(
            (row.state, row.attempts),
            (outbox::State::Abandoned, 1),
            "{label}: abandoned after its one attempt"
        );
        let error = row.last_error.unwrap_or_default();
        assert!(
            error.contains("permanente") && error.contains("550"),
            "{label}: {error}"
        );
        assert_eq!(
            row.pending_key, None,
            "{label}: a new request may queue again"
        );
        // Nothing was delivered, so no temporary password exists.
        assert_eq!(f.credential("mperez").await.unwrap().temp_hash, None);

        // However long one waits, it is not tried again.
        f.clock
            .advance_ms(Duration::from_secs(24 * 3600).as_millis() as i64);
        assert_eq!(worker.run_once().await.unwrap(), 0, "{label}");
        assert!(sink.messages().is_empty(), "{label}");
    }
}
