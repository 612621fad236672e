//! The registry's validated input values, checked once wherever they come in.

use chrono::{Datelike, NaiveDate};
use entity::enums::MemberStatus;

use crate::error::AppError;

/// Exactly 12 ASCII digits (CCCD).
pub fn validate_national_id(field: &'static str, value: &str) -> Result<(), AppError> {
    if value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(AppError::invalid(field, "must be exactly 12 digits"))
    }
}

/// 4 to 32 of A-Z 0-9 . -, starting with a letter or digit.
pub fn validate_party_card_number(value: &str) -> Result<(), AppError> {
    let ok = (4..=32).contains(&value.len())
        && value
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        && value
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || matches!(b, b'.' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(AppError::invalid(
            "partyCardNumber",
            "must be 4 to 32 of A-Z 0-9 . - starting with a letter or digit",
        ))
    }
}

/// Idempotency keys: 1 to 128 of A-Z a-z 0-9 . _ : -, compared byte for byte.
pub fn validate_external_id(value: &str) -> Result<(), AppError> {
    let ok = (1..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(AppError::invalid(
            "externalId",
            "must be 1 to 128 of A-Z a-z 0-9 . _ : -",
        ))
    }
}

pub fn years_between(from: NaiveDate, to: NaiveDate) -> i32 {
    let mut years = to.year() - from.year();
    if (to.month(), to.day()) < (from.month(), from.day()) {
        years -= 1;
    }
    years
}

/// A decision reference (a transfer's, a dissolution's, a removal's):
/// 1–255 characters, not blank, no control characters.
pub fn validate_decision_ref(field: &'static str, value: &str) -> Result<(), AppError> {
    if value.trim().is_empty() || value.chars().count() > 255 || value.chars().any(char::is_control)
    {
        return Err(AppError::invalid(
            field,
            "must be 1 to 255 characters, without control characters",
        ));
    }
    Ok(())
}

/// REMOVED and DECEASED are final: such a member is moved by nobody and
/// changes status no more.
pub fn has_left_the_party(status: MemberStatus) -> bool {
    matches!(status, MemberStatus::Removed | MemberStatus::Deceased)
}
