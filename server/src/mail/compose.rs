//! The messages the service sends: Spanish text and HTML, headers that mark them as automatic,
//! and (when configured) a DKIM signature, so that mailbox providers accept them.

use std::sync::Arc;

use lettre::{
    Message,
    message::{
        Mailbox, MultiPart, SinglePart,
        dkim::DkimConfig,
        header::{ContentType, Header, HeaderName, HeaderValue},
    },
};

use super::{MailError, dkim};

/// `Auto-Submitted: auto-generated` (RFC 3834): no vacation replies or bounces loops to it.
#[derive(Clone)]
struct AutoSubmitted;

impl Header for AutoSubmitted {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Auto-Submitted")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(AutoSubmitted)
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "auto-generated".to_owned())
    }
}

/// Builds the messages the service sends, in Spanish, as plain text and HTML.
#[derive(Clone)]
pub struct Composer {
    pub from: Mailbox,
    /// Where the person signs in; from the configured public base URL, never a request's Host.
    pub sign_in_url: String,
    /// Signs every message when the operator configured a DKIM key.
    signer: Option<Arc<DkimConfig>>,
}

impl Composer {
    pub fn new(
        from: &str,
        public_base_url: &url::Url,
        dkim: Option<&dkim::Settings>,
    ) -> Result<Self, MailError> {
        let from: Mailbox = from
            .parse()
            .map_err(|e| MailError::Config(format!("REINICIO_MAIL_FROM: {e}")))?;
        let sign_in_url = public_base_url
            .join("ingreso")
            .map_err(|e| MailError::Config(e.to_string()))?
            .to_string();
        let signer = match dkim {
            Some(settings) => {
                if !dkim::aligned(from.email.domain(), &settings.domain) {
                    // Legal, but DMARC will not count the signature for the sender's domain.
                    tracing::warn!(
                        from = from.email.domain(),
                        dkim = %settings.domain,
                        "REINICIO_DKIM_DOMAIN no coincide con el dominio de REINICIO_MAIL_FROM: DMARC no aceptará la firma"
                    );
                }
                Some(Arc::new(settings.signing_config()?))
            }
            None => None,
        };
        Ok(Composer {
            from,
            sign_in_url,
            signer,
        })
    }

    /// Plain text and HTML alternatives of one message, from the service's sender, with a
    /// `Message-ID` on the sender's domain (not this machine's host name) that names its outbox
    /// row, so that a bounce can be matched to it (`services::bounce`), and signed.
    fn message(
        &self,
        outbox_id: i64,
        to: &str,
        subject: &str,
        text: String,
        html: String,
    ) -> Result<Message, MailError> {
        let to: Mailbox = to
            .parse()
            .map_err(|e| MailError::Config(format!("destinatario: {e}")))?;
        let mut id = [0u8; 16];
        getrandom::fill(&mut id).map_err(|e| MailError::Config(format!("getrandom: {e}")))?;
        let id = crate::hex(&id);
        let mut message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .message_id(Some(format!(
                "<{outbox_id}.{id}@{}>",
                self.from.email.domain()
            )))
            .header(AutoSubmitted)
            .multipart(
                MultiPart::alternative()
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_PLAIN)
                            .body(text),
                    )
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_HTML)
                            .body(html),
                    ),
            )
            .map_err(|e| MailError::Config(e.to_string()))?;
        if let Some(signer) = &self.signer {
            message.sign(signer);
        }
        Ok(message)
    }

    /// The e-mail that carries a temporary password.
    pub fn reset(
        &self,
        outbox_id: i64,
        to: &str,
        usuario: &str,
        // The temporary password as the person types it (grouped); the caller owns the secret.
        clave: &str,
        expires_at_ms: i64,
    ) -> Result<Message, MailError> {
        let vence = ecuador_time(expires_at_ms);
        let url = &self.sign_in_url;
        let text = format!(
            "Estimado usuario de ECUAPASS:\n\n\
             Recibimos una solicitud de reinicio de clave para el ID usuario {usuario}.\n\n\
             Su clave temporal es: {clave}\n\
             (puede escribirla con o sin los guiones)\n\n\
             Es válida hasta el {vence} (hora de Ecuador) y sirve una sola vez. Al ingresar con \
             ella en {url} el sistema le pedirá elegir una clave nueva.\n\n\
             Su clave anterior sigue funcionando mientras no use esta.\n\n\
             Si usted no solicitó este cambio, ignore este mensaje: nadie puede usar la clave \
             temporal sin acceso a su correo. Si recibe mensajes como este sin haberlos pedido, \
             comuníquese con la mesa de servicios del SENAE.\n\n\
             Servicio Nacional de Aduana del Ecuador\n"
        );
        let html = format!(
            "<!DOCTYPE html><html lang=\"es\"><body style=\"font-family:sans-serif\">\
             <p>Estimado usuario de ECUAPASS:</p>\
             <p>Recibimos una solicitud de reinicio de clave para el ID usuario <strong>{usuario}</strong>.</p>\
             <p>Su clave temporal es:</p>\
             <p style=\"font-size:1.4em;font-family:monospace;letter-spacing:.1em\">{clave}</p>\
             <p>Puede escribirla con o sin los guiones.</p>\
             <p>Es válida hasta el <strong>{vence}</strong> (hora de Ecuador) y sirve una sola vez. \
             Al <a href=\"{url}\">ingresar a ECUAPASS</a> con ella, el sistema le pedirá elegir una clave nueva.</p>\
             <p>Su clave anterior sigue funcionando mientras no use esta.</p>\
             <p>Si usted no solicitó este cambio, ignore este mensaje: nadie puede usar la clave temporal \
             sin acceso a su correo. Si recibe mensajes como este sin haberlos pedido, comuníquese con la \
             mesa de servicios del SENAE.</p>\
             <p>Servicio Nacional de Aduana del Ecuador</p></body></html>",
            usuario = escape_html(usuario),
            url = escape_html(url),
        );
        self.message(outbox_id, to, "ECUAPASS: su clave temporal", text, html)
    }
}

