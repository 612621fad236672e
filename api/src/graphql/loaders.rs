//! DataLoaders: nested objects are fetched in batches, one query per kind
//! of object and level of the query, whatever the page size. One loader set
//! per request, so nothing is cached across callers. The loaders fetch;
//! resolvers still apply the caller's scope to what they return.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::ErrorExtensions;
use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use chrono::{DateTime, Utc};
use entity::enums::{MembershipKind, OrganizationStatus};
use entity::{member, membership, organization, organization_version, transfer_event};
use sea_orm::DatabaseConnection;

use crate::auth::policy::SubtreeThen;
use crate::error::AppError;
use crate::members::lookup as members;
use crate::memberships::read as memberships;
use crate::organizations::as_of;
use crate::organizations::service as organizations;
use crate::page::{Page, PageOf};
use crate::transfers::feed as transfers;

/// The per-request loader set.
pub type Loaders = DataLoader<Batch, HashMapCache>;

/// Loaders for one request: each record is read at most once per request
/// (`forget_all` after a write).
pub fn new_loaders(db: DatabaseConnection) -> Loaders {
    DataLoader::with_cache(Batch { db }, tokio::spawn, HashMapCache::default())
}

/// Loaders for a long-lived subscription: batching, but no cache, so every
/// event is read as the registry is then.
pub fn uncached_loaders(db: DatabaseConnection) -> Loaders {
    let loaders = new_loaders(db);
    loaders.enable_all_cache(false);
    loaders
}

/// Forgets every cached record, after a write in the same request.
pub fn forget_all(loaders: &Loaders) {
    loaders.clear::<OrganizationId>();
    loaders.clear::<MemberId>();
    loaders.clear::<LatestOfficial>();
    loaders.clear::<OpenLetter>();
    loaders.clear::<MembershipsAt>();
    loaders.clear::<History>();
    loaders.clear::<Children>();
    loaders.clear::<MemberCount>();
    loaders.clear::<MembersPage>();
    loaders.clear::<TransfersPage>();
    loaders.clear::<EventId>();
    loaders.clear::<VersionAt>();
    loaders.clear::<ChildrenAt>();
    loaders.clear::<MemberCountThen>();
    loaders.clear::<MembersPageThen>();
    loaders.clear::<Succession>();
}

/// A loader failure as a GraphQL error with its code.
pub fn loader_error(err: Arc<AppError>) -> async_graphql::Error {
    err.as_ref().extend()
}

pub struct Batch {
    db: DatabaseConnection,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OrganizationId(pub i64);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MemberId(pub i64);

/// A member's latest OFFICIAL membership (decides who may see the member).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LatestOfficial(pub i64);

/// A member's open introduction letter (its receiving side sees the member too).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OpenLetter(pub i64);

/// A member's memberships open at an instant, of one kind or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MembershipsAt {
    pub member_id: i64,
    pub as_of: DateTime<Utc>,
    pub kind: Option<MembershipKind>,
}

/// Every membership of a member, oldest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct History(pub i64);

/// How many OFFICIAL memberships are open in an organization at an instant
/// (with `include_descendants`, in its whole subtree).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MemberCount {
    pub organization_id: i64,
    pub as_of: DateTime<Utc>,
    pub include_descendants: bool,
}

/// One page of an organization's memberships (`Organization.members`),
/// with what the query asks along (the total, the members).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MembersPage {
    pub organization: OrganizationId,
    pub filter: memberships::MembershipFilter,
    pub page: Page,
    pub along: memberships::Along,
}

/// One page of a member's transfer events (`Member.transfers`) touching
/// the caller's subtree (a path range; `None` for everything).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TransfersPage {
    pub member: MemberId,
    pub scope: Option<(String, String)>,
    pub page: Page,
}

/// One transfer event by id (what it recorded of its member).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EventId(pub i64);

/// An organization's children, optionally of one status, in id order;
/// with `counted_at`, each child's OFFICIAL memberships open then are
/// counted in the same statement (for `memberCount`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Children {
    pub parent_id: i64,
    pub status: Option<OrganizationStatus>,
    pub counted_at: Option<DateTime<Utc>>,
}

/// An organization's version valid at an instant (absent before it was established).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VersionAt {
    pub organization_id: i64,
    pub at: DateTime<Utc>,
}

