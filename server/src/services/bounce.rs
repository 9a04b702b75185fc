//! Bounces. A relay that accepted a message may learn later that it cannot be delivered (no
//! such mailbox, a full one, a refusal by the receiving server) and says so with a delivery
//! status notification (RFC 3464) to the sender's address. The operator routes that mailbox to
//! `server bounce`, which records the failure on the message's outbox row: a temporary
//! password that never arrived is visible (`server outbox list --state bounced`, the
//! `reinicio_outbox_messages{state="bounced"}` gauge), and it is never sent again by itself.

use sea_orm::{
    ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter,
    sea_query::{Expr, ExprTrait, Func},
};

use crate::entities::mail_outbox::{self, State};

/// A permanent delivery failure of one of our messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bounce {
    /// The outbox row, from the `Message-ID` the notice quotes (`mail::Composer` puts it there).
    pub outbox_id: i64,
    /// `Final-Recipient`: must be the row's recipient, or the notice is not about that row.
    pub recipient: String,
    /// The RFC 3463 status, `5.x.y`.
    pub status: String,
    pub diagnostic: Option<String>,
}

/// Why a message given to `server bounce` records nothing. None of these is an error for the
/// mail system: the notice is consumed either way.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Ignored {
    #[error("no es un aviso de no entrega (DSN)")]
    NotANotice,
    #[error("aviso temporal (estado {0}): el relé sigue intentando")]
    Transient(String),
    #[error("el aviso no cita un mensaje de este servicio")]
    NotOurs,
}

/// Reads a delivery status notification. Only a failed action with a `5.x.y` status counts;
/// "delayed" notices (`4.x.y`) are not failures yet.
pub fn parse(raw: &[u8]) -> Result<Bounce, Ignored> {
    let text = String::from_utf8_lossy(raw);
    let lines = unfolded(&text);
    let field = |name: &str| {
        lines
            .iter()
            .find_map(|line| header_value(line, name))
            .map(str::to_owned)
    };
    let status = field("Status").ok_or(Ignored::NotANotice)?;
    let action = field("Action").ok_or(Ignored::NotANotice)?;
    if !action.eq_ignore_ascii_case("failed") || !status.starts_with("5.") {
        return Err(Ignored::Transient(status));
    }
    // "rfc822; persona@example.com"
    let recipient = field("Final-Recipient")
        .or_else(|| field("Original-Recipient"))
        .and_then(|v| {
            v.split_once(';')
                .map(|(_, address)| address.trim().to_owned())
        })
        .ok_or(Ignored::NotANotice)?;
    let outbox_id = lines
        .iter()
        .find_map(|line| our_outbox_id(header_value(line, "Message-ID")?))
        .ok_or(Ignored::NotOurs)?;
    let diagnostic = field("Diagnostic-Code").map(|d| {
        d.split_once(';')
            .map_or(d.clone(), |(_, t)| t.trim().to_owned())
    });
    Ok(Bounce {
        outbox_id,
        recipient,
        status,
        diagnostic,
    })
}

/// The value of `line` when it is the header or status field `name`.
fn header_value<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let (key, value) = line.split_once(':')?;
    key.trim().eq_ignore_ascii_case(name).then(|| value.trim())
}

/// Header lines with their continuation lines joined (RFC 5322 folding).
fn unfolded(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for line in text.lines() {
        match lines.last_mut() {
            Some(last) if line.starts_with([' ', '\t']) && !line.trim().is_empty() => {
                last.push(' ');
                last.push_str(line.trim());
            }
            _ => lines.push(line.to_owned()),
        }
    }
    lines
}

/// The row in `<ROW.RANDOM@domain>`, as `mail::Composer` writes it (32 hex digits of random).
fn our_outbox_id(message_id: &str) -> Option<i64> {
    let inner = message_id.trim().strip_prefix('<')?.strip_suffix('>')?;
    let (local, _domain) = inner.split_once('@')?;
    let (row, random) = local.split_once('.')?;
    (random.len() == 32 && random.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| row.parse().ok())
        .flatten()
}