impl Composer {
    /// The notice after a password change. It carries no secret: only when, and what to do if
    /// it was not the account's owner.
    pub fn change_notice(
        &self,
        outbox_id: i64,
        to: &str,
        usuario: &str,
        changed_at_ms: i64,
    ) -> Result<Message, MailError> {
        let cuando = ecuador_time(changed_at_ms);
        let url = &self.sign_in_url;
        let text = format!(
            "Estimado usuario de ECUAPASS:\n\n\
             Su clave de ECUAPASS fue cambiada el {cuando} (hora de Ecuador) para el ID usuario \
             {usuario}.\n\n\
             Si fue usted, no necesita hacer nada más.\n\n\
             Si no fue usted, pida de inmediato una nueva clave temporal en la página de reinicio \
             de clave automática y comuníquese con la mesa de servicios del SENAE: alguien pudo \
             haber accedido a su correo.\n\n\
             Ingreso: {url}\n\n\
             Servicio Nacional de Aduana del Ecuador\n"
        );
        let html = format!(
            "<!DOCTYPE html><html lang=\"es\"><body style=\"font-family:sans-serif\">\
             <p>Estimado usuario de ECUAPASS:</p>\
             <p>Su clave de ECUAPASS fue cambiada el <strong>{cuando}</strong> (hora de Ecuador) para el \
             ID usuario <strong>{usuario}</strong>.</p>\
             <p>Si fue usted, no necesita hacer nada más.</p>\
             <p>Si no fue usted, pida de inmediato una nueva clave temporal en la página de reinicio de \
             clave automática y comuníquese con la mesa de servicios del SENAE: alguien pudo haber \
             accedido a su correo.</p>\
             <p><a href=\"{url}\">Ingresar a ECUAPASS</a></p>\
             <p>Servicio Nacional de Aduana del Ecuador</p></body></html>",
            usuario = escape_html(usuario),
            url = escape_html(url),
        );
        self.message(outbox_id, to, "ECUAPASS: su clave fue cambiada", text, html)
    }
}

/// `dd/mm/aaaa a las HH:MM` in Ecuador's time (America/Guayaquil, from the bundled tz database).
pub fn ecuador_time(ms: i64) -> String {
    let zone = jiff::tz::TimeZone::get("America/Guayaquil").unwrap_or_else(|_| {
        // Ecuador has kept UTC-5 without daylight saving since 1993.
        jiff::tz::TimeZone::fixed(jiff::tz::offset(-5))
    });
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| {
            t.to_zoned(zone)
                .strftime("%d/%m/%Y a las %H:%M")
                .to_string()
        })
        .unwrap_or_default()
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
