//! Memberships: where each member is active and when. Recording an event with
//! its feed sequence, opening and closing memberships, and reading them back
//! (a member's open membership, latest or at an instant, histories, counts and
//! pages of an organization's members). Registration, transfers, updates and
//! dissolutions write through here; lookups and lists read through here.

pub mod party_age;
pub mod read;
pub mod record;
pub mod temporary;
