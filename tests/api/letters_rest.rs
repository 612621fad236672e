//! Letters over REST, as integration scripts use them: issue, list open and
//! overdue, receive, cancel; the feed's entries tell the steps apart; the
//! routes are in the OpenAPI document.

use api::auth::Role;
use chrono::{Days, Utc};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

use crate::helpers::{TestApp, token_for};
use crate::letters::two_districts;

async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> (u16, Value) {
    let response = app
        .client()
        .post(app.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("POST");
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON"))
}

on_both_backends! {
    async fn integration_scripts_issue_list_receive_and_follow_letters(app: TestApp) {
        let seeded = two_districts(&app).await;
        let sender = token_for(Role::Integrator, Some("SL"));
        let receiver = token_for(Role::Integrator, Some("TD"));
        let issued_on = Utc::now().date_naive() - Days::new(35);
        let body = json!({ "externalId": "rest-1", "memberId": seeded.bl_member.parse::<i64>().expect("id"),
            "toOrganizationCode": "TD.HG", "number": "11-GGT/DU", "reason": "RELOCATION", "issuedOn": issued_on.to_string() });
        let (status, letter) = post(&app, &sender, "/api/v1/letters", body.clone()).await;
        assert_eq!(status, 201, "{letter}");
        assert_eq!(letter["status"], "OPEN");
        assert_eq!(letter["fromOrganizationCode"], "SL.BL.R1");
        assert_eq!(letter["issuingCommitteeCode"], "SL.BL");
        assert_eq!(letter["daysOverdue"], 5);
        let id = letter["id"].as_i64().expect("id");
        let (status, again) = post(&app, &sender, "/api/v1/letters", body).await;
        assert_eq!(status, 200, "a retry: {again}");
        assert_eq!(again["id"], id);

        for (token, within) in [(&sender, "SL.BL"), (&receiver, "TD")] {
            let listed: Value = app.get_as(token, &format!("/api/v1/letters?within={within}&overdue=true")).await.json().await.expect("JSON");
            assert_eq!(listed["letters"].as_array().map(Vec::len), Some(1), "{listed}");
            assert_eq!(listed["letters"][0]["id"], id);
        }
        let (status, problem) = post(&app, &receiver, &format!("/api/v1/letters/{id}/receipt"), json!({ "cellCode": "TD.HG.R1" })).await;
        assert_eq!(status, 400, "{problem}");
        assert_eq!(problem["field"], "lateReason");
        let (status, received) = post(&app, &receiver, &format!("/api/v1/letters/{id}/receipt"),
            json!({ "cellCode": "TD.HG.R1", "lateReason": "Chờ xác nhận nơi cư trú" })).await;
        assert_eq!(status, 200, "{received}");
        assert_eq!(received["receivedCellCode"], "TD.HG.R1");
        let (status, problem) = post(&app, &sender, &format!("/api/v1/letters/{id}/cancellation"), json!({})).await;
        assert_eq!(status, 409, "{problem}");
        assert_eq!(problem["field"], "letterId");

        let feed: Value = app.get_as(&receiver, "/api/v1/events").await.json().await.expect("JSON");
        let steps: Vec<(Value, Value)> = feed["events"].as_array().expect("events").iter()
            .map(|e| (e["phase"].clone(), e["letterId"].clone())).collect();
        assert_eq!(steps, vec![(json!("DEPARTED"), json!(id)), (json!("ARRIVED"), json!(id))]);

        let document: Value = app.get_as(app.admin_token(), "/api/v1/openapi.json").await.json().await.expect("JSON");
        for path in ["/api/v1/letters", "/api/v1/letters/{id}/receipt", "/api/v1/letters/{id}/cancellation"] {
            assert!(document["paths"].get(path).is_some(), "{path} documented");
        }
    }
}

on_both_backends! {
    async fn a_direct_temporary_transfer_over_rest_carries_its_end(app: TestApp) {
        let seeded = two_districts(&app).await;
        let admin = token_for(Role::Admin, None);
        let today = Utc::now().date_naive();
        let member: i64 = seeded.yt_member.parse().expect("id");
        let transfer = |key: &str, ends: chrono::NaiveDate| json!({ "events": [{ "externalId": key, "memberId": member,
            "toOrganizationCode": "SL.YT.CQ", "kind": "TEMPORARY", "reason": "OTHER", "purpose": "STUDY",
            "endsOn": ends.to_string() }] });
        let memberships = || async { entity::membership::Entity::find().count(app.db()).await.expect("count") };
        let before = memberships().await;
        // Study may last two years, not three.
        let (status, refused) = post(&app, &admin, "/api/v1/transfer-events", transfer("rest-tmp-long", today + Days::new(1100))).await;
        assert_eq!(status, 200, "{refused}");
        assert_eq!(refused["results"][0]["status"], "REJECTED", "{refused}");
        assert_eq!(refused["results"][0]["error"]["code"], "BAD_USER_INPUT");
        assert_eq!(refused["results"][0]["error"]["field"], "endsOn", "{refused}");
        assert_eq!(memberships().await, before, "nothing written");
        let ends = today + Days::new(20);
        let (_, applied) = post(&app, &admin, "/api/v1/transfer-events", transfer("rest-tmp", ends)).await;
        assert_eq!(applied["results"][0]["status"], "APPLIED", "{applied}");
        let listed = app
            .graphql_as(&admin, "{ temporaryMembershipsEnding(within: \"SL.YT\", days: 30) { endsOn organization { code } member { id } } }", json!({}))
            .await;
        assert_eq!(listed["data"]["temporaryMembershipsEnding"], json!([
            { "endsOn": ends.to_string(), "organization": { "code": "SL.YT.CQ" }, "member": { "id": seeded.yt_member } },
        ]), "{listed}");
    }
}
