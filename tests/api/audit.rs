//! The audit log: a row for every mutation, allowed or refused, carrying the
//! request id; a chain that `cellreg audit verify` proves intact or pins
//! down where it was tampered with.

use api::audit::service::{Verification, verify};
use api::auth::Role;
use sea_orm::ConnectionTrait;
use serde_json::json;

use crate::helpers::{Backend, TestApp, error_code, token_for};

on_both_backends! {
    async fn mutations_allowed_and_refused_are_audited_with_their_request_id(app: TestApp) {
        app.create_organization("SL", "DISTRICT_COMMITTEE", None, None).await;
        let response = app
            .client()
            .post(app.url("/graphql"))
            .bearer_auth(token_for(Role::Reader, Some("SL")))
            .header("x-request-id", "probe-7")
            .json(&json!({ "query": "mutation { createOrganization(input: { code: \"SL.X\", name: \"x\", kind: GRASSROOTS_COMMITTEE, parentCode: \"SL\" }) { code } }" }))
            .send()
            .await
            .expect("POST");
        assert_eq!(response.headers()["x-request-id"], "probe-7");
        let answer: serde_json::Value = response.json().await.expect("JSON");
        assert_eq!(error_code(&answer), Some("FORBIDDEN"));

        let log = app
            .graphql("{ auditLog(first: 10, action: \"createOrganization\") { edges { node { seq subject role target outcome errorCode requestId } } } }", json!({}))
            .await;
        let rows: Vec<_> = log["data"]["auditLog"]["edges"].as_array().expect("rows").iter().map(|e| e["node"].clone()).collect();
        assert_eq!(rows.len(), 2, "{log}");
        assert_eq!(rows[0]["outcome"], "ALLOWED");
        assert_eq!(rows[0]["target"], "SL");
        assert_eq!(rows[1], json!({ "seq": rows[1]["seq"], "subject": "reader-SL", "role": "READER", "target": "SL.X",
                                    "outcome": "DENIED", "errorCode": "FORBIDDEN", "requestId": "probe-7" }));
        assert_eq!(verify(app.db()).await.expect("verify"), Verification::Intact { rows: 2 });
    }
}

on_both_backends! {
    async fn audit_pages_are_complete_and_cursors_are_checked(app: TestApp) {
        app.seed_district().await;
        let total = match verify(app.db()).await.expect("verify") {
            Verification::Intact { rows } => rows,
            other => panic!("{other:?}"),
        };
        let mut seen = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = app
                .graphql("query($after: String) { auditLog(first: 3, after: $after) { edges { cursor node { seq } } pageInfo { hasNextPage endCursor } } }", json!({ "after": after }))
                .await;
            let connection = &page["data"]["auditLog"];
            seen.extend(connection["edges"].as_array().expect("edges").iter().map(|e| e["node"]["seq"].as_i64().expect("seq")));
            if connection["pageInfo"]["hasNextPage"] != true {
                break;
            }
            after = connection["pageInfo"]["endCursor"].as_str().map(str::to_owned);
        }
        assert_eq!(seen, (1..=total).collect::<Vec<_>>());
        for first in [0, 501] {
            let answer = app.graphql("query($first: Int) { auditLog(first: $first) { edges { cursor } } }", json!({ "first": first })).await;
            assert_eq!(error_code(&answer), Some("BAD_USER_INPUT"), "{answer}");
        }
        let answer = app.graphql("{ auditLog(after: \"bm9wZQ\") { edges { cursor } } }", json!({})).await;
        assert_eq!(error_code(&answer), Some("BAD_USER_INPUT"), "{answer}");
    }
}

on_both_backends! {
    async fn a_scoped_auditor_reads_the_rows_of_their_subtree_only(app: TestApp) {
        app.seed_district().await;
        // A refused authentication concerns no organization: unscoped auditors only.
        assert_eq!(app.post_graphql("garbage.token.here", &json!({ "query": "{ version }" })).await.status(), 401);
        let targets = |answer: &serde_json::Value| -> Vec<String> {
            answer["data"]["auditLog"]["edges"].as_array().expect("rows").iter()
                .map(|e| e["node"]["target"].as_str().unwrap_or("-").to_owned()).collect()
        };
        let query = "{ auditLog(first: 100) { edges { node { target } } } }";
        let commune = app.graphql_as(&token_for(Role::Auditor, Some("SL.BL")), query, json!({})).await;
        assert_eq!(
            targets(&commune),
            ["SL.BL", "SL.BL.R1", "SL.BL.CQ", "SL.BL.R1:admission-001080000001"],
            "{commune}"
        );
        let everything = app.graphql_as(&token_for(Role::Auditor, Some("SL")), query, json!({})).await;
        assert_eq!(targets(&everything).len(), 9, "{everything}");
        let admin = app.graphql(query, json!({})).await;
        assert_eq!(targets(&admin).len(), 10, "the refused authentication too: {admin}");
    }
}

/// Runs SQL as the database owner with the append-only triggers out of the way.
async fn tamper(app: &TestApp, backend: Backend, sql: &str) {
    let db = app.db();
    match backend {
        Backend::Sqlite => {
            db.execute_unprepared("DROP TRIGGER IF EXISTS audit_log_no_update")
                .await
                .expect("drop trigger");
            db.execute_unprepared("DROP TRIGGER IF EXISTS audit_log_no_delete")
                .await
                .expect("drop trigger");
        }
        Backend::Postgres => {
            db.execute_unprepared("ALTER TABLE audit_log DISABLE TRIGGER USER")
                .await
                .expect("disable triggers");
        }
    }
    db.execute_unprepared(sql).await.expect("tamper");
}

fn backend_of(app: &TestApp) -> Backend {
    match app.db().get_database_backend() {
        sea_orm::DbBackend::Postgres => Backend::Postgres,
        _ => Backend::Sqlite,
    }
}

on_both_backends! {
    async fn a_changed_row_is_found_by_verify(app: TestApp) {
        app.seed_district().await;
        assert!(matches!(verify(app.db()).await.expect("verify"), Verification::Intact { .. }));
        tamper(&app, backend_of(&app), "UPDATE audit_log SET outcome = 'DENIED' WHERE seq = 3").await;
        assert_eq!(
            verify(app.db()).await.expect("verify"),
            Verification::Broken { seq: 3, reason: "content does not match its hash".to_owned() }
        );
    }
}

on_both_backends! {
    async fn removed_rows_are_found_by_verify(app: TestApp) {
        app.seed_district().await;
        let Verification::Intact { rows } = verify(app.db()).await.expect("verify") else { panic!("intact first") };
        tamper(&app, backend_of(&app), "DELETE FROM audit_log WHERE seq = 2").await;
        assert_eq!(verify(app.db()).await.expect("verify"), Verification::Broken { seq: 2, reason: "row is missing".to_owned() });
        tamper(&app, backend_of(&app), "DELETE FROM audit_log WHERE seq > 1").await;
        assert_eq!(verify(app.db()).await.expect("verify"), Verification::Truncated { rows: 1, expected: rows });
    }
}
