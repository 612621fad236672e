//! Reorganizing the tree: `renameOrganization` (a new display name; the code,
//! shared with other systems, never changes) and `moveOrganization` (an
//! organization re-parented with its whole subtree).

use entity::enums::OrganizationStatus;
use entity::organization;
use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DatabaseTransaction, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};

use super::history::{self, Changed};
use super::service::{Lookup, allowed_parents, find, find_any};
use crate::auth::{Ctx, Permission};
use crate::domain::{Name, OrganizationCode};
use crate::error::AppError;
use crate::tree::{path_in, subtree_range};
use crate::unit_of_work::{self, Done, Mutation};

/// A new display name for the organization with this code.
pub struct Rename {
    pub code: String,
    pub name: String,
}

/// `renameOrganization`, as one unit of work with its audit row.
pub async fn rename(
    db: &DatabaseConnection,
    ctx: &Ctx,
    code: String,
    name: String,
) -> Result<organization::Model, AppError> {
    unit_of_work::run(db, ctx, &Rename { code, name }).await
}

impl Mutation for Rename {
    type Output = organization::Model;
    const ACTION: &'static str = "renameOrganization";

    fn target(&self) -> String {
        self.code.clone()
    }

    async fn apply(
        &self,
        txn: &DatabaseTransaction,
        ctx: &Ctx,
    ) -> Result<Done<organization::Model>, AppError> {
        let (code, name) = (self.code.clone(), &self.name);
        ctx.principal.require(Permission::Organize)?;
        OrganizationCode::parse("code", &code)?;
        let name = Name::parse("name", name)?.into_inner();
        let org = find(txn, ctx, Lookup::Code(code))
            .await?
            .ok_or(AppError::NotFound("organization"))?;
        let path = org.path.clone();
        let mut renamed: organization::ActiveModel = org.into_inner().into();
        renamed.name = Set(name);
        let now = crate::clock::now();
        renamed.updated_at = Set(now);
        let renamed = renamed.update(txn).await?;
        history::record(txn, Changed::Ids(&[renamed.id]), now).await?;
        Ok(Done::new(renamed, path))
    }
}

/// The organization with this code, with its whole subtree, under a new parent.
pub struct Move {
    pub code: String,
    pub new_parent_code: String,
}

/// `moveOrganization`: every path in the subtree is rewritten in one
/// statement, so scopes and subtree queries follow at once.
pub async fn move_to(
    db: &DatabaseConnection,
    ctx: &Ctx,
    code: String,
    new_parent_code: String,
) -> Result<organization::Model, AppError> {
    unit_of_work::run(
        db,
        ctx,
        &Move {
            code,
            new_parent_code,
        },
    )
    .await
}

impl Mutation for Move {
    type Output = organization::Model;
    const ACTION: &'static str = "moveOrganization";

    fn target(&self) -> String {
        format!("{}->{}", self.code, self.new_parent_code)
    }

    async fn apply(
        &self,
        txn: &DatabaseTransaction,
        ctx: &Ctx,
    ) -> Result<Done<organization::Model>, AppError> {
        let (code, new_parent_code) = (self.code.clone(), self.new_parent_code.clone());
        ctx.principal.require(Permission::Organize)?;
        OrganizationCode::parse("code", &code)?;
        OrganizationCode::parse("newParentCode", &new_parent_code)?;
        let org = find(txn, ctx, Lookup::Code(code))
            .await?
            .ok_or(AppError::NotFound("organization"))?;
        let parent = find(txn, ctx, Lookup::Code(new_parent_code))
            .await?
            .ok_or(AppError::NotFound("new parent organization"))?;
        // Lock both rows: a concurrent move or dissolution of either waits.
        organization::Entity::find()
            .filter(organization::Column::Id.is_in([org.id, parent.id]))
            .order_by_asc(organization::Column::Id)
            .lock_exclusive()
            .all(txn)
            .await?;
        if org.status != OrganizationStatus::Active {
            return Err(AppError::Conflict(
                "code: the organization is dissolved".to_owned(),
            ));
        }
        if parent.status != OrganizationStatus::Active {
            return Err(AppError::invalid(
                "newParentCode",
                "the new parent is dissolved",
            ));
        }
        if !allowed_parents(org.kind).contains(&parent.kind) {
            return Err(AppError::invalid(
                "newParentCode",
                format!(
                    "a {:?} cannot be placed under a {:?}",
                    org.kind, parent.kind
                ),
            ));
        }
        if parent.path.starts_with(&org.path) {
            return Err(AppError::invalid(
                "newParentCode",
                "an organization cannot move under itself or its own subtree",
            ));
        }
        if org.parent_id == Some(parent.id) {
            return Err(AppError::invalid(
                "newParentCode",
                "the organization is already there",
            ));
        }
        let now = crate::clock::now();
        let moved = reparent(txn, &org, &parent, now, now).await?;
        let new_path = moved.path.clone();
        Ok(Done::new(moved, new_path))
    }
}

/// Re-parents an organization with its whole subtree (the caller checked the
/// tree rules and holds the locks): every path below it is rewritten in one
/// statement, and the subtree's history gets a new version from `at`.
pub async fn reparent<C: sea_orm::ConnectionTrait>(
    txn: &C,
    org: &organization::Model,
    parent: &organization::Model,
    at: chrono::DateTime<chrono::Utc>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<organization::Model, AppError> {
    let old_path = org.path.clone();
    let new_path = format!("{}{}/", parent.path, org.id);
    let depth_change = parent.depth + 1 - org.depth;
    let subtree = subtree_range(&old_path);
    // Each path ends with its own row's id, so no rewritten path can
    // collide with another row's, even halfway through the statement.
    let old_prefix_chars = i32::try_from(old_path.len())
        .map_err(|_| AppError::Internal(anyhow::anyhow!("path too long")))?;
    organization::Entity::update_many()
        .col_expr(
            organization::Column::Path,
            Expr::val(new_path.clone()).binary(
                sea_orm::sea_query::BinOper::Custom("||"),
                Func::cust("SUBSTR")
                    .arg(Expr::col(organization::Column::Path))
                    .arg(old_prefix_chars + 1),
            ),
        )
        .col_expr(
            organization::Column::Depth,
            Expr::col(organization::Column::Depth).add(depth_change),
        )
        .col_expr(organization::Column::UpdatedAt, Expr::value(now))
        .filter(path_in(Expr::col(organization::Column::Path), &subtree))
        .exec(txn)
        .await?;
    let mut moved: organization::ActiveModel = find_any(txn, org.id).await?.into();
    moved.parent_id = Set(Some(parent.id));
    let moved = moved.update(txn).await?;
    history::record(txn, Changed::Subtree(&subtree_range(&new_path)), at).await?;
    Ok(moved)
}
