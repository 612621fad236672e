//! Plans: createPlan's rules, and progress at each step of a DA04-like
//! campaign checked against numbers the test computes itself from the
//! registry's ordinary reads.

use api::auth::Role;
use serde_json::{Value, json};

use crate::dissolution::{DISSOLVE, input as dissolution};
use crate::helpers::{TestApp, error_code, token_for};

const CREATE_PLAN: &str = "mutation($input: CreatePlanInput!) { createPlan(input: $input) { code title issuedBy { code } issuedOn deadline targetCellTypes } }";
const PROGRESS: &str = "{ plan(code: \"DA04\") { progress { committeesTotal committeesCompleted cellsTargeted cellsDissolved membersTransferred membersRemaining }
    committees { committee { code } cellsTargeted cellsDissolved membersTransferred membersRemaining completed completedAt } } }";

const COMMUNES: [&str; 3] = ["SL.C1", "SL.C2", "SL.C3"];

/// A district of three communes, each with two residential cells, an
/// agency and a military cell; members in every cell, living in the
/// commune's first residential cell. Returns the members of each targeted cell.
async fn district(app: &TestApp) -> Vec<(String, Vec<String>)> {
    app.create_organization("SL", "DISTRICT_COMMITTEE", None, None)
        .await;
    let mut targeted = Vec::new();
    let mut n = 0;
    for (c, commune) in COMMUNES.iter().enumerate() {
        app.create_organization(commune, "GRASSROOTS_COMMITTEE", None, Some("SL"))
            .await;
        for (suffix, cell_type) in [
            ("R1", "RESIDENTIAL"),
            ("R2", "RESIDENTIAL"),
            ("CQ", "AGENCY"),
            ("QS", "MILITARY"),
        ] {
            let cell = format!("{commune}.{suffix}");
            app.create_organization(&cell, "CELL", Some(cell_type), Some(commune))
                .await;
            // Different sizes, so a wrong sum cannot pass by chance.
            let size = 1 + c + usize::from(suffix == "QS");
            let mut members = Vec::new();
            for _ in 0..size {
                n += 1;
                members.push(
                    app.register_member(
                        &format!("0020900{n:05}"),
                        &cell,
                        Some(&format!("{commune}.R1")),
                    )
                    .await,
                );
            }
            if cell_type != "RESIDENTIAL" {
                targeted.push((cell, members));
            }
        }
    }
    targeted
}

/// What the plan should say, computed from ordinary reads: each targeted
/// cell's status and member count, and the members who have left them.
async fn expected(app: &TestApp, targeted: &[(String, Vec<String>)]) -> Value {
    let mut committees = Vec::new();
    let (mut total_dissolved, mut total_transferred, mut total_remaining, mut completed_count) =
        (0, 0, 0, 0);
    for commune in COMMUNES {
        let (mut cells, mut dissolved, mut transferred, mut remaining) = (0, 0, 0, 0);
        for (cell, members) in targeted
            .iter()
            .filter(|(cell, _)| cell.starts_with(&format!("{commune}.")))
        {
            let answer = app
                .graphql(
                    "query($code: String) { organization(code: $code) { status memberCount } }",
                    json!({ "code": cell }),
                )
                .await;
            cells += 1;
            if answer["data"]["organization"]["status"] == "DISSOLVED" {
                dissolved += 1;
            }
            let count = answer["data"]["organization"]["memberCount"]
                .as_i64()
                .expect("count");
            remaining += count;
            transferred += members.len() as i64 - count;
        }
        let completed = cells == dissolved && remaining == 0;
        completed_count += i64::from(completed);
        total_dissolved += dissolved;
        total_transferred += transferred;
        total_remaining += remaining;
        committees.push(json!({ "committee": { "code": commune }, "cellsTargeted": cells, "cellsDissolved": dissolved,
                                "membersTransferred": transferred, "membersRemaining": remaining, "completed": completed }));
    }
    json!({ "progress": { "committeesTotal": COMMUNES.len(), "committeesCompleted": completed_count, "cellsTargeted": targeted.len(),
                          "cellsDissolved": total_dissolved, "membersTransferred": total_transferred, "membersRemaining": total_remaining },
            "committees": committees })
}

/// The plan's answer without completedAt, which `expected` cannot know.
async fn progress(app: &TestApp) -> (Value, Vec<Value>) {
    let answer = app.graphql(PROGRESS, json!({})).await;
    assert!(answer.get("errors").is_none(), "{answer}");
    let mut plan = answer["data"]["plan"].clone();
    let mut completed_at = Vec::new();
    for row in plan["committees"].as_array_mut().expect("committees") {
        completed_at.push(row["completedAt"].clone());
        row.as_object_mut().expect("row").remove("completedAt");
    }
    (plan, completed_at)
}

