//! Holds: an ORGANIZER keeps a member where they are; a transfer of a held
//! member is refused (CONFLICT on `hold`, nothing written) until the hold is
//! released; a dissolution still moves them and says so.

use api::auth::Role;
use entity::{audit_log, member_hold, membership, transfer_event};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

use crate::dissolution::{DISSOLVE, cell_of, commune, input};
use crate::helpers::{TestApp, error_code, token_for};

pub const PLACE: &str = "mutation($input: PlaceHoldInput!) { placeHold(input: $input) {
    id reason decisionRef placedBy releasedAt member { id } } }";
const RELEASE: &str = "mutation($input: ReleaseHoldInput!) { releaseHold(input: $input) {
    id releasedAt releaseDecisionRef } }";
const SUBMIT: &str = "mutation($input: TransferInput!) { submitTransfer(input: $input) {
    status error { code message } event { id } } }";

/// Rows a refused move must leave as they were.
pub async fn counts(app: &TestApp) -> [u64; 3] {
    [
        transfer_event::Entity::find()
            .count(app.db())
            .await
            .expect("count"),
        membership::Entity::find()
            .count(app.db())
            .await
            .expect("count"),
        member_hold::Entity::find()
            .count(app.db())
            .await
            .expect("count"),
    ]
}

/// Places a hold as `token`; panics if refused. Returns the hold's id.
pub async fn place_hold(app: &TestApp, token: &str, member: &str, reason: &str) -> String {
    let answer = app
        .graphql_as(token, PLACE, json!({ "input": { "memberId": member, "reason": reason, "decisionRef": "QĐ-12/UBKT" } }))
        .await;
    assert!(answer.get("errors").is_none(), "{answer}");
    answer["data"]["placeHold"]["id"]
        .as_str()
        .expect("id")
        .to_owned()
}

on_both_backends! {
    async fn a_held_member_is_not_transferred_until_the_hold_is_released(app: TestApp) {
        let seeded = app.seed_district().await;
        let organizer = token_for(Role::Organizer, Some("SL.BL"));
        let answer = app
            .graphql_as(&organizer, PLACE, json!({ "input": { "memberId": seeded.bl_member, "reason": "INSPECTION", "decisionRef": "QĐ-12/UBKT" } }))
            .await;
        assert!(answer.get("errors").is_none(), "{answer}");
        let hold = &answer["data"]["placeHold"];
        assert_eq!(hold["reason"], "INSPECTION");
        assert_eq!(hold["releasedAt"], Value::Null);
        assert_eq!(hold["member"]["id"], json!(seeded.bl_member));
        let hold_id = hold["id"].as_str().expect("id").to_owned();

        // A second open hold for the same reason is refused, naming the field.
        let before = counts(&app).await;
        let again = app
            .graphql_as(&organizer, PLACE, json!({ "input": { "memberId": seeded.bl_member, "reason": "INSPECTION", "decisionRef": "QĐ-13" } }))
            .await;
        assert_eq!(error_code(&again), Some("CONFLICT"), "{again}");
        assert_eq!(again["errors"][0]["extensions"]["field"], "reason");
        assert_eq!(counts(&app).await, before);

        let transfer = json!({ "input": { "externalId": "t-held", "memberId": seeded.bl_member,
            "toOrganizationCode": "SL.BL.CQ", "reason": "RELOCATION" } });
        let answer = app.graphql_as(&organizer, SUBMIT, transfer.clone()).await;
        let item = &answer["data"]["submitTransfer"];
        assert_eq!(item["status"], "REJECTED", "{answer}");
        assert_eq!(item["error"]["code"], "CONFLICT");
        let message = item["error"]["message"].as_str().expect("message");
        assert!(message.starts_with("hold: "), "{message}");
        assert!(message.contains(&format!("hold {hold_id}")), "{message}");
        assert_eq!(counts(&app).await, before, "nothing written");
        assert_eq!(cell_of(&app, &seeded.bl_member).await, "SL.BL.R1");

        // Only an organizer may release; the release is recorded.
        let reader = token_for(Role::Reader, Some("SL.BL"));
        let refused = app.graphql_as(&reader, RELEASE, json!({ "input": { "holdId": hold_id } })).await;
        assert_eq!(error_code(&refused), Some("FORBIDDEN"), "{refused}");
        let released = app
            .graphql_as(&organizer, RELEASE, json!({ "input": { "holdId": hold_id, "decisionRef": "KL-12/UBKT" } }))
            .await;
        assert!(released.get("errors").is_none(), "{released}");
        assert_eq!(released["data"]["releaseHold"]["releaseDecisionRef"], "KL-12/UBKT");
        assert!(released["data"]["releaseHold"]["releasedAt"].is_string());
        let twice = app.graphql_as(&organizer, RELEASE, json!({ "input": { "holdId": hold_id } })).await;
        assert_eq!(error_code(&twice), Some("CONFLICT"), "{twice}");
        assert_eq!(twice["errors"][0]["extensions"]["field"], "holdId");

        let answer = app.graphql_as(&organizer, SUBMIT, transfer).await;
        assert_eq!(answer["data"]["submitTransfer"]["status"], "APPLIED", "{answer}");
        assert_eq!(cell_of(&app, &seeded.bl_member).await, "SL.BL.CQ");

        let listed = app
            .graphql_as(&organizer, "query($id: ID!) { memberHolds(memberId: $id, includeReleased: true) { id reason releasedBy } }",
                json!({ "id": seeded.bl_member }))
            .await;
        assert_eq!(listed["data"]["memberHolds"][0]["id"], json!(hold_id), "{listed}");
        assert!(listed["data"]["memberHolds"][0]["releasedBy"].is_string());
    }
}

