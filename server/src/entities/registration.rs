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
    pub estado: String,
    /// Milliseconds since the Unix epoch, like every timestamp of the schema.
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
