//! What async-graphql's validation leaves out, closed in one stage of the
//! pipeline (`pipeline`):
//! its visitor never looks at the directives on a `__typename` field or on
//! a variable definition (so `{ __typename @foo }` ran as if `@foo` were not
//! there); with introspection disabled it still accepts `__schema` and
//! `__type` and answers them null. Here the skipped directives are checked
//! against the schema and introspection fields are refused when it is off,
//! each refusal answering BAD_USER_INPUT (the library's own validation
//! errors get their code in `error_codes`).

use std::collections::HashMap;

use async_graphql::parser::types::{
    Directive, DirectiveLocation, ExecutableDocument, OperationDefinition, Selection, SelectionSet,
    TypeSystemDefinition,
};
use async_graphql::{Pos, Positioned, ServerError};

use crate::error::ErrorCode;

/// The directives the schema declares, read once from its SDL (async-graphql
/// keeps its registry to itself): where each may stand, and its arguments
/// with whether each is required.
#[derive(Debug, Default)]
pub struct KnownDirectives(HashMap<String, KnownDirective>);

#[derive(Debug)]
struct KnownDirective {
    locations: Vec<DirectiveLocation>,
    arguments: Vec<(String, bool)>,
}

impl KnownDirectives {
    /// Those of a schema's SDL (`sdl_of`), which lists the built-in ones too.
    pub fn of(sdl: &str) -> Self {
        let Ok(document) = async_graphql::parser::parse_schema(sdl) else {
            return Self::default();
        };
        let directives = document
            .definitions
            .into_iter()
            .filter_map(|definition| match definition {
                TypeSystemDefinition::Directive(directive) => Some(directive.node),
                _ => None,
            })
            .map(|directive| {
                let arguments = directive
                    .arguments
                    .iter()
                    .map(|argument| {
                        let argument = &argument.node;
                        let required =
                            !argument.ty.node.nullable && argument.default_value.is_none();
                        (argument.name.node.to_string(), required)
                    })
                    .collect();
                let locations = directive
                    .locations
                    .into_iter()
                    .map(|location| location.node)
                    .collect();
                (
                    directive.name.node.to_string(),
                    KnownDirective {
                        locations,
                        arguments,
                    },
                )
            })
            .collect();
        Self(directives)
    }
}

/// A refusal of these checks, with its code.
fn refusal(message: String, pos: Pos) -> ServerError {
    let mut error = ServerError::new(message, Some(pos));
    error
        .extensions
        .get_or_insert_with(Default::default)
        .set("code", ErrorCode::BadUserInput.as_str());
    error
}

/// Errors for what async-graphql's validation does not check.
pub(super) fn skipped_checks(
    directives: &KnownDirectives,
    introspection: bool,
    document: &ExecutableDocument,
) -> Vec<ServerError> {
    let checks = Checks {
        directives,
        introspection_off: !introspection,
    };
    let mut errors = Vec::new();
    for (_, operation) in document.operations.iter() {
        checks.operation(&operation.node, &mut errors);
    }
    for fragment in document.fragments.values() {
        checks.selection_set(&fragment.node.selection_set.node, &mut errors);
    }
    errors
}

struct Checks<'a> {
    directives: &'a KnownDirectives,
    introspection_off: bool,
}

