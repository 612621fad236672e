//! Introduction letters (giấy giới thiệu sinh hoạt đảng): a member's move
//! across committees in steps. The sending side issues a letter (an
//! OFFICIAL one ends the membership: the member is in transit), the
//! receiving side receives it by placing the member in one of its cells,
//! or the sender cancels it and the member returns. Each step is one unit
//! of work with its feed event (phase DEPARTED, ARRIVED or RETURNED) and
//! audit row. While a letter is open both sides see it and the member.

pub mod graphql;
pub mod issue;
pub mod read;
pub mod rest;
pub mod rules;
pub mod steps;
