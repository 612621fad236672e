//! The tree remembers: every asOf read asked before a move, a rename and a
//! dissolution gets the same answer when asked again afterwards about the
//! same instant, while answers about now follow the change; subtree reads as
//! of an instant cost the same statements for 3 or 300 organizations; and a
//! database built before the history existed gets it from its current state.

use api::auth::Role;
use migration::{Migrator, MigratorTrait, SchemaManager};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::dissolution::{DISSOLVE, input as dissolution};
use crate::helpers::{TestApp, token_for};

/// Every read that takes asOf, about `$t`.
const AS_OF: &str = r#"query($t: DateTime!) {
  district: organization(code: "SL", asOf: $t) {
    name status
    children { edges { node { code name status } } }
    memberCount(includeDescendants: true)
    members(includeDescendants: true) { totalCount edges { node { member { id } organization { code } } } }
  }
  cell: organization(code: "SL.BL.R1", asOf: $t) { name status parent { code name } ancestors { code name } }
  agency: organization(code: "SL.YT.CQ", asOf: $t) { status }
  plain: organization(code: "SL.BL.R1") {
    parent(asOf: $t) { code }
    ancestors(asOf: $t) { code }
    memberCount(asOf: $t)
  }
  commune: organization(code: "SL.BL") { children(asOf: $t) { edges { node { code name } } } }
  organizations(within: "SL", asOf: $t) { totalCount edges { node { code name status } } }
  members(within: "SL", asOf: $t) { totalCount edges { node { id } } }
}"#;

const NOW: &str = r#"{
  cell: organization(code: "SL.BL.R1") { name ancestors { code } }
  organizations(within: "SL") { totalCount }
  members(within: "SL") { totalCount }
  agency: organization(code: "SL.YT.CQ") { status }
}"#;

fn codes(answer: &Value, list: &str) -> Vec<String> {
    answer["data"][list]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"]["code"].as_str().expect("code").to_owned())
        .collect()
}

