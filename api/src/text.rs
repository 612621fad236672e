//! Text from callers that the databases cannot store.
//!
//! PostgreSQL `text` in UTF-8 refuses exactly one code point: NUL (U+0000),
//! "invalid byte sequence for encoding UTF8: 0x00". Every other `char` is
//! storable, and the lone surrogates PostgreSQL would also refuse cannot be
//! in a Rust `str` at all (JSON `"\ud800"` fails to parse). So NUL is the one
//! code point refused, at the door, before any query: for GraphQL by
//! `graphql::storable`, for REST by `rest::storable`. SQLite would store it,
//! but both backends answer alike.

use crate::error::AppError;

/// NUL found in caller input: where, and the text that held it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nul {
    /// The argument, variable, parameter or body path (`events[2].toOrganizationCode`).
    pub field: String,
    pub text: String,
}

impl From<Nul> for AppError {
    fn from(nul: Nul) -> Self {
        AppError::invalid(nul.field, "must not contain the NUL character (U+0000)")
    }
}

/// Text holding NUL, named `field`.
pub fn nul_in(field: &str, text: &str) -> Option<Nul> {
    text.contains('\0').then(|| Nul {
        field: field.to_owned(),
        text: text.to_owned(),
    })
}

/// The first NUL in a JSON value, named by its path from `field`
/// (`events[2].toOrganizationCode`); keys are checked as well as values.
pub fn first_nul(field: &str, value: &serde_json::Value) -> Option<Nul> {
    use serde_json::Value;
    match value {
        Value::String(text) => nul_in(field, text),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(index, item)| first_nul(&format!("{field}[{index}]"), item)),
        Value::Object(entries) => entries.iter().find_map(|(key, item)| {
            nul_in(field, key).or_else(|| {
                let path = if field.is_empty() {
                    key.clone()
                } else {
                    format!("{field}.{key}")
                };
                first_nul(&path, item)
            })
        }),
        Value::Null | Value::Bool(_) | Value::Number(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::first_nul;

    fn field_of(value: serde_json::Value) -> Option<String> {
        first_nul("", &value).map(|nul| nul.field)
    }

    #[test]
    fn nul_is_found_at_any_depth_and_named_by_its_path() {
        let found = first_nul("code", &json!("SL\u{0}")).expect("found");
        assert_eq!(
            (found.field.as_str(), found.text.as_str()),
            ("code", "SL\u{0}")
        );
        assert_eq!(first_nul("code", &json!("SL.BL")), None);
        assert_eq!(
            field_of(
                json!({ "events": [{ "reason": "OTHER" }, { "toOrganizationCode": "SL.BL.T11\u{0}" }] })
            ),
            Some("events[1].toOrganizationCode".to_owned())
        );
        assert_eq!(
            field_of(json!({ "input": { "a\u{0}": 1 } })),
            Some("input".to_owned())
        );
        // Other control characters are storable; the rules for names refuse them on their own.
        assert_eq!(field_of(json!({ "name": "a\u{1}b\u{7f}" })), None);
    }
}