/// Marks the row bounced, with the notice's status and diagnostic as its error; `false` when
/// no sent message to the notice's recipient has that row (a notice cannot touch a message that
/// is not its own). A database error is returned, so that the mail system keeps the notice and
/// tries again later.
pub async fn record(db: &DatabaseConnection, bounce: &Bounce) -> Result<bool, DbErr> {
    let error = format!(
        "rebote {}: {}",
        bounce.status,
        bounce.diagnostic.as_deref().unwrap_or("sin diagnóstico")
    );
    let updated = mail_outbox::Entity::update_many()
        .col_expr(mail_outbox::Column::State, Expr::value(State::Bounced))
        .col_expr(
            mail_outbox::Column::LastError,
            Expr::value(error.chars().take(500).collect::<String>()),
        )
        .filter(mail_outbox::Column::Id.eq(bounce.outbox_id))
        .filter(mail_outbox::Column::State.eq(State::Sent))
        .filter(
            Expr::expr(Func::lower(Expr::col(mail_outbox::Column::Recipient)))
                .eq(bounce.recipient.to_lowercase()),
        )
        .exec(db)
        .await?;
    if updated.rows_affected == 1 {
        tracing::warn!(outbox = bounce.outbox_id, status = %bounce.status, "correo rebotado");
    }
    Ok(updated.rows_affected == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice(status: &str, action: &str, recipient: &str, message_id: &str) -> String {
        format!(
            "From: MAILER-DAEMON@relay.example\r\nTo: no-responder@aduana.example\r\n\
             Message-ID: <20261130.ABCDEF@relay.example>\r\nSubject: Undelivered Mail\r\n\
             Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"B\"\r\n\r\n\
             --B\r\nContent-Type: text/plain\r\n\r\nNo se pudo entregar.\r\n\
             --B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; relay.example\r\n\r\n\
             Final-Recipient: rfc822; {recipient}\r\nOriginal-Recipient: rfc822;{recipient}\r\n\
             Action: {action}\r\nStatus: {status}\r\n\
             Diagnostic-Code: smtp; 550 5.1.1 <{recipient}>: Recipient address\r\n rejected: User unknown\r\n\r\n\
             --B\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: ECUAPASS <no-responder@aduana.example>\r\n\
             To: {recipient}\r\nMessage-ID:\r\n {message_id}\r\nSubject: ECUAPASS: su clave temporal\r\n\r\n--B--\r\n"
        )
    }

    const ID: &str = "<42.0123456789abcdef0123456789abcdef@aduana.example>";

    #[test]
    fn a_permanent_failure_names_the_row_the_recipient_and_why() {
        let bounce = parse(notice("5.1.1", "failed", "maria@example.com", ID).as_bytes()).unwrap();
        assert_eq!(
            bounce,
            Bounce {
                outbox_id: 42,
                recipient: "maria@example.com".into(),
                status: "5.1.1".into(),
                diagnostic: Some(
                    "550 5.1.1 <maria@example.com>: Recipient address rejected: User unknown"
                        .into()
                ),
            }
        );
    }

    #[test]
    fn delays_other_mail_and_other_senders_messages_are_ignored() {
        let delayed = notice("4.4.1", "delayed", "maria@example.com", ID);
        assert_eq!(
            parse(delayed.as_bytes()),
            Err(Ignored::Transient("4.4.1".into()))
        );
        assert_eq!(
            parse(b"From: alguien@example.com\r\nSubject: hola\r\n\r\nTexto"),
            Err(Ignored::NotANotice)
        );
        for foreign in [
            "<42.corto@aduana.example>",
            "<abc.0123456789abcdef0123456789abcdef@aduana.example>",
            "<0123456789abcdef0123456789abcdef@aduana.example>",
        ] {
            let n = notice("5.1.1", "failed", "maria@example.com", foreign);
            assert_eq!(parse(n.as_bytes()), Err(Ignored::NotOurs), "{foreign}");
        }
    }
}
