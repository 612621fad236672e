//! Rules and transactions for organizations. Every lookup takes the caller
//! and answers `None` for what lies outside the caller's scope, exactly as
//! for what does not exist.

use chrono::{DateTime, Utc};
use entity::enums::{CellType, OrganizationKind, OrganizationStatus};
use entity::organization;
use std::collections::HashMap;

use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};

use crate::audit::service::audited;
use crate::auth::{Ctx, Permission, Principal, Scope};
use crate::error::AppError;
use crate::page::{Page, PageOf};

/// How a caller names an organization.
#[derive(Debug, Clone)]
pub enum Lookup {
    Id(i64),
    Code(String),
}

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

/// Codes are shared with other agencies' systems: 1–64 of A-Z a-z 0-9 . _ -.
pub fn validate_code(field: &'static str, code: &str) -> Result<(), AppError> {
    let ok = (1..=64).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(AppError::invalid(
            field,
            "must be 1 to 64 of A-Z a-z 0-9 . _ -",
        ))
    }
}

/// A display name: trimmed, 1–255 characters, no control characters.
pub fn validate_name(field: &'static str, name: &str) -> Result<String, AppError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 255 {
        return Err(AppError::invalid(field, "must be 1 to 255 characters"));
    }
    if name.chars().any(char::is_control) {
        return Err(AppError::invalid(
            field,
            "must not contain control characters",
        ));
    }
    Ok(name.to_owned())
}

/// The kind a parent must have for a child of this kind; `None` for kinds
/// that may be roots.
fn allowed_parents(kind: OrganizationKind) -> &'static [OrganizationKind] {
    use OrganizationKind::*;
    match kind {
        ProvincialCommittee => &[],
        DistrictCommittee => &[ProvincialCommittee],
        GrassrootsCommittee => &[DistrictCommittee],
        Cell => &[GrassrootsCommittee, DistrictCommittee],
    }
}

fn may_be_root(kind: OrganizationKind) -> bool {
    matches!(
        kind,
        OrganizationKind::ProvincialCommittee | OrganizationKind::DistrictCommittee
    )
}

pub use crate::tree::{path_ids, subtree_range};

/// The scope named by a token's `org` claim; `None` if no organization has that code.
pub async fn resolve_scope(db: &DatabaseConnection, code: &str) -> Result<Option<Scope>, AppError> {
    let found = organization::Entity::find()
        .filter(organization::Column::Code.eq(code))
        .one(db)
        .await?;
    Ok(found.map(|org| Scope {
        organization_id: org.id,
        code: org.code,
        path: org.path,
    }))
}

fn visible(principal: &Principal, org: Option<organization::Model>) -> Option<organization::Model> {
    org.filter(|org| principal.sees_path(&org.path))
}

/// One organization, if it exists and the caller may see it.
pub async fn find<C: ConnectionTrait>(
    conn: &C,
    ctx: &Ctx,
    lookup: Lookup,
) -> Result<Option<organization::Model>, AppError> {
    let found = match lookup {
        Lookup::Id(id) => organization::Entity::find_by_id(id).one(conn).await?,
        Lookup::Code(code) => {
            organization::Entity::find()
                .filter(organization::Column::Code.eq(code))
                .one(conn)
                .await?
        }
    };
    Ok(visible(&ctx.principal, found))
}

/// `createOrganization`: checks the caller, the fields and the tree rules,
/// then inserts the organization with its materialized path.
pub async fn create(
    db: &DatabaseConnection,
    ctx: &Ctx,
    input: CreateOrganization,
) -> Result<organization::Model, AppError> {
    let target = input.code.clone();
    let caller = ctx.clone();
    audited(db, ctx, "createOrganization", &target, move |txn| {
        let caller = caller.clone();
        let input = input.clone();
        Box::pin(async move {
            let ctx = &caller;
            ctx.principal.require(Permission::Organize)?;
            validate_code("code", &input.code)?;
            let name = validate_name("name", &input.name)?;
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
                    validate_code("parentCode", code)?;
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

            let parent_path = parent.as_ref().map_or("/", |p| p.path.as_str()).to_owned();
            // The path ends with the row's own id, known only after the insert.
            let inserted = organization::ActiveModel {
                code: Set(input.code.clone()),
                name: Set(name),
                kind: Set(input.kind),
                cell_type: Set(input.cell_type),
                status: Set(OrganizationStatus::Active),
                parent_id: Set(parent.as_ref().map(|p| p.id)),
                path: Set(format!("{parent_path}pending:{}/", input.code)),
                depth: Set(parent.as_ref().map_or(0, |p| p.depth + 1)),
                established_at: Set(input.established_at),
                dissolved_at: Set(None),
                dissolution_decision: Set(None),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            }
            .insert(txn)
            .await?;
            let mut with_path: organization::ActiveModel = inserted.clone().into();
            with_path.path = Set(format!("{parent_path}{}/", inserted.id));
            let created = with_path.update(txn).await?;
            let path = created.path.clone();
            Ok((created, path))
        })
    })
    .await
}

