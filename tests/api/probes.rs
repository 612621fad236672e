//! What hostile probing found, closed: dates outside years 1 to 9999,
//! directives the schema does not know, bodies that are not plain UTF-8
//! JSON, wrong methods, and introspection behind a switch.

use serde_json::{Value, json};

use crate::helpers::{TestApp, error_code};

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
