//! Overload: a query that cannot get its answer from the database in time
//! gives up as a whole, 503 with Retry-After and no partial data, within the
//! pool wait plus the statement timeout it is configured with.

use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, TransactionTrait};
use serde_json::{Value, json};

use crate::helpers::{Fixture, TestApp, TestDatabase};

on_postgres! {
    /// PostgreSQL only (SQLite has no statement timeout and lets readers past a
    /// writer): another session locks the members table, so every query that
    /// reads members waits, either for one of the two pooled connections or for
    /// the lock, and each must give up on its own deadline.
    async fn queries_past_their_deadline_answer_503_whole_and_in_time(database: TestDatabase) {
        let mut config = database.config();
        config.database.max_connections = 2;
        config.database.acquire_timeout = Duration::from_millis(300);
        config.statement_timeout = Duration::from_millis(300);
        let deadline = config.query_deadline().expect("a deadline");
        let app = TestApp::spawn(config).await;
        app.seed_district().await;

        let blocker = database.connect().await;
        let lock = blocker.begin().await.expect("begin");
        lock.execute_unprepared("LOCK TABLE member IN ACCESS EXCLUSIVE MODE")
            .await
            .expect("lock");

        // Heavy on purpose: many nested reads of the locked table.
        let query = "{ organizations(first: 20) { edges { node { code memberCount members(first: 20) { edges { node { member { fullName } } } } } } } \
                       members(first: 50) { totalCount edges { node { fullName } } } }";
        let started = Instant::now();
        let requests = (0..12).map(|_| async {
            let response = app
                .post_graphql(app.admin_token(), &json!({ "query": query }))
                .await;
            let elapsed = started.elapsed();
            let status = response.status();
            let retry_after = response.headers().get("retry-after").cloned();
            let answer: Value = response.json().await.expect("JSON");
            (status, retry_after, answer, elapsed)
        });
        let answers = futures_util::future::join_all(requests).await;
        lock.rollback().await.expect("unlock");

        for (status, retry_after, answer, elapsed) in answers {
            assert_eq!(status, 503, "{answer}");
            assert_eq!(retry_after.expect("Retry-After"), "1");
            assert!(answer["data"].is_null(), "no partial answer: {answer}");
            let errors = answer["errors"].as_array().expect("errors");
            assert!(!errors.is_empty(), "{answer}");
            for error in errors {
                assert_eq!(error["extensions"]["code"], "UNAVAILABLE", "{answer}");
            }
            // The deadline is 600 ms; a generous margin for a busy machine, far
            // below the 10 s that a query waiting for each statement in turn took.
            assert!(elapsed < deadline * 5, "answered after {elapsed:?}");
        }

        // The lock gone, the same query is answered in full.
        let response = app
            .post_graphql(app.admin_token(), &json!({ "query": query }))
            .await;
        assert_eq!(response.status(), 200);
        let answer: Value = response.json().await.expect("JSON");
        assert!(answer.get("errors").is_none(), "{answer}");
        assert_eq!(answer["data"]["members"]["totalCount"], 2, "{answer}");
        app.tear_down().await;
        database.drop().await;
    }
}
