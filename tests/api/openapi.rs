//! The OpenAPI document says what the server does: each route declares
//! exactly the statuses of `DECLARED` (every error one as a problem under
//! `application/problem+json`), the closed sets are enums holding the
//! values the server takes, ranges are bounds, and the statuses named
//! are really answered.

use api::auth::Role;
use serde_json::{Value, json};

use crate::helpers::{TestApp, token_for};

/// Each operation and the statuses it can answer: the one place they are listed.
const DECLARED: [(&str, &str, &[u16]); 8] = [
    (
        "post",
        "/api/v1/transfer-events",
        &[200, 400, 401, 413, 415, 429, 500, 503],
    ),
    ("get", "/api/v1/events", &[200, 400, 401, 429, 500, 503]),
    (
        "get",
        "/api/v1/members/{nationalId}/membership",
        &[200, 400, 401, 403, 404, 429, 500, 503],
    ),
    (
        "get",
        "/api/v1/organizations/{code}/members",
        &[200, 400, 401, 404, 429, 500, 503],
    ),
    (
        "post",
        "/api/v1/letters",
        &[200, 201, 400, 401, 403, 404, 409, 413, 415, 429, 500, 503],
    ),
    ("get", "/api/v1/letters", &[200, 400, 401, 429, 500, 503]),
    (
        "post",
        "/api/v1/letters/{id}/receipt",
        &[200, 400, 401, 403, 404, 409, 413, 415, 429, 500, 503],
    ),
    (
        "post",
        "/api/v1/letters/{id}/cancellation",
        &[200, 400, 401, 403, 404, 409, 413, 415, 429, 500, 503],
    ),
];

async fn document(app: &TestApp) -> Value {
    app.get("/api/v1/openapi.json")
        .await
        .json()
        .await
        .expect("JSON")
}

fn enum_of<'a>(document: &'a Value, schema: &str) -> Vec<&'a str> {
    document["components"]["schemas"][schema]["enum"]
        .as_array()
        .unwrap_or_else(|| panic!("{schema} is an enum"))
        .iter()
        .map(|value| value.as_str().expect("string"))
        .collect()
}

on_both_backends! {
    async fn every_route_declares_the_statuses_it_answers(app: TestApp) {
        let document = document(&app).await;
        let mut operations = 0;
        for (path, item) in document["paths"].as_object().expect("paths") {
            for (method, operation) in item.as_object().expect("operations") {
                operations += 1;
                let (_, _, expected) = DECLARED
                    .iter()
                    .find(|(m, p, _)| *m == method && p == path)
                    .unwrap_or_else(|| panic!("{method} {path} is in DECLARED"));
                let responses = operation["responses"].as_object().expect("responses");
                let declared: Vec<u16> = responses.keys().map(|status| status.parse().expect("numeric status")).collect();
                assert_eq!(&declared, expected, "{method} {path}");
                for (status, response) in responses {
                    let content = response["content"].as_object().expect("content");
                    if status.starts_with('2') {
                        assert!(content.contains_key("application/json"), "{method} {path} {status}");
                    } else {
                        assert_eq!(content.keys().collect::<Vec<_>>(), ["application/problem+json"], "{method} {path} {status}");
                        assert_eq!(content["application/problem+json"]["schema"]["$ref"], "#/components/schemas/Problem");
                    }
                }
            }
        }
        assert_eq!(operations, DECLARED.len(), "no operation left out");

        // Closed sets: the values the server reads and writes.
        assert_eq!(enum_of(&document, "TransferReason"), ["ADMISSION", "RELOCATION", "REASSIGNMENT", "DISSOLUTION", "RETURN", "OTHER", "REMOVAL", "DEATH"]);
        assert_eq!(enum_of(&document, "MembershipKind"), ["OFFICIAL", "TEMPORARY"]);
        assert_eq!(enum_of(&document, "ItemStatus"), ["APPLIED", "DUPLICATE", "REJECTED"]);
        let codes = enum_of(&document, "ErrorCode");
        for code in ["BAD_USER_INPUT", "NOT_FOUND", "CONFLICT", "FORBIDDEN", "LIMIT_EXCEEDED", "UNAVAILABLE"] {
            assert!(codes.contains(&code), "{code} in {codes:?}");
        }
        assert_eq!(document["components"]["schemas"]["ItemError"]["properties"]["code"]["$ref"], "#/components/schemas/ErrorCode");
        let input = &document["components"]["schemas"]["TransferEventInput"]["properties"];
        assert_eq!(input["reason"]["$ref"], "#/components/schemas/TransferReason");
        let feed = &document["paths"]["/api/v1/events"]["get"]["parameters"];
        let limit = feed.as_array().expect("parameters").iter().find(|p| p["name"] == "limit").expect("limit");
        assert_eq!((limit["schema"]["minimum"].as_i64(), limit["schema"]["maximum"].as_i64()), (Some(1), Some(500)));
        let events = &document["components"]["schemas"]["TransferBatch"]["properties"]["events"];
        assert_eq!((events["minItems"].as_i64(), events["maxItems"].as_i64()), (Some(1), Some(500)));
    }
}

