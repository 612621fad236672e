//! mergeOrganizations: communes merged under the province at one instant
//! (the 2025 reorganization), cells merged with their members; each fault
//! listed with nothing changed; a merge racing a transfer, and two merges
//! claiming the same source.

use api::auth::Role;
use entity::{membership, organization, transfer_event};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_code, now_after_last_write, token_for};

pub const MERGE: &str = "mutation($input: MergeOrganizationsInput!) { mergeOrganizations(input: $input) {
    organization { code kind cellType status establishedAt parent { code } children { edges { node { code } } } predecessors { code } }
    sources { code status dissolvedAt dissolutionDecision successor { code } successors { code } }
    transfers { member { id } from { code } to { code } reason decisionRef } } }";

pub fn merge(sources: &[&str], code: &str, parent: &str) -> Value {
    json!({ "input": { "sourceCodes": sources, "code": code, "name": format!("Đảng bộ {code}"), "parentCode": parent, "decisionRef": format!("QĐ-{code}") } })
}

/// Vĩnh Phúc province, Sông Lô district under it, communes SL.BL and SL.YT
/// with a residential and an agency cell each, one member in each
/// residential cell. Answers the two members' ids.
pub async fn province(app: &TestApp) -> (String, String) {
    app.create_organization("VP", "PROVINCIAL_COMMITTEE", None, None)
        .await;
    app.create_organization("SL", "DISTRICT_COMMITTEE", None, Some("VP"))
        .await;
    for commune in ["SL.BL", "SL.YT"] {
        app.create_organization(commune, "GRASSROOTS_COMMITTEE", None, Some("SL"))
            .await;
        app.create_organization(
            &format!("{commune}.R1"),
            "CELL",
            Some("RESIDENTIAL"),
            Some(commune),
        )
        .await;
        app.create_organization(
            &format!("{commune}.CQ"),
            "CELL",
            Some("AGENCY"),
            Some(commune),
        )
        .await;
    }
    let bl = app
        .register_member("001080000001", "SL.BL.R1", Some("SL.BL.R1"))
        .await;
    let yt = app
        .register_member("001080000002", "SL.YT.R1", Some("SL.YT.R1"))
        .await;
    (bl, yt)
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

async fn audited(app: &TestApp, action: &str) -> Vec<(String, String)> {
    let answer = app
        .graphql("query($a: String) { auditLog(first: 500, action: $a) { edges { node { target outcome } } } }", json!({ "a": action }))
        .await;
    answer["data"]["auditLog"]["edges"]
        .as_array()
        .expect("audit")
        .iter()
        .map(|e| {
            (
                e["node"]["target"].as_str().unwrap_or_default().to_owned(),
                e["node"]["outcome"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

const SL_THEN: &str = r#"query($t: DateTime!) { organization(code: "SL", asOf: $t) {
    status children { edges { node { code status } } } memberCount(includeDescendants: true) }
  members(within: "SL", asOf: $t) { totalCount }
  organizations(within: "SL.BL", asOf: $t) { edges { node { code parent { code } } } } }"#;

on_both_backends! {
    async fn communes_merge_under_the_province_at_one_instant(app: TestApp) {
        let (bl, yt) = province(&app).await;
        let t = now_after_last_write();
        let before = app.graphql(SL_THEN, json!({ "t": t })).await;
        assert_eq!(before["data"]["organization"]["memberCount"], 2, "{before}");

        let answer = app.graphql(MERGE, merge(&["SL.BL", "SL.YT"], "VP.SL", "VP")).await;
        assert!(answer.get("errors").is_none(), "{answer}");
        let merged = &answer["data"]["mergeOrganizations"];
        assert_eq!(merged["organization"]["code"], "VP.SL");
        assert_eq!(merged["organization"]["kind"], "GRASSROOTS_COMMITTEE");
        assert_eq!(merged["organization"]["status"], "ACTIVE");
        assert_eq!(merged["organization"]["parent"], json!({ "code": "VP" }));
        let children: Vec<&str> = merged["organization"]["children"]["edges"].as_array().expect("edges").iter().filter_map(|e| e["node"]["code"].as_str()).collect();
        assert_eq!(children, ["SL.BL.R1", "SL.BL.CQ", "SL.YT.R1", "SL.YT.CQ"]);
        assert_eq!(merged["organization"]["predecessors"], json!([{ "code": "SL.BL" }, { "code": "SL.YT" }]));
        for source in merged["sources"].as_array().expect("sources") {
            assert_eq!(source["status"], "MERGED", "{source}");
            assert_eq!(source["dissolutionDecision"], "QĐ-VP.SL");
            assert_eq!(source["dissolvedAt"], merged["organization"]["establishedAt"], "ended and founded at one instant");
            assert_eq!(source["successor"], json!({ "code": "VP.SL" }));
            assert_eq!(source["successors"], json!([{ "code": "VP.SL" }]));
        }
        assert_eq!(merged["transfers"], json!([]), "a committee merge moves cells, not members");

        // A consumer scoped to an old commune finds the new one by its code,
        // and nothing inside it.
        let old_scope = token_for(Role::Reader, Some("SL.BL"));
        let found = app
            .graphql_as(&old_scope, "{ organization(code: \"SL.BL\") { status successor { code kind parent { code } memberCount } } }", json!({}))
            .await;
        assert_eq!(found["data"]["organization"]["successor"]["code"], "VP.SL", "{found}");
        assert_eq!(found["data"]["organization"]["successor"]["kind"], "GRASSROOTS_COMMITTEE");
        assert_eq!(found["data"]["organization"]["successor"]["parent"], Value::Null, "{found}");
        assert_eq!(found["data"]["organization"]["successor"]["memberCount"], 0, "nothing inside it: {found}");

        // Members stay in their cells, now under the new commune.
        let now = app.graphql("{ organization(code: \"VP.SL\") { memberCount(includeDescendants: true) } cell: organization(code: \"SL.BL.R1\") { ancestors { code } } sl: organization(code: \"SL\") { memberCount(includeDescendants: true) } }", json!({})).await;
        assert_eq!(now["data"]["organization"]["memberCount"], 2, "{now}");
        assert_eq!(now["data"]["cell"]["ancestors"], json!([{ "code": "VP" }, { "code": "VP.SL" }]));
        assert_eq!(now["data"]["sl"]["memberCount"], 0);
        let placed = app.graphql("query($a: ID!, $b: ID!) { a: member(id: $a) { membership { organization { code } } } b: member(id: $b) { membership { organization { code } } } }", json!({ "a": bl, "b": yt })).await;
        assert_eq!(placed["data"]["a"]["membership"]["organization"]["code"], "SL.BL.R1", "{placed}");

        // The same question about before the merge, the same answer.
        let after = app.graphql(SL_THEN, json!({ "t": t })).await;
        assert_eq!(after, before);

        // One audit row per organization touched: the new one, four cells moved, two sources.
        let rows = audited(&app, "mergeOrganizations").await;
        assert_eq!(rows.len(), 7, "{rows:?}");
        assert!(rows.iter().all(|(_, outcome)| outcome == "ALLOWED"));

        // The district, now empty, ends as an ordinary dissolution.
        let ended = app.graphql(crate::dissolution::DISSOLVE, crate::dissolution::input("SL", "EXPLICIT", json!([]))).await;
        assert_eq!(ended["data"]["dissolveOrganization"]["organization"]["status"], "DISSOLVED", "{ended}");
        let merged_list = app.graphql("{ organizations(status: MERGED) { edges { node { code } } } dissolved: organizations(status: DISSOLVED) { totalCount } }", json!({})).await;
        assert_eq!(merged_list["data"]["organizations"]["edges"], json!([{ "node": { "code": "SL.BL" } }, { "node": { "code": "SL.YT" } }]));
        assert_eq!(merged_list["data"]["dissolved"]["totalCount"], 1);
    }
}

on_both_backends! {
    async fn cells_merge_with_their_members(app: TestApp) {
        let (bl, _) = province(&app).await;
        let input = json!({ "input": { "sourceCodes": ["SL.BL.R1", "SL.BL.CQ"], "code": "SL.BL.NEW", "name": "Chi bộ mới",
                                       "parentCode": "SL.BL", "cellType": "RESIDENTIAL", "decisionRef": "QĐ-7" } });
        let answer = app.graphql(MERGE, input).await;
        assert!(answer.get("errors").is_none(), "{answer}");
        let merged = &answer["data"]["mergeOrganizations"];
        assert_eq!(merged["organization"]["cellType"], "RESIDENTIAL");
        assert_eq!(merged["transfers"], json!([{ "member": { "id": bl }, "from": { "code": "SL.BL.R1" }, "to": { "code": "SL.BL.NEW" }, "reason": "DISSOLUTION", "decisionRef": "QĐ-7" }]));
        let placed = app.graphql("query($a: ID!) { member(id: $a) { membership { organization { code } } } }", json!({ "a": bl })).await;
        assert_eq!(placed["data"]["member"]["membership"]["organization"]["code"], "SL.BL.NEW");
        // Mixed cell types need a cellType.
        let again = app.graphql(MERGE, merge(&["SL.YT.R1", "SL.YT.CQ"], "SL.YT.NEW", "SL.YT")).await;
        assert_eq!(error_code(&again), Some("BAD_USER_INPUT"), "{again}");
    }
}

on_both_backends! {
    async fn a_refused_merge_lists_every_fault_and_changes_nothing(app: TestApp) {
        province(&app).await;
        app.create_organization("HN", "PROVINCIAL_COMMITTEE", None, None).await;
        app.create_organization("HN.X", "DISTRICT_COMMITTEE", None, Some("HN")).await;
        app.create_organization("HN.X.C1", "CELL", Some("AGENCY"), Some("HN.X")).await;
        crate::organizations::dissolve_directly(&app, "SL.YT.CQ").await;
        let before = counts(&app).await;
        let faults_of = |answer: &Value| -> Vec<String> {
            answer["errors"][0]["extensions"]["faults"].as_array().unwrap_or(&Vec::new()).iter()
                .map(|f| format!("{}: {}", f["organizationCode"].as_str().unwrap_or("-"), f["problem"].as_str().unwrap_or_default())).collect()
        };
        let cases: Vec<(&str, Value, Option<&str>, usize)> = vec![
            ("a source already ended", merge(&["SL.BL.CQ", "SL.YT.CQ"], "SL.BL.N", "SL.BL"), Some("SL.YT.CQ"), 1),
            ("mixed kinds", merge(&["SL.BL", "SL.YT.R1"], "VP.N", "VP"), None, 1),
            ("a parent breaking the tree rules", merge(&["SL.BL", "SL.YT"], "SL.N", "HN.X.C1"), Some("HN.X.C1"), 1),
            ("a parent under a source", merge(&["SL.BL", "SL.YT"], "SL.N", "SL.BL.R1"), Some("SL.BL.R1"), 2),
            ("an unknown source", merge(&["SL.BL", "NO.SUCH"], "VP.N", "VP"), Some("NO.SUCH"), 1),
            ("the new code taken", merge(&["SL.BL", "SL.YT"], "SL", "VP"), Some("SL"), 1),
            ("every fault at once", merge(&["SL.BL", "SL.YT.CQ", "NO.SUCH"], "SL", "SL.BL.R1"), None, 6),
        ];
        for (name, variables, code, faults) in cases {
            let answer = app.graphql(MERGE, variables).await;
            assert_eq!(error_code(&answer), Some("BAD_USER_INPUT"), "{name}: {answer}");
            let listed = faults_of(&answer);
            assert_eq!(listed.len(), faults, "{name}: {listed:?}");
            if let Some(code) = code {
                assert!(listed.iter().any(|f| f.starts_with(code)), "{name}: {listed:?}");
            }
            assert_eq!(counts(&app).await, before, "{name}: nothing changed");
        }
        // A source outside the caller's scope is a fault too, as if it did not exist.
        let commune = token_for(Role::Organizer, Some("SL.BL"));
        let answer = app.graphql_as(&commune, MERGE, merge(&["SL.BL.R1", "SL.YT.R1"], "SL.BL.N", "SL.BL")).await;
        assert_eq!(error_code(&answer), Some("BAD_USER_INPUT"), "{answer}");
        assert_eq!(faults_of(&answer), ["SL.YT.R1: not found (or outside the caller's scope)"]);
        let answer = app.graphql_as(&token_for(Role::Reader, Some("VP")), MERGE, merge(&["SL.BL", "SL.YT"], "VP.N", "VP")).await;
        assert_eq!(error_code(&answer), Some("FORBIDDEN"));
        assert_eq!(counts(&app).await, before, "nothing changed");
        let refused: Vec<String> = audited(&app, "mergeOrganizations").await.into_iter().map(|(_, o)| o).collect();
        assert_eq!(refused.len(), 9, "every refusal is audited: {refused:?}");
        assert!(refused.iter().all(|o| o != "ALLOWED"));
    }
}

on_both_backends! {
    async fn a_merge_racing_a_transfer_into_a_merged_cell_leaves_no_one_behind(app: TestApp) {
        let (_, yt) = province(&app).await;
        let transfer = app.graphql(
            "mutation($input: TransferInput!) { submitTransfer(input: $input) { status error { code } } }",
            json!({ "input": { "externalId": "race-1", "memberId": yt, "toOrganizationCode": "SL.BL.R1", "reason": "RELOCATION" } }),
        );
        let merging = app.graphql(MERGE, json!({ "input": { "sourceCodes": ["SL.BL.R1", "SL.BL.CQ"], "code": "SL.BL.NEW", "name": "Chi bộ mới",
                                                               "parentCode": "SL.BL", "cellType": "RESIDENTIAL", "decisionRef": "QĐ-8" } }));
        let (transfer, merging) = tokio::join!(transfer, merging);
        assert!(merging.get("errors").is_none(), "{merging}");
        let transferred = transfer["data"]["submitTransfer"]["status"] == "APPLIED";
        let placed = app.graphql("query($a: ID!) { member(id: $a) { membership { organization { code } } } }", json!({ "a": yt })).await;
        let cell = placed["data"]["member"]["membership"]["organization"]["code"].clone();
        if transferred {
            assert_eq!(cell, "SL.BL.NEW", "moved in first, then merged along: {merging}");
        } else {
            assert_eq!(cell, "SL.YT.R1", "refused, stays: {transfer}");
        }
        let stranded = app.graphql("{ r1: organization(code: \"SL.BL.R1\") { status memberCount } cq: organization(code: \"SL.BL.CQ\") { memberCount } }", json!({})).await;
        assert_eq!(stranded["data"], json!({ "r1": { "status": "MERGED", "memberCount": 0 }, "cq": { "memberCount": 0 } }));
    }
}

on_both_backends! {
    async fn two_merges_claiming_the_same_source_exactly_one_wins(app: TestApp) {
        province(&app).await;
        let before = counts(&app).await;
        let first = app.graphql(MERGE, merge(&["SL.BL", "SL.YT"], "VP.A", "VP"));
        let second = app.graphql(MERGE, merge(&["SL.YT", "SL.BL"], "VP.B", "VP"));
        let (first, second) = tokio::join!(first, second);
        let won = [&first, &second].iter().filter(|a| a.get("errors").is_none()).count();
        assert_eq!(won, 1, "{first} {second}");
        let lost = if first.get("errors").is_none() { &second } else { &first };
        assert!(matches!(error_code(lost), Some("BAD_USER_INPUT" | "CONFLICT")), "{lost}");
        assert_eq!(counts(&app).await.0, before.0 + 1, "one new organization");
        let successors = app.graphql("{ a: organization(code: \"SL.BL\") { successor { code } } b: organization(code: \"SL.YT\") { successor { code } } }", json!({})).await;
        assert_eq!(successors["data"]["a"], successors["data"]["b"], "{successors}");
    }
}
