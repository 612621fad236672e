//! splitOrganization: a commune split in two with its cells assigned, a
//! cell split with its members assigned; faults refuse it whole with
//! nothing changed.

use api::auth::Role;
use entity::{membership, organization, transfer_event};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_code, now_after_last_write, token_for};
use crate::merge::province;

const SPLIT: &str = "mutation($input: SplitOrganizationInput!) { splitOrganization(input: $input) {
    organization { code status successor { code } successors { code } }
    parts { code kind cellType parent { code } children { edges { node { code } } } predecessors { code } }
    transfers { member { id } from { code } to { code } reason } } }";

fn part(code: &str, children: &[&str], members: &[&str]) -> Value {
    json!({ "code": code, "name": format!("Đảng bộ {code}"), "childCodes": children, "memberIds": members })
}

fn split(code: &str, parts: Vec<Value>) -> Value {
    json!({ "input": { "code": code, "decisionRef": format!("QĐ-tách-{code}"), "parts": parts } })
}

async fn counts(app: &TestApp) -> (u64, u64, u64) {
    (
        organization::Entity::find()
            .count(app.db())
            .await
            .expect("count"),
        membership::Entity::find()
            .count(app.db())
            .await
            .expect("count"),
        transfer_event::Entity::find()
            .count(app.db())
            .await
            .expect("count"),
    )
}

on_both_backends! {
    async fn a_commune_splits_in_two_with_its_cells(app: TestApp) {
        province(&app).await;
        let t = now_after_last_write();
        let answer = app.graphql(SPLIT, split("SL.BL", vec![part("SL.BL1", &["SL.BL.R1"], &[]), part("SL.BL2", &["SL.BL.CQ"], &[])])).await;
        assert!(answer.get("errors").is_none(), "{answer}");
        let done = &answer["data"]["splitOrganization"];
        assert_eq!(done["organization"], json!({ "code": "SL.BL", "status": "SPLIT", "successor": null, "successors": [{ "code": "SL.BL1" }, { "code": "SL.BL2" }] }));
        assert_eq!(done["parts"][0]["parent"], json!({ "code": "SL" }));
        assert_eq!(done["parts"][0]["children"]["edges"], json!([{ "node": { "code": "SL.BL.R1" } }]));
        assert_eq!(done["parts"][1]["children"]["edges"], json!([{ "node": { "code": "SL.BL.CQ" } }]));
        assert_eq!(done["parts"][1]["predecessors"], json!([{ "code": "SL.BL" }]));
        // As of before the split, SL.BL still held both cells.
        let then = app.graphql("query($t: DateTime!) { organization(code: \"SL.BL\", asOf: $t) { status children { totalCount } } }", json!({ "t": t })).await;
        assert_eq!(then["data"]["organization"], json!({ "status": "ACTIVE", "children": { "totalCount": 2 } }), "{then}");
        let audit = app.graphql("{ auditLog(first: 100, action: \"splitOrganization\") { totalCount } }", json!({})).await;
        assert_eq!(audit["data"]["auditLog"]["totalCount"], 5, "the source, two parts, two cells moved: {audit}");
    }
}

on_both_backends! {
    async fn a_cell_splits_with_its_members(app: TestApp) {
        let (bl, _) = province(&app).await;
        let other = app.register_member("001080000003", "SL.BL.R1", Some("SL.BL.R1")).await;
        let answer = app.graphql(SPLIT, split("SL.BL.R1", vec![part("SL.BL.R1A", &[], &[&bl]), part("SL.BL.R1B", &[], &[&other])])).await;
        assert!(answer.get("errors").is_none(), "{answer}");
        let done = &answer["data"]["splitOrganization"];
        assert_eq!(done["parts"][0]["cellType"], "RESIDENTIAL");
        assert_eq!(done["transfers"], json!([
            { "member": { "id": bl }, "from": { "code": "SL.BL.R1" }, "to": { "code": "SL.BL.R1A" }, "reason": "DISSOLUTION" },
            { "member": { "id": other }, "from": { "code": "SL.BL.R1" }, "to": { "code": "SL.BL.R1B" }, "reason": "DISSOLUTION" },
        ]));
    }
}

on_both_backends! {
    async fn a_refused_split_changes_nothing(app: TestApp) {
        let (bl, _) = province(&app).await;
        crate::organizations::dissolve_directly(&app, "SL.YT.CQ").await;
        let before = counts(&app).await;
        let cases: Vec<(&str, Value, &str)> = vec![
            ("a child given to no part", split("SL.BL", vec![part("SL.BL1", &["SL.BL.R1"], &[]), part("SL.BL2", &[], &[])]), "BAD_USER_INPUT"),
            ("a child not its own", split("SL.BL", vec![part("SL.BL1", &["SL.BL.R1", "SL.YT.R1"], &[]), part("SL.BL2", &["SL.BL.CQ"], &[])]), "BAD_USER_INPUT"),
            ("already ended", split("SL.YT.CQ", vec![part("SL.YT.A", &[], &[]), part("SL.YT.B", &[], &[])]), "BAD_USER_INPUT"),
            ("a member given to no part", split("SL.BL.R1", vec![part("SL.BL.R1A", &[], &[]), part("SL.BL.R1B", &[], &[])]), "BAD_USER_INPUT"),
            ("a member of a committee", split("SL.BL", vec![part("SL.BL1", &["SL.BL.R1"], &[&bl]), part("SL.BL2", &["SL.BL.CQ"], &[])]), "BAD_USER_INPUT"),
            ("a code taken", split("SL.BL", vec![part("SL.YT", &["SL.BL.R1"], &[]), part("SL.BL2", &["SL.BL.CQ"], &[])]), "BAD_USER_INPUT"),
            ("one part", split("SL.BL", vec![part("SL.BL1", &["SL.BL.R1", "SL.BL.CQ"], &[])]), "BAD_USER_INPUT"),
            ("unknown", split("NO.SUCH", vec![part("X1", &[], &[]), part("X2", &[], &[])]), "NOT_FOUND"),
        ];
        for (name, variables, code) in cases {
            let answer = app.graphql(SPLIT, variables).await;
            assert_eq!(error_code(&answer), Some(code), "{name}: {answer}");
            assert_eq!(counts(&app).await, before, "{name}: nothing changed");
        }
        let outside = app.graphql_as(&token_for(Role::Organizer, Some("SL.YT")), SPLIT, split("SL.BL", vec![part("SL.BL1", &["SL.BL.R1"], &[]), part("SL.BL2", &["SL.BL.CQ"], &[])])).await;
        assert_eq!(error_code(&outside), Some("NOT_FOUND"), "outside the scope is absent: {outside}");
        assert_eq!(counts(&app).await, before);
    }
}
