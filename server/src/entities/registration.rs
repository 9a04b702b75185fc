//! An approved (or pending, or disabled) *solicitud de uso*.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "registrations")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub usuario_id: String,
    #[sea_orm(unique)]
    pub usuario_id_clave: String,
    pub clasificacion: String,
    pub identificacion: String,
    pub ruc_empresa: Option<String>,
    pub correo: String,
    pub estado: Estado,
    /// Milliseconds since the Unix epoch, like every timestamp of the schema.
    pub created_at: i64,
    pub updated_at: i64,
}

/// The state of a solicitud de uso. Only an approved one may look up its ID, reset its password
/// or sign in; a pending and a disabled one are answered exactly like an unknown identity.
#[derive(Copy, Clone, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum Estado {
    #[sea_orm(string_value = "aprobada")]
    Aprobada,
    #[sea_orm(string_value = "pendiente")]
    Pendiente,
    #[sea_orm(string_value = "deshabilitada")]
    Deshabilitada,
}

impl Estado {
    /// The state as written in the CSV import and stored in the table.
    pub fn parse(code: &str) -> Option<Self> {
        Self::try_from_value(&code.to_owned()).ok()
    }
}

/// The tables whose rows belong to a registration (their foreign keys are in `migration`).
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_one = "super::credential::Entity")]
    Credential,
    #[sea_orm(has_many = "super::mail_outbox::Entity")]
    MailOutbox,
    #[sea_orm(has_many = "super::session::Entity")]
    Session,
}

impl Related<super::credential::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Credential.def()
    }
}

impl Related<super::mail_outbox::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::MailOutbox.def()
    }
}

impl Related<super::session::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Session.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
