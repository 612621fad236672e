//! The `/graphql` endpoint: JSON only, size-capped, one operation per request.

use entity::audit_log;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

use crate::helpers::TestApp;

on_both_backends! {
    async fn version_query_answers_the_running_version(app: TestApp) {
        let answer = app.graphql("{ version }", json!({})).await;
        assert_eq!(answer["data"]["version"], env!("CARGO_PKG_VERSION"), "{answer}");
        assert!(answer.get("errors").is_none(), "{answer}");
    }
}

on_both_backends! {
    async fn bodies_that_are_not_json_are_refused_with_415(app: TestApp) {
        for content_type in ["text/plain", "application/x-www-form-urlencoded"] {
            let response = app
                .client()
                .post(app.url("/graphql"))
                .bearer_auth(app.admin_token())
                .header("content-type", content_type)
                .body(r#"{"query":"{ version }"}"#)
                .send()
                .await
                .expect("POST");
            assert_eq!(response.status(), 415, "{content_type}");
            let body: Value = response.json().await.expect("problem JSON");
            assert_eq!(body["code"], "UNSUPPORTED_MEDIA_TYPE");
        }
    }
}

on_both_backends! {
    async fn bodies_over_one_mebibyte_are_refused_with_413(app: TestApp) {
        let padding = "x".repeat(1024 * 1024);
        let response = app
            .client()
            .post(app.url("/graphql"))
            .bearer_auth(app.admin_token())
            .json(&json!({ "query": "{ version }", "variables": { "padding": padding } }))
            .send()
            .await
            .expect("POST");
        assert_eq!(response.status(), 413);
        let body: Value = response.json().await.expect("problem JSON");
        assert_eq!(body["code"], "LIMIT_EXCEEDED");
    }
}

on_both_backends! {
    async fn batched_operations_and_malformed_json_are_refused_with_400(app: TestApp) {
        for body in [r#"[{"query":"{ version }"},{"query":"{ version }"}]"#, r#"{"query": "#, "\u{feff}{}"] {
            let response = app
                .client()
                .post(app.url("/graphql"))
                .bearer_auth(app.admin_token())
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .expect("POST");
            assert_eq!(response.status(), 400, "{body}");
            let problem: Value = response.json().await.expect("problem JSON");
            assert_eq!(problem["code"], "BAD_USER_INPUT");
        }
    }
}

on_both_backends! {
    async fn get_serves_graphiql_and_never_executes(app: TestApp) {
        let response = app.get("/graphql?query=%7B%20version%20%7D").await;
        assert_eq!(response.status(), 200);
        assert!(response.headers()["content-type"].to_str().expect("ascii").starts_with("text/html"));
        let page = response.text().await.expect("text");
        assert!(page.contains("graphiql"), "GraphiQL page");
        assert!(!page.contains(env!("CARGO_PKG_VERSION")), "the query was not executed");
    }
}

on_both_backends! {
    async fn the_schema_is_served_as_sdl(app: TestApp) {
        // Public, like the contract it is: no token, and no audit row written for it.
        let audit_rows = audit_log::Entity::find().count(app.db()).await.expect("count");
        let response = app.get("/graphql/schema.graphql").await;
        assert_eq!(response.status(), 200);
        assert!(response.headers()["content-type"].to_str().expect("ascii").starts_with("text/plain"));
        assert_eq!(response.text().await.expect("text"), api::graphql::sdl());
        let after = audit_log::Entity::find().count(app.db()).await.expect("count");
        assert_eq!(after, audit_rows, "reading the contract is no refused authentication");
    }
}

fn first_error_code(answer: &Value) -> Option<&str> {
    answer["errors"][0]["extensions"]["code"].as_str()
}

on_both_backends! {
    async fn documents_over_the_limits_are_refused_before_running(app: TestApp) {
        // 31 aliases refused, 30 accepted.
        let aliases = |n: usize| format!("{{ {} }}", (0..n).map(|i| format!("a{i}: version")).collect::<Vec<_>>().join(" "));
        let answer = app.graphql(&aliases(31), json!({})).await;
        assert_eq!(first_error_code(&answer), Some("LIMIT_EXCEEDED"), "{answer}");
        assert!(answer["errors"][0]["message"].as_str().unwrap_or("").contains("aliases"), "{answer}");
        let answer = app.graphql(&aliases(30), json!({})).await;
        assert!(answer.get("errors").is_none(), "{answer}");

        // 2,001 fields refused.
        let fields = format!("{{ {} }}", "__typename ".repeat(2_001));
        let answer = app.graphql(&fields, json!({})).await;
        assert_eq!(first_error_code(&answer), Some("LIMIT_EXCEEDED"), "{answer}");

        // Query text over 32 KiB refused.
        let long = format!("{{ version }} #{}", "x".repeat(33 * 1024));
        let answer = app.graphql(&long, json!({})).await;
        assert_eq!(first_error_code(&answer), Some("LIMIT_EXCEEDED"), "{answer}");

        // Deeper than 16 refused.
        let deep = format!("{{ organization(code: \"x\") {{ {}id{} }} }}", "parent { ".repeat(16), " }".repeat(16));
        let answer = app.graphql(&deep, json!({})).await;
        assert!(answer["data"].is_null(), "{answer}");
        assert_eq!(first_error_code(&answer), Some("LIMIT_EXCEEDED"), "{answer}");

        // A row budget beyond 25,000 refused: 500 members × 500 events each.
        let wide = "{ members(first: 500) { edges { node { transfers(first: 500) { edges { node { id } } } } } } }";
        let answer = app.graphql(wide, json!({})).await;
        assert!(answer["data"].is_null(), "{answer}");
        assert_eq!(first_error_code(&answer), Some("LIMIT_EXCEEDED"), "{answer}");

        // Nested past the parser's limit of 32, and more than 5 directives on a field.
        let nested = format!("{{ organization(code: \"x\") {{ {}id{} }} }}", "parent { ".repeat(40), " }".repeat(40));
        let answer = app.graphql(&nested, json!({})).await;
        assert_eq!(first_error_code(&answer), Some("LIMIT_EXCEEDED"), "{answer}");
        let directives = format!("{{ version {} }}", "@include(if: true) ".repeat(6));
        let answer = app.graphql(&directives, json!({})).await;
        assert_eq!(first_error_code(&answer), Some("LIMIT_EXCEEDED"), "{answer}");

        // Fragments spread ten times over nine levels: 10^9 fields in 600 bytes,
        // counted with the fragments expanded and refused (413, as `graphql` checks).
        let mut bomb = String::from("{ ...f0 }");
        for level in 0..9 {
            bomb.push_str(&format!(" fragment f{level} on Query {{{} }}", format!(" ...f{}", level + 1).repeat(10)));
        }
        bomb.push_str(" fragment f9 on Query { version }");
        let answer = app.graphql(&bomb, json!({})).await;
        assert_eq!(first_error_code(&answer), Some("LIMIT_EXCEEDED"), "{answer}");
        assert!(answer["errors"][0]["message"].as_str().unwrap_or("").contains("fields"), "{answer}");
        // And a cycle of fragments, refused before validation looks at it.
        let cycle = "{ ...a } fragment a on Query { ...b } fragment b on Query { ...a }";
        let answer = app.graphql(cycle, json!({})).await;
        assert!(first_error_code(&answer).is_some(), "{answer}");
    }
}

on_both_backends! {
    /// async-graphql's own refusals carry a code like every other error.
    async fn documents_the_library_refuses_carry_a_code(app: TestApp) {
        let members = "query($first: Int) { members(first: $first) { totalCount } }";
        let cases = [
            ("wrongly typed variable", members, json!({ "first": "ten" })),
            ("variable beyond Int", members, json!({ "first": 3_000_000_000_i64 })),
            ("unknown enum value", "query($status: MemberStatus) { members(status: $status) { totalCount } }", json!({ "status": "RETIRED" })),
            ("unparsable text", "{ members(first: 5) { totalCount }", json!({})),
            ("no operation chosen", "query A { version } query B { version }", json!({})),
            ("a subscription over POST", "subscription { transferEvents { sequence } }", json!({})),
        ];
        for (name, query, variables) in cases {
            let answer = app.graphql(query, variables).await;
            assert!(answer["data"].is_null(), "{name}: nothing ran: {answer}");
            let errors = answer["errors"].as_array().expect("errors");
            assert!(!errors.is_empty(), "{name}: {answer}");
            for error in errors {
                assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{name}: {answer}");
            }
        }
        let answer = app.graphql("query($first: Int) { members(first: $first) { totalCount } }", json!({ "first": 5 })).await;
        assert_eq!(answer["data"]["members"]["totalCount"], 0, "the same document well typed runs: {answer}");
    }
}

on_both_backends! {
    async fn the_standard_introspection_query_runs(app: TestApp) {
        let introspection = "query IntrospectionQuery { __schema { queryType { name } mutationType { name } subscriptionType { name }
          types { ...FullType } directives { name description locations args { ...InputValue } } } }
          fragment FullType on __Type { kind name description fields(includeDeprecated: true) { name description args { ...InputValue }
            type { ...TypeRef } isDeprecated deprecationReason } inputFields { ...InputValue } interfaces { ...TypeRef }
            enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason } possibleTypes { ...TypeRef } }
          fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
          fragment TypeRef on __Type { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name
            ofType { kind name ofType { kind name ofType { kind name } } } } } } } }";
        let answer = app.graphql(introspection, json!({})).await;
        assert!(answer.get("errors").is_none(), "{answer}");
        assert_eq!(answer["data"]["__schema"]["queryType"]["name"], "Query");
    }
}

on_both_backends! {
    async fn an_argument_literal_its_type_cannot_hold_is_bad_user_input(app: TestApp) {
        // Found by fuzzing: caught only while executing, and uncoded by async-graphql.
        let answer = app.graphql("{ transferEvents(first: 3000000000) { totalCount } }", json!({})).await;
        assert_eq!(crate::helpers::error_code(&answer), Some("BAD_USER_INPUT"), "{answer}");
    }
}
