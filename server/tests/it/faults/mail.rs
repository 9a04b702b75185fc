//! The mail under faults: the relay down, the server killed or stopped mid-delivery, two instances.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_resets_while_the_relay_is_down_are_each_delivered_once_it_is_up() {
    for db in helpers::databases().await {
        let relay = helpers::free_port();
        let mail_url = format!("smtp://{relay}?tls=none");
        let app = TestApp::spawn_on(
            &db,
            &[
                ("REINICIO_MAIL_URL", &mail_url),
                ("REINICIO_CORREO_REINTENTO_SEGUNDOS", "1"),
            ],
        )
        .await;
        let accounts = helpers::accounts(50);
        helpers::register(&app.conn, &accounts).await;

        request_resets(&app, &accounts).await;
        // The worker tries every message and fails: nothing listens on the relay's port.
        wait_until(
            Duration::from_secs(20),
            "every message failed once",
            async || {
                mail_outbox::Entity::find()
                    .filter(mail_outbox::Column::Attempts.gte(1))
                    .filter(mail_outbox::Column::State.eq("queued"))
                    .count(&app.conn)
                    .await
                    .unwrap()
                    == 50
            },
        )
        .await;

        let sink = SmtpSink::start(relay).await;
        let counts = delivered_to(&sink, 50, Duration::from_secs(30)).await;
        assert_eq!(counts.len(), 50, "{}", db.label);
        assert!(counts.values().all(|&n| n == 1), "{}: {counts:?}", db.label);
        for (_, _, correo) in &accounts {
            assert_eq!(counts.get(correo), Some(&1), "{} {correo}", db.label);
        }
        // Recorded once the batch's last message went out, a moment after the relay took it.
        wait_until(
            Duration::from_secs(10),
            "all 50 recorded as sent",
            async || {
                mail_outbox::Entity::find()
                    .filter(mail_outbox::Column::State.eq("sent"))
                    .count(&app.conn)
                    .await
                    .unwrap()
                    == 50
            },
        )
        .await;
        drop(app);
        db.drop_database().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_server_killed_mid_delivery_sends_the_rest_after_a_restart_none_more_than_twice() {
    // A relay that takes 150 ms to acknowledge a message, so that the kill lands while one is
    // delivered but not yet acknowledged.
    let (dir, relay, sink, mut first) = resets_queued_at_a_slow_relay(50, 150).await;
    wait_until(
        Duration::from_secs(30),
        "ten messages went out",
        async || sink.recipients().len() >= 10,
    )
    .await;
    first.signal("KILL");
    first.exit_status(Duration::from_secs(5)).await;
    let before_restart = sink.recipients().len();
    assert!(
        before_restart < 50,
        "the kill came too late to prove anything"
    );

    let second = Instance::start(dir.path(), relay);
    let counts = delivered_to(&sink, 50, Duration::from_secs(60)).await;
    let twice = counts.values().filter(|&&n| n == 2).count();
    eprintln!(
        "killed after {before_restart} messages; after the restart all 50 delivered, {twice} of them twice"
    );
    assert!(counts.values().all(|&n| n <= 2), "{counts:?}");
    // A batch's outcomes are recorded once its last message went out, a moment after the relay
    // took it.
    wait_until(
        Duration::from_secs(10),
        "all 50 recorded as sent",
        async || outbox_states(dir.path()).await.get("sent") == Some(&50),
    )
    .await;
    drop(second);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_finishes_requests_in_flight_and_leaves_the_outbox_consistent() {
    let (dir, relay, sink, mut first) = resets_queued_at_a_slow_relay(20, 200).await;
    // A request whose body is still on its way when the signal comes (raw TCP: half a body).
    let body = br#"{"clasificacion":"usuario_general","correo":"cuenta001@example.com","identificacion":"PX000001"}"#;
    let mut slow = tokio::net::TcpStream::connect(first.addr).await.unwrap();
    slow.write_all(
        format!(
            "POST /api/buscar_id HTTP/1.1\r\nHost: {}\r\nContent-Type: {JSON}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            first.addr,
            body.len()
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    slow.write_all(&body[..20]).await.unwrap();
    wait_until(
        Duration::from_secs(10),
        "two messages went out",
        async || sink.recipients().len() >= 2,
    )
    .await;

    first.signal("TERM");
    tokio::time::sleep(Duration::from_millis(300)).await;
    // No new connections once stopping…
    assert!(
        tokio::net::TcpStream::connect(first.addr).await.is_err(),
        "still accepting connections after SIGTERM"
    );
    // …but the one in flight gets its answer.
    slow.write_all(&body[20..]).await.unwrap();
    let mut answer = String::new();
    slow.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("cuenta001"), "{answer}");

    let status = first.exit_status(Duration::from_secs(20)).await;
    assert!(status.success(), "{status:?}");
    // The worker finished the message it was sending and recorded it: nothing is left claimed,
    // and what the relay accepted is exactly what is marked sent.
    let states = outbox_states(dir.path()).await;
    let delivered = sink.recipients().len();
    assert_eq!(states.get("sending"), None, "{states:?}");
    assert_eq!(
        states.get("sent").copied().unwrap_or(0),
        delivered,
        "{states:?}"
    );
    assert!(delivered < 20, "stopped too late to prove anything");

    // The next start sends the rest, and nothing twice.
    let second = Instance::start(dir.path(), relay);
    let counts = delivered_to(&sink, 20, Duration::from_secs(30)).await;
    assert!(counts.values().all(|&n| n == 1), "{counts:?}");
    drop(second);
}

/// Two instances on one PostgreSQL, requests alternating between them: the hourly limit per
/// identificación is counted once, and the shared outbox sends each message once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_share_the_limits_and_send_each_message_once() {
    let Some(db) = helpers::postgres_only().await else {
        return;
    };
    let relay = helpers::free_port();
    let sink = SmtpSink::start_slow(relay, Duration::from_millis(20)).await;
    let mail_url = format!("smtp://{relay}?tls=none");
    let settings = [("REINICIO_MAIL_URL", mail_url.as_str())];
    let a = TestApp::spawn_on(&db, &settings).await;
    let b = TestApp::spawn_on(&db, &settings).await;
    let instances = [&a, &b];

    let lookup = r#"{"clasificacion":"usuario_general","correo":"maria.perez@example.com","identificacion":"1710034065"}"#;
    let mut statuses = Vec::new();
    for i in 0..10 {
        statuses.push(
            instances[i % 2]
                .post_json("/api/buscar_id", lookup)
                .await
                .status,
        );
    }
    assert_eq!(statuses, [200, 200, 200, 200, 200, 429, 429, 429, 429, 429]);

    let reset =
        r#"{"usuario":"lmora.aux","identificacion":"0601234560","correo":"luis.mora@example.com"}"#;
    let mut statuses = Vec::new();
    for i in 0..6 {
        statuses.push(
            instances[i % 2]
                .post_json("/api/solicitar_reinicio", reset)
                .await
                .status,
        );
    }
    // Resets are never refused per identity (see registry::solicitar_reinicio); the per-account
    // cap of three e-mails an hour is silent.
    assert_eq!(statuses, [200; 6]);

    let accounts = helpers::accounts(40);
    helpers::register(&a.conn, &accounts).await;
    let (first, second) = accounts.split_at(20);
    tokio::join!(request_resets(&a, first), request_resets(&b, second));
    // The 40 accounts and lmora.aux (whose own three resets may each have gone out).
    let counts = delivered_to(&sink, 41, Duration::from_secs(30)).await;
    for (_, _, correo) in &accounts {
        assert_eq!(counts.get(correo), Some(&1), "{correo}");
    }
    drop((a, b));
    db.drop_database().await;
}
