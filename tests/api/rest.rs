//! The REST API for scripts: transfer batches, the feed, lookups, OpenAPI;
//! the same domain operation as GraphQL, so the same answers.

use api::auth::Role;
use entity::transfer_event;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

use crate::helpers::{TestApp, token_for};

async fn post_events(app: &TestApp, token: &str, body: &Value) -> reqwest::Response {
    app.client()
        .post(app.url("/api/v1/transfer-events"))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .expect("POST")
}

on_both_backends! {
    async fn transfer_batches_answer_per_item_and_agree_with_graphql(app: TestApp) {
        let seeded = app.seed_district().await;
        let member: i64 = seeded.bl_member.parse().expect("id");
        let admin = app.admin_token().to_owned();
        let body = json!({ "events": [
            { "externalId": "rest-1", "memberId": member, "toOrganizationCode": "SL.BL.CQ", "reason": "RELOCATION" },
            { "externalId": "rest-1", "memberId": member, "toOrganizationCode": "SL.BL.CQ", "reason": "RELOCATION" },
            { "externalId": "rest-2", "memberNationalId": "001080000002", "toOrganizationCode": "SL.NOWHERE", "reason": "RELOCATION" },
        ] });
        let response = post_events(&app, &admin, &body).await;
        assert_eq!(response.status(), 200);
        let answer: Value = response.json().await.expect("JSON");
        let results = answer["results"].as_array().expect("results");
        assert_eq!(results[0]["status"], "APPLIED", "{answer}");
        assert_eq!(results[1]["status"], "DUPLICATE");
        assert_eq!(results[1]["eventId"], results[0]["eventId"]);
        assert_eq!(results[2]["status"], "REJECTED");
        assert_eq!(results[2]["error"]["code"], "NOT_FOUND");

        // The same key through GraphQL is the same request: a duplicate of the same event.
        let graphql = app
            .graphql("mutation($input: TransferInput!) { submitTransfer(input: $input) { status event { id sequence } } }",
                     json!({ "input": { "externalId": "rest-1", "memberId": seeded.bl_member, "toOrganizationCode": "SL.BL.CQ", "reason": "RELOCATION" } }))
            .await;
        assert_eq!(graphql["data"]["submitTransfer"]["status"], "DUPLICATE", "{graphql}");
        assert_eq!(graphql["data"]["submitTransfer"]["event"]["id"], results[0]["eventId"].to_string());
        assert_eq!(graphql["data"]["submitTransfer"]["event"]["sequence"], results[0]["sequence"]);
    }
}

on_both_backends! {
    async fn bad_transfer_batches_are_refused_whole(app: TestApp) {
        let seeded = app.seed_district().await;
        let member: i64 = seeded.bl_member.parse().expect("id");
        let admin = app.admin_token().to_owned();
        let before = transfer_event::Entity::find().count(app.db()).await.expect("count");

        let too_many: Vec<Value> = (0..501).map(|i| json!({ "externalId": format!("x{i}"), "memberId": member, "toOrganizationCode": "SL.BL.CQ", "reason": "RELOCATION" })).collect();
        let response = post_events(&app, &admin, &json!({ "events": too_many })).await;
        assert_eq!(response.status(), 413);
        assert_eq!(response.headers()["content-type"], "application/problem+json");
        let problem: Value = response.json().await.expect("problem");
        assert_eq!(problem["code"], "LIMIT_EXCEEDED");

        let smuggled = json!({ "events": [{ "externalId": "s1", "memberId": member, "toOrganizationCode": "SL.BL.CQ", "reason": "RELOCATION", "submitter": "someone-else" }] });
        assert_eq!(post_events(&app, &admin, &smuggled).await.status(), 400, "unknown fields are refused");
        let malformed = app.client().post(app.url("/api/v1/transfer-events")).bearer_auth(&admin)
            .header("content-type", "application/json").body("{\"events\": [").send().await.expect("POST");
        assert_eq!(malformed.status(), 400);
        let no_token = app.client().post(app.url("/api/v1/transfer-events")).json(&json!({ "events": [] })).send().await.expect("POST");
        assert_eq!(no_token.status(), 401);
        let reader = post_events(&app, &token_for(Role::Reader, Some("SL")), &json!({ "events": [{ "externalId": "r1", "memberId": member, "toOrganizationCode": "SL.BL.CQ", "reason": "RELOCATION" }] })).await;
        let reader: Value = reader.json().await.expect("JSON");
        assert_eq!(reader["results"][0]["error"]["code"], "FORBIDDEN", "{reader}");

        assert_eq!(transfer_event::Entity::find().count(app.db()).await.expect("count"), before, "nothing applied");
    }
}

