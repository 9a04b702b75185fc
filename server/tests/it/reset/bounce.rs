//! A bounce that arrives after the relay took the message: the notice `server bounce` reads
//! marks that message's row bounced, and no other row.

use server::services::bounce;

use super::*;

/// A delivery status notification as a relay writes it, quoting the original's headers.
fn notice(status: &str, action: &str, recipient: &str, original_headers: &str) -> Vec<u8> {
    format!(
        "From: MAILER-DAEMON@relay.example\r\nTo: no-responder@aduana.example\r\n\
         Subject: Undelivered Mail Returned to Sender\r\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n\
         --B\r\nContent-Type: text/plain\r\n\r\nSu mensaje no pudo ser entregado.\r\n\
         --B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; relay.example\r\n\r\n\
         Final-Recipient: rfc822; {recipient}\r\nAction: {action}\r\nStatus: {status}\r\n\
         Diagnostic-Code: smtp; 550 5.2.1 mailbox disabled\r\n\r\n\
         --B\r\nContent-Type: text/rfc822-headers\r\n\r\n{original_headers}\r\n--B--\r\n"
    )
    .into_bytes()
}

#[tokio::test]
async fn a_bounce_marks_its_own_sent_message_and_nothing_else() {
    for test_db in helpers::databases().await {
        let f = fixture(&test_db.url).await;
        let label = test_db.label;
        let sink = SmtpSink::start("127.0.0.1:0".parse().unwrap()).await;
        request_mperez_reset(&f).await;
        assert_eq!(
            f.worker(smtp_mailer(sink.addr)).run_once().await.unwrap(),
            1
        );
        let raw = sink.messages().remove(0);
        let text = String::from_utf8(raw).unwrap();
        let headers = &text[..text.find("\r\n\r\n").unwrap()];
        let row = f.outbox().await.remove(0);
        assert_eq!(row.state, outbox::State::Sent, "{label}");

        // Delayed, another recipient, a message of someone else: nothing changes.
        let delayed = notice("4.4.7", "delayed", &row.recipient, headers);
        assert!(matches!(
            bounce::parse(&delayed),
            Err(bounce::Ignored::Transient(_))
        ));
        let other = bounce::parse(&notice("5.2.1", "failed", "otra@example.com", headers)).unwrap();
        assert!(!bounce::record(&f.db, &other).await.unwrap(), "{label}");
        let foreign = notice(
            "5.2.1",
            "failed",
            &row.recipient,
            "Message-ID: <CAF+xyz@mail.example>",
        );
        assert_eq!(bounce::parse(&foreign), Err(bounce::Ignored::NotOurs));
        assert_eq!(f.outbox().await[0].state, outbox::State::Sent, "{label}");

        // Its own notice: bounced, with the status and the relay's words; once.
        let own = bounce::parse(&notice("5.2.1", "failed", &row.recipient, headers)).unwrap();
        assert_eq!(own.outbox_id, row.id, "{label}");
        assert!(bounce::record(&f.db, &own).await.unwrap(), "{label}");
        let row = f.outbox().await.remove(0);
        assert_eq!(row.state, outbox::State::Bounced, "{label}");
        assert_eq!(
            row.last_error.as_deref(),
            Some("rebote 5.2.1: 550 5.2.1 mailbox disabled"),
            "{label}"
        );
        assert!(!bounce::record(&f.db, &own).await.unwrap(), "{label}: once");
        // Never sent again by itself.
        f.clock.advance_ms(24 * 3600 * 1000);
        assert_eq!(
            f.worker(smtp_mailer(sink.addr)).run_once().await.unwrap(),
            0
        );
        assert_eq!(sink.messages().len(), 1, "{label}");
    }
}