on_both_backends! {
    async fn the_declared_error_statuses_are_answered(app: TestApp) {
        let seeded = app.seed_district().await;
        let admin = app.admin_token().to_owned();
        let reader = token_for(Role::Reader, Some("SL"));
        let expect = |response: reqwest::Response, status: u16, what: &'static str| async move {
            assert_eq!(response.status(), status, "{what}");
            assert_eq!(response.headers()["content-type"], "application/problem+json", "{what}");
            let problem: Value = response.json().await.expect("problem");
            assert_eq!(problem["status"], status, "{what}: {problem}");
            problem
        };
        for (method, path, _) in DECLARED {
            let path = path.replace("{nationalId}", "001080000001").replace("{code}", "SL.BL.R1").replace("{id}", "1");
            // A body of the route's shape, so the refusal is the missing token's.
            let body = if path.ends_with("/transfer-events") {
                json!({"events": []})
            } else if path.ends_with("/letters") {
                json!({"externalId": "x", "memberId": 1, "toOrganizationCode": "SL", "number": "1", "reason": "RELOCATION"})
            } else if path.ends_with("/receipt") {
                json!({"cellCode": "SL.BL.R1"})
            } else {
                json!({})
            };
            let request = if method == "post" { app.client().post(app.url(&path)).json(&body) } else { app.client().get(app.url(&path)) };
            expect(request.send().await.expect("request"), 401, "no token").await;
        }
        let limit = expect(app.get_as(&admin, "/api/v1/events?limit=abc").await, 400, "limit=abc").await;
        assert_eq!(limit["field"], "limit", "{limit}");
        let limit = expect(app.get_as(&admin, "/api/v1/organizations/SL.BL.R1/members?limit=0").await, 400, "limit=0").await;
        assert_eq!(limit["field"], "limit", "{limit}");
        expect(app.get_as(&reader, "/api/v1/members/001080000001/membership").await, 403, "READER").await;
        expect(app.get_as(&admin, "/api/v1/members/001089999999/membership").await, 404, "no such member").await;
        expect(app.get_as(&admin, "/api/v1/organizations/SL.NOWHERE/members").await, 404, "no such organization").await;
        let form = app.client().post(app.url("/api/v1/transfer-events")).bearer_auth(&admin)
            .header("content-type", "text/plain").body("{}").send().await.expect("POST");
        expect(form, 415, "text/plain").await;
        let member: i64 = seeded.bl_member.parse().expect("id");
        let too_many: Vec<Value> = (0..501).map(|i| json!({ "externalId": format!("x{i}"), "memberId": member, "toOrganizationCode": "SL.BL.CQ", "reason": "RELOCATION" })).collect();
        let response = app.client().post(app.url("/api/v1/transfer-events")).bearer_auth(&admin).json(&json!({ "events": too_many })).send().await.expect("POST");
        expect(response, 413, "501 events").await;
    }
}
