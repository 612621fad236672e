//! GraphQL for organizations: the `Organization` type, its enums, the
//! `organization` lookup and `createOrganization`. Thin: each resolver calls the service.

use async_graphql::{Context, Enum, ErrorExtensions, ID, InputObject, Object};
use chrono::{DateTime, Utc};
use entity::organization;

use super::service::{self, CreateOrganization, Lookup};
use crate::graphql::{caller, db, parse_id};

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "entity::enums::OrganizationKind")]
pub enum OrganizationKind {
    ProvincialCommittee,
    DistrictCommittee,
    /// Commune, town or agency party committee (Đảng bộ cơ sở).
    GrassrootsCommittee,
    /// Party cell (chi bộ): the only kind that members are active in.
    Cell,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "entity::enums::CellType")]
pub enum CellType {
    /// Village or residential-group cell (chi bộ nơi cư trú).
    Residential,
    /// Commune agency cell (chi bộ cơ quan).
    Agency,
    /// Commune military cell (chi bộ quân sự).
    Military,
    Police,
    School,
    Enterprise,
    Other,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "entity::enums::OrganizationStatus")]
pub enum OrganizationStatus {
    Active,
    Dissolved,
}

/// A committee or a cell of the party tree.
pub struct Organization(pub organization::Model);

impl From<organization::Model> for Organization {
    fn from(model: organization::Model) -> Self {
        Self(model)
    }
}

#[Object]
impl Organization {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// Stable code shared with other agencies' systems, e.g. SL.BL.TT.
    async fn code(&self) -> &str {
        &self.0.code
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    async fn kind(&self) -> OrganizationKind {
        self.0.kind.into()
    }

    /// Set for cells only.
    async fn cell_type(&self) -> Option<CellType> {
        self.0.cell_type.map(Into::into)
    }

    async fn status(&self) -> OrganizationStatus {
        self.0.status.into()
    }

    /// Null at the root, and above the caller's scope.
    async fn parent(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Organization>> {
        let Some(parent_id) = self.0.parent_id else {
            return Ok(None);
        };
        let found = service::find(db(ctx)?, caller(ctx)?, Lookup::Id(parent_id))
            .await
            .map_err(|e| e.extend())?;
        Ok(found.map(Organization))
    }

    /// From the root down to the parent (within the caller's scope).
    async fn ancestors(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Organization>> {
        let found = service::ancestors(db(ctx)?, caller(ctx)?, &self.0)
            .await
            .map_err(|e| e.extend())?;
        Ok(found.into_iter().map(Organization).collect())
    }

    async fn established_at(&self) -> Option<DateTime<Utc>> {
        self.0.established_at
    }

    async fn dissolved_at(&self) -> Option<DateTime<Utc>> {
        self.0.dissolved_at
    }

    async fn dissolution_decision(&self) -> Option<&str> {
        self.0.dissolution_decision.as_deref()
    }
}

#[derive(InputObject)]
pub struct CreateOrganizationInput {
    code: String,
    name: String,
    kind: OrganizationKind,
    cell_type: Option<CellType>,
    parent_code: Option<String>,
    established_at: Option<DateTime<Utc>>,
}

#[derive(Default)]
pub struct OrganizationQuery;

#[Object]
impl OrganizationQuery {
    /// One organization by id or code; null if absent or outside the caller's scope.
    async fn organization(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
        code: Option<String>,
    ) -> async_graphql::Result<Option<Organization>> {
        let lookup = match (id, code) {
            (Some(id), None) => match parse_id(&id) {
                Some(id) => Lookup::Id(id),
                None => return Ok(None),
            },
            (None, Some(code)) => Lookup::Code(code),
            _ => {
                return Err(crate::error::AppError::BadInput(
                    "give exactly one of id or code".to_owned(),
                )
                .extend());
            }
        };
        let found = service::find(db(ctx)?, caller(ctx)?, lookup)
            .await
            .map_err(|e| e.extend())?;
        Ok(found.map(Organization))
    }
}

#[derive(Default)]
pub struct OrganizationMutation;

#[Object]
impl OrganizationMutation {
    /// Creates a committee or a cell under a parent in the caller's scope.
    async fn create_organization(
        &self,
        ctx: &Context<'_>,
        input: CreateOrganizationInput,
    ) -> async_graphql::Result<Organization> {
        let input = CreateOrganization {
            code: input.code,
            name: input.name,
            kind: input.kind.into(),
            cell_type: input.cell_type.map(Into::into),
            parent_code: input.parent_code,
            established_at: input.established_at.map(crate::clock::truncate),
        };
        let created = service::create(db(ctx)?, caller(ctx)?, input)
            .await
            .map_err(|e| e.extend())?;
        Ok(Organization(created))
    }
}
