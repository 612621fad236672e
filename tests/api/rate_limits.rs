//! Rate limits: mutating requests per token subject, failed authentications
//! per client address. Past either: 429 with Retry-After, nothing applied.

use api::auth::Role;
use entity::{audit_log, organization, transfer_event};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use crate::helpers::{Fixture, TestApp, TestDatabase, token_for};

const CREATE: &str =
    "mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { code } }";

fn retry_after(response: &reqwest::Response) -> u64 {
    response.headers()["retry-after"]
        .to_str()
        .expect("ASCII")
        .parse()
        .expect("whole seconds")
}

on_both_backends! {
    async fn mutations_past_the_limit_answer_429_and_apply_nothing(database: TestDatabase) {
        let mut config = database.config();
        config.mutations_per_minute = 4;
        let app = TestApp::spawn(config).await;
        app.create_organization("T", "DISTRICT_COMMITTEE", None, None).await;
        app.create_organization("T.C1", "GRASSROOTS_COMMITTEE", None, Some("T")).await;
        app.create_organization("T.C1.K1", "CELL", Some("RESIDENTIAL"), Some("T.C1")).await;
        app.create_organization("T.C1.K2", "CELL", Some("RESIDENTIAL"), Some("T.C1")).await;

        let input = json!({ "code": "T.C1.K3", "name": "Chi bộ 3", "kind": "CELL", "cellType": "RESIDENTIAL", "parentCode": "T.C1" });
        let response = app
            .post_graphql(app.admin_token(), &json!({ "query": CREATE, "variables": { "input": input } }))
            .await;
        assert_eq!(response.status(), 429);
        let wait = retry_after(&response);
        assert!((1..=60).contains(&wait), "Retry-After {wait}");
        let answer: Value = response.json().await.expect("JSON");
        assert_eq!(answer["errors"][0]["extensions"]["code"], "RATE_LIMITED", "{answer}");
        assert_eq!(answer["errors"][0]["extensions"]["retryAfter"], wait);
        assert!(answer["data"].is_null(), "{answer}");
        let found = organization::Entity::find()
            .filter(organization::Column::Code.eq("T.C1.K3"))
            .count(app.db())
            .await
            .expect("count");
        assert_eq!(found, 0, "nothing applied");

        // Reads are not counted.
        let read = app.graphql("{ organization(code: \"T.C1\") { code } }", json!({})).await;
        assert_eq!(read["data"]["organization"]["code"], "T.C1", "{read}");

        // The same subject through REST: refused before anything is read.
        let body = json!({ "events": [{ "externalId": "r1", "memberNationalId": "001080000009",
                                        "toOrganizationCode": "T.C1.K1", "reason": "RELOCATION" }] });
        let response = app
            .client()
            .post(app.url("/api/v1/transfer-events"))
            .bearer_auth(app.admin_token())
            .json(&body)
            .send()
            .await
            .expect("POST");
        assert_eq!(response.status(), 429);
        assert!(retry_after(&response) >= 1);
        assert_eq!(response.headers()["content-type"], "application/problem+json");
        let problem: Value = response.json().await.expect("problem");
        assert_eq!(problem["code"], "RATE_LIMITED", "{problem}");
        assert!(problem["retryAfter"].as_u64().is_some_and(|s| s >= 1), "{problem}");
        assert_eq!(transfer_event::Entity::find().count(app.db()).await.expect("count"), 0);

        // Another subject has a bucket of its own.
        let organizer = token_for(Role::Organizer, Some("T"));
        let answer = app
            .graphql_as(&organizer, CREATE, json!({ "input": input }))
            .await;
        assert_eq!(answer["data"]["createOrganization"]["code"], "T.C1.K3", "{answer}");
        app.tear_down().await;
    }
}

on_both_backends! {
    async fn failed_authentications_past_the_limit_answer_429_without_audit_rows(database: TestDatabase) {
        let mut config = database.config();
        config.auth_failures_per_minute = 2;
        let app = TestApp::spawn(config).await;
        let query = json!({ "query": "{ version }" });
        for _ in 0..2 {
            let response = app.post_graphql("not.a.token", &query).await;
            assert_eq!(response.status(), 401);
        }
        let response = app.post_graphql("not.a.token", &query).await;
        assert_eq!(response.status(), 429);
        assert!(retry_after(&response) >= 1);
        let problem: Value = response.json().await.expect("problem");
        assert_eq!(problem["code"], "RATE_LIMITED", "{problem}");

        // Refusals past the limit write nothing: a flood stays out of the audit log.
        let audited = audit_log::Entity::find()
            .filter(audit_log::Column::Action.eq("authenticate"))
            .count(app.db())
            .await
            .expect("count");
        assert_eq!(audited, 2);

        // A valid token from the same address still gets in.
        let answer = app.graphql("{ version }", json!({})).await;
        assert!(answer["data"]["version"].is_string(), "{answer}");
        app.tear_down().await;
    }
}