/// An organization's children as they stood at an instant, optionally of
/// one status then, each with its current record, in id order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChildrenAt {
    pub parent_id: i64,
    pub at: DateTime<Utc>,
    pub status: Option<OrganizationStatus>,
}

/// OFFICIAL memberships open at the subtree's instant in an organization's
/// subtree as it stood then, kept to the caller's scope.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MemberCountThen {
    pub organization_id: i64,
    pub subtree: SubtreeThen,
}

/// One page of the memberships open at the subtree's instant in an
/// organization's subtree as it stood then, kept to the caller's scope.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MembersPageThen {
    pub organization_id: i64,
    pub subtree: SubtreeThen,
    pub kind: Option<MembershipKind>,
    pub page: Page,
}

/// The organizations one ended into (`predecessors: false`) or those that
/// ended into it (`predecessors: true`), by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Succession {
    pub organization_id: i64,
    pub predecessors: bool,
}

type Loaded<K, V> = Result<HashMap<K, V>, Arc<AppError>>;

/// The ids of a batch's keys, grouped by the rest of each key (an instant,
/// a kind, …), so that each group costs one query.
fn grouped<K, G: std::hash::Hash + Eq>(
    keys: &[K],
    split: impl Fn(&K) -> (G, i64),
) -> HashMap<G, Vec<i64>> {
    let mut groups: HashMap<G, Vec<i64>> = HashMap::new();
    for key in keys {
        let (group, id) = split(key);
        groups.entry(group).or_default().push(id);
    }
    groups
}

impl Loader<OrganizationId> for Batch {
    type Value = organization::Model;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[OrganizationId]) -> Loaded<OrganizationId, organization::Model> {
        let ids: Vec<i64> = keys.iter().map(|k| k.0).collect();
        let found = organizations::by_ids(&self.db, &ids)
            .await
            .map_err(Arc::new)?;
        Ok(found
            .into_iter()
            .map(|org| (OrganizationId(org.id), org))
            .collect())
    }
}

impl Loader<MemberId> for Batch {
    type Value = member::Model;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[MemberId]) -> Loaded<MemberId, member::Model> {
        let ids: Vec<i64> = keys.iter().map(|k| k.0).collect();
        let found = members::by_ids(&self.db, &ids).await.map_err(Arc::new)?;
        Ok(found.into_iter().map(|m| (MemberId(m.id), m)).collect())
    }
}

impl Loader<LatestOfficial> for Batch {
    type Value = membership::Model;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[LatestOfficial]) -> Loaded<LatestOfficial, membership::Model> {
        let ids: Vec<i64> = keys.iter().map(|k| k.0).collect();
        let found = memberships::latest_officials(&self.db, &ids)
            .await
            .map_err(Arc::new)?;
        Ok(found
            .into_iter()
            .map(|(id, m)| (LatestOfficial(id), m))
            .collect())
    }
}

impl Loader<OpenLetter> for Batch {
    type Value = entity::letter::Model;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[OpenLetter]) -> Loaded<OpenLetter, entity::letter::Model> {
        let ids: Vec<i64> = keys.iter().map(|k| k.0).collect();
        let found = memberships::open_letters(&self.db, &ids)
            .await
            .map_err(Arc::new)?;
        Ok(found
            .into_iter()
            .map(|letter| (OpenLetter(letter.member_id), letter))
            .collect())
    }
}

impl Loader<MembershipsAt> for Batch {
    type Value = Vec<membership::Model>;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[MembershipsAt]) -> Loaded<MembershipsAt, Vec<membership::Model>> {
        // One query per distinct (instant, kind): usually one for the whole batch.
        let mut loaded = HashMap::new();
        for ((as_of, kind), ids) in grouped(keys, |k| ((k.as_of, k.kind), k.member_id)) {
            let found = memberships::memberships_at(&self.db, &ids, as_of, kind)
                .await
                .map_err(Arc::new)?;
            for id in ids {
                let rows = found.get(&id).cloned().unwrap_or_default();
                loaded.insert(
                    MembershipsAt {
                        member_id: id,
                        as_of,
                        kind,
                    },
                    rows,
                );
            }
        }
        Ok(loaded)
    }
}

