//! Sending e-mail, behind one trait so that services do not care where mail goes.
//!
//! The embedded default writes each message as an `.eml` file in a folder (nothing to install,
//! and a person can open what "was sent"); production uses an SMTP relay. Both are lettre's own
//! transports, so the folder is the real message a relay would receive.

use std::{fmt, path::PathBuf};

use lettre::{
    AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    transport::smtp::authentication::Credentials,
};
use url::Url;

mod compose;
pub mod dkim;

pub use compose::{Composer, ecuador_time};

/// Where e-mail goes.
#[derive(Clone, PartialEq, Eq)]
pub enum MailTransport {
    /// Each message written as an `.eml` file in this folder (the embedded default).
    Folder(PathBuf),
    /// An SMTP relay: `smtps://` is TLS from the first byte, `smtp://` upgrades with STARTTLS
    /// (required: a password never crosses the network in clear), `smtp://…?tls=none` only for a
    /// relay on loopback. Credentials go in the URL's user and password.
    Smtp(Url),
}

// Hand-written so that an SMTP password can never reach a log line through `{:?}`.
impl fmt::Debug for MailTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MailTransport::Folder(path) => f.debug_tuple("Folder").field(path).finish(),
            MailTransport::Smtp(url) => f.debug_tuple("Smtp").field(&redact(url)).finish(),
        }
    }
}

/// The URL with its password replaced, for logs.
pub fn redact(url: &Url) -> String {
    let mut shown = url.clone();
    if shown.password().is_some() {
        let _ = shown.set_password(Some("***"));
    }
    shown.to_string()
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("transporte de correo mal configurado: {0}")]
    Config(String),
    #[error("el envío falló: {0}")]
    Send(String),
    /// The relay refused the message for good (an SMTP 5xx): sending it again cannot help.
    #[error("el relé rechazó el mensaje de forma permanente: {0}")]
    Refused(String),
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
                let builder = match smtp_credentials(url) {
                    Some((user, password)) => builder.credentials(Credentials::new(user, password)),
                    None => builder,
                };
                Ok(Self::Smtp(builder.build()))
            }
        }
    }
}

/// The user and password of an SMTP URL, as the relay must receive them. They are written
/// percent-encoded in the URL's user-info (RFC 3986), so they are decoded as such: not as form
/// data, where `+` would become a space and `&` would cut the value.
pub fn smtp_credentials(url: &url::Url) -> Option<(String, String)> {
    if url.username().is_empty() {
        return None;
    }
    let decode = |raw: &str| {
        percent_encoding::percent_decode_str(raw)
            .decode_utf8_lossy()
            .into_owned()
    };
    Some((
        decode(url.username()),
        decode(url.password().unwrap_or_default()),
    ))
}

impl Mailer for LettreMailer {
    async fn send(&self, message: Message) -> Result<(), MailError> {
        match self {
            Self::Folder(t) => t
                .send(message)
                .await
                .map(drop)
                .map_err(|e| MailError::Send(e.to_string())),
            Self::Smtp(t) => t.send(message).await.map(drop).map_err(|e| {
                if e.is_permanent() {
                    MailError::Refused(e.to_string())
                } else {
                    MailError::Send(e.to_string())
                }
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_credentials_are_percent_decoded_not_form_decoded() {
        let url = url::Url::parse(
            "smtps://us%2Ber%26x%25%40a%3Ab%C3%B1:p%2Bw%26d%25%40%3A%C3%B1%20z@smtp.example:465",
        )
        .unwrap();
        assert_eq!(
            smtp_credentials(&url),
            Some(("us+er&x%@a:bñ".to_owned(), "p+w&d%@:ñ z".to_owned()))
        );
        // A literal `+` stays a plus.
        let url = url::Url::parse("smtp://a+b:c+d@relay:587").unwrap();
        assert_eq!(
            smtp_credentials(&url),
            Some(("a+b".to_owned(), "c+d".to_owned()))
        );
        assert_eq!(
            smtp_credentials(&url::Url::parse("smtp://relay:25").unwrap()),
            None
        );
    }
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
        let url = url::Url::parse("smtp://u:p%40ss@relay").unwrap();
        assert_eq!(smtp_credentials(&url).unwrap().1, "p@ss");
    }
}
