//! Health checks: `/healthz` says the process is up, `/readyz` that the database answers.

use serde_json::Value;

use crate::helpers::{Backend, TestApp, TestDatabase};

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

/// PostgreSQL only: a database removed from under the running server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_answers_503_when_the_database_is_gone_while_healthz_stays_up() {
    let Some(database) = TestDatabase::create(Backend::Postgres).await else {
        return;
    };
    let app = TestApp::spawn(database.config()).await;
    assert_eq!(app.get("/readyz").await.status(), 200);

    database.drop().await;

    let response = app.get("/readyz").await;
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "1");
    let body: Value = response.json().await.expect("problem JSON");
    assert_eq!(body["code"], "UNAVAILABLE");
    assert_eq!(app.get("/healthz").await.status(), 200);
}
