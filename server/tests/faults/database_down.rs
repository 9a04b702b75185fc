//! The database unreachable, then back.

use super::*;

/// PostgreSQL behind a relay the test cuts: requests get a prompt 503 with a Spanish message,
/// and the same server answers again once the database is back, without a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_unreachable_database_gives_a_clean_503_and_the_server_recovers_by_itself() {
    let Some(db) = support::postgres_only().await else {
        return;
    };
    let mut url = url::Url::parse(&db.url).unwrap();
    let target = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap_or(5432));
    let proxy = TcpProxy::start(
        tokio::net::lookup_host(&target)
            .await
            .unwrap()
            .next()
            .unwrap(),
    )
    .await;
    url.set_host(Some("127.0.0.1")).unwrap();
    url.set_port(Some(proxy.addr.port())).unwrap();
    let server = TestServer::start_on(&db, &[("REINICIO_DATABASE_URL", url.as_str())]).await;

    let lookup = br#"{"clasificacion":"usuario_general","correo":"maria.perez@example.com","identificacion":"1710034065"}"#;
    let form = b"accion=buscar&clasificacion=usuario_general&correo=maria.perez%40example.com&identificacion=1710034065";
    assert_eq!(
        support::post(server.addr, "/api/buscar_id", JSON, lookup)
            .await
            .0,
        200
    );

    // A signed-in session, to see what its pages say while the database is away.
    let (status, head, _) = support::post_head(
        server.addr,
        "/ingreso",
        "application/x-www-form-urlencoded",
        "usuario=aauditor&clave=clave+de+demostraci%C3%B3n".as_bytes(),
    )
    .await;
    assert_eq!(status, 303);
    let cookie = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .starts_with("set-cookie:")
                .then(|| l[11..].trim().to_owned())
        })
        .and_then(|c| c.split(';').next().map(str::to_owned))
        .unwrap();

    proxy.down();
    // The session cannot be read: 503 and the page that says so, not "Ingreso" as if signed out.
    for (method, path) in [("GET", "/cuenta"), ("POST", "/cambio-clave")] {
        let raw = format!(
            "{method} {path} HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        stream.write_all(raw.as_bytes()).await.unwrap();
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await.unwrap();
        let answer = String::from_utf8_lossy(&answer);
        assert!(
            answer.starts_with("HTTP/1.1 503"),
            "{method} {path}: {answer}"
        );
        assert!(
            answer.contains("El servicio no está disponible en este momento."),
            "{answer}"
        );
    }
    for _ in 0..3 {
        let start = Instant::now();
        let (status, _, body) = support::post(server.addr, "/api/buscar_id", JSON, lookup).await;
        assert_eq!((status, body.as_str()), (503, r#"{"error":"interno"}"#));
        assert!(
            start.elapsed() < Duration::from_secs(8),
            "{:?}",
            start.elapsed()
        );
    }
    let (status, _, html) =
        support::post(server.addr, "/", "application/x-www-form-urlencoded", form).await;
    assert_eq!(status, 503);
    assert!(
        html.contains("El servicio no está disponible en este momento."),
        "{html}"
    );
    assert_eq!(support::get(server.addr, "/healthz").await.0, 503);

    proxy.up().await;
    wait_until(Duration::from_secs(20), "lookups work again", async || {
        support::post(server.addr, "/api/buscar_id", JSON, lookup)
            .await
            .0
            == 200
    })
    .await;
    assert_eq!(
        support::get(server.addr, "/healthz").await,
        (200, "ok".to_owned())
    );
    let (status, _, html) =
        support::post(server.addr, "/", "application/x-www-form-urlencoded", form).await;
    assert_eq!(status, 200);
    assert!(
        html.contains(r#"data-testid="id-usuario">MPerez<"#),
        "{html}"
    );
    drop(server);
    db.drop_database().await;
}
