//! Errors name what they are about in a field of their own, the same way on
//! every transport: GraphQL's `extensions.field`, a REST problem's `field`,
//! and a batch item's `error { field index }`; REST parse errors name the
//! parameter or body path and say why.

use entity::transfer_event;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

use crate::helpers::TestApp;

async fn post_events(app: &TestApp, body: &Value) -> reqwest::Response {
    app.client()
        .post(app.url("/api/v1/transfer-events"))
        .bearer_auth(app.admin_token())
        .json(body)
        .send()
        .await
        .expect("POST")
}

on_both_backends! {
    async fn rest_parse_errors_name_the_parameter_or_body_path(app: TestApp) {
        let seeded = app.seed_district().await;
        let member: i64 = seeded.bl_member.parse().expect("id");
        let before = transfer_event::Entity::find().count(app.db()).await.expect("count");

        let problem: Value = app.get_as(app.admin_token(), "/api/v1/events?limit=abc").await.json().await.expect("problem");
        assert_eq!((problem["code"].as_str(), problem["field"].as_str()), (Some("BAD_USER_INPUT"), Some("limit")), "{problem}");
        assert!(problem["detail"].as_str().expect("detail").contains("invalid digit"), "{problem}");

        let problem: Value = app.get_as(app.admin_token(), "/api/v1/members/001080000001/membership?asOf=2026-01-31T08:00:00").await.json().await.expect("problem");
        assert_eq!(problem["field"], "asOf", "{problem}");
        assert!(problem["detail"].as_str().expect("detail").contains("time zone is missing"), "{problem}");

        let local_time = json!({ "events": [
            { "externalId": "ok-1", "memberId": member, "toOrganizationCode": "SL.BL.CQ", "reason": "RELOCATION" },
            { "externalId": "tz-1", "memberId": member, "toOrganizationCode": "SL.BL.CQ", "reason": "RELOCATION", "effectiveAt": "2026-01-31T08:00:00" },
        ] });
        let response = post_events(&app, &local_time).await;
        assert_eq!(response.status(), 400);
        let problem: Value = response.json().await.expect("problem");
        assert_eq!(problem["field"], "events[1].effectiveAt", "{problem}");
        assert!(problem["detail"].as_str().expect("detail").contains("the time zone is missing"), "{problem}");

        let missing = json!({ "events": [{ "externalId": "m-1", "memberId": member, "toOrganizationCode": "SL.BL.CQ" }] });
        let problem: Value = post_events(&app, &missing).await.json().await.expect("problem");
        assert_eq!(problem["field"], "events[0].reason", "{problem}");
        let unknown = json!({ "events": [{ "externalId": "u-1", "memberId": member, "toOrganizationCode": "SL.BL.CQ", "reason": "RELOCATION", "submitter": "x" }] });
        let problem: Value = post_events(&app, &unknown).await.json().await.expect("problem");
        assert_eq!(problem["field"], "events[0].submitter", "{problem}");
        let bad_reason = json!({ "events": [{ "externalId": "r-1", "memberId": member, "toOrganizationCode": "SL.BL.CQ", "reason": "MOVED" }] });
        let problem: Value = post_events(&app, &bad_reason).await.json().await.expect("problem");
        assert_eq!(problem["field"], "events[0].reason", "{problem}");

        let after = transfer_event::Entity::find().count(app.db()).await.expect("count");
        assert_eq!(after, before, "nothing applied");
    }
}

on_both_backends! {
    async fn item_errors_carry_their_field_and_index_on_both_transports(app: TestApp) {
        let seeded = app.seed_district().await;
        let member: i64 = seeded.bl_member.parse().expect("id");
        let items = json!([
            { "externalId": "fi-1", "memberId": member.to_string(), "toOrganizationCode": "SL.BL.CQ", "reason": "RELOCATION", "decisionRef": "   " },
            { "externalId": "fi-2", "memberId": member.to_string(), "toOrganizationCode": "not a code", "reason": "RELOCATION" },
            { "externalId": "fi-3", "memberId": "999999", "toOrganizationCode": "SL.BL.CQ", "reason": "RELOCATION" },
        ]);
        let answer = app.graphql(
            "mutation($inputs: [TransferInput!]!) { submitTransfers(inputs: $inputs) { status error { code message field index } } }",
            json!({ "inputs": items }),
        ).await;
        let results = answer["data"]["submitTransfers"].as_array().unwrap_or_else(|| panic!("{answer}"));
        let errors: Vec<(&str, Option<&str>, i64)> = results.iter().map(|r| (
            r["error"]["code"].as_str().expect("code"),
            r["error"]["field"].as_str(),
            r["error"]["index"].as_i64().expect("index"),
        )).collect();
        assert_eq!(errors, [("BAD_USER_INPUT", Some("decisionRef"), 0), ("BAD_USER_INPUT", Some("toOrganizationCode"), 1), ("NOT_FOUND", None, 2)], "{answer}");
        assert!(results[1]["error"]["message"].as_str().expect("message").starts_with("toOrganizationCode: "), "the message stays as it was");

        let single = app.graphql(
            "mutation($input: TransferInput!) { submitTransfer(input: $input) { error { field index } } }",
            json!({ "input": items[1] }),
        ).await;
        assert_eq!(single["data"]["submitTransfer"]["error"], json!({ "field": "toOrganizationCode", "index": null }), "{single}");

        let mut events = items.clone();
        for (n, event) in events.as_array_mut().expect("array").iter_mut().enumerate() {
            event["externalId"] = json!(format!("rest-fi-{n}"));
            event["memberId"] = json!(event["memberId"].as_str().expect("id").parse::<i64>().expect("number"));
        }
        let answer: Value = post_events(&app, &json!({ "events": events })).await.json().await.expect("JSON");
        let rest: Vec<(&str, Option<&str>, i64)> = answer["results"].as_array().expect("results").iter().map(|r| (
            r["error"]["code"].as_str().expect("code"),
            r["error"]["field"].as_str(),
            r["error"]["index"].as_i64().expect("index"),
        )).collect();
        assert_eq!(rest, errors, "REST answers as GraphQL: {answer}");
    }
}