async fn create_da04(app: &TestApp) {
    let answer = app
        .graphql(
            CREATE_PLAN,
            json!({ "input": { "code": "DA04", "title": "Đề án 04", "issuedByCode": "SL", "issuedOn": "2017-08-01",
                               "deadline": "2018-12-31", "targetCellTypes": ["MILITARY", "AGENCY"] } }),
        )
        .await;
    assert_eq!(
        answer["data"]["createPlan"],
        json!({ "code": "DA04", "title": "Đề án 04", "issuedBy": { "code": "SL" }, "issuedOn": "2017-08-01",
                "deadline": "2018-12-31", "targetCellTypes": ["AGENCY", "MILITARY"] }),
        "{answer}"
    );
}

on_both_backends! {
    async fn progress_follows_the_work_at_every_step(app: TestApp) {
        let targeted = district(&app).await;
        create_da04(&app).await;
        // A cell established after the issue date is not the plan's business.
        let late = app
            .graphql(
                "mutation { createOrganization(input: { code: \"SL.C1.NEW\", name: \"Chi bộ mới\", kind: CELL, cellType: AGENCY, parentCode: \"SL.C1\", establishedAt: \"2020-01-01T00:00:00Z\" }) { code } }",
                json!({}),
            )
            .await;
        assert!(late.get("errors").is_none(), "{late}");

        // Step 0: nothing done.
        let (plan, completed_at) = progress(&app).await;
        assert_eq!(plan, expected(&app, &targeted).await);
        assert_eq!(plan["progress"]["committeesCompleted"], 0);
        assert_eq!(plan["progress"]["cellsTargeted"], 6);
        assert!(completed_at.iter().all(Value::is_null));

        // Step 1: one commune dissolves its cells by residence.
        let mut dissolved_at = Vec::new();
        for cell in ["SL.C1.CQ", "SL.C1.QS"] {
            let answer = app.graphql(DISSOLVE, dissolution(cell, "BY_RESIDENCE", json!([]))).await;
            assert!(answer.get("errors").is_none(), "{answer}");
            dissolved_at.push(answer["data"]["dissolveOrganization"]["organization"]["dissolvedAt"].clone());
        }
        let (plan, completed_at) = progress(&app).await;
        assert_eq!(plan, expected(&app, &targeted).await);
        assert_eq!(plan["progress"]["committeesCompleted"], 1);
        assert_eq!(completed_at[0], dissolved_at[1], "completed when its last cell was dissolved");
        assert!(completed_at[1].is_null() && completed_at[2].is_null());

        // Step 2: a member of the second commune's agency cell moves by an ordinary transfer.
        let (cell, members) = &targeted[2];
        assert_eq!(cell, "SL.C2.CQ");
        let moved = app
            .graphql(
                "mutation($input: TransferInput!) { submitTransfer(input: $input) { status } }",
                json!({ "input": { "externalId": "move-1", "memberId": members[0], "toOrganizationCode": "SL.C2.R2", "reason": "RELOCATION" } }),
            )
            .await;
        assert_eq!(moved["data"]["submitTransfer"]["status"], "APPLIED", "{moved}");
        let (plan, _) = progress(&app).await;
        assert_eq!(plan, expected(&app, &targeted).await);
        assert_eq!(plan["committees"][1]["membersTransferred"], 1);
        assert_eq!(plan["committees"][1]["completed"], false);

        // Step 3: all the rest.
        for (cell, _) in &targeted[2..] {
            let answer = app.graphql(DISSOLVE, dissolution(cell, "BY_RESIDENCE", json!([]))).await;
            assert!(answer.get("errors").is_none(), "{answer}");
        }
        let (plan, completed_at) = progress(&app).await;
        assert_eq!(plan, expected(&app, &targeted).await);
        let everyone: usize = targeted.iter().map(|(_, members)| members.len()).sum();
        assert_eq!(
            plan["progress"],
            json!({ "committeesTotal": 3, "committeesCompleted": 3, "cellsTargeted": 6, "cellsDissolved": 6,
                    "membersTransferred": everyone, "membersRemaining": 0 })
        );
        assert!(completed_at.iter().all(|at| !at.is_null()));
        let listed = app.graphql("{ plans { code progress { committeesCompleted } } }", json!({})).await;
        assert_eq!(listed["data"]["plans"], json!([{ "code": "DA04", "progress": { "committeesCompleted": 3 } }]));
    }
}

on_both_backends! {
    async fn a_plan_costs_the_same_statements_however_many_committees(app: TestApp) {
        district(&app).await;
        create_da04(&app).await;
        let measure = || async {
            let before = app.statements();
            let answer = app.graphql(PROGRESS, json!({})).await;
            assert!(answer.get("errors").is_none(), "{answer}");
            (app.statements() - before, answer["data"]["plan"]["committees"].as_array().expect("rows").len())
        };
        let (small, rows) = measure().await;
        assert_eq!(rows, 3);
        for c in 4..=15 {
            let commune = format!("SL.C{c}");
            app.create_organization(&commune, "GRASSROOTS_COMMITTEE", None, Some("SL")).await;
            app.create_organization(&format!("{commune}.CQ"), "CELL", Some("AGENCY"), Some(&commune)).await;
        }
        let (large, rows) = measure().await;
        assert_eq!(rows, 15);
        assert_eq!(small, large, "statements do not grow with committees");
        assert!(small <= 12, "a plan report is a handful of statements: {small}");
    }
}

