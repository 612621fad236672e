//! `createOrganization`: checks the caller, the fields and the tree rules,
//! then inserts the organization with its materialized path.

use chrono::{DateTime, Utc};
use entity::enums::{CellType, OrganizationKind, OrganizationStatus};
use entity::organization;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DatabaseTransaction, EntityTrait,
    QueryFilter, Set,
};

use super::history::{self, Changed};
use super::service::{Lookup, allowed_parents, find, may_be_root};
use crate::auth::{Ctx, Permission};
use crate::domain::{Name, OrganizationCode};
use crate::error::AppError;
use crate::unit_of_work::{self, Done, Mutation};

/// Input of `createOrganization`, as the API layers hand it over.
#[derive(Debug, Clone)]
pub struct CreateOrganization {
    pub code: String,
    pub name: String,
    pub kind: OrganizationKind,
    pub cell_type: Option<CellType>,
    pub parent_code: Option<String>,
    pub established_at: Option<DateTime<Utc>>,
}

/// Creates the organization as one unit of work with its audit row.
pub async fn create(
    db: &DatabaseConnection,
    ctx: &Ctx,
    input: CreateOrganization,
) -> Result<organization::Model, AppError> {
    unit_of_work::run(db, ctx, &input).await
}

impl Mutation for CreateOrganization {
    type Output = organization::Model;
    const ACTION: &'static str = "createOrganization";

    fn target(&self) -> String {
        self.code.clone()
    }

    async fn apply(
        &self,
        txn: &DatabaseTransaction,
        ctx: &Ctx,
    ) -> Result<Done<organization::Model>, AppError> {
        let input = self;
        ctx.principal.require(Permission::Organize)?;
        OrganizationCode::parse("code", &input.code)?;
        let name = Name::parse("name", &input.name)?.into_inner();
        match (input.kind, input.cell_type) {
            (OrganizationKind::Cell, None) => {
                return Err(AppError::invalid("cellType", "is required for a CELL"));
            }
            (OrganizationKind::Cell, Some(_)) | (_, None) => {}
            (_, Some(_)) => {
                return Err(AppError::invalid("cellType", "is only allowed for a CELL"));
            }
        }
        let now = crate::clock::now();
        crate::clock::not_in_future("establishedAt", input.established_at, now)?;

        let parent = match &input.parent_code {
            None if may_be_root(input.kind) => {
                if ctx.principal.scope.is_some() {
                    return Err(AppError::Forbidden(
                        "only an unscoped ADMIN may create a root organization".to_owned(),
                    ));
                }
                None
            }
            None => return Err(AppError::invalid("parentCode", "is required for this kind")),
            Some(code) => {
                OrganizationCode::parse("parentCode", code)?;
                let parent = find(txn, ctx, Lookup::Code(code.clone()))
                    .await?
                    .ok_or(AppError::NotFound("parent organization"))?;
                if parent.status != OrganizationStatus::Active {
                    return Err(AppError::invalid(
                        "parentCode",
                        "the parent organization is dissolved",
                    ));
                }
                if !allowed_parents(input.kind).contains(&parent.kind) {
                    return Err(AppError::invalid(
                        "parentCode",
                        format!(
                            "a {:?} cannot be placed under a {:?}",
                            input.kind, parent.kind
                        ),
                    ));
                }
                Some(parent)
            }
        };

        let taken = organization::Entity::find()
            .filter(organization::Column::Code.eq(&input.code))
            .one(txn)
            .await?;
        if taken.is_some() {
            return Err(AppError::Conflict("code: already in use".to_owned()));
        }

        let created = insert(
            txn,
            New {
                code: &input.code,
                name,
                kind: input.kind,
                cell_type: input.cell_type,
                parent: parent.as_deref(),
                established_at: input.established_at,
            },
            now,
        )
        .await?;
        let path = created.path.clone();
        Ok(Done::new(created, path))
    }
}

/// A new organization, its fields and parent already checked.
pub struct New<'a> {
    pub code: &'a str,
    pub name: String,
    pub kind: OrganizationKind,
    pub cell_type: Option<CellType>,
    pub parent: Option<&'a organization::Model>,
    pub established_at: Option<DateTime<Utc>>,
}

/// Inserts a new ACTIVE organization with its materialized path and its
/// first version (from its establishment, else now).
pub async fn insert<C: sea_orm::ConnectionTrait>(
    conn: &C,
    new: New<'_>,
    now: DateTime<Utc>,
) -> Result<organization::Model, AppError> {
    let parent_path = new.parent.map_or("/", |p| p.path.as_str()).to_owned();
    // The path ends with the row's own id, known only after the insert.
    let inserted = organization::ActiveModel {
        code: Set(new.code.to_owned()),
        name: Set(new.name),
        kind: Set(new.kind),
        cell_type: Set(new.cell_type),
        status: Set(OrganizationStatus::Active),
        parent_id: Set(new.parent.map(|p| p.id)),
        path: Set(format!("{parent_path}pending:{}/", new.code)),
        depth: Set(new.parent.map_or(0, |p| p.depth + 1)),
        established_at: Set(new.established_at),
        dissolved_at: Set(None),
        dissolution_decision: Set(None),
        ended_as: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(conn)
    .await?;
    let mut with_path: organization::ActiveModel = inserted.clone().into();
    with_path.path = Set(format!("{parent_path}{}/", inserted.id));
    let created = with_path.update(conn).await?;
    let in_place_since = new.established_at.unwrap_or(now);
    history::record(conn, Changed::Ids(&[created.id]), in_place_since).await?;
    Ok(created)
}
