//! renameOrganization, moveOrganization and updateMember: each rule, the
//! audit trail, and scopes that follow a move at once.

use api::auth::Role;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_code, token_for};

const RENAME: &str = "mutation($code: String!, $name: String!) { renameOrganization(code: $code, name: $name) { code name } }";
const MOVE: &str = "mutation($code: String!, $to: String!) { moveOrganization(code: $code, newParentCode: $to) { code parent { code } ancestors { code } } }";
const UPDATE: &str = "mutation($input: UpdateMemberInput!) { updateMember(input: $input) { id fullName status officialOn partyCardNumber residenceCell { code } membership { organization { code } } } }";

async fn audited_actions(app: &TestApp) -> Vec<(String, String)> {
    let answer = app
        .graphql(
            "{ auditLog(first: 500) { edges { node { action outcome } } } }",
            json!({}),
        )
        .await;
    answer["data"]["auditLog"]["edges"]
        .as_array()
        .expect("audit")
        .iter()
        .map(|e| {
            (
                e["node"]["action"].as_str().unwrap_or_default().to_owned(),
                e["node"]["outcome"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

on_both_backends! {
    async fn rename_changes_the_name_never_the_code(app: TestApp) {
        app.seed_district().await;
        let answer = app.graphql(RENAME, json!({ "code": "SL.BL", "name": "  Đảng bộ xã Bạch Lưu  " })).await;
        assert_eq!(answer["data"]["renameOrganization"], json!({ "code": "SL.BL", "name": "Đảng bộ xã Bạch Lưu" }), "{answer}");
        for (variables, code) in [
            (json!({ "code": "SL.BL", "name": " " }), "BAD_USER_INPUT"),
            (json!({ "code": "NO.SUCH", "name": "x" }), "NOT_FOUND"),
            (json!({ "code": "bad code", "name": "x" }), "BAD_USER_INPUT"),
        ] {
            let answer = app.graphql(RENAME, variables).await;
            assert_eq!(error_code(&answer), Some(code), "{answer}");
        }
        let answer = app.graphql_as(&token_for(Role::Integrator, Some("SL")), RENAME, json!({ "code": "SL.BL", "name": "x" })).await;
        assert_eq!(error_code(&answer), Some("FORBIDDEN"));
        let answer = app.graphql_as(&token_for(Role::Organizer, Some("SL.YT")), RENAME, json!({ "code": "SL.BL", "name": "x" })).await;
        assert_eq!(error_code(&answer), Some("NOT_FOUND"), "out of scope is absent");
        let name = app.graphql("{ organization(code: \"SL.BL\") { name } }", json!({})).await;
        assert_eq!(name["data"]["organization"]["name"], "Đảng bộ xã Bạch Lưu");
        let actions = audited_actions(&app).await;
        let renames: Vec<&str> = actions.iter().filter(|(a, _)| a == "renameOrganization").map(|(_, o)| o.as_str()).collect();
        assert_eq!(renames.len(), 6, "every attempt is audited: {actions:?}");
        assert_eq!(renames, ["ALLOWED", "FAILED", "FAILED", "FAILED", "DENIED", "FAILED"], "{actions:?}");
    }
}

on_both_backends! {
    async fn moving_a_commune_takes_its_subtree_and_scopes_follow_at_once(app: TestApp) {
        let seeded = app.seed_district().await;
        app.create_organization("TD", "DISTRICT_COMMITTEE", None, None).await;
        let district_sl = token_for(Role::Organizer, Some("SL"));
        let district_td = token_for(Role::Reader, Some("TD"));
        let see = "query($id: ID!) { member(id: $id) { id } organization(code: \"SL.BL.R1\") { code } organizations(within: \"SL\", kind: CELL) { totalCount } }";
        let before = app.graphql_as(&district_td, see, json!({ "id": seeded.bl_member })).await;
        assert_eq!(before["data"]["member"], Value::Null);

        let answer = app.graphql_as(&district_sl, MOVE, json!({ "code": "SL.BL", "to": "TD" })).await;
        assert_eq!(error_code(&answer), Some("NOT_FOUND"), "the new parent lies outside the organizer's scope: {answer}");
        let answer = app.graphql(MOVE, json!({ "code": "SL.BL", "to": "TD" })).await;
        assert_eq!(
            answer["data"]["moveOrganization"],
            json!({ "code": "SL.BL", "parent": { "code": "TD" }, "ancestors": [{ "code": "TD" }] }),
            "{answer}"
        );
        // The cells went along: ancestors, subtree lists and scopes.
        let cell = app.graphql("{ organization(code: \"SL.BL.R1\") { ancestors { code } } organizations(within: \"TD\") { edges { node { code } } } }", json!({})).await;
        assert_eq!(cell["data"]["organization"]["ancestors"], json!([{ "code": "TD" }, { "code": "SL.BL" }]));
        let codes: Vec<&str> = cell["data"]["organizations"]["edges"].as_array().expect("edges").iter().filter_map(|e| e["node"]["code"].as_str()).collect();
        assert_eq!(codes, ["SL.BL", "SL.BL.R1", "SL.BL.CQ", "TD"], "in id order");
        let after = app.graphql_as(&district_td, see, json!({ "id": seeded.bl_member })).await;
        assert_eq!(after["data"]["member"]["id"], json!(seeded.bl_member), "{after}");
        assert_eq!(after["data"]["organization"]["code"], "SL.BL.R1");
        let old = app.graphql_as(&district_sl, see, json!({ "id": seeded.bl_member })).await;
        assert_eq!(old["data"]["member"], Value::Null, "the old district no longer sees the commune's members: {old}");
        assert_eq!(old["data"]["organization"], Value::Null);
        assert_eq!(old["data"]["organizations"]["totalCount"], 2, "only SL.YT's cells remain under SL: {old}");
        let members = app.graphql("{ members(within: \"TD\") { totalCount } }", json!({})).await;
        assert_eq!(members["data"]["members"]["totalCount"], 1);

        // Refusals, each with nothing moved.
        app.create_organization("SL.YT.QS", "CELL", Some("MILITARY"), Some("SL.YT")).await;
        for (code, to, expected) in [
            ("SL.BL", "SL.BL.R1", "BAD_USER_INPUT"),
            ("SL.BL", "SL.YT", "BAD_USER_INPUT"),
            ("SL.BL", "TD", "BAD_USER_INPUT"),
            ("TD", "SL.BL", "BAD_USER_INPUT"),
            ("SL", "SL.BL.R1", "BAD_USER_INPUT"),
            ("NO.SUCH", "TD", "NOT_FOUND"),
            ("SL.BL", "NO.SUCH", "NOT_FOUND"),
        ] {
            let answer = app.graphql(MOVE, json!({ "code": code, "to": to })).await;
            assert_eq!(error_code(&answer), Some(expected), "{code} -> {to}: {answer}");
        }
        // A cell may change commune.
        let answer = app.graphql(MOVE, json!({ "code": "SL.YT.QS", "to": "SL.BL" })).await;
        assert_eq!(answer["data"]["moveOrganization"]["ancestors"], json!([{ "code": "TD" }, { "code": "SL.BL" }]), "{answer}");
        let actions = audited_actions(&app).await;
        assert!(actions.iter().filter(|(a, _)| a == "moveOrganization").count() >= 10, "{actions:?}");
    }
}

on_both_backends! {
    async fn update_member_corrects_the_record_and_promotes(app: TestApp) {
        let seeded = app.seed_district().await;
        app.create_organization("SL.BL.R2", "CELL", Some("RESIDENTIAL"), Some("SL.BL")).await;
        let probationary = app
            .graphql(
                "mutation { registerMember(input: { nationalId: \"001095000001\", fullName: \"Lê Thị Hoa\", admittedOn: \"2025-06-01\", organizationCode: \"SL.BL.R1\", externalId: \"adm-hoa\" }) { id status } }",
                json!({}),
            )
            .await;
        let hoa = probationary["data"]["registerMember"]["id"].clone();
        assert_eq!(probationary["data"]["registerMember"]["status"], "PROBATIONARY");

        let answer = app
            .graphql(UPDATE, json!({ "input": { "memberId": hoa, "fullName": " Lê Thị Hoà ", "residenceCellCode": "SL.BL.R2", "partyCardNumber": "PC-HOA1" } }))
            .await;
        assert_eq!(answer["data"]["updateMember"]["fullName"], "Lê Thị Hoà", "{answer}");
        assert_eq!(answer["data"]["updateMember"]["residenceCell"]["code"], "SL.BL.R2");
        assert_eq!(answer["data"]["updateMember"]["partyCardNumber"], "PC-HOA1");

        let cases = [
            ("nothing to change", json!({ "memberId": hoa }), "BAD_USER_INPUT", None),
            ("no member named", json!({ "fullName": "x" }), "BAD_USER_INPUT", Some("memberId")),
            ("named twice", json!({ "memberId": hoa, "memberNationalId": "001095000001", "fullName": "x" }), "BAD_USER_INPUT", Some("memberId")),
            ("unknown member", json!({ "memberId": "99999", "fullName": "x" }), "NOT_FOUND", None),
            ("blank name", json!({ "memberId": hoa, "fullName": "  " }), "BAD_USER_INPUT", Some("fullName")),
            ("official without a date", json!({ "memberId": hoa, "status": "OFFICIAL" }), "BAD_USER_INPUT", Some("officialOn")),
            ("official before admission", json!({ "memberId": hoa, "status": "OFFICIAL", "officialOn": "2024-01-01" }), "BAD_USER_INPUT", Some("officialOn")),
            ("officialOn for a probationary member", json!({ "memberId": hoa, "officialOn": "2026-06-01" }), "BAD_USER_INPUT", Some("officialOn")),
            ("residence not residential", json!({ "memberId": hoa, "residenceCellCode": "SL.BL.CQ" }), "BAD_USER_INPUT", Some("residenceCellCode")),
            ("residence out of reach", json!({ "memberId": hoa, "residenceCellCode": "NO.SUCH" }), "NOT_FOUND", None),
            ("card of another member", json!({ "memberId": hoa, "partyCardNumber": "PC001080000001" }), "CONFLICT", None),
            ("bad card", json!({ "memberId": hoa, "partyCardNumber": "x" }), "BAD_USER_INPUT", Some("partyCardNumber")),
            ("too young", json!({ "memberId": hoa, "birthDate": "2015-01-01" }), "BAD_USER_INPUT", Some("birthDate")),
            ("decision without leaving", json!({ "memberId": hoa, "fullName": "x", "decisionRef": "QĐ-1" }), "BAD_USER_INPUT", Some("effectiveAt")),
        ];
        for (name, input, code, field) in cases {
            let answer = app.graphql(UPDATE, json!({ "input": input })).await;
            assert_eq!(error_code(&answer), Some(code), "{name}: {answer}");
            if let Some(field) = field {
                assert_eq!(answer["errors"][0]["extensions"]["field"], field, "{name}: {answer}");
            }
        }
        let unchanged = app.graphql("query($id: ID!) { member(id: $id) { fullName status partyCardNumber residenceCell { code } } }", json!({ "id": hoa })).await;
        assert_eq!(
            unchanged["data"]["member"],
            json!({ "fullName": "Lê Thị Hoà", "status": "PROBATIONARY", "partyCardNumber": "PC-HOA1", "residenceCell": { "code": "SL.BL.R2" } })
        );

        let promoted = app.graphql(UPDATE, json!({ "input": { "memberNationalId": "001095000001", "status": "OFFICIAL", "officialOn": "2026-06-01" } })).await;
        assert_eq!(promoted["data"]["updateMember"]["status"], "OFFICIAL", "{promoted}");
        assert_eq!(promoted["data"]["updateMember"]["officialOn"], "2026-06-01");
        let back = app.graphql(UPDATE, json!({ "input": { "memberId": hoa, "status": "PROBATIONARY" } })).await;
        assert_eq!(error_code(&back), Some("BAD_USER_INPUT"), "{back}");

        for (role, code) in [(Role::Integrator, "FORBIDDEN"), (Role::Reader, "FORBIDDEN")] {
            let answer = app.graphql_as(&token_for(role, Some("SL")), UPDATE, json!({ "input": { "memberId": seeded.bl_member, "fullName": "x" } })).await;
            assert_eq!(error_code(&answer), Some(code), "{answer}");
        }
        let answer = app.graphql_as(&token_for(Role::Organizer, Some("SL.YT")), UPDATE, json!({ "input": { "memberId": seeded.bl_member, "fullName": "x" } })).await;
        assert_eq!(error_code(&answer), Some("NOT_FOUND"), "{answer}");
    }
}

on_both_backends! {
    async fn removal_and_death_close_every_membership_with_a_feed_event(app: TestApp) {
        let seeded = app.seed_district().await;
        let yt = &seeded.yt_member;
        // The Yên Thạch member is also temporarily active in Bạch Lưu's residential cell.
        let temporary = app
            .graphql(
                "mutation($input: TransferInput!) { submitTransfer(input: $input) { status } }",
                json!({ "input": { "externalId": "tmp-yt", "memberId": yt, "toOrganizationCode": "SL.BL.R1", "kind": "TEMPORARY", "reason": "REASSIGNMENT" } }),
            )
            .await;
        assert_eq!(temporary["data"]["submitTransfer"]["status"], "APPLIED", "{temporary}");

        let removed = app
            .graphql(UPDATE, json!({ "input": { "memberId": seeded.bl_member, "status": "REMOVED", "decisionRef": "QĐ-KT-7" } }))
            .await;
        assert_eq!(removed["data"]["updateMember"]["status"], "REMOVED", "{removed}");
        assert_eq!(removed["data"]["updateMember"]["membership"], Value::Null, "no open membership: {removed}");
        let died = app.graphql(UPDATE, json!({ "input": { "memberId": yt, "status": "DECEASED" } })).await;
        assert_eq!(died["data"]["updateMember"]["status"], "DECEASED", "{died}");

        let feed = app
            .graphql("{ transferEvents(first: 50) { edges { node { member { id } from { code } to { code } kind reason decisionRef } } } }", json!({}))
            .await;
        let exits: Vec<Value> = feed["data"]["transferEvents"]["edges"]
            .as_array()
            .expect("feed")
            .iter()
            .map(|e| e["node"].clone())
            .filter(|n| n["reason"] == "REMOVAL" || n["reason"] == "DEATH")
            .collect();
        assert_eq!(
            exits,
            vec![
                json!({ "member": { "id": seeded.bl_member }, "from": { "code": "SL.BL.R1" }, "to": { "code": "SL.BL.R1" }, "kind": "OFFICIAL", "reason": "REMOVAL", "decisionRef": "QĐ-KT-7" }),
                json!({ "member": { "id": yt }, "from": { "code": "SL.YT.R1" }, "to": { "code": "SL.YT.R1" }, "kind": "OFFICIAL", "reason": "DEATH", "decisionRef": null }),
                json!({ "member": { "id": yt }, "from": { "code": "SL.BL.R1" }, "to": { "code": "SL.BL.R1" }, "kind": "TEMPORARY", "reason": "DEATH", "decisionRef": null }),
            ],
            "{feed}"
        );
        // Final: no going back, no transfers, no longer counted; still readable by id.
        let back = app.graphql(UPDATE, json!({ "input": { "memberId": yt, "status": "OFFICIAL", "officialOn": "2020-01-01" } })).await;
        assert_eq!(error_code(&back), Some("CONFLICT"), "{back}");
        let transfer = app
            .graphql(
                "mutation($input: TransferInput!) { submitTransfer(input: $input) { status error { code } } }",
                json!({ "input": { "externalId": "after-removal", "memberId": seeded.bl_member, "toOrganizationCode": "SL.BL.CQ", "reason": "RELOCATION" } }),
            )
            .await;
        assert_eq!(transfer["data"]["submitTransfer"]["error"]["code"], "CONFLICT", "{transfer}");
        let count = app.graphql("{ organization(code: \"SL.BL.R1\") { memberCount } }", json!({})).await;
        assert_eq!(count["data"]["organization"]["memberCount"], 0);
        let read = app.graphql("query($id: ID!) { member(id: $id) { status history { endedAt } } }", json!({ "id": seeded.bl_member })).await;
        assert_eq!(read["data"]["member"]["status"], "REMOVED");
        assert!(read["data"]["member"]["history"].as_array().expect("history").iter().all(|m| !m["endedAt"].is_null()));
        // Submitting REMOVAL or DEATH as a transfer reason is refused.
        let forged = app
            .graphql(
                "mutation($input: TransferInput!) { submitTransfer(input: $input) { status error { code } } }",
                json!({ "input": { "externalId": "forged", "memberNationalId": "001080000001", "toOrganizationCode": "SL.BL.CQ", "reason": "REMOVAL" } }),
            )
            .await;
        assert_eq!(forged["data"]["submitTransfer"]["error"]["code"], "BAD_USER_INPUT", "{forged}");
        crate::invariants::assert_registry_invariants(app.db()).await;
    }
}
