//! What async-graphql's validation leaves out, closed in one extension:
//! its visitor never looks at the directives on a `__typename` field or on
//! a variable definition (so `{ __typename @foo }` ran as if `@foo` were not
//! there); with introspection disabled it still accepts `__schema` and
//! `__type` and answers them null; and its validation errors carry no
//! `extensions.code`. Here the skipped directives are checked against the
//! schema, introspection fields are refused when it is off, and every
//! refusal before execution answers BAD_USER_INPUT unless it has a code, as
//! does an argument literal that fails to parse while executing.

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextValidation,
};
use async_graphql::parser::types::{
    Directive, ExecutableDocument, OperationDefinition, Selection, SelectionSet,
};
use async_graphql::registry::{__DirectiveLocation, Registry};
use async_graphql::{
    IntrospectionMode, Pos, Positioned, Response, ServerError, ServerResult, ValidationResult,
    Variables,
};

use crate::error::ErrorCode;

/// The extension; one per schema.
pub struct StrictValidation;

impl ExtensionFactory for StrictValidation {
    fn create(&self) -> std::sync::Arc<dyn Extension> {
        std::sync::Arc::new(StrictValidation)
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for StrictValidation {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        match skipped_checks(&ctx.schema_env.registry, &document)
            .into_iter()
            .next()
        {
            Some(error) => Err(error),
            None => Ok(document),
        }
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        next.run(ctx)
            .await
            .map_err(|errors| errors.into_iter().map(with_bad_user_input_code).collect())
    }

    /// An argument literal its type cannot hold (an `Int` past 32 bits) is
    /// only found while executing, and async-graphql gives it no code.
    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let mut response = next.run(ctx, operation_name).await;
        response.errors = std::mem::take(&mut response.errors)
            .into_iter()
            .map(|error| {
                if error.message.starts_with("Failed to parse \"") {
                    with_bad_user_input_code(error)
                } else {
                    error
                }
            })
            .collect();
        response
    }
}

/// A validation error as callers get it: with a code they can act on.
fn with_bad_user_input_code(mut error: ServerError) -> ServerError {
    let extensions = error.extensions.get_or_insert_with(Default::default);
    if extensions.get("code").is_none() {
        extensions.set("code", ErrorCode::BadUserInput.as_str());
    }
    error
}

fn refusal(message: String, pos: Pos) -> ServerError {
    with_bad_user_input_code(ServerError::new(message, Some(pos)))
}

/// Errors for what async-graphql's validation does not check.
fn skipped_checks(registry: &Registry, document: &ExecutableDocument) -> Vec<ServerError> {
    let mut errors = Vec::new();
    for (_, operation) in document.operations.iter() {
        check_operation(registry, &operation.node, &mut errors);
    }
    for fragment in document.fragments.values() {
        check_selection_set(registry, &fragment.node.selection_set.node, &mut errors);
    }
    errors
}

fn check_operation(
    registry: &Registry,
    operation: &OperationDefinition,
    errors: &mut Vec<ServerError>,
) {
    for variable in &operation.variable_definitions {
        for directive in &variable.node.directives {
            check_directive(
                registry,
                directive,
                __DirectiveLocation::VARIABLE_DEFINITION,
                errors,
            );
        }
    }
    check_selection_set(registry, &operation.selection_set.node, errors);
}

fn check_selection_set(
    registry: &Registry,
    selection_set: &SelectionSet,
    errors: &mut Vec<ServerError>,
) {
    let introspection_off = registry.introspection_mode == IntrospectionMode::Disabled;
    for item in &selection_set.items {
        match &item.node {
            Selection::Field(field) => {
                let name = field.node.name.node.as_str();
                if name == "__typename" {
                    for directive in &field.node.directives {
                        check_directive(registry, directive, __DirectiveLocation::FIELD, errors);
                    }
                }
                if introspection_off && matches!(name, "__schema" | "__type") {
                    errors.push(refusal(
                        format!("\"{name}\": introspection is switched off on this server"),
                        field.pos,
                    ));
                }
                check_selection_set(registry, &field.node.selection_set.node, errors);
            }
            Selection::InlineFragment(fragment) => {
                check_selection_set(registry, &fragment.node.selection_set.node, errors);
            }
            Selection::FragmentSpread(_) => {}
        }
    }
}

/// The directive exists, may stand here, and has exactly the arguments it declares.
fn check_directive(
    registry: &Registry,
    directive: &Positioned<Directive>,
    location: __DirectiveLocation,
    errors: &mut Vec<ServerError>,
) {
    let name = directive.node.name.node.as_str();
    let Some(known) = registry.directives.get(name) else {
        errors.push(refusal(
            format!("Unknown directive \"{name}\""),
            directive.pos,
        ));
        return;
    };
    if !known.locations.contains(&location) {
        errors.push(refusal(
            format!("Directive \"{name}\" may not be used on \"{location:?}\""),
            directive.pos,
        ));
        return;
    }
    for (argument, _) in &directive.node.arguments {
        if !known.args.contains_key(argument.node.as_str()) {
            errors.push(refusal(
                format!(
                    "Unknown argument \"{}\" on directive \"{name}\"",
                    argument.node
                ),
                argument.pos,
            ));
        }
    }
    for (argument, declared) in &known.args {
        let required = declared.ty.ends_with('!') && declared.default_value.is_none();
        let given = directive
            .node
            .arguments
            .iter()
            .any(|(given, _)| given.node.as_str() == argument);
        if required && !given {
            errors.push(refusal(
                format!("Directive \"{name}\" needs the argument \"{argument}\""),
                directive.pos,
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    /// The messages and codes of the errors the schema answers `query` with.
    async fn errors(query: &str) -> Vec<(String, String)> {
        let response = crate::graphql::build_schema(None).execute(query).await;
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
