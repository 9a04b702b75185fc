//! One audited event: never a secret, the identification only masked.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_log")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub at: i64,
    pub event: String,
    pub outcome: String,
    pub client_addr: Option<String>,
    pub identificacion: Option<String>,
    pub registration_id: Option<i64>,
    /// The `x-request-id` of the request that caused it (none for the outbox's own events).
    pub request_id: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
