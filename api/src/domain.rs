//! The registry's input values, each a small type whose `parse` holds its
//! rule, so a value is checked the same way wherever it comes in, and the
//! few rules about members that every area applies.

use chrono::{Datelike, NaiveDate};
use entity::enums::MemberStatus;

use crate::error::AppError;

/// Declares a checked text value: `parse` applies the rule, naming the
/// field at fault; the value then reads as `&str`.
macro_rules! text_value {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_inner(self) -> String {
                self.0
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;

            fn deref(&self) -> &str {
                &self.0
            }
        }
    };
}

text_value! {
    /// A citizen ID (CCCD): exactly 12 ASCII digits.
    NationalId
}

impl NationalId {
    pub fn parse(field: &'static str, raw: &str) -> Result<Self, AppError> {
        if raw.len() == 12 && raw.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(AppError::invalid(field, "must be exactly 12 digits"))
        }
    }
}

text_value! {
    /// A party card number: 4 to 32 of A-Z 0-9 . -, starting with a letter or digit.
    PartyCardNumber
}

impl PartyCardNumber {
    pub fn parse(field: &'static str, raw: &str) -> Result<Self, AppError> {
        let ok = (4..=32).contains(&raw.len())
            && raw
                .bytes()
                .next()
                .is_some_and(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
            && raw
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || matches!(b, b'.' | b'-'));
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(AppError::invalid(
                field,
                "must be 4 to 32 of A-Z 0-9 . - starting with a letter or digit",
            ))
        }
    }
}

text_value! {
    /// An organization code, shared with other agencies' systems: 1 to 64 of
    /// A-Z a-z 0-9 . _ -.
    OrganizationCode
}

impl OrganizationCode {
    pub fn parse(field: &'static str, raw: &str) -> Result<Self, AppError> {
        let ok = (1..=64).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(AppError::invalid(
                field,
                "must be 1 to 64 of A-Z a-z 0-9 . _ -",
            ))
        }
    }
}

text_value! {
    /// A display name (an organization's, a member's, a plan's title):
    /// trimmed, 1 to 255 characters, no control characters.
    Name
}

impl Name {
    pub fn parse(field: &'static str, raw: &str) -> Result<Self, AppError> {
        let name = raw.trim();
        if name.is_empty() || name.chars().count() > 255 {
            return Err(AppError::invalid(field, "must be 1 to 255 characters"));
        }
        if name.chars().any(char::is_control) {
            return Err(AppError::invalid(
                field,
                "must not contain control characters",
            ));
        }
        Ok(Self(name.to_owned()))
    }
}

text_value! {
    /// An idempotency key: 1 to 128 of A-Z a-z 0-9 . _ : -, compared byte for
    /// byte. `/` never appears in one, so the registry's own keys
    /// (`dissolution/…`, `status/…`) cannot collide with a caller's.
    ExternalId
}

impl ExternalId {
    pub fn parse(field: &'static str, raw: &str) -> Result<Self, AppError> {
        let ok = (1..=128).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'));
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(AppError::invalid(
                field,
                "must be 1 to 128 of A-Z a-z 0-9 . _ : -",
            ))
        }
    }
}

text_value! {
    /// A decision reference (a transfer's, a dissolution's, a removal's):
    /// 1 to 255 characters, not blank, no control characters.
    DecisionRef
}

impl DecisionRef {
    pub fn parse(field: &'static str, raw: &str) -> Result<Self, AppError> {
        if raw.trim().is_empty() || raw.chars().count() > 255 || raw.chars().any(char::is_control) {
            return Err(AppError::invalid(
                field,
                "must be 1 to 255 characters, without control characters",
            ));
        }
        Ok(Self(raw.to_owned()))
    }
}

/// Whole years from one date to another (birthdays counted exactly).
pub fn years_between(from: NaiveDate, to: NaiveDate) -> i32 {
    let mut years = to.year() - from.year();
    if (to.month(), to.day()) < (from.month(), from.day()) {
        years -= 1;
    }
    years
}

/// REMOVED and DECEASED are final: such a member is moved by nobody and
/// changes status no more.
pub fn has_left_the_party(status: MemberStatus) -> bool {
    matches!(status, MemberStatus::Removed | MemberStatus::Deceased)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(err: AppError) -> String {
        match err {
            AppError::Invalid { field, .. } => field.to_string(),
            other => panic!("expected a field error, got {other:?}"),
        }
    }

    #[test]
    fn each_value_refuses_what_its_rule_refuses_and_names_the_field() {
        assert!(NationalId::parse("nationalId", "001080000001").is_ok());
        for bad in [
            "00108000000",
            "0010800000012",
            "00108000000a",
            "０１２３４５６７８９０１",
        ] {
            let err = NationalId::parse("nationalId", bad).expect_err(bad);
            assert_eq!(field_of(err), "nationalId");
        }
        assert!(PartyCardNumber::parse("partyCardNumber", "93.001234").is_ok());
        assert!(PartyCardNumber::parse("partyCardNumber", ".9300").is_err());
        assert!(PartyCardNumber::parse("partyCardNumber", "ab12").is_err());
        assert!(OrganizationCode::parse("code", "SL.BL-1_2").is_ok());
        assert!(OrganizationCode::parse("code", "SL BL").is_err());
        assert!(OrganizationCode::parse("code", &"A".repeat(65)).is_err());
        assert_eq!(
            Name::parse("name", "  Bạch Lưu ").expect("ok").as_str(),
            "Bạch Lưu"
        );
        assert!(Name::parse("name", "   ").is_err());
        assert!(Name::parse("name", "a\u{7}b").is_err());
        assert!(ExternalId::parse("externalId", "bl:2015:0007").is_ok());
        assert!(ExternalId::parse("externalId", "dissolution/1").is_err());
        assert!(DecisionRef::parse("decisionRef", "QĐ-04/BL").is_ok());
        assert!(DecisionRef::parse("decisionRef", " ").is_err());
    }

    #[test]
    fn eighteen_years_counts_birthdays() {
        let birth = NaiveDate::from_ymd_opt(1992, 5, 1).expect("date");
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).expect("date");
        assert_eq!(years_between(birth, day(2010, 4, 30)), 17);
        assert_eq!(years_between(birth, day(2010, 5, 1)), 18);
    }
}