impl Checks<'_> {
    fn operation(&self, operation: &OperationDefinition, errors: &mut Vec<ServerError>) {
        for variable in &operation.variable_definitions {
            for directive in &variable.node.directives {
                self.directive(directive, DirectiveLocation::VariableDefinition, errors);
            }
        }
        self.selection_set(&operation.selection_set.node, errors);
    }

    fn selection_set(&self, selection_set: &SelectionSet, errors: &mut Vec<ServerError>) {
        for item in &selection_set.items {
            match &item.node {
                Selection::Field(field) => {
                    let name = field.node.name.node.as_str();
                    if name == "__typename" {
                        for directive in &field.node.directives {
                            self.directive(directive, DirectiveLocation::Field, errors);
                        }
                    }
                    if self.introspection_off && matches!(name, "__schema" | "__type") {
                        errors.push(refusal(
                            format!("\"{name}\": introspection is switched off on this server"),
                            field.pos,
                        ));
                    }
                    self.selection_set(&field.node.selection_set.node, errors);
                }
                Selection::InlineFragment(fragment) => {
                    self.selection_set(&fragment.node.selection_set.node, errors);
                }
                Selection::FragmentSpread(_) => {}
            }
        }
    }

    /// The directive exists, may stand here, and has exactly the arguments it declares.
    fn directive(
        &self,
        directive: &Positioned<Directive>,
        location: DirectiveLocation,
        errors: &mut Vec<ServerError>,
    ) {
        let name = directive.node.name.node.as_str();
        let Some(known) = self.directives.0.get(name) else {
            errors.push(refusal(
                format!("Unknown directive \"{name}\""),
                directive.pos,
            ));
            return;
        };
        if !known.locations.contains(&location) {
            errors.push(refusal(
                format!(
                    "Directive \"{name}\" may not be used on \"{}\"",
                    location_name(location)
                ),
                directive.pos,
            ));
            return;
        }
        for (argument, _) in &directive.node.arguments {
            if !known
                .arguments
                .iter()
                .any(|(declared, _)| declared == argument.node.as_str())
            {
                errors.push(refusal(
                    format!(
                        "Unknown argument \"{}\" on directive \"{name}\"",
                        argument.node
                    ),
                    argument.pos,
                ));
            }
        }
        for (argument, required) in &known.arguments {
            let given = directive
                .node
                .arguments
                .iter()
                .any(|(given, _)| given.node.as_str() == argument);
            if *required && !given {
                errors.push(refusal(
                    format!("Directive \"{name}\" needs the argument \"{argument}\""),
                    directive.pos,
                ));
            }
        }
    }
}

/// A location as the SDL spells it.
fn location_name(location: DirectiveLocation) -> &'static str {
    match location {
        DirectiveLocation::Field => "FIELD",
        DirectiveLocation::VariableDefinition => "VARIABLE_DEFINITION",
        _ => "another location",
    }
}

#[cfg(test)]
mod tests {
    /// The messages and codes of the errors the schema answers `query` with.
    async fn errors(query: &str) -> Vec<(String, String)> {
        let response = crate::graphql::Pipeline::new(crate::graphql::build_schema(None), None)
            .execute(query.into(), None)
            .await;
        response
            .errors
            .into_iter()
            .map(|error| {
                let code = error
                    .extensions
                    .as_ref()
                    .and_then(|extensions| extensions.get("code"))
                    .map(ToString::to_string)
                    .unwrap_or_default();
                (error.message, code)
            })
            .collect()
    }

    fn refused(message: &str) -> Vec<(String, String)> {
        vec![(message.to_owned(), "\"BAD_USER_INPUT\"".to_owned())]
    }

    #[tokio::test]
    async fn directives_on_typename_and_variables_are_checked() {
        assert_eq!(
            errors("{ __typename @foo }").await,
            refused("Unknown directive \"foo\"")
        );
        assert_eq!(
            errors("query($a: Int @foo) { __typename }").await,
            refused("Unknown directive \"foo\"")
        );
        assert_eq!(
            errors("query($a: Int @skip(if: true)) { __typename }").await,
            refused("Directive \"skip\" may not be used on \"VARIABLE_DEFINITION\"")
        );
        assert_eq!(
            errors("{ ... on Query { __typename @include(if: true, also: 1) } }").await,
            refused("Unknown argument \"also\" on directive \"include\"")
        );
        assert_eq!(
            errors("{ ...F } fragment F on Query { __typename @skip }").await,
            refused("Directive \"skip\" needs the argument \"if\"")
        );
        assert!(
            errors("{ __typename @include(if: true) @skip(if: false) }")
                .await
                .is_empty()
        );
    }

    #[tokio::test]
    async fn the_library_s_own_validation_errors_get_a_code() {
        assert_eq!(
            errors("{ version @foo }").await,
            refused("Unknown directive \"foo\"")
        );
        assert_eq!(
            errors("{ versio }").await,
            refused("Unknown field \"versio\" on type \"Query\".")
        );
    }
}