on_both_backends! {
    async fn asof_answers_do_not_change_after_a_move_a_rename_and_a_dissolution(app: TestApp) {
        let seeded = app.seed_district().await;
        app.create_organization("TD", "DISTRICT_COMMITTEE", None, None).await;
        let t = crate::helpers::now_after_last_write();
        let before = app.graphql(AS_OF, json!({ "t": t })).await;
        assert!(before.get("errors").is_none(), "{before}");

        // What the district looked like then, computed from the seeding.
        let district = &before["data"]["district"];
        assert_eq!(district["status"], "ACTIVE");
        assert_eq!(district["memberCount"], 2, "{before}");
        let mut seen: Vec<&str> = district["members"]["edges"].as_array().expect("edges").iter().filter_map(|e| e["node"]["member"]["id"].as_str()).collect();
        seen.sort_unstable();
        let mut expected = vec![seeded.bl_member.as_str(), seeded.yt_member.as_str()];
        expected.sort_unstable();
        assert_eq!(seen, expected);
        assert_eq!(before["data"]["cell"]["ancestors"], json!([{ "code": "SL", "name": "Tổ chức SL" }, { "code": "SL.BL", "name": "Tổ chức SL.BL" }]));
        assert_eq!(before["data"]["plain"]["ancestors"], json!([{ "code": "SL" }, { "code": "SL.BL" }]));
        assert_eq!(codes(&before, "organizations"), ["SL", "SL.BL", "SL.BL.R1", "SL.BL.CQ", "SL.YT", "SL.YT.R1", "SL.YT.CQ"]);
        assert_eq!(before["data"]["members"]["totalCount"], 2);

        // The changes, each after t.
        let renamed = app.graphql("mutation { renameOrganization(code: \"SL.BL.R1\", name: \"Chi bộ thôn Mới\") { name } }", json!({})).await;
        assert!(renamed.get("errors").is_none(), "{renamed}");
        let moved = app.graphql("mutation { moveOrganization(code: \"SL.BL\", newParentCode: \"TD\") { code } }", json!({})).await;
        assert!(moved.get("errors").is_none(), "{moved}");
        let dissolved = app.graphql(DISSOLVE, dissolution("SL.YT.CQ", "BY_RESIDENCE", json!([]))).await;
        assert!(dissolved.get("errors").is_none(), "{dissolved}");

        let after = app.graphql(AS_OF, json!({ "t": t })).await;
        assert_eq!(after, before, "the same question about the same instant, the same answer");

        // Answers about now follow the changes.
        let now = app.graphql(NOW, json!({})).await;
        assert_eq!(now["data"]["cell"], json!({ "name": "Chi bộ thôn Mới", "ancestors": [{ "code": "TD" }, { "code": "SL.BL" }] }), "{now}");
        assert_eq!(now["data"]["organizations"]["totalCount"], 4, "SL, SL.YT and its two cells: {now}");
        assert_eq!(now["data"]["members"]["totalCount"], 1, "{now}");
        assert_eq!(now["data"]["agency"]["status"], "DISSOLVED");

        // Asked about now, the history agrees with the current tree.
        let t_now = crate::helpers::now_after_last_write();
        let today = app.graphql(AS_OF, json!({ "t": t_now })).await;
        assert_eq!(today["data"]["cell"]["ancestors"], json!([{ "code": "TD", "name": "Tổ chức TD" }, { "code": "SL.BL", "name": "Tổ chức SL.BL" }]), "{today}");
        assert_eq!(today["data"]["cell"]["name"], "Chi bộ thôn Mới");
        assert_eq!(today["data"]["organizations"]["totalCount"], 4);
        assert_eq!(today["data"]["agency"]["status"], "DISSOLVED");

        // Before the organizations were established, they were not there.
        let long_ago = app.graphql(AS_OF, json!({ "t": "2001-01-01T00:00:00Z" })).await;
        assert_eq!(long_ago["data"]["district"], Value::Null, "{long_ago}");
        assert_eq!(long_ago["data"]["organizations"]["totalCount"], 0);

        // The scope follows the current tree: SL's token no longer reaches the
        // commune that moved away, not even as of t.
        let sl = app.graphql_as(&token_for(Role::Reader, Some("SL")), AS_OF, json!({ "t": t })).await;
        assert_eq!(codes(&sl, "organizations"), ["SL", "SL.YT", "SL.YT.R1", "SL.YT.CQ"], "{sl}");
        assert_eq!(sl["data"]["cell"], Value::Null);
        assert_eq!(sl["data"]["district"]["memberCount"], 1, "{sl}");
        assert_eq!(sl["data"]["members"]["totalCount"], 1, "{sl}");
        let children: Vec<&str> = sl["data"]["district"]["children"]["edges"].as_array().expect("edges").iter().filter_map(|e| e["node"]["code"].as_str()).collect();
        assert_eq!(children, ["SL.YT"]);
    }
}

