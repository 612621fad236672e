//! Dates and instants say their format (`@specifiedBy` and a description)
//! and are spelled one way on every transport: RFC 3339 in UTC with `Z`.
//! IDs are the same numbers in GraphQL (`ID` strings) and REST (integers).

use serde_json::{Value, json};

use crate::helpers::{TestApp, error_code};

on_both_backends! {
    async fn instants_are_spelled_alike_and_ids_are_the_same_numbers(app: TestApp) {
        let sdl = app.get("/graphql/schema.graphql").await.text().await.expect("SDL");
        for scalar in ["scalar DateTime @specifiedBy(url: ", "scalar Date @specifiedBy(url: "] {
            assert!(sdl.contains(scalar), "{scalar}");
        }

        let seeded = app.seed_district().await;
        let submit = "mutation($input: TransferInput!) { submitTransfer(input: $input) { status error { code field message } event { id sequence effectiveAt recordedAt member { id } } } }";
        let east = json!({ "externalId": "tz-east", "memberId": seeded.bl_member, "toOrganizationCode": "SL.BL.CQ",
            "reason": "RELOCATION", "effectiveAt": "2026-01-31T15:00:00.250+07:00" });
        let answer = app.graphql(submit, json!({ "input": east })).await;
        let event = &answer["data"]["submitTransfer"]["event"];
        assert_eq!(event["effectiveAt"], "2026-01-31T08:00:00.250Z", "an offset is read, UTC with Z is written: {answer}");
        assert!(event["recordedAt"].as_str().expect("recordedAt").ends_with('Z'), "{answer}");

        let feed: Value = app.get_as(app.admin_token(), &format!("/api/v1/events?after={}", event["sequence"].as_i64().expect("sequence") - 1))
            .await.json().await.expect("feed");
        let rest = &feed["events"][0];
        assert_eq!(rest["effectiveAt"], event["effectiveAt"], "one spelling: {feed}");
        assert_eq!(rest["recordedAt"], event["recordedAt"], "one spelling: {feed}");
        assert_eq!(rest["eventId"].to_string(), event["id"].as_str().expect("ID string"), "the same number");
        assert_eq!(rest["memberId"].to_string(), event["member"]["id"].as_str().expect("ID string"), "the same number");

        let local = json!({ "externalId": "tz-none", "memberId": seeded.bl_member, "toOrganizationCode": "SL.BL.R1",
            "reason": "RELOCATION", "effectiveAt": "2026-01-31T08:00:00" });
        let refused = app.graphql(submit, json!({ "input": local })).await;
        assert_eq!(error_code(&refused), Some("BAD_USER_INPUT"), "{refused}");
        let message = refused["errors"][0]["message"].as_str().expect("message");
        assert!(message.contains("the time zone is missing"), "{refused}");
    }
}