/// Re-reads an organization that memberships are about to open in, taking
/// a share lock held to commit (PostgreSQL; SQLite writers are serial), so
/// a dissolution, which locks the cell for update, either waits for this
/// transaction or is seen by it as DISSOLVED. Never an open membership in a
/// dissolved cell.
pub async fn lock_for_new_members<C: ConnectionTrait>(
    conn: &C,
    id: i64,
) -> Result<Option<organization::Model>, AppError> {
    Ok(organization::Entity::find_by_id(id)
        .lock_shared()
        .one(conn)
        .await?)
}

/// `find`, then `lock_for_new_members`: the organization a membership is
/// about to open in, in scope, as it is under the lock.
pub async fn find_for_new_members<C: ConnectionTrait>(
    conn: &C,
    ctx: &Ctx,
    lookup: Lookup,
) -> Result<Option<organization::Model>, AppError> {
    match find(conn, ctx, lookup).await? {
        Some(found) => lock_for_new_members(conn, found.id).await,
        None => Ok(None),
    }
}

/// Whether an organization can take members now.
pub fn is_active_cell(org: &organization::Model) -> bool {
    org.kind == OrganizationKind::Cell && org.status == OrganizationStatus::Active
}

/// `renameOrganization`: a new display name; the code, shared with other
/// systems, never changes.
pub async fn rename(
    db: &DatabaseConnection,
    ctx: &Ctx,
    code: String,
    name: String,
) -> Result<organization::Model, AppError> {
    let caller = ctx.clone();
    audited(db, ctx, "renameOrganization", &code.clone(), move |txn| {
        let caller = caller.clone();
        let code = code.clone();
        let name = name.clone();
        Box::pin(async move {
            let ctx = &caller;
            ctx.principal.require(Permission::Organize)?;
            validate_code("code", &code)?;
            let name = validate_name("name", &name)?;
            let org = find(txn, ctx, Lookup::Code(code))
                .await?
                .ok_or(AppError::NotFound("organization"))?;
            let path = org.path.clone();
            let mut renamed: organization::ActiveModel = org.into();
            renamed.name = Set(name);
            renamed.updated_at = Set(crate::clock::now());
            Ok((renamed.update(txn).await?, path))
        })
    })
    .await
}

/// `moveOrganization`: re-parents an organization with its whole subtree
/// (e.g. a commune committee into the district it merged into). Every path
/// in the subtree is rewritten in one statement, so scopes and subtree
/// queries follow at once.
pub async fn move_to(
    db: &DatabaseConnection,
    ctx: &Ctx,
    code: String,
    new_parent_code: String,
) -> Result<organization::Model, AppError> {
    let target = format!("{code}->{new_parent_code}");
    let caller = ctx.clone();
    audited(db, ctx, "moveOrganization", &target, move |txn| {
        let caller = caller.clone();
        let code = code.clone();
        let new_parent_code = new_parent_code.clone();
        Box::pin(async move {
            let ctx = &caller;
            ctx.principal.require(Permission::Organize)?;
            validate_code("code", &code)?;
            validate_code("newParentCode", &new_parent_code)?;
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
            let old_path = org.path.clone();
            let new_path = format!("{}{}/", parent.path, org.id);
            let depth_change = parent.depth + 1 - org.depth;
            let (from, to) = subtree_range(&old_path);
            // Each path ends with its own row's id, so no rewritten path can
            // collide with another row's, even halfway through the statement.
            let old_prefix_chars = i32::try_from(old_path.len())
                .map_err(|_| AppError::Internal(anyhow::anyhow!("path too long")))?;
            let now = crate::clock::now();
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
                .filter(organization::Column::Path.gte(from))
                .filter(organization::Column::Path.lt(to))
                .exec(txn)
                .await?;
            let mut moved: organization::ActiveModel = find_any(txn, org.id).await?.into();
            moved.parent_id = Set(Some(parent.id));
            let moved = moved.update(txn).await?;
            Ok((moved, new_path))
        })
    })
    .await
}

/// One organization by id, whatever the scope, that must exist.
async fn find_any<C: ConnectionTrait>(conn: &C, id: i64) -> Result<organization::Model, AppError> {
    organization::Entity::find_by_id(id)
        .one(conn)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("organization {id} vanished")))
}

/// Filters of the `organizations` list.
#[derive(Debug, Clone, Default)]
pub struct OrganizationFilter {
    /// Code of the subtree to list (the organization itself included).
    pub within: Option<String>,
    pub kind: Option<OrganizationKind>,
    pub cell_type: Option<CellType>,
    pub status: Option<OrganizationStatus>,
    pub name_contains: Option<String>,
}

/// Where a search may look: `None` when `within` names nothing the caller
/// may see (the answer is then empty); `Some(None)` for everything;
/// `Some(Some(range))` for one subtree of materialized paths.
pub async fn search_range<C: ConnectionTrait>(
    conn: &C,
    ctx: &Ctx,
    within: Option<&str>,
) -> Result<Option<Option<(String, String)>>, AppError> {
    match within {
        Some(code) => Ok(find(conn, ctx, Lookup::Code(code.to_owned()))
            .await?
            .map(|root| Some(subtree_range(&root.path)))),
        None => Ok(Some(
            ctx.principal
                .scope
                .as_ref()
                .map(|scope| subtree_range(&scope.path)),
        )),
    }
}

