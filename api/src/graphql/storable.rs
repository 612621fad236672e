//! Text the databases cannot store (`crate::text`), found in a GraphQL
//! request before anything runs: each string in the document (field and
//! directive arguments, variable defaults, at any depth of input objects and
//! lists) and in the request's variables. The pipeline (`pipeline`) refuses
//! such a request as BAD_USER_INPUT, with `extensions.field` naming it as
//! the rules of each input do (`nul_in_input`).

use async_graphql::parser::types::{
    Directive, ExecutableDocument, OperationType, Selection, SelectionSet,
};
use async_graphql::{Positioned, Variables};

use crate::text::{Nul, first_nul};

pub(super) fn nul_in_variables(variables: &Variables) -> Option<Nul> {
    variables
        .iter()
        .find_map(|(name, value)| nul_in_input(name.as_str(), &value.clone().into_json().ok()?))
}

/// NUL in the value of an argument or variable, named as the rules of each
/// input name their fields: inside an input object by the path from its
/// fields (`name`, `transfers[0].toOrganizationCode`), otherwise by the
/// argument or variable (`code`, `inputs[1].decisionRef`).
fn nul_in_input(name: &str, value: &serde_json::Value) -> Option<Nul> {
    let mut nul = if value.is_object() {
        first_nul("", value)?
    } else {
        first_nul(name, value)?
    };
    if nul.field.is_empty() {
        nul.field = name.to_owned();
    }
    Some(nul)
}

pub(super) fn nul_in_document(document: &ExecutableDocument) -> Option<Nul> {
    document
        .operations
        .iter()
        .find_map(|(_, operation)| {
            let operation = &operation.node;
            operation
                .variable_definitions
                .iter()
                .find_map(|definition| {
                    let definition = &definition.node;
                    definition
                        .default_value
                        .as_ref()
                        .and_then(|default| {
                            nul_in_input(
                                definition.name.node.as_str(),
                                &serde_json::to_value(&default.node).ok()?,
                            )
                        })
                        .or_else(|| nul_in_directives(&definition.directives))
                })
                .or_else(|| nul_in_directives(&operation.directives))
                .or_else(|| nul_in_selections(&operation.selection_set.node))
        })
        .or_else(|| {
            document.fragments.values().find_map(|fragment| {
                nul_in_directives(&fragment.node.directives)
                    .or_else(|| nul_in_selections(&fragment.node.selection_set.node))
            })
        })
}

fn nul_in_selections(selection_set: &SelectionSet) -> Option<Nul> {
    selection_set
        .items
        .iter()
        .find_map(|selection| match &selection.node {
            Selection::Field(field) => {
                let field = &field.node;
                nul_in_arguments(&field.arguments)
                    .or_else(|| nul_in_directives(&field.directives))
                    .or_else(|| nul_in_selections(&field.selection_set.node))
            }
            Selection::FragmentSpread(spread) => nul_in_directives(&spread.node.directives),
            Selection::InlineFragment(fragment) => nul_in_directives(&fragment.node.directives)
                .or_else(|| nul_in_selections(&fragment.node.selection_set.node)),
        })
}

fn nul_in_directives(directives: &[Positioned<Directive>]) -> Option<Nul> {
    directives
        .iter()
        .find_map(|directive| nul_in_arguments(&directive.node.arguments))
}

/// Arguments hold values with variables in them (`$code`), serialized as
/// their names, which cannot hold NUL.
fn nul_in_arguments<V: serde::Serialize>(
    arguments: &[(Positioned<async_graphql::Name>, Positioned<V>)],
) -> Option<Nul> {
    arguments.iter().find_map(|(name, value)| {
        nul_in_input(name.node.as_str(), &serde_json::to_value(&value.node).ok()?)
    })
}

/// The mutation fields the request would run: those of the chosen operation
/// (the only one, when none is named) if it is a mutation.
pub(super) fn mutation_fields<'d>(
    document: &'d ExecutableDocument,
    chosen: Option<&str>,
) -> Vec<&'d str> {
    let mut fields = Vec::new();
    if let Some((_, operation)) = super::chosen_operation(document, chosen)
        && operation.node.ty == OperationType::Mutation
    {
        root_fields(document, &operation.node.selection_set.node, &mut fields);
    }
    fields
}

fn root_fields<'d>(
    document: &'d ExecutableDocument,
    selection_set: &'d SelectionSet,
    fields: &mut Vec<&'d str>,
) {
    for selection in &selection_set.items {
        match &selection.node {
            Selection::Field(field) if !field.node.name.node.starts_with("__") => {
                fields.push(field.node.name.node.as_str());
            }
            Selection::Field(_) => {}
            Selection::InlineFragment(fragment) => {
                root_fields(document, &fragment.node.selection_set.node, fields);
            }
            Selection::FragmentSpread(spread) => {
                if let Some(fragment) = document.fragments.get(&spread.node.fragment_name.node) {
                    root_fields(document, &fragment.node.selection_set.node, fields);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::parser::parse_query;
    use async_graphql::{Name, Variables};
    use serde_json::json;

    use super::{mutation_fields, nul_in_document, nul_in_variables};

    fn field_in_document(query: &str) -> Option<String> {
        nul_in_document(&parse_query(query).expect("parses")).map(|nul| nul.field)
    }

    #[test]
    fn nul_is_found_wherever_a_document_holds_text() {
        assert_eq!(
            field_in_document(r#"{ organization(code: "SL\u0000") { code } }"#),
            Some("code".to_owned())
        );
        assert_eq!(
            field_in_document(
                r#"mutation { submitTransfer(input: { externalId: "k", toOrganizationCode: "SL.BL.T11\u0000", reason: OTHER }) { status } }"#
            ),
            Some("toOrganizationCode".to_owned())
        );
        assert_eq!(
            field_in_document(r#"{ organizations(codes: ["SL", "x\u0000"]) { totalCount } }"#),
            Some("codes[1]".to_owned())
        );
        assert_eq!(
            field_in_document(
                r#"query($c: String = "SL\u0000") { organization(code: $c) { code } }"#
            ),
            Some("c".to_owned())
        );
        assert_eq!(
            field_in_document(
                r#"query { ...f } fragment f on Query { member(partyCardNumber: "\u0000") { id } }"#
            ),
            Some("partyCardNumber".to_owned())
        );
        assert_eq!(
            field_in_document(r#"{ organization(code: "SL") { code } }"#),
            None
        );
    }

    #[test]
    fn nul_is_found_in_variables_at_any_depth() {
        let variables = Variables::from_json(
            json!({ "input": { "events": [{ "code": "ok" }, { "code": "x\u{0}" }] } }),
        );
        assert_eq!(
            nul_in_variables(&variables).map(|nul| nul.field),
            Some("events[1].code".to_owned())
        );
        let mut clean = Variables::default();
        clean.insert(Name::new("code"), async_graphql::Value::from("SL"));
        assert_eq!(nul_in_variables(&clean), None);
    }

    #[test]
    fn the_mutation_fields_are_those_of_the_chosen_operation() {
        let document = parse_query("query Q { version } mutation M { a: renameOrganization(code: \"x\", name: \"y\") { code } ...more } fragment more on Mutation { dissolveOrganization(input: {}) { moved } __typename }")
            .expect("parses");
        assert_eq!(
            mutation_fields(&document, Some("M")),
            vec!["renameOrganization", "dissolveOrganization"]
        );
        assert!(mutation_fields(&document, Some("Q")).is_empty());
        assert!(mutation_fields(&document, None).is_empty());
    }
}
