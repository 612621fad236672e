//! Prometheus metrics at `GET /metrics`: no token needed, the promised
//! series counted from real traffic, no personal data or token in any
//! label, and `CELLREG_METRICS=false` turns the route off.

use api::auth::Role;
use serde_json::json;

use crate::helpers::{Fixture, TestApp, TestDatabase, token_for};

/// The value of the first sample of `name` carrying every one of `labels`.
fn sample(body: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    body.lines()
        .filter(|line| !line.starts_with('#'))
        .filter(|line| {
            line.starts_with(&format!("{name}{{")) || line.starts_with(&format!("{name} "))
        })
        .find(|line| {
            labels
                .iter()
                .all(|(key, value)| line.contains(&format!("{key}=\"{value}\"")))
        })
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
}

async fn scrape(app: &TestApp) -> String {
    let response = app.get("/metrics").await;
    assert_eq!(response.status(), 200, "no token needed");
    let content_type = response.headers()["content-type"]
        .to_str()
        .expect("text")
        .to_owned();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    response.text().await.expect("body")
}

on_both_backends! {
    async fn metrics_count_traffic_without_personal_data(database: TestDatabase) {
        let mut config = database.config();
        config.mutations_per_minute = 30;
        let app = TestApp::spawn(config).await;
        app.seed_district().await;
        let reader = token_for(Role::Reader, Some("SL.BL"));

        // A batch of transfers: one applied, one rejected for an unknown member.
        let answer: serde_json::Value = app
            .client()
            .post(app.url("/api/v1/transfer-events"))
            .bearer_auth(app.admin_token())
            .json(&json!({ "events": [
                { "externalId": "metrics-1", "memberNationalId": "001080000001", "toOrganizationCode": "SL.BL.CQ", "reason": "RELOCATION" },
                { "externalId": "metrics-2", "memberNationalId": "009999999999", "toOrganizationCode": "SL.BL.CQ", "reason": "RELOCATION" },
            ] }))
            .send()
            .await
            .expect("batch")
            .json()
            .await
            .expect("batch answer");
        assert_eq!(answer["results"][0]["status"], "APPLIED", "{answer}");
        assert_eq!(answer["results"][1]["status"], "REJECTED", "{answer}");
        // A path holding a national ID, a named and an anonymous operation.
        let membership = app
            .client()
            .get(app.url("/api/v1/members/001080000002/membership"))
            .bearer_auth(app.admin_token())
            .send()
            .await
            .expect("membership");
        assert_eq!(membership.status(), 200);
        let named = app.graphql_as(&reader, "query WhoAmI { me { subject } }", json!({})).await;
        assert!(named.get("errors").is_none(), "{named}");
        let refused = app
            .graphql_as(&reader, "{ member(nationalId: \"001080000001\") { id } }", json!({}))
            .await;
        assert!(refused.get("errors").is_some(), "{refused}");

        let body = scrape(&app).await;
        for (name, labels) in [
            ("cellreg_http_requests_total", vec![("route", "/api/v1/transfer-events"), ("method", "POST"), ("status", "200")]),
            ("cellreg_http_requests_total", vec![("route", "/api/v1/members/{national_id}/membership"), ("method", "GET"), ("status", "200")]),
            ("cellreg_http_request_duration_seconds_bucket", vec![("route", "/graphql"), ("method", "POST"), ("status", "200"), ("le", "+Inf")]),
            ("cellreg_graphql_operations_total", vec![("operation", "WhoAmI"), ("outcome", "ok"), ("code", "none")]),
            ("cellreg_graphql_operations_total", vec![("operation", "anonymous"), ("outcome", "error")]),
            ("cellreg_transfers_total", vec![("outcome", "APPLIED"), ("code", "none")]),
            ("cellreg_transfers_total", vec![("outcome", "REJECTED"), ("code", "NOT_FOUND")]),
            ("cellreg_mutations_total", vec![("action", "createOrganization"), ("outcome", "ALLOWED")]),
            ("cellreg_mutations_total", vec![("action", "submitTransfer"), ("outcome", "FAILED"), ("code", "NOT_FOUND")]),
            ("cellreg_db_pool_max_connections", vec![]),
            ("cellreg_db_pool_connections", vec![("state", "idle")]),
            ("cellreg_db_pool_connections", vec![("state", "in_use")]),
            ("cellreg_graphql_subscriptions_open", vec![]),
            ("cellreg_db_pool_acquire_timeouts_total", vec![]),
        ] {
            let value = sample(&body, name, &labels);
            assert!(value.is_some(), "{name} {labels:?} is missing:\n{body}");
        }
        assert_eq!(sample(&body, "cellreg_db_pool_max_connections", &[]), Some(5.0));
        // The seed's registrations and the one applied transfer: the feed head.
        let head = app
            .graphql("{ transferEvents(first: 1) { totalCount } }", json!({}))
            .await;
        let events = head["data"]["transferEvents"]["totalCount"].as_f64().expect("count");
        assert_eq!(sample(&body, "cellreg_feed_head_sequence", &[]), Some(events), "{head}");
        for secret in ["001080000001", "001080000002", "009999999999", app.admin_token(), reader.as_str()] {
            assert!(!body.contains(secret), "the metrics carry {secret}");
        }
        assert!(!body.contains("/api/v1/members/0"), "a raw path in a label");
        app.tear_down().await;
    }
}

on_both_backends! {
    async fn rate_limited_requests_are_counted(database: TestDatabase) {
        let mut config = database.config();
        config.mutations_per_minute = 1;
        let app = TestApp::spawn(config).await;
        let before = sample(&scrape(&app).await, "cellreg_rate_limited_total", &[("limit", "mutations")]).unwrap_or(0.0);
        let create = "mutation { createOrganization(input: { code: \"RL\", name: \"RL\", kind: DISTRICT_COMMITTEE }) { id } }";
        let token = app.admin_token().to_owned();
        assert_eq!(app.post_graphql(&token, &json!({ "query": create })).await.status(), 200);
        let limited = app.post_graphql(&token, &json!({ "query": create })).await;
        assert_eq!(limited.status(), 429);
        let after = sample(&scrape(&app).await, "cellreg_rate_limited_total", &[("limit", "mutations")]);
        assert!(after >= Some(before + 1.0), "{before} then {after:?}");
        app.tear_down().await;
    }
}

on_both_backends! {
    async fn metrics_can_be_turned_off(database: TestDatabase) {
        let mut config = database.config();
        config.metrics = false;
        let app = TestApp::spawn(config).await;
        assert_eq!(app.get("/metrics").await.status(), 404);
        app.tear_down().await;
    }
}