on_both_backends! {
    async fn subtree_reads_as_of_an_instant_cost_the_same_statements_for_3_or_300_organizations(app: TestApp) {
        let query = r#"query($t: DateTime!) {
          organizations(within: "SL", asOf: $t, first: 500) { totalCount edges { node { code name status } } }
          organization(code: "SL", asOf: $t) {
            memberCount(includeDescendants: true)
            members(includeDescendants: true) { totalCount }
            ancestors { code }
            children(first: 500) { totalCount }
          }
          members(within: "SL", asOf: $t) { totalCount }
        }"#;
        app.create_organization("SL", "DISTRICT_COMMITTEE", None, None).await;
        app.create_organization("SL.BL", "GRASSROOTS_COMMITTEE", None, Some("SL")).await;
        app.create_organization("SL.BL.R1", "CELL", Some("RESIDENTIAL"), Some("SL.BL")).await;
        app.register_member("001080000001", "SL.BL.R1", None).await;
        let measure = |expected: usize| {
            let app = &app;
            async move {
                let t = crate::helpers::now_after_last_write();
                let before = app.statements();
                let answer = app.graphql(query, json!({ "t": t })).await;
                assert!(answer.get("errors").is_none(), "{answer}");
                assert_eq!(answer["data"]["organizations"]["totalCount"], expected, "{answer}");
                assert_eq!(answer["data"]["organization"]["memberCount"], 1);
                app.statements() - before
            }
        };
        let small = measure(3).await;
        for c in 0..27 {
            let commune = format!("SL.C{c}");
            app.create_organization(&commune, "GRASSROOTS_COMMITTEE", None, Some("SL")).await;
            for r in 0..10 {
                app.create_organization(&format!("{commune}.R{r}"), "CELL", Some("RESIDENTIAL"), Some(&commune)).await;
            }
        }
        let large = measure(300).await;
        assert_eq!(small, large, "statements do not grow with the subtree");
        assert!(small <= 16, "a handful of statements (one to three a read): {small}");
    }
}

on_both_backends! {
    async fn a_database_seeded_before_the_history_gets_it_from_its_current_state(app: TestApp) {
        // The demo as the previous version built it: Sông Lô before 2025.
        api::seed::demo_2017(app.db(), api::seed::DEFAULT_SEED, false, |_| {}).await.expect("seed");
        let dissolved = app.graphql(DISSOLVE, dissolution("SL.BL.CQ", "BY_RESIDENCE", json!([]))).await;
        assert!(dissolved.get("errors").is_none(), "{dissolved}");
        // Back to the schema before the history, the demo's data kept.
        let db = app.db();
        let since_history = Migrator::migrations()
            .iter()
            .rev()
            .position(|m| m.name().ends_with("organization_history"))
            .expect("the history's migration") as u32
            + 1;
        Migrator::down(db, Some(since_history)).await.expect("down to before the history");
        assert!(!SchemaManager::new(db).has_table("organization_version").await.expect("has_table"));
        Migrator::up(db, None).await.expect("up again");

        let count = |sql: &'static str| async move {
            let row = db.query_one_raw(sea_orm::Statement::from_string(db.get_database_backend(), sql)).await.expect("query").expect("row");
            row.try_get_by_index::<i64>(0).expect("count")
        };
        let organizations = count("SELECT COUNT(*) FROM organization").await;
        assert!(organizations > 270, "{organizations}");
        assert_eq!(count("SELECT COUNT(*) FROM organization_version WHERE valid_to IS NULL").await, organizations, "one open version each");
        assert_eq!(
            count("SELECT COUNT(*) FROM organization o JOIN organization_version v ON v.organization_id = o.id AND v.valid_to IS NULL
                   WHERE v.path = o.path AND v.name = o.name AND v.status = o.status AND v.depth = o.depth
                     AND (v.parent_id = o.parent_id OR (v.parent_id IS NULL AND o.parent_id IS NULL))").await,
            organizations,
            "the open version is the current state"
        );
        assert_eq!(count("SELECT COUNT(*) FROM organization_version WHERE status = 'ACTIVE' AND valid_to IS NOT NULL").await, 1, "the dissolved cell was active until then");

        // As of a day in 2017 the demo's tree is there, the dissolved cell active.
        let then = app.graphql(
            "{ organization(code: \"SL.BL.CQ\", asOf: \"2017-08-01T00:00:00Z\") { status parent { code } } organizations(within: \"SL\", kind: CELL, asOf: \"2017-08-01T00:00:00Z\") { totalCount } }",
            json!({}),
        ).await;
        assert_eq!(then["data"]["organization"], json!({ "status": "ACTIVE", "parent": { "code": "SL.BL" } }), "{then}");
        assert_eq!(then["data"]["organizations"]["totalCount"], 256);
    }
}
