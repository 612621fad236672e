//! GraphQL for a member's party age and next badge (`Member.partyAge`);
//! the rule is `memberships::party_age`'s.

use async_graphql::Object;

use crate::graphql::scalars::Date;

/// Party age (tuổi đảng) on a day.
pub struct PartyAge(pub(super) crate::memberships::party_age::PartyAge);

#[Object]
impl PartyAge {
    async fn years(&self) -> u32 {
        self.0.years
    }

    async fn months(&self) -> u32 {
        self.0.months
    }

    async fn days(&self) -> u32 {
        self.0.days
    }

    /// Days since admission that do not count.
    async fn days_not_counted(&self) -> i64 {
        self.0.days_not_counted
    }

    /// Admission moved later by the days not counted.
    async fn counted_from(&self) -> Date {
        Date(self.0.counted_from)
    }

    /// The next party badge (30, 40, 45, 50, … 90 years) and the day it falls
    /// due if no more time is lost; null past 90.
    async fn next_badge(&self) -> Option<PartyBadge> {
        crate::memberships::party_age::next_badge(&self.0).map(|badge| PartyBadge {
            years: badge.years,
            due_on: Date(badge.due_on),
        })
    }
}

/// A party-badge milestone (Huy hiệu Đảng).
#[derive(async_graphql::SimpleObject)]
pub struct PartyBadge {
    years: u32,
    due_on: Date,
}