impl Loader<History> for Batch {
    type Value = Vec<membership::Model>;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[History]) -> Loaded<History, Vec<membership::Model>> {
        let ids: Vec<i64> = keys.iter().map(|k| k.0).collect();
        let mut found = memberships::histories(&self.db, &ids)
            .await
            .map_err(Arc::new)?;
        Ok(ids
            .into_iter()
            .map(|id| (History(id), found.remove(&id).unwrap_or_default()))
            .collect())
    }
}

impl Loader<MemberCount> for Batch {
    type Value = u64;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[MemberCount]) -> Loaded<MemberCount, u64> {
        let mut loaded = HashMap::new();
        let groups = grouped(keys, |k| {
            ((k.as_of, k.include_descendants), k.organization_id)
        });
        for ((as_of, include_descendants), ids) in groups {
            let filter = memberships::MembershipFilter {
                as_of,
                include_descendants,
                kind: Some(MembershipKind::Official),
            };
            let counts = memberships::membership_counts(&self.db, &ids, filter)
                .await
                .map_err(Arc::new)?;
            for organization_id in ids {
                let key = MemberCount {
                    organization_id,
                    as_of,
                    include_descendants,
                };
                loaded.insert(key, counts.get(&organization_id).copied().unwrap_or(0));
            }
        }
        Ok(loaded)
    }
}

impl Loader<MembersPage> for Batch {
    type Value = PageOf<memberships::Listed>;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[MembersPage]) -> Loaded<MembersPage, PageOf<memberships::Listed>> {
        let mut loaded = HashMap::new();
        let groups = grouped(keys, |k| ((k.filter, k.page, k.along), k.organization.0));
        for ((filter, page, along), ids) in groups {
            let mut pages = memberships::membership_pages(&self.db, &ids, filter, page, along)
                .await
                .map_err(Arc::new)?;
            for id in ids {
                let found = pages.remove(&id).unwrap_or_else(PageOf::empty);
                let key = MembersPage {
                    organization: OrganizationId(id),
                    filter,
                    page,
                    along,
                };
                loaded.insert(key, found);
            }
        }
        Ok(loaded)
    }
}

impl Loader<TransfersPage> for Batch {
    type Value = PageOf<transfer_event::Model>;
    type Error = Arc<AppError>;

    async fn load(
        &self,
        keys: &[TransfersPage],
    ) -> Loaded<TransfersPage, PageOf<transfer_event::Model>> {
        let mut loaded = HashMap::new();
        for ((scope, page), ids) in grouped(keys, |k| ((k.scope.clone(), k.page), k.member.0)) {
            let mut pages = transfers::of_members(&self.db, &ids, scope.as_ref(), page)
                .await
                .map_err(Arc::new)?;
            for id in ids {
                let found = pages.remove(&id).unwrap_or_else(PageOf::empty);
                loaded.insert(
                    TransfersPage {
                        member: MemberId(id),
                        scope: scope.clone(),
                        page,
                    },
                    found,
                );
            }
        }
        Ok(loaded)
    }
}

impl Loader<EventId> for Batch {
    type Value = transfer_event::Model;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[EventId]) -> Loaded<EventId, transfer_event::Model> {
        let ids: Vec<i64> = keys.iter().map(|k| k.0).collect();
        let found = transfers::by_ids(&self.db, &ids).await.map_err(Arc::new)?;
        Ok(found.into_iter().map(|e| (EventId(e.id), e)).collect())
    }
}

impl Loader<Children> for Batch {
    type Value = Vec<(organization::Model, Option<u64>)>;
    type Error = Arc<AppError>;

    async fn load(
        &self,
        keys: &[Children],
    ) -> Loaded<Children, Vec<(organization::Model, Option<u64>)>> {
        let mut loaded = HashMap::new();
        for ((status, counted_at), parents) in
            grouped(keys, |k| ((k.status, k.counted_at), k.parent_id))
        {
            let mut found: HashMap<i64, Vec<(organization::Model, Option<u64>)>> = match counted_at
            {
                Some(at) => organizations::children_counted(&self.db, &parents, status, at)
                    .await
                    .map_err(Arc::new)?
                    .into_iter()
                    .map(|(parent, children)| {
                        let children = children.into_iter().map(|(c, n)| (c, Some(n)));
                        (parent, children.collect())
                    })
                    .collect(),
                None => organizations::children_of(&self.db, &parents, status)
                    .await
                    .map_err(Arc::new)?
                    .into_iter()
                    .map(|(parent, children)| {
                        (parent, children.into_iter().map(|c| (c, None)).collect())
                    })
                    .collect(),
            };
            for parent_id in parents {
                let key = Children {
                    parent_id,
                    status,
                    counted_at,
                };
                loaded.insert(key, found.remove(&parent_id).unwrap_or_default());
            }
        }
        Ok(loaded)
    }
}

