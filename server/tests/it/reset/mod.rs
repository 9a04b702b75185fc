//! The services behind the page, called directly with a manual clock: "Buscar ID", the reset
//! request and the outbox, sign-in and password changes, maintenance. On SQLite and (with
//! TEST_POSTGRES_URL) on PostgreSQL: the same test code for both. This module holds the fixture
//! and the helpers; each submodule one area.

mod batching;
mod bounce;
mod claim;
mod delivery;
mod lookup;
mod maintenance;
mod priority;
mod refusal;
mod sign_in;

use std::{sync::Arc, time::Duration};

use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter};
use server::entities::sign_in_failure;
use server::services::sign_in::{self as auth, SignInError};
use server::{
    db,
    entities::{audit_log, credential, mail_outbox, registration},
    mail::MailTransport,
    mail::{Composer, LettreMailer},
    seed,
    services::{
        ManualClock, ServiceError, Services,
        limits::Limits,
        outbox::{self, Settings, Worker},
        password, registry,
    },
};
use validation::{
    BusquedaId, BusquedaIdInput, CambioClaveInput, Ingreso, IngresoInput, ReinicioClave,
    ReinicioClaveInput,
};

use crate::helpers::{self, smtp::SmtpSink};

const START_MS: i64 = 1_796_000_000_000; // 2026-11-29

struct Fixture {
    services: Services,
    clock: Arc<ManualClock>,
    db: DatabaseConnection,
}

async fn fixture(url: &str) -> Fixture {
    let db = db::connect_and_migrate(url).await.unwrap();
    seed::seed_demo(&db, START_MS).await.unwrap();
    let clock = Arc::new(ManualClock::new(START_MS));
    let services = Services {
        db: db.clone(),
        writer: server::services::writer::Writer::start(db.clone(), url).unwrap(),
        clock: clock.clone(),
        outbox_wakeup: Default::default(),
        reset_ttl_minutes: 60,
        // Generous here; the limits have a test of their own.
        limits: Limits {
            lookups_per_hour: 1000,
            resets_per_hour: 1000,
        },
        argon2: server::services::password::Argon2Pool::new(1, 64),
    };
    Fixture {
        services,
        clock,
        db,
    }
}

impl Fixture {
    fn worker(&self, mailer: LettreMailer) -> Arc<Worker<LettreMailer>> {
        Arc::new(self.plain_worker(mailer))
    }

    /// A worker whose fields a test changes before it runs.
    fn plain_worker(&self, mailer: LettreMailer) -> Worker<LettreMailer> {
        Worker {
            db: self.db.clone(),
            mailer,
            clock: self.clock.clone(),
            wakeup: self.services.outbox_wakeup.clone(),
            settings: Settings {
                max_attempts: 3,
                ..Default::default()
            },
            composer: Composer::new(
                "ECUAPASS <no-responder@aduana.example>",
                &"https://reinicio.example/".parse().unwrap(),
                None,
            )
            .unwrap(),
            sending: None,
            requests: None,
        }
    }

    async fn outbox(&self) -> Vec<mail_outbox::Model> {
        mail_outbox::Entity::find().all(&self.db).await.unwrap()
    }

    async fn credential(&self, usuario: &str) -> Option<credential::Model> {
        let r = registration::Entity::find()
            .filter(registration::Column::UsuarioIdClave.eq(usuario))
            .one(&self.db)
            .await
            .unwrap()
            .unwrap();
        credential::Entity::find_by_id(r.id)
            .one(&self.db)
            .await
            .unwrap()
    }
}

fn busqueda(clasificacion: &str, ruc: &str, correo: &str, identificacion: &str) -> BusquedaId {
    BusquedaId::validate(&BusquedaIdInput {
        clasificacion: clasificacion.into(),
        ruc_empresa: ruc.into(),
        correo: correo.into(),
        identificacion: identificacion.into(),
    })
    .unwrap()
}

fn reinicio(usuario: &str, identificacion: &str, correo: &str) -> ReinicioClave {
    ReinicioClave::validate(&ReinicioClaveInput {
        usuario: usuario.into(),
        identificacion: identificacion.into(),
        correo: correo.into(),
    })
    .unwrap()
}

fn folder_mailer(dir: &std::path::Path) -> LettreMailer {
    LettreMailer::from_config(&MailTransport::Folder(dir.to_owned())).unwrap()
}

fn smtp_mailer(addr: std::net::SocketAddr) -> LettreMailer {
    let url = format!("smtp://{addr}?tls=none").parse().unwrap();
    LettreMailer::from_config(&MailTransport::Smtp(url)).unwrap()
}

/// The temporary password inside a raw message, read the way a mail program would.
fn password_in(raw: &[u8]) -> (String, String) {
    let message = mail_parser::MessageParser::default()
        .parse(raw)
        .expect("a parseable e-mail");
    let text = message.body_text(0).expect("a text part").into_owned();
    let html = message.body_html(0).expect("an HTML part").into_owned();
    let secret = text
        .lines()
        .find_map(|l| l.strip_prefix("Su clave temporal es: "))
        .expect("the password line")
        .trim()
        .to_owned();
    assert!(html.contains(&secret));
    assert_eq!(message.subject(), Some("ECUAPASS: su clave temporal"));
    (secret, text)
}

// ---- Signing in with the temporary password, and the forced change ----

fn ingreso(usuario: &str, clave: &str) -> Ingreso {
    Ingreso::validate(&IngresoInput {
        usuario: usuario.into(),
        clave: clave.into(),
    })
    .unwrap()
}

/// Requests a reset for MPerez, the demo account (it queues the e-mail); returns the answer.
async fn request_mperez_reset(f: &Fixture) -> registry::ResetAccepted {
    registry::solicitar_reinicio(
        &f.services,
        &reinicio("mperez", "1710034065", "maria.perez@example.com"),
        None,
    )
    .await
    .unwrap()
}

/// Requests a reset for MPerez and returns the password from the e-mail.
async fn temporal(f: &Fixture, dir: &std::path::Path) -> String {
    request_mperez_reset(f).await;
    let before: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    while f.worker(folder_mailer(dir)).run_once().await.unwrap() > 0 {}
    // Other mail (a change notice) may leave in the same batch: take the reset e-mail.
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !before.contains(p))
        .map(|p| std::fs::read(p).unwrap())
        .find(|raw| String::from_utf8_lossy(raw).contains("su clave temporal"))
        .map(|raw| password_in(&raw).0)
        .expect("a reset e-mail")
}

/// Gives MPerez a password of their own: signs in with a fresh temporary password and replaces
/// it with `clave`. Returns the token of that sign-in's session.
async fn clave_propia(f: &Fixture, dir: &std::path::Path, clave: &str) -> String {
    let secret = temporal(f, dir).await;
    let nueva = auth::attempt(&f.services, &ingreso("mperez", &secret), None)
        .await
        .unwrap();
    let s = auth::session(&f.services, &nueva.token)
        .await
        .unwrap()
        .unwrap();
    auth::change_password(&f.services, &s, &cambio(clave), None, None)
        .await
        .unwrap();
    nueva.token
}

fn cambio(clave: &str) -> CambioClaveInput {
    CambioClaveInput {
        clave: clave.into(),
        confirmacion: clave.into(),
    }
}