on_both_backends! {
    async fn holds_are_placed_by_organizers_in_scope_only(app: TestApp) {
        let seeded = app.seed_district().await;
        let before = counts(&app).await;
        let audit_before = audit_log::Entity::find().count(app.db()).await.expect("count");
        let place = json!({ "input": { "memberId": seeded.bl_member, "reason": "COMPLAINT", "decisionRef": "QĐ-1" } });
        for (token, code) in [
            (token_for(Role::Integrator, Some("SL.BL")), "FORBIDDEN"),
            (token_for(Role::Reader, Some("SL")), "FORBIDDEN"),
            (token_for(Role::Organizer, Some("SL.YT")), "NOT_FOUND"),
        ] {
            let answer = app.graphql_as(&token, PLACE, place.clone()).await;
            assert_eq!(error_code(&answer), Some(code), "{answer}");
        }
        let bad = app
            .graphql_as(&token_for(Role::Organizer, Some("SL")), PLACE,
                json!({ "input": { "memberId": seeded.bl_member, "reason": "COMPLAINT", "decisionRef": "" } }))
            .await;
        assert_eq!(error_code(&bad), Some("BAD_USER_INPUT"), "{bad}");
        assert_eq!(bad["errors"][0]["extensions"]["field"], "decisionRef");
        assert_eq!(counts(&app).await, before, "nothing written");
        // Every refusal is audited.
        let audit_after = audit_log::Entity::find().count(app.db()).await.expect("count");
        assert_eq!(audit_after, audit_before + 4);
        // The other commune does not see the member's holds either.
        let seen = app
            .graphql_as(&token_for(Role::Organizer, Some("SL.YT")), "query($id: ID!) { memberHolds(memberId: $id) { id } }",
                json!({ "id": seeded.bl_member }))
            .await;
        assert_eq!(seen["data"]["memberHolds"], json!([]), "{seen}");
    }
}

on_both_backends! {
    async fn a_dissolution_moves_a_held_member_and_says_so(app: TestApp) {
        let people = commune(&app).await;
        let organizer = token_for(Role::Organizer, Some("SL.BL"));
        place_hold(&app, &organizer, &people.a, "DISCIPLINE").await;
        let query = DISSOLVE.replace("organization {", "movedUnderHold organization {");
        let answer = app
            .graphql_as(&organizer, &query, input("SL.BL.QS", "BY_RESIDENCE", json!([])))
            .await;
        assert!(answer.get("errors").is_none(), "{answer}");
        assert_eq!(answer["data"]["dissolveOrganization"]["movedUnderHold"], json!([]), "d is not held");

        let answer = app
            .graphql_as(&organizer, &query, input("SL.BL.CQ", "EXPLICIT", json!([
                { "memberId": people.a, "toOrganizationCode": "SL.BL.R1" },
                { "memberId": people.b, "toOrganizationCode": "SL.BL.R2" },
                { "memberId": people.c, "toOrganizationCode": "SL.BL.R1" },
            ])))
            .await;
        assert!(answer.get("errors").is_none(), "{answer}");
        assert_eq!(answer["data"]["dissolveOrganization"]["movedUnderHold"], json!([people.a]));
        assert_eq!(cell_of(&app, &people.a).await, "SL.BL.R1");
        // The hold stays open where the member now is.
        let holds = app
            .graphql_as(&organizer, "query($id: ID!) { memberHolds(memberId: $id) { reason releasedAt } }", json!({ "id": people.a }))
            .await;
        assert_eq!(holds["data"]["memberHolds"], json!([{ "reason": "DISCIPLINE", "releasedAt": null }]));
    }
}
