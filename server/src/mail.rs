//! Sending e-mail, behind one trait so that services do not care where mail goes.
//!
//! The embedded default writes each message as an `.eml` file in a folder (nothing to install,
//! and a person can open what "was sent"); production uses an SMTP relay. Both are lettre's own
//! transports, so the folder is the real message a relay would receive.

use lettre::{
    AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    transport::smtp::authentication::Credentials,
};

use crate::config::MailTransport;

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("transporte de correo mal configurado: {0}")]
    Config(String),
    #[error("el envío falló: {0}")]
    Send(String),
}

/// Delivers one finished message.
pub trait Mailer: Send + Sync {
    fn send(&self, message: Message) -> impl Future<Output = Result<(), MailError>> + Send;
}

/// The transport chosen by configuration.
#[derive(Clone)]
pub enum LettreMailer {
    Folder(AsyncFileTransport<Tokio1Executor>),
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

impl LettreMailer {
    pub fn from_config(transport: &MailTransport) -> Result<Self, MailError> {
        match transport {
            MailTransport::Folder(folder) => {
                std::fs::create_dir_all(folder).map_err(|e| {
                    MailError::Config(format!("no se pudo crear {}: {e}", folder.display()))
                })?;
                Ok(Self::Folder(AsyncFileTransport::new(folder)))
            }
            MailTransport::Smtp(url) => {
                let host = url.host_str().unwrap_or_default().to_owned();
                let plain = url.query_pairs().any(|(k, v)| k == "tls" && v == "none");
                let builder = if url.scheme() == "smtps" {
                    AsyncSmtpTransport::<Tokio1Executor>::relay(&host)
                } else if plain {
                    Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(
                        &host,
                    ))
                } else {
                    AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&host)
                }
                .map_err(|e| MailError::Config(e.to_string()))?;
                let builder = match url.port() {
                    Some(port) => builder.port(port),
                    None => builder,
                };
                let builder = if url.username().is_empty() {
                    builder
                } else {
                    let user = percent_decode(url.username());
                    let password = percent_decode(url.password().unwrap_or_default());
                    builder.credentials(Credentials::new(user, password))
                };
                Ok(Self::Smtp(builder.build()))
            }
        }
    }
}

fn percent_decode(raw: &str) -> String {
    url::form_urlencoded::parse(format!("x={raw}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

impl Mailer for LettreMailer {
    async fn send(&self, message: Message) -> Result<(), MailError> {
        match self {
            Self::Folder(t) => t
                .send(message)
                .await
                .map(drop)
                .map_err(|e| MailError::Send(e.to_string())),
            Self::Smtp(t) => t
                .send(message)
                .await
                .map(drop)
                .map_err(|e| MailError::Send(e.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn message() -> Message {
        Message::builder()
            .from("ECUAPASS <no-responder@localhost>".parse().unwrap())
            .to("persona@example.com".parse().unwrap())
            .subject("Prueba")
            .body(String::from("Hola"))
            .unwrap()
    }

    #[tokio::test]
    async fn the_folder_transport_writes_a_real_message() {
        let dir = tempfile::tempdir().unwrap();
        let mailer =
            LettreMailer::from_config(&MailTransport::Folder(dir.path().join("outbox"))).unwrap();
        mailer.send(message()).await.unwrap();
        let files: Vec<_> = std::fs::read_dir(dir.path().join("outbox"))
            .unwrap()
            .collect();
        assert_eq!(files.len(), 1);
        let text = std::fs::read_to_string(files[0].as_ref().unwrap().path()).unwrap();
        assert!(text.contains("To: persona@example.com") && text.contains("Subject: Prueba"));
    }

    #[tokio::test]
    async fn smtp_urls_build_a_transport() {
        for url in [
            "smtp://relay.example",
            "smtp://user:p%40ss@relay.example:587",
            "smtps://user:pass@relay.example:465",
            "smtp://127.0.0.1:2525?tls=none",
        ] {
            let c = Config::from_lookup(|k| (k == "REINICIO_MAIL_URL").then(|| url.to_owned()))
                .unwrap();
            assert!(
                matches!(
                    LettreMailer::from_config(&c.mail),
                    Ok(LettreMailer::Smtp(_))
                ),
                "{url}"
            );
        }
        assert_eq!(percent_decode("p%40ss"), "p@ss");
    }
}
