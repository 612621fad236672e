//! The registry's closed sets (`entity::enums` types) as named string enums
//! of the OpenAPI document, their values listed from the Rust enums
//! themselves, so that the document lists exactly what the server takes.

use std::borrow::Cow;

use serde::Serialize;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::{PartialSchema, ToSchema};

/// The values serde writes (and reads) for each variant of a closed set,
/// in declaration order: what the document lists is what the server takes.
pub fn closed_set_values<T: sea_orm::Iterable + Serialize>() -> Vec<serde_json::Value> {
    T::iter()
        .filter_map(|variant| serde_json::to_value(variant).ok())
        .collect()
}

/// A closed set of the registry's (an `entity::enums` type) as a named
/// string enum of the document, its values listed from the Rust enum itself.
macro_rules! closed_set {
    ($name:ident, $rust:ty, $description:literal) => {
        #[doc = $description]
        pub struct $name;

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .description(Some($description))
                    .enum_values(Some(closed_set_values::<$rust>()))
                    .into()
            }
        }

        impl ToSchema for $name {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($name))
            }
        }
    };
}

closed_set!(
    MembershipKind,
    entity::enums::MembershipKind,
    "OFFICIAL: the member's one cell of record; TEMPORARY: activity in another cell beside it."
);
closed_set!(
    TransferReason,
    entity::enums::TransferReason,
    "Why a member moved. A submitted transfer may not use ADMISSION, REMOVAL or DEATH (the registry records those itself: the item is REJECTED with BAD_USER_INPUT); the feed shows every value."
);

closed_set!(
    EventPhase,
    entity::enums::EventPhase,
    "COMPLETED: a move in one step; an introduction letter's steps are DEPARTED (issued: an OFFICIAL letter's member is in transit), then ARRIVED (received) or RETURNED (cancelled)."
);
closed_set!(
    LetterStatus,
    entity::enums::LetterStatus,
    "OPEN until the receiving side places the member (RECEIVED) or the issuer cancels it (CANCELLED)."
);
closed_set!(
    TemporaryPurpose,
    entity::enums::TemporaryPurpose,
    "What temporary activity is for: WORK or RESIDENCE (at most 1 year by default), STUDY (at most 2)."
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_sets_list_what_serde_reads() {
        let reasons = closed_set_values::<entity::enums::TransferReason>();
        assert_eq!(reasons.len(), 8);
        for value in reasons {
            let read: entity::enums::TransferReason =
                serde_json::from_value(value.clone()).expect("the server reads what it lists");
            assert_eq!(serde_json::to_value(read).ok(), Some(value));
        }
        assert_eq!(
            closed_set_values::<entity::enums::MembershipKind>(),
            vec![
                serde_json::json!("OFFICIAL"),
                serde_json::json!("TEMPORARY")
            ]
        );
    }
}
