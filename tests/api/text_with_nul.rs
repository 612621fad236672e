//! Text PostgreSQL cannot store (NUL, U+0000) is refused as BAD_USER_INPUT
//! on both backends, in GraphQL arguments and variables and in REST paths,
//! query parameters and bodies, before any query; a mutation refused so
//! still leaves exactly one audit row.

use api::audit::service::{self as audit, Entry, Outcome, Verification, verify};
use api::auth::Role;
use api::error::ErrorCode;
use entity::{audit_log, transfer_event};
use sea_orm::{EntityTrait, PaginatorTrait, QueryOrder};
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_code, token_for};

async fn audit_rows(app: &TestApp) -> i64 {
    match verify(app.db()).await.expect("verify") {
        Verification::Intact { rows } => rows,
        other => panic!("audit chain: {other:?}"),
    }
}

async fn last_audit_row(app: &TestApp) -> audit_log::Model {
    audit_log::Entity::find()
        .order_by_desc(audit_log::Column::Seq)
        .one(app.db())
        .await
        .expect("read audit log")
        .expect("a row")
}

on_both_backends! {
    async fn queries_with_nul_are_refused_before_any_statement(app: TestApp) {
        app.seed_district().await;
        // (query, variables, the field named)
        let probes = [
            (r#"{ organization(code: "SL\u0000") { code } }"#, json!({}), "code"),
            ("query($code: String) { organization(code: $code) { code } }", json!({ "code": "SL\u{0}" }), "code"),
            (r#"{ organizations(within: "SL\u0000") { totalCount } }"#, json!({}), "within"),
            ("query($within: String) { organizations(within: $within) { totalCount } }", json!({ "within": "SL\u{0}" }), "within"),
            (r#"{ members(within: "SL.BL\u0000") { totalCount } }"#, json!({}), "within"),
            ("query($within: String) { members(within: $within) { totalCount } }", json!({ "within": "\u{0}" }), "within"),
            (r#"{ member(partyCardNumber: "PC\u0000") { id } }"#, json!({}), "partyCardNumber"),
            ("query($card: String) { member(partyCardNumber: $card) { id } }", json!({ "card": "PC001080000001\u{0}" }), "card"),
            (r#"{ auditLog(subject: "admin\u0000") { totalCount } }"#, json!({}), "subject"),
            ("query($subject: String) { auditLog(subject: $subject) { totalCount } }", json!({ "subject": "\u{0}admin" }), "subject"),
            // Deep in a selection, in a fragment, and in a variable's default.
            (r#"{ organization(code: "SL") { children { edges { node { members(asOf: "2020-01-01T00:00:00Z\u0000") { totalCount } } } } } }"#, json!({}), "asOf"),
            (r#"query { ...lookup } fragment lookup on Query { plan(code: "DA04\u0000") { code } }"#, json!({}), "code"),
            (r#"query($code: String = "SL\u0000") { organization(code: $code) { code } }"#, json!({}), "code"),
            // A variable the operation does not even use.
            ("{ version }", json!({ "unused": ["ok", "x\u{0}"] }), "unused[1]"),
        ];
        for (query, variables, field) in probes {
            let before = app.statements();
            let answer = app.graphql(query, variables).await;
            assert_eq!(error_code(&answer), Some("BAD_USER_INPUT"), "{query}: {answer}");
            assert_eq!(answer["errors"][0]["extensions"]["field"], field, "{query}: {answer}");
            assert_eq!(answer["data"], Value::Null, "{query}: {answer}");
            assert_eq!(app.statements(), before, "{query}: no statement ran");
        }
        // Other control characters and a lone surrogate never reach the database as NUL would.
        let answer = app.graphql("query($code: String) { organization(code: $code) { code } }", json!({ "code": "SL\u{1}\u{202e}" })).await;
        assert_eq!(answer, json!({ "data": { "organization": null } }));
        let answer = app.graphql(r#"{ organizations(nameContains: "\ud800") { totalCount } }"#, json!({})).await;
        assert_ne!(error_code(&answer), Some("INTERNAL"), "{answer}");
        assert!(answer.get("errors").is_some(), "a lone surrogate is not text: {answer}");
    }
}

on_both_backends! {
    async fn mutations_with_nul_are_refused_and_audited_once_each(app: TestApp) {
        let seeded = app.seed_district().await;
        let events_before = transfer_event::Entity::find().count(app.db()).await.expect("count");
        // (operation, variables, the field named, the audited action, the audited target)
        let probes = [
            (
                "mutation($input: TransferInput!) { submitTransfer(input: $input) { status } }",
                json!({ "input": { "externalId": "nul-1", "memberId": seeded.bl_member, "toOrganizationCode": "SL.BL.T11\u{0}", "reason": "RELOCATION" } }),
                "toOrganizationCode", "submitTransfer", "SL.BL.T11\\u{0}",
            ),
            (
                r#"mutation { submitTransfer(input: { externalId: "nul-2", memberId: 1, toOrganizationCode: "SL.BL.T11\u0000", reason: RELOCATION }) { status } }"#,
                json!({}),
                "toOrganizationCode", "submitTransfer", "SL.BL.T11\\u{0}",
            ),
            (
                r#"mutation { renameOrganization(code: "SL.BL\u0000", name: "Bạch Lưu") { code } }"#,
                json!({}),
                "code", "renameOrganization", "SL.BL\\u{0}",
            ),
            (
                "mutation($code: String!) { renameOrganization(code: $code, name: \"Bạch Lưu\") { code } }",
                json!({ "code": "SL.BL\u{0}" }),
                "code", "renameOrganization", "SL.BL\\u{0}",
            ),
            (
                r#"mutation { dissolveOrganization(input: { organizationCode: "SL.BL.R1\u0000", decisionRef: "QĐ-1" }) { moved } }"#,
                json!({}),
                "organizationCode", "dissolveOrganization", "SL.BL.R1\\u{0}",
            ),
            (
                "mutation($input: DissolveInput!) { dissolveOrganization(input: $input) { moved } }",
                json!({ "input": { "organizationCode": "SL.BL.R1", "decisionRef": "QĐ-1",
                                   "transfers": [{ "memberId": seeded.bl_member, "toOrganizationCode": "SL.BL.CQ\u{0}" }] } }),
                "transfers[0].toOrganizationCode", "dissolveOrganization", "SL.BL.CQ\\u{0}",
            ),
            (
                r#"mutation { submitTransfers(inputs: [{ externalId: "nul-3", memberId: 1, toOrganizationCode: "SL.BL.CQ", reason: RELOCATION, decisionRef: "QĐ\u0000" }]) { status } }"#,
                json!({}),
                "inputs[0].decisionRef", "submitTransfers", "QĐ\\u{0}",
            ),
        ];
        for (query, variables, field, action, target) in probes {
            let rows = audit_rows(&app).await;
            let answer = app.graphql(query, variables).await;
            assert_eq!(error_code(&answer), Some("BAD_USER_INPUT"), "{query}: {answer}");
            assert_eq!(answer["errors"][0]["extensions"]["field"], field, "{query}: {answer}");
            assert_eq!(audit_rows(&app).await, rows + 1, "{query}: exactly one audit row");
            let row = last_audit_row(&app).await;
            assert_eq!(row.action, action);
            assert_eq!(row.target.as_deref(), Some(target));
            assert_eq!(row.outcome, "FAILED");
            assert_eq!(row.error_code.as_deref(), Some("BAD_USER_INPUT"));
            assert_eq!(row.subject.as_deref(), Some("admin-all"));
        }
        // A READER's attempt is traced too.
        let rows = audit_rows(&app).await;
        let reader = token_for(Role::Reader, Some("SL"));
        let answer = app.graphql_as(&reader, r#"mutation { renameOrganization(code: "SL\u0000", name: "x") { code } }"#, json!({})).await;
        assert_eq!(error_code(&answer), Some("BAD_USER_INPUT"), "{answer}");
        assert_eq!(audit_rows(&app).await, rows + 1);
        assert_eq!(last_audit_row(&app).await.role.as_deref(), Some("READER"));

        assert_eq!(transfer_event::Entity::find().count(app.db()).await.expect("count"), events_before, "nothing applied");
        let bl = app.graphql(r#"{ organization(code: "SL.BL") { name status } }"#, json!({})).await;
        assert_eq!(bl["data"]["organization"], json!({ "name": "Tổ chức SL.BL", "status": "ACTIVE" }), "{bl}");
    }
}

on_both_backends! {
    async fn audit_rows_store_whatever_the_caller_sent(app: TestApp) {
        app.seed_district().await;
        // What reaches the audit log directly: NUL and other control characters.
        let rows = audit_rows(&app).await;
        let entry = Entry {
            subject: Some("probe\u{0}".to_owned()),
            role: Some("ADMIN".to_owned()),
            action: "renameOrganization".to_owned(),
            target: Some("SL.BL.T11\u{0}\u{1b}[31m".to_owned()),
            outcome: Outcome::of_error(ErrorCode::BadUserInput),
            error_code: Some(ErrorCode::BadUserInput),
            request_id: Some("nul-probe".to_owned()),
            scope_path: None,
        };
        audit::append_alone(app.db(), entry).await;
        assert_eq!(audit_rows(&app).await, rows + 1, "appended and the chain intact");
        let row = last_audit_row(&app).await;
        assert_eq!(row.target.as_deref(), Some("SL.BL.T11\\u{0}\\u{1b}[31m"));
        assert_eq!(row.subject.as_deref(), Some("probe\\u{0}"));

        // A target longer than its column, refused by the service itself.
        let rows = audit_rows(&app).await;
        let long = "SL.".repeat(100);
        let answer = app.graphql("mutation($code: String!) { renameOrganization(code: $code, name: \"x\") { code } }", json!({ "code": long })).await;
        let code = error_code(&answer).expect("refused").to_owned();
        assert_ne!(code, "INTERNAL", "{answer}");
        assert_eq!(audit_rows(&app).await, rows + 1);
        let row = last_audit_row(&app).await;
        assert_eq!(row.error_code.as_deref(), Some(code.as_str()));
        let target = row.target.expect("target");
        assert_eq!(target.chars().count(), 255);
        assert!(long.starts_with(target.trim_end_matches('…')));
    }
}

on_both_backends! {
    async fn rest_refuses_nul_in_paths_parameters_and_bodies(app: TestApp) {
        let seeded = app.seed_district().await;
        let member: i64 = seeded.bl_member.parse().expect("id");
        let admin = app.admin_token().to_owned();
        // (path, the field named)
        let probes = [
            ("/api/v1/organizations/SL%00/members", "code"),
            ("/api/v1/organizations/%00/members?limit=5", "code"),
            ("/api/v1/members/00108000000%00/membership", "national_id"),
            ("/api/v1/organizations/SL/members?after=%00", "after"),
            ("/api/v1/events?after=0&limit=1%00", "limit"),
            ("/api/v1/events?after%00=0", "query"),
        ];
        for (path, field) in probes {
            let before = app.statements();
            let response = app.get_as(&admin, path).await;
            assert_eq!(response.status(), 400, "{path}");
            assert_eq!(response.headers()["content-type"], "application/problem+json", "{path}");
            let problem: Value = response.json().await.expect("problem");
            assert_eq!(problem["code"], "BAD_USER_INPUT", "{path}: {problem}");
            assert_eq!(problem["field"], field, "{path}: {problem}");
            assert_eq!(app.statements(), before, "{path}: no statement ran");
        }
        let no_token = app.get("/api/v1/organizations/SL%00/members").await;
        assert_eq!(no_token.status(), 401, "authentication comes first");
        // Escaped, the percent sign is text like any other: no NUL, no such organization.
        assert_eq!(app.get_as(&admin, "/api/v1/organizations/SL%2500/members").await.status(), 404);

        let events_before = transfer_event::Entity::find().count(app.db()).await.expect("count");
        let rows = audit_rows(&app).await;
        let body = json!({ "events": [
            { "externalId": "rest-ok", "memberId": member, "toOrganizationCode": "SL.BL.CQ", "reason": "RELOCATION" },
            { "externalId": "rest-nul", "memberId": member, "toOrganizationCode": "SL.BL.T11\u{0}", "reason": "RELOCATION" },
        ] });
        let response = app.client().post(app.url("/api/v1/transfer-events")).bearer_auth(&admin).json(&body).send().await.expect("POST");
        assert_eq!(response.status(), 400);
        let problem: Value = response.json().await.expect("problem");
        assert_eq!(problem["code"], "BAD_USER_INPUT", "{problem}");
        assert_eq!(problem["field"], "events[1].toOrganizationCode", "{problem}");
        assert_eq!(transfer_event::Entity::find().count(app.db()).await.expect("count"), events_before, "refused whole");
        assert_eq!(audit_rows(&app).await, rows + 1, "one audit row for the refused batch");
        let row = last_audit_row(&app).await;
        assert_eq!(row.action, "POST /api/v1/transfer-events");
        assert_eq!(row.target.as_deref(), Some("SL.BL.T11\\u{0}"));
        assert_eq!((row.outcome.as_str(), row.error_code.as_deref()), ("FAILED", Some("BAD_USER_INPUT")));

        // The body is handed on unchanged when clean, and its limit still holds.
        let clean = json!({ "events": [{ "externalId": "rest-ok", "memberId": member, "toOrganizationCode": "SL.BL.CQ", "reason": "RELOCATION" }] });
        let response = app.client().post(app.url("/api/v1/transfer-events")).bearer_auth(&admin).json(&clean).send().await.expect("POST");
        let answer: Value = response.json().await.expect("JSON");
        assert_eq!(answer["results"][0]["status"], "APPLIED", "{answer}");
        let huge = json!({ "events": [{ "externalId": "x".repeat(1024 * 1024) }] });
        let response = app.client().post(app.url("/api/v1/transfer-events")).bearer_auth(&admin).json(&huge).send().await.expect("POST");
        assert_eq!(response.status(), 413);
        let problem: Value = response.json().await.expect("problem");
        assert_eq!(problem["code"], "LIMIT_EXCEEDED", "{problem}");
    }
}
