//! What hostile probing found, closed: dates outside years 1 to 9999,
//! directives the schema does not know, bodies that are not plain UTF-8
//! JSON, wrong methods, and introspection behind a switch.

use serde_json::{Value, json};

use api::auth::Role;

use crate::helpers::{Fixture, TestApp, TestDatabase, error_code, token_for};

const CREATE_PLAN: &str =
    "mutation($input: CreatePlanInput!) { createPlan(input: $input) { code issuedOn } }";

fn plan(code: &str, issued_on: &str) -> Value {
    json!({ "input": { "code": code, "title": "Đề án", "issuedByCode": "SL", "issuedOn": issued_on,
                       "targetCellTypes": ["AGENCY"] } })
}

on_both_backends! {
    async fn dates_and_instants_outside_years_1_to_9999_are_bad_user_input(app: TestApp) {
        app.seed_district().await;

        // Dates: year 0 and year 10000 refused, year 1 accepted.
        for issued_on in ["0000-01-01", "10000-01-01", "-0001-01-01"] {
            let answer = app.graphql(CREATE_PLAN, plan("P0", issued_on)).await;
            assert_eq!(error_code(&answer), Some("BAD_USER_INPUT"), "{issued_on}: {answer}");
        }
        let inline = app.graphql(r#"mutation { createPlan(input: { code: "P0", title: "t", issuedByCode: "SL", issuedOn: "0000-01-01", targetCellTypes: [AGENCY] }) { code } }"#, json!({})).await;
        assert_eq!(error_code(&inline), Some("BAD_USER_INPUT"), "{inline}");
        let answer = app.graphql(CREATE_PLAN, plan("P1", "0001-01-01")).await;
        assert_eq!(answer["data"]["createPlan"]["issuedOn"], "0001-01-01", "{answer}");
        let answer = app.graphql("{ plans { code } }", json!({})).await;
        assert_eq!(answer["data"]["plans"], json!([{ "code": "P1" }]), "nothing else was stored: {answer}");

        let answer = app
            .graphql(
                "mutation($input: RegisterMemberInput!) { registerMember(input: $input) { id } }",
                json!({ "input": { "nationalId": "001080000009", "fullName": "Trần Thị Bình", "birthDate": "0000-01-01",
                                   "organizationCode": "SL.BL.R1", "externalId": "admission-9" } }),
            )
            .await;
        assert_eq!(error_code(&answer), Some("BAD_USER_INPUT"), "{answer}");

        // Instants: judged by their UTC year, whatever the offset.
        let count = "query($at: DateTime) { organization(code: \"SL\") { memberCount(asOf: $at, includeDescendants: true) } }";
        for at in ["0000-01-01T00:00:00Z", "0001-01-01T00:30:00+01:00", "9999-12-31T23:30:00-01:00", "10000-01-01T00:00:00Z"] {
            let answer = app.graphql(count, json!({ "at": at })).await;
            assert_eq!(error_code(&answer), Some("BAD_USER_INPUT"), "{at}: {answer}");
        }
        let answer = app.graphql(count, json!({ "at": "0001-01-01T00:00:00Z" })).await;
        assert_eq!(answer["data"]["organization"]["memberCount"], 0, "{answer}");
        let answer = app.graphql(count, json!({ "at": "9999-12-31T23:59:59Z" })).await;
        assert_eq!(answer["data"]["organization"]["memberCount"], 2, "{answer}");

        let transfer = "mutation($input: TransferInput!) { submitTransfer(input: $input) { status } }";
        let answer = app
            .graphql(transfer, json!({ "input": { "externalId": "t-0", "memberNationalId": "001080000001",
                                                  "toOrganizationCode": "SL.BL.CQ", "reason": "RELOCATION",
                                                  "effectiveAt": "0000-06-01T00:00:00Z" } }))
            .await;
        assert_eq!(error_code(&answer), Some("BAD_USER_INPUT"), "{answer}");

        // REST: the same rule for query strings and bodies.
        let membership = |at: &str| format!("/api/v1/members/001080000001/membership?asOf={at}");
        let response = rest_get(&app, &membership("0000-01-01T00%3A00%3A00Z")).await;
        assert_eq!(response.status(), 400);
        let problem: Value = response.json().await.expect("problem");
        assert_eq!(problem["code"], "BAD_USER_INPUT");
        assert_eq!(rest_get(&app, &membership("2999-01-01T00%3A00%3A00Z")).await.status(), 200);

        let response = app
            .client()
            .post(app.url("/api/v1/transfer-events"))
            .bearer_auth(app.admin_token())
            .json(&json!({ "events": [{ "externalId": "t-1", "memberNationalId": "001080000001",
                                        "toOrganizationCode": "SL.BL.CQ", "reason": "RELOCATION",
                                        "effectiveAt": "0000-06-01T00:00:00Z" }] }))
            .send()
            .await
            .expect("POST");
        assert_eq!(response.status(), 400);
        let problem: Value = response.json().await.expect("problem");
        assert_eq!(problem["code"], "BAD_USER_INPUT");
        let answer = app.graphql("{ transferEvents(first: 500) { totalCount } }", json!({})).await;
        assert_eq!(answer["data"]["transferEvents"]["totalCount"], 2, "only the two admissions: {answer}");
    }
}

async fn rest_get(app: &TestApp, path: &str) -> reqwest::Response {
    app.client()
        .get(app.url(path))
        .bearer_auth(app.admin_token())
        .send()
        .await
        .expect("GET")
}

on_both_backends! {
    async fn unknown_directives_are_refused_wherever_they_stand(app: TestApp) {
        for query in [
            "{ __typename @foo }",
            "{ version @foo }",
            "query @foo { version }",
            "query($a: Boolean! @foo) { version @include(if: $a) }",
            "{ ...F } fragment F on Query { __typename @foo }",
            "{ __typename @include(if: true, unknown: 1) }",
        ] {
            let answer = app.graphql(query, json!({ "a": true })).await;
            assert!(answer["data"].is_null(), "{query}: nothing ran: {answer}");
            assert_eq!(error_code(&answer), Some("BAD_USER_INPUT"), "{query}: {answer}");
            let message = answer["errors"][0]["message"].as_str().unwrap_or_default().to_lowercase();
            assert!(message.contains("unknown"), "{query}: {answer}");
        }
        let answer = app.graphql("{ __typename @include(if: true) version @skip(if: false) }", json!({})).await;
        assert_eq!(answer["data"]["__typename"], "Query", "{answer}");
        let answer = app.graphql("{ __typename @skip(if: true) version }", json!({})).await;
        assert!(answer["data"].get("__typename").is_none(), "@skip still applies: {answer}");
    }
}

async fn post_with_content_type(
    app: &TestApp,
    path: &str,
    content_type: &str,
    body: &str,
) -> reqwest::Response {
    app.client()
        .post(app.url(path))
        .bearer_auth(app.admin_token())
        .header("content-type", content_type)
        .body(body.to_owned())
        .send()
        .await
        .expect("POST")
}

on_both_backends! {
    async fn only_plain_utf8_json_bodies_are_read(app: TestApp) {
        let graphql = r#"{"query":"{ version }"}"#;
        let events = r#"{"events":[]}"#;
        for content_type in [
            "application/json-patch+json",
            "application/problem+json",
            "application/json; charset=utf-16",
            "application/json; charset=UTF-16LE",
            "text/json",
        ] {
            for (path, body) in [("/graphql", graphql), ("/api/v1/transfer-events", events)] {
                let response = post_with_content_type(&app, path, content_type, body).await;
                assert_eq!(response.status(), 415, "{path} {content_type}");
                let problem: Value = response.json().await.expect("problem JSON");
                assert_eq!(problem["code"], "UNSUPPORTED_MEDIA_TYPE", "{path} {content_type}");
            }
        }
        for content_type in ["application/json", "application/json; charset=utf-8", "Application/JSON; charset=UTF-8"] {
            let response = post_with_content_type(&app, "/graphql", content_type, graphql).await;
            assert_eq!(response.status(), 200, "{content_type}");
            let response = post_with_content_type(&app, "/api/v1/transfer-events", content_type, events).await;
            assert_ne!(response.status(), 415, "{content_type}");
        }
    }
}

on_both_backends! {
    async fn wrong_methods_answer_405_with_allow_and_head_answers_as_get(app: TestApp) {
        use reqwest::Method;
        let cases: [(&str, &str, Method); 9] = [
            ("/healthz", "GET, HEAD", Method::POST),
            ("/readyz", "GET, HEAD", Method::DELETE),
            ("/graphql", "GET, HEAD, POST", Method::PUT),
            ("/graphql/schema.graphql", "GET, HEAD", Method::POST),
            ("/api/v1/openapi.json", "GET, HEAD", Method::PATCH),
            ("/api/v1/transfer-events", "POST", Method::GET),
            ("/api/v1/events", "GET, HEAD", Method::POST),
            ("/api/v1/members/001080000001/membership", "GET, HEAD", Method::DELETE),
            ("/api/v1/organizations/SL/members", "GET, HEAD", Method::PUT),
        ];
        for (path, allow, method) in cases {
            let response = app
                .client()
                .request(method.clone(), app.url(path))
                .bearer_auth(app.admin_token())
                .send()
                .await
                .expect("request");
            assert_eq!(response.status(), 405, "{method} {path}");
            assert_eq!(response.headers()["allow"], allow, "{method} {path}");
            assert_eq!(response.headers()["content-type"], "application/problem+json", "{path}");
            let problem: Value = response.json().await.expect("problem JSON");
            assert_eq!(problem["code"], "METHOD_NOT_ALLOWED", "{path}");
        }

        // Unknown paths stay 404, whatever the method.
        for path in ["/nowhere", "/api/v1/nowhere", "/api/v0/events"] {
            let response = app.client().post(app.url(path)).send().await.expect("POST");
            assert_eq!(response.status(), 404, "{path}");
        }

        // HEAD answers as GET without a body.
        for path in ["/healthz", "/api/v1/openapi.json", "/graphql"] {
            let get = app.client().get(app.url(path)).bearer_auth(app.admin_token()).send().await.expect("GET");
            let head = app.client().head(app.url(path)).bearer_auth(app.admin_token()).send().await.expect("HEAD");
            assert_eq!(head.status(), get.status(), "{path}");
            assert_eq!(head.headers()["content-type"], get.headers()["content-type"], "{path}");
            assert!(head.bytes().await.expect("body").is_empty(), "{path}");
        }
        let head = app.client().head(app.url("/api/v1/events")).send().await.expect("HEAD");
        assert_eq!(head.status(), 401, "HEAD needs the token GET needs");

        // No CORS: a browser on another origin cannot read answers.
        let response = app
            .client()
            .post(app.url("/graphql"))
            .bearer_auth(app.admin_token())
            .header("origin", "https://elsewhere.example")
            .json(&json!({ "query": "{ version }" }))
            .send()
            .await
            .expect("POST");
        assert_eq!(response.status(), 200);
        assert!(response.headers().get("access-control-allow-origin").is_none());
    }
}

const INTROSPECTION: &str = "{ __schema { queryType { name } } }";

on_both_backends! {
    async fn introspection_switched_off_is_refused_for_everyone_without_suggestions(database: TestDatabase) {
        let mut config = database.config();
        config.introspection = false;
        let app = TestApp::spawn(config).await;
        for query in [INTROSPECTION, "{ __type(name: \"Member\") { name } }", "{ organization(code: \"SL\") { __schema { types { name } } } }"] {
            let answer = app.graphql(query, json!({})).await;
            assert!(answer["data"].is_null(), "{query}: {answer}");
            assert_eq!(error_code(&answer), Some("BAD_USER_INPUT"), "{query}: {answer}");
        }
        // Misspelled names get no "Did you mean".
        for query in ["{ membr { id } }", "{ member(id: 1) { nationalid } }", "{ __schem { types { name } } }"] {
            let answer = app.graphql(query, json!({})).await;
            assert_eq!(error_code(&answer), Some("BAD_USER_INPUT"), "{query}: {answer}");
            assert!(!answer.to_string().to_lowercase().contains("did you mean"), "{query}: {answer}");
        }
        let answer = app.graphql("{ __typename version }", json!({})).await;
        assert_eq!(answer["data"]["__typename"], "Query", "__typename is no introspection: {answer}");
        app.tear_down().await;
    }
}

on_both_backends! {
    async fn introspection_is_on_by_default(app: TestApp) {
        let answer = app.graphql(INTROSPECTION, json!({})).await;
        assert_eq!(answer["data"]["__schema"]["queryType"]["name"], "Query", "{answer}");
    }
}

/// The answer to `query` as `token`, and how many SQL statements it took.
async fn answer_and_statements(app: &TestApp, token: &str, query: &str) -> (Value, u64) {
    let before = app.statements();
    let answer = app.graphql_as(token, query, json!({})).await;
    (answer, app.statements() - before)
}

on_both_backends! {
    async fn out_of_scope_members_cost_what_absent_ones_cost(app: TestApp) {
        let seeded = app.seed_district().await;
        // INTEGRATOR may look up by national ID; its scope is SL.BL only.
        let token = token_for(Role::Integrator, Some("SL.BL"));
        let pairs = [
            (format!("{{ member(id: \"{}\") {{ id }} }}", seeded.yt_member), "{ member(id: \"999999\") { id } }".to_owned()),
            ("{ member(nationalId: \"001080000002\") { id } }".to_owned(), "{ member(nationalId: \"001080000099\") { id } }".to_owned()),
        ];
        for (out_of_scope, absent) in pairs {
            // Warm the token's scope the same way for both.
            answer_and_statements(&app, &token, "{ version }").await;
            let (hidden, hidden_statements) = answer_and_statements(&app, &token, &out_of_scope).await;
            let (missing, missing_statements) = answer_and_statements(&app, &token, &absent).await;
            assert_eq!(hidden, missing, "the same answer: {hidden} / {missing}");
            assert!(hidden["data"]["member"].is_null(), "{hidden}");
            assert_eq!(hidden_statements, missing_statements, "the same work: {out_of_scope}");
        }
        // In scope, the same lookup finds the member.
        let (found, _) = answer_and_statements(&app, &token, "{ member(nationalId: \"001080000001\") { id } }").await;
        assert_eq!(found["data"]["member"]["id"], seeded.bl_member, "{found}");
    }
}