impl Loader<VersionAt> for Batch {
    type Value = organization_version::Model;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[VersionAt]) -> Loaded<VersionAt, organization_version::Model> {
        let mut loaded = HashMap::new();
        for (at, ids) in grouped(keys, |k| (k.at, k.organization_id)) {
            for (id, version) in as_of::versions_at(&self.db, &ids, at)
                .await
                .map_err(Arc::new)?
            {
                loaded.insert(
                    VersionAt {
                        organization_id: id,
                        at,
                    },
                    version,
                );
            }
        }
        Ok(loaded)
    }
}

impl Loader<ChildrenAt> for Batch {
    type Value = Vec<(organization_version::Model, organization::Model)>;
    type Error = Arc<AppError>;

    async fn load(
        &self,
        keys: &[ChildrenAt],
    ) -> Loaded<ChildrenAt, Vec<(organization_version::Model, organization::Model)>> {
        let mut loaded = HashMap::new();
        for ((at, status), parents) in grouped(keys, |k| ((k.at, k.status), k.parent_id)) {
            let mut found = as_of::children_at(&self.db, &parents, at, status)
                .await
                .map_err(Arc::new)?;
            for parent_id in parents {
                let key = ChildrenAt {
                    parent_id,
                    at,
                    status,
                };
                loaded.insert(key, found.remove(&parent_id).unwrap_or_default());
            }
        }
        Ok(loaded)
    }
}

impl Loader<MemberCountThen> for Batch {
    type Value = u64;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[MemberCountThen]) -> Loaded<MemberCountThen, u64> {
        let mut loaded = HashMap::new();
        for (subtree, ids) in grouped(keys, |k| (k.subtree.clone(), k.organization_id)) {
            let counts = as_of::membership_counts_then(
                &self.db,
                &ids,
                &subtree,
                Some(MembershipKind::Official),
            )
            .await
            .map_err(Arc::new)?;
            for organization_id in ids {
                let count = counts.get(&organization_id).copied().unwrap_or(0);
                let key = MemberCountThen {
                    organization_id,
                    subtree: subtree.clone(),
                };
                loaded.insert(key, count);
            }
        }
        Ok(loaded)
    }
}

impl Loader<MembersPageThen> for Batch {
    type Value = PageOf<membership::Model>;
    type Error = Arc<AppError>;

    async fn load(
        &self,
        keys: &[MembersPageThen],
    ) -> Loaded<MembersPageThen, PageOf<membership::Model>> {
        let mut loaded = HashMap::new();
        let groups = grouped(keys, |k| {
            ((k.subtree.clone(), k.kind, k.page), k.organization_id)
        });
        for ((subtree, kind, page), ids) in groups {
            let mut pages = as_of::membership_pages_then(&self.db, &ids, &subtree, kind, page)
                .await
                .map_err(Arc::new)?;
            for organization_id in ids {
                let found = pages.remove(&organization_id).unwrap_or_else(PageOf::empty);
                let key = MembersPageThen {
                    organization_id,
                    subtree: subtree.clone(),
                    kind,
                    page,
                };
                loaded.insert(key, found);
            }
        }
        Ok(loaded)
    }
}

impl Loader<Succession> for Batch {
    type Value = Vec<i64>;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[Succession]) -> Loaded<Succession, Vec<i64>> {
        let mut loaded = HashMap::new();
        for (predecessors, ids) in grouped(keys, |k| (k.predecessors, k.organization_id)) {
            let mut found =
                crate::reorganization::succession::succession_of(&self.db, &ids, predecessors)
                    .await
                    .map_err(Arc::new)?;
            for organization_id in ids {
                let key = Succession {
                    organization_id,
                    predecessors,
                };
                loaded.insert(key, found.remove(&organization_id).unwrap_or_default());
            }
        }
        Ok(loaded)
    }
}