on_both_backends! {
    async fn the_feed_pages_by_sequence_and_checks_its_parameters(app: TestApp) {
        app.seed_district().await;
        let admin = app.admin_token().to_owned();
        let page: Value = app.get_as(&admin, "/api/v1/events?after=0&limit=1").await.json().await.expect("JSON");
        assert_eq!(page["events"][0]["sequence"], 1, "{page}");
        assert_eq!(page["events"][0]["memberNationalId"], "001080000001");
        assert_eq!(page["events"][0]["fromOrganizationCode"], Value::Null);
        assert_eq!(page["events"][0]["toOrganizationCode"], "SL.BL.R1");
        assert_eq!(page["hasMore"], true);
        let next: Value = app.get_as(&admin, &format!("/api/v1/events?after={}", page["nextAfter"])).await.json().await.expect("JSON");
        assert_eq!(next["events"].as_array().expect("events").len(), 1);
        assert_eq!(next["events"][0]["sequence"], 2);
        assert_eq!(next["nextAfter"], 2);

        let reader: Value = app.get_as(&token_for(Role::Reader, Some("SL.BL")), "/api/v1/events").await.json().await.expect("JSON");
        assert_eq!(reader["events"].as_array().expect("events").len(), 1, "scoped: {reader}");
        assert_eq!(reader["events"][0]["memberNationalId"], "********0001", "masked");

        for bad in ["after=-1", "after=abc", "after=9223372036854775808", "limit=0", "limit=100000", "limit=1e3", "surprise=1"] {
            let response = app.get_as(&admin, &format!("/api/v1/events?{bad}")).await;
            assert_eq!(response.status(), 400, "{bad}");
            let problem: Value = response.json().await.expect("problem");
            assert_eq!(problem["code"], "BAD_USER_INPUT", "{bad}");
        }
    }
}

on_both_backends! {
    async fn lookups_find_a_members_cell_and_a_cells_members(app: TestApp) {
        app.seed_district().await;
        let admin = app.admin_token().to_owned();
        let placement: Value = app.get_as(&admin, "/api/v1/members/001080000001/membership").await.json().await.expect("JSON");
        assert_eq!(placement["cell"]["code"], "SL.BL.R1", "{placement}");
        assert_eq!(placement["committee"]["code"], "SL.BL");
        assert_eq!(app.get_as(&admin, "/api/v1/members/001080000001/membership?asOf=2009-01-01T00:00:00Z").await.status(), 404);
        assert_eq!(app.get_as(&admin, "/api/v1/members/009999999999/membership").await.status(), 404);
        assert_eq!(app.get_as(&admin, "/api/v1/members/12345/membership").await.status(), 400);
        assert_eq!(app.get_as(&token_for(Role::Reader, Some("SL")), "/api/v1/members/001080000001/membership").await.status(), 403);
        assert_eq!(app.get_as(&token_for(Role::Integrator, Some("SL.YT")), "/api/v1/members/001080000001/membership").await.status(), 404, "out of scope looks absent");

        let page: Value = app.get_as(&admin, "/api/v1/organizations/SL.BL.R1/members?limit=10").await.json().await.expect("JSON");
        assert_eq!(page["total"], 1, "{page}");
        assert_eq!(page["members"][0]["nationalId"], "001080000001");
        assert_eq!(app.get_as(&admin, "/api/v1/organizations/NO.SUCH/members").await.status(), 404);
        assert_eq!(app.get_as(&admin, "/api/v1/organizations/SL.BL.R1/members?limit=501").await.status(), 400);
    }
}

on_both_backends! {
    async fn the_openapi_document_describes_the_routes(app: TestApp) {
        // The document is public: it describes the interface and holds no data.
        let response = app.get("/api/v1/openapi.json").await;
        assert_eq!(response.status(), 200);
        let document: Value = response.json().await.expect("JSON");
        assert_eq!(document, serde_json::to_value(api::rest::document()).expect("document"));
        assert_eq!(document["openapi"], "3.1.0");
        for path in ["/api/v1/transfer-events", "/api/v1/events", "/api/v1/members/{nationalId}/membership", "/api/v1/organizations/{code}/members"] {
            assert!(document["paths"].get(path).is_some(), "{path} documented");
        }
        assert_eq!(document["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
    }
}