/// A `nameContains` argument, checked.
pub fn name_filter(field: &'static str, needle: &str) -> Result<String, AppError> {
    if needle.chars().count() > 255 || needle.chars().any(char::is_control) {
        return Err(AppError::invalid(
            field,
            "must be at most 255 characters, without control characters",
        ));
    }
    Ok(crate::page::like_pattern(needle))
}

/// `organizations(...)`: in id order, within the caller's scope.
pub async fn list<C: ConnectionTrait>(
    conn: &C,
    ctx: &Ctx,
    filter: OrganizationFilter,
    page: Page,
) -> Result<PageOf<organization::Model>, AppError> {
    let name = filter
        .name_contains
        .as_deref()
        .map(|n| name_filter("nameContains", n))
        .transpose()?;
    let Some(range) = search_range(conn, ctx, filter.within.as_deref()).await? else {
        return Ok(PageOf::empty());
    };
    let mut query = organization::Entity::find();
    if let Some((from, to)) = range {
        query = query
            .filter(organization::Column::Path.gte(from))
            .filter(organization::Column::Path.lt(to));
    }
    if let Some(kind) = filter.kind {
        query = query.filter(organization::Column::Kind.eq(kind));
    }
    if let Some(cell_type) = filter.cell_type {
        query = query.filter(organization::Column::CellType.eq(cell_type));
    }
    if let Some(status) = filter.status {
        query = query.filter(organization::Column::Status.eq(status));
    }
    if let Some(pattern) = name {
        query = query.filter(
            Expr::expr(Func::lower(Expr::col(organization::Column::Name)))
                .like(LikeExpr::new(pattern).escape('\\')),
        );
    }
    Ok(crate::page::fetch_page(conn, query, organization::Column::Id, page).await?)
}

/// Organizations by id, whatever the scope: for loaders, whose callers check the scope.
pub async fn by_ids<C: ConnectionTrait>(
    conn: &C,
    ids: &[i64],
) -> Result<Vec<organization::Model>, AppError> {
    Ok(organization::Entity::find()
        .filter(organization::Column::Id.is_in(ids.iter().copied()))
        .all(conn)
        .await?)
}

/// The children of several organizations in one query, each list in id order.
pub async fn children_of<C: ConnectionTrait>(
    conn: &C,
    parent_ids: &[i64],
    status: Option<OrganizationStatus>,
) -> Result<HashMap<i64, Vec<organization::Model>>, AppError> {
    let mut query = organization::Entity::find()
        .filter(organization::Column::ParentId.is_in(parent_ids.iter().copied()));
    if let Some(status) = status {
        query = query.filter(organization::Column::Status.eq(status));
    }
    let mut children: HashMap<i64, Vec<organization::Model>> = HashMap::new();
    for child in query
        .order_by_asc(organization::Column::Id)
        .all(conn)
        .await?
    {
        if let Some(parent) = child.parent_id {
            children.entry(parent).or_default().push(child);
        }
    }
    Ok(children)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_follow_the_shared_format() {
        assert!(validate_code("code", "SL.BL_1-a").is_ok());
        for bad in ["", "a b", "SL/BL", "ÂN", &"x".repeat(65)] {
            assert!(validate_code("code", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(validate_name("name", "  Bạch Lưu ").unwrap(), "Bạch Lưu");
        assert!(validate_name("name", "   ").is_err());
        assert!(validate_name("name", "a\u{0}b").is_err());
        assert!(validate_name("name", &"ư".repeat(256)).is_err());
    }

    #[test]
    fn the_tree_rules_allow_only_the_documented_parents() {
        use OrganizationKind::*;
        assert!(allowed_parents(Cell).contains(&GrassrootsCommittee));
        assert!(allowed_parents(Cell).contains(&DistrictCommittee));
        assert!(!allowed_parents(Cell).contains(&Cell));
        assert_eq!(allowed_parents(GrassrootsCommittee), &[DistrictCommittee]);
        assert_eq!(allowed_parents(DistrictCommittee), &[ProvincialCommittee]);
        assert!(may_be_root(DistrictCommittee) && !may_be_root(Cell));
    }

    #[test]
    fn a_subtree_is_a_byte_range() {
        let (from, to) = subtree_range("/1/7/");
        assert_eq!((from.as_str(), to.as_str()), ("/1/7/", "/1/70"));
        for inside in ["/1/7/", "/1/7/42/", "/1/7/9/3/"] {
            assert!(inside >= from.as_str() && inside < to.as_str(), "{inside}");
        }
        for outside in ["/1/70/", "/1/", "/1/8/", "/1/6/", "/1/7"] {
            assert!(
                !(outside >= from.as_str() && outside < to.as_str()),
                "{outside}"
            );
        }
    }

    #[test]
    fn paths_list_ids_root_first() {
        assert_eq!(path_ids("/1/7/42/"), vec![1, 7, 42]);
        assert!(path_ids("/").is_empty());
    }
}
