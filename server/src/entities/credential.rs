//! An account's password hashes: the current one and at most one pending temporary one.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "credentials")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub registration_id: i64,
    pub password_hash: Option<String>,
    pub temp_hash: Option<String>,
    /// Milliseconds since the Unix epoch.
    pub temp_expires_at: Option<i64>,
    pub temp_used_at: Option<i64>,
    pub updated_at: i64,
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

/// [`save`] for many accounts in one statement; each account at most once.
pub async fn save_many(
    db: &impl sea_orm::ConnectionTrait,
    rows: impl IntoIterator<Item = ActiveModel>,
    columns: &[Column],
) -> Result<(), DbErr> {
    let mut on_conflict = sea_orm::sea_query::OnConflict::column(Column::RegistrationId);
    if columns.is_empty() {
        on_conflict.do_nothing();
    } else {
        on_conflict.update_columns(columns.iter().copied());
    }
    Entity::insert_many(rows)
        .on_conflict(on_conflict)
        .exec_without_returning(db)
        .await
        .map(drop)
}

/// Writes `row` for its account: inserted if the account has no credentials yet, otherwise only
/// `columns` are updated (none: the existing row is left alone).
pub async fn save(
    db: &impl sea_orm::ConnectionTrait,
    row: ActiveModel,
    columns: &[Column],
) -> Result<(), DbErr> {
    save_many(db, [row], columns).await
}