on_both_backends! {
    async fn create_plan_refuses_bad_input_and_plans_follow_the_scope(app: TestApp) {
        district(&app).await;
        create_da04(&app).await;
        let tomorrow = (chrono::Utc::now() + chrono::Duration::days(2)).date_naive().to_string();
        let plan = |code: &str, issuer: &str, issued: &str, deadline: Value, types: Value| {
            json!({ "input": { "code": code, "title": "Kế hoạch", "issuedByCode": issuer, "issuedOn": issued, "deadline": deadline, "targetCellTypes": types } })
        };
        let cases = [
            ("bad code", plan("DA 5", "SL", "2020-01-01", Value::Null, json!(["AGENCY"])), "BAD_USER_INPUT"),
            ("future", plan("DA05", "SL", &tomorrow, Value::Null, json!(["AGENCY"])), "BAD_USER_INPUT"),
            ("deadline first", plan("DA05", "SL", "2020-01-01", json!("2019-01-01"), json!(["AGENCY"])), "BAD_USER_INPUT"),
            ("no types", plan("DA05", "SL", "2020-01-01", Value::Null, json!([])), "BAD_USER_INPUT"),
            ("repeated type", plan("DA05", "SL", "2020-01-01", Value::Null, json!(["AGENCY", "AGENCY"])), "BAD_USER_INPUT"),
            ("a cell issues", plan("DA05", "SL.C1.CQ", "2020-01-01", Value::Null, json!(["AGENCY"])), "BAD_USER_INPUT"),
            ("unknown issuer", plan("DA05", "NO.SUCH", "2020-01-01", Value::Null, json!(["AGENCY"])), "NOT_FOUND"),
            ("code taken", plan("DA04", "SL", "2020-01-01", Value::Null, json!(["AGENCY"])), "CONFLICT"),
        ];
        for (name, variables, code) in cases {
            let answer = app.graphql(CREATE_PLAN, variables).await;
            assert_eq!(error_code(&answer), Some(code), "{name}: {answer}");
        }
        let answer = app.graphql_as(&token_for(Role::Reader, Some("SL")), CREATE_PLAN, plan("DA05", "SL", "2020-01-01", Value::Null, json!(["AGENCY"]))).await;
        assert_eq!(error_code(&answer), Some("FORBIDDEN"), "{answer}");

        // A commune's own plan, seen from the commune; the district's is not.
        let commune = token_for(Role::Organizer, Some("SL.C2"));
        let own = app.graphql_as(&commune, CREATE_PLAN, plan("C2-01", "SL.C2", "2020-01-01", Value::Null, json!(["MILITARY"]))).await;
        assert!(own.get("errors").is_none(), "{own}");
        let seen = app.graphql_as(&commune, "{ plans { code progress { committeesTotal cellsTargeted } } plan(code: \"DA04\") { code } }", json!({})).await;
        assert_eq!(seen["data"], json!({ "plans": [{ "code": "C2-01", "progress": { "committeesTotal": 1, "cellsTargeted": 1 } }], "plan": null }), "{seen}");
        let all = app.graphql_as(&token_for(Role::Reader, Some("SL")), "{ plans { code } }", json!({})).await;
        assert_eq!(all["data"]["plans"], json!([{ "code": "C2-01" }, { "code": "DA04" }]));
    }
}

on_both_backends! {
    async fn progress_is_the_same_before_and_after_the_2025_merge(app: TestApp) {
        let targeted = district(&app).await;
        create_da04(&app).await;
        let answer = app.graphql(DISSOLVE, dissolution("SL.C1.CQ", "BY_RESIDENCE", json!([]))).await;
        assert!(answer.get("errors").is_none(), "{answer}");
        let before = app.graphql(PROGRESS, json!({})).await;
        assert_eq!(progress(&app).await.0, expected(&app, &targeted).await);

        // 2025: the communes merge directly under the province; the district ends.
        app.create_organization("VP", "PROVINCIAL_COMMITTEE", None, None).await;
        let merged = app.graphql(crate::merge::MERGE, crate::merge::merge(&["SL.C1", "SL.C2", "SL.C3"], "VP.SL", "VP")).await;
        assert!(merged.get("errors").is_none(), "{merged}");
        let ended = app.graphql(DISSOLVE, dissolution("SL", "EXPLICIT", json!([]))).await;
        assert!(ended.get("errors").is_none(), "{ended}");
        let after = app.graphql(PROGRESS, json!({})).await;
        assert_eq!(after, before, "what the plan targeted does not change with the tree");

        // Work done after the merge still counts for the committee the cell stood in.
        let answer = app.graphql(DISSOLVE, dissolution("SL.C2.QS", "BY_RESIDENCE", json!([]))).await;
        assert!(answer.get("errors").is_none(), "{answer}");
        assert_eq!(progress(&app).await.0, expected(&app, &targeted).await);
        let later = app.graphql(PROGRESS, json!({})).await;
        assert_eq!(later["data"]["plan"]["progress"]["cellsDissolved"], 2, "{later}");
    }
}
