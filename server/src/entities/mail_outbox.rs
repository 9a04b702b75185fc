//! A message to send: rows are never deleted by sending, so the outbox is also the mail record.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "mail_outbox")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub kind: Kind,
    pub registration_id: i64,
    pub recipient: String,
    pub state: State,
    pub pending_key: Option<String>,
    pub attempts: i32,
    pub next_attempt_at: i64,
    pub locked_until: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub sent_at: Option<i64>,
}

/// Where a message is in its life: queued (due at `next_attempt_at`), being sent by a worker
/// (until `locked_until`), sent, or abandoned after its last attempt; or, once sent, bounced:
/// the receiving side reported later that it could not be delivered (`services::bounce`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum State {
    #[sea_orm(string_value = "queued")]
    Queued,
    #[sea_orm(string_value = "sending")]
    Sending,
    #[sea_orm(string_value = "sent")]
    Sent,
    #[sea_orm(string_value = "abandoned")]
    Abandoned,
    #[sea_orm(string_value = "bounced")]
    Bounced,
}

impl State {
    /// The name the operator's CLI takes and prints (`server outbox list --state queued`).
    pub fn parse(code: &str) -> Option<Self> {
        Self::try_from_value(&code.to_owned()).ok()
    }
}

/// What a message says.
#[derive(Copy, Clone, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum Kind {
    /// The temporary password.
    #[sea_orm(string_value = "reinicio_clave")]
    Reset,
    /// "Su clave de ECUAPASS fue cambiada": no secret in it.
    #[sea_orm(string_value = "change_notice")]
    ChangeNotice,
}

impl Kind {
    /// The key that keeps at most one message of this kind waiting per account (the unique
    /// `pending_key` column): only resets have one, since a second reset request while one waits
    /// is the same request; notices never wait for each other. A revived notice must not take
    /// the reset's key, or it would absorb the account's next reset requests and no temporary
    /// password would be sent.
    pub fn pending_key(self, registration_id: i64) -> Option<String> {
        self.pending_key_prefix()
            .map(|prefix| format!("{prefix}{registration_id}"))
    }

    /// What every pending key of this kind starts with, before the registration's id: for a
    /// query that computes the key from the id (`writer`).
    pub fn pending_key_prefix(self) -> Option<String> {
        match self {
            Kind::Reset => Some(format!("{}:", self.to_value())),
            Kind::ChangeNotice => None,
        }
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::registration::Entity",
        from = "Column::RegistrationId",
        to = "super::registration::Column::Id"
    )]
    Registration,
}

impl Related<super::registration::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Registration.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}

#[cfg(test)]
mod tests {
    use sea_orm::Iterable;

    use super::*;

    /// The values already in the tables: a renamed variant must not change what is stored.
    #[test]
    fn stored_values_stay_as_they_are() {
        let states: Vec<String> = State::iter().map(|s| s.to_value()).collect();
        assert_eq!(
            states,
            ["queued", "sending", "sent", "abandoned", "bounced"]
        );
        assert_eq!(State::parse("abandoned"), Some(State::Abandoned));
        assert_eq!(State::parse("enviado"), None);
        assert_eq!(Kind::Reset.to_value(), "reinicio_clave");
        assert_eq!(Kind::ChangeNotice.to_value(), "change_notice");
        assert_eq!(
            Kind::Reset.pending_key(7).as_deref(),
            Some("reinicio_clave:7")
        );
        assert_eq!(Kind::ChangeNotice.pending_key(7), None);
        assert_eq!(Kind::ChangeNotice.pending_key_prefix(), None);
        let estados: Vec<String> = super::super::registration::Estado::iter()
            .map(|e| e.to_value())
            .collect();
        assert_eq!(estados, ["aprobada", "pendiente", "deshabilitada"]);
    }
}
