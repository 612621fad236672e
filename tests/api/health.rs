//! Health checks: `/healthz` says the process is up, `/readyz` that the database answers.

use serde_json::Value;

use crate::helpers::{Fixture, TestApp, TestDatabase};

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

on_postgres! {
    /// PostgreSQL only: a database removed from under the running server.
    async fn readyz_answers_503_when_the_database_is_gone_while_healthz_stays_up(database: TestDatabase) {
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
}

on_postgres! {
    /// PostgreSQL only: the database ends every session under the running server
    /// (a restart, an administrator). A request that meets a broken connection is
    /// answered 503 UNAVAILABLE, never a 500, and the service recovers by itself.
    async fn connections_the_database_cuts_answer_503_and_the_service_recovers(database: TestDatabase) {
        let config = database.config();
        let pool_size = config.database.max_connections;
        let app = TestApp::spawn(config).await;
        let read = "{ organizations(first: 1) { totalCount } }";
        // Warm every pooled connection so that each one is cut below.
        let warm = (0..pool_size).map(|_| app.graphql(read, serde_json::json!({})));
        for answer in futures_util::future::join_all(warm).await {
            assert_eq!(answer["data"]["organizations"]["totalCount"], 0, "{answer}");
        }
        assert!(
            database.terminate_connections().await > 0,
            "sessions to end"
        );

        let mut unavailable = 0;
        for _ in 0..=pool_size {
            let response = app
                .post_graphql(app.admin_token(), &serde_json::json!({ "query": read }))
                .await;
            let status = response.status();
            let answer: Value = response.json().await.expect("JSON");
            match crate::helpers::error_code(&answer) {
                None => {
                    assert_eq!(status, 200);
                    assert_eq!(answer["data"]["organizations"]["totalCount"], 0)
                }
                Some("UNAVAILABLE") => {
                    assert_eq!(status, 503, "{answer}");
                    assert!(answer["data"].is_null(), "no partial answer: {answer}");
                    unavailable += 1
                }
                Some(other) => panic!("a cut connection answered {other}: {answer}"),
            }
        }
        assert!(
            unavailable <= pool_size,
            "each broken connection fails one request at most"
        );
        let answer = app.graphql(read, serde_json::json!({})).await;
        assert_eq!(
            answer["data"]["organizations"]["totalCount"], 0,
            "recovered: {answer}"
        );
        // The REST side answers a cut connection the same way: a problem, 503.
        // The member exists, so 200 is the only healthy answer.
        app.seed_district().await;
        let membership = || {
            app.client()
                .get(app.url("/api/v1/members/001080000001/membership"))
                .bearer_auth(app.admin_token())
                .send()
        };
        let response = membership().await.expect("GET");
        assert_eq!(response.status(), 200, "before the cut");
        database.terminate_connections().await;
        // Every pooled connection served a request moments ago, and the pool
        // checks only those idle for seconds: the next request meets a cut one.
        let response = membership().await.expect("GET");
        assert_eq!(response.status(), 503, "REST right after a cut");
        assert_eq!(response.headers()["retry-after"], "1");
        assert_eq!(response.headers()["content-type"], "application/problem+json");
        let body: Value = response.json().await.expect("problem JSON");
        assert_eq!(body["code"], "UNAVAILABLE", "{body}");
        // The other cut connections fail one request each at most, then it recovers.
        for _ in 1..pool_size {
            let status = membership().await.expect("GET").status();
            assert!(status == 200 || status == 503, "REST after a cut: {status}");
        }
        assert_eq!(membership().await.expect("GET").status(), 200, "recovered");
        app.tear_down().await;
        database.drop().await;
    }
}

on_postgres! {
    /// PostgreSQL only: the serving pool's statements are cancelled past
    /// `--db-statement-timeout`, and a cancelled statement is answered 503
    /// UNAVAILABLE with nothing changed.
    async fn statements_past_the_timeout_are_cancelled_and_answered_unavailable(database: TestDatabase) {
        use sea_orm::ConnectionTrait;
        let mut config = database.config();
        config.statement_timeout = std::time::Duration::from_millis(300);
        let app = TestApp::spawn(config).await;
        let postgres = |sql: &str| sea_orm::Statement::from_string(sea_orm::DbBackend::Postgres, sql);

        let shown = app
            .db()
            .query_one_raw(postgres("SHOW statement_timeout"))
            .await
            .expect("SHOW")
            .expect("a row");
        assert_eq!(
            shown
                .try_get::<String>("", "statement_timeout")
                .expect("text"),
            "300ms"
        );

        let err = app
            .db()
            .execute_raw(postgres("SELECT pg_sleep(2)"))
            .await
            .expect_err("cancelled past the timeout");
        let answer = api::error::AppError::from(err);
        assert_eq!(
            answer.code(),
            api::error::ErrorCode::Unavailable,
            "{answer}"
        );

        // The connection is usable again and the API answers.
        let answer = app.graphql("{ version }", serde_json::json!({})).await;
        assert!(answer["data"]["version"].is_string(), "{answer}");
        app.tear_down().await;
        database.drop().await;
    }
}
