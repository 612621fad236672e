//! Health checks: `/healthz` says the process is up, `/readyz` that the database answers.

use serde_json::Value;

use crate::helpers::TestApp;

on_both_backends! {
    async fn healthz_answers_ok(app: TestApp) {
        let response = app.get("/healthz").await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["x-content-type-options"], "nosniff");
        let body: Value = response.json().await.expect("JSON");
        assert_eq!(body["status"], "ok");
    }
}

on_both_backends! {
    async fn readyz_answers_ready_when_the_database_answers(app: TestApp) {
        let response = app.get("/readyz").await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.expect("JSON");
        assert_eq!(body["database"], "ok");
    }
}

on_both_backends! {
    async fn unknown_routes_are_a_not_found_problem(app: TestApp) {
        let response = app.get("/api/v0/nothing-here").await;
        assert_eq!(response.status(), 404);
        assert_eq!(response.headers()["content-type"], "application/problem+json");
        let body: Value = response.json().await.expect("JSON");
        assert_eq!(body["code"], "NOT_FOUND");
        assert_eq!(body["status"], 404);
    }
}
