//! dissolveOrganization: atomic, every member moved or nothing changed,
//! each move a DISSOLUTION event in the feed; races with transfers and with
//! the destination's own dissolution.

use api::auth::Role;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_code, token_for};

pub const DISSOLVE: &str = "mutation($input: DissolveInput!) { dissolveOrganization(input: $input) {
    organization { code status dissolvedAt dissolutionDecision }
    transfers { externalId sequence member { id } from { code } to { code } kind reason decisionRef effectiveAt } } }";

/// The agency cell of commune SL.BL with three members: `a` lives in R1,
/// `b` in R2, `c` has no residence recorded. SL.BL.QS (military) holds `d`,
/// living in R1.
pub struct Commune {
    pub a: String,
    pub b: String,
    pub c: String,
    pub d: String,
}

pub async fn commune(app: &TestApp) -> Commune {
    app.create_organization("SL", "DISTRICT_COMMITTEE", None, None)
        .await;
    app.create_organization("SL.BL", "GRASSROOTS_COMMITTEE", None, Some("SL"))
        .await;
    for (code, cell_type) in [
        ("SL.BL.R1", "RESIDENTIAL"),
        ("SL.BL.R2", "RESIDENTIAL"),
        ("SL.BL.CQ", "AGENCY"),
        ("SL.BL.QS", "MILITARY"),
    ] {
        app.create_organization(code, "CELL", Some(cell_type), Some("SL.BL"))
            .await;
    }
    Commune {
        a: app
            .register_member("001080000011", "SL.BL.CQ", Some("SL.BL.R1"))
            .await,
        b: app
            .register_member("001080000012", "SL.BL.CQ", Some("SL.BL.R2"))
            .await,
        c: app.register_member("001080000013", "SL.BL.CQ", None).await,
        d: app
            .register_member("001080000014", "SL.BL.QS", Some("SL.BL.R1"))
            .await,
    }
}

pub fn input(code: &str, routing: &str, transfers: Value) -> Value {
    json!({ "input": { "organizationCode": code, "decisionRef": format!("QĐ-{code}"), "routing": routing, "transfers": transfers } })
}

/// Where a member is now (code of the open official cell).
pub async fn cell_of(app: &TestApp, member: &str) -> Value {
    let answer = app
        .graphql(
            "query($id: ID!) { member(id: $id) { membership { organization { code } } } }",
            json!({ "id": member }),
        )
        .await;
    answer["data"]["member"]["membership"]["organization"]["code"].clone()
}

/// Everything a dissolution could change, to show that nothing did.
async fn snapshot(app: &TestApp) -> Value {
    app.graphql(
        "{ organizations(first: 50) { edges { node { code status dissolvedAt memberCount } } }
           transferEvents(first: 500) { totalCount } }",
        json!({}),
    )
    .await
}

on_both_backends! {
    async fn an_explicit_dissolution_moves_every_member_in_one_step(app: TestApp) {
        let people = commune(&app).await;
        let answer = app
            .graphql(DISSOLVE, input("SL.BL.CQ", "EXPLICIT", json!([
                { "memberId": people.a, "toOrganizationCode": "SL.BL.R2" },
                { "memberId": people.b, "toOrganizationCode": "SL.BL.R1" },
                { "memberNationalId": "001080000013", "toOrganizationCode": "SL.BL.R1" },
            ])))
            .await;
        assert!(answer.get("errors").is_none(), "{answer}");
        let result = &answer["data"]["dissolveOrganization"];
        assert_eq!(result["organization"]["status"], "DISSOLVED");
        assert_eq!(result["organization"]["dissolutionDecision"], "QĐ-SL.BL.CQ");
        let transfers = result["transfers"].as_array().expect("transfers");
        assert_eq!(transfers.len(), 3, "{result}");
        for event in transfers {
            assert_eq!(event["reason"], "DISSOLUTION");
            assert_eq!(event["decisionRef"], "QĐ-SL.BL.CQ");
            assert_eq!(event["from"]["code"], "SL.BL.CQ");
            assert_eq!(event["kind"], "OFFICIAL");
            assert_eq!(event["effectiveAt"], result["organization"]["dissolvedAt"]);
        }
        assert_eq!(cell_of(&app, &people.a).await, "SL.BL.R2");
        assert_eq!(cell_of(&app, &people.b).await, "SL.BL.R1");
        assert_eq!(cell_of(&app, &people.c).await, "SL.BL.R1");

        // The feed shows the moves, after the admissions, in sequence.
        let feed = app
            .graphql("{ transferEvents(first: 50) { edges { node { sequence reason member { id } to { code } } } } }", json!({}))
            .await;
        let moves: Vec<&Value> = feed["data"]["transferEvents"]["edges"]
            .as_array()
            .expect("feed")
            .iter()
            .map(|edge| &edge["node"])
            .filter(|node| node["reason"] == "DISSOLUTION")
            .collect();
        assert_eq!(moves.len(), 3, "{feed}");
        let sequences: Vec<i64> = transfers.iter().map(|e| e["sequence"].as_i64().expect("sequence")).collect();
        for node in moves {
            assert!(sequences.contains(&node["sequence"].as_i64().expect("sequence")));
        }
        let cell = app.graphql("{ organization(code: \"SL.BL.CQ\") { memberCount members { totalCount } } }", json!({})).await;
        assert_eq!(cell["data"]["organization"], json!({ "memberCount": 0, "members": { "totalCount": 0 } }));
    }
}

on_both_backends! {
    async fn any_fault_refuses_the_whole_dissolution_and_names_the_members(app: TestApp) {
        let people = commune(&app).await;
        app.create_organization("SL.BL.OLD", "CELL", Some("RESIDENTIAL"), Some("SL.BL")).await;
        let done = app.graphql(DISSOLVE, input("SL.BL.OLD", "EXPLICIT", json!([]))).await;
        assert!(done.get("errors").is_none(), "an empty cell dissolves: {done}");
        let before = snapshot(&app).await;

        // EXPLICIT missing a member.
        let answer = app
            .graphql(DISSOLVE, input("SL.BL.CQ", "EXPLICIT", json!([
                { "memberId": people.a, "toOrganizationCode": "SL.BL.R2" },
                { "memberId": people.b, "toOrganizationCode": "SL.BL.R1" },
            ])))
            .await;
        assert_eq!(error_code(&answer), Some("BAD_USER_INPUT"), "{answer}");
        let faults = &answer["errors"][0]["extensions"]["faults"];
        assert_eq!(faults, &json!([{ "memberId": people.c, "problem": "no destination given" }]), "{answer}");
        assert_eq!(answer["data"], Value::Null);

        // BY_RESIDENCE with a member who has no residence recorded.
        let answer = app.graphql(DISSOLVE, input("SL.BL.CQ", "BY_RESIDENCE", json!([]))).await;
        assert_eq!(error_code(&answer), Some("BAD_USER_INPUT"), "{answer}");
        let faults = answer["errors"][0]["extensions"]["faults"].as_array().expect("faults").clone();
        assert_eq!(faults.len(), 1, "{answer}");
        assert_eq!(faults[0]["memberId"], json!(people.c));

        // Destinations that cannot take members, each named.
        let answer = app
            .graphql(DISSOLVE, input("SL.BL.CQ", "EXPLICIT", json!([
                { "memberId": people.a, "toOrganizationCode": "SL.BL.CQ" },
                { "memberId": people.b, "toOrganizationCode": "SL.BL.OLD" },
                { "memberId": people.c, "toOrganizationCode": "SL.BL" },
                { "memberId": people.d, "toOrganizationCode": "SL.BL.R1" },
            ])))
            .await;
        let faults = &answer["errors"][0]["extensions"]["faults"];
        assert_eq!(
            faults,
            &json!([
                { "memberId": people.a, "organizationCode": "SL.BL.CQ", "problem": "the destination is the cell being dissolved" },
                { "memberId": people.b, "organizationCode": "SL.BL.OLD", "problem": "the destination is not an ACTIVE CELL" },
                { "memberId": people.c, "organizationCode": "SL.BL", "problem": "the destination is not an ACTIVE CELL" },
                { "memberId": people.d, "organizationCode": "SL.BL.R1", "problem": "not an official member of this cell" },
            ]),
            "{answer}"
        );
        let answer = app
            .graphql(DISSOLVE, input("SL.BL.CQ", "BY_RESIDENCE", json!([
                { "memberId": people.c, "toOrganizationCode": "NO.SUCH" },
                { "memberId": people.c, "toOrganizationCode": "SL.BL.R1" },
            ])))
            .await;
        assert_eq!(error_code(&answer), Some("BAD_USER_INPUT"), "{answer}");
        assert!(answer["errors"][0]["extensions"]["faults"].to_string().contains("more than one destination"), "{answer}");

        // Bad input and refusals by the caller.
        let far_future = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
        let cases = [
            ("blank decision", json!({ "input": { "organizationCode": "SL.BL.CQ", "decisionRef": " ", "routing": "BY_RESIDENCE" } }), "BAD_USER_INPUT"),
            ("future", json!({ "input": { "organizationCode": "SL.BL.CQ", "decisionRef": "QĐ", "effectiveAt": far_future, "routing": "BY_RESIDENCE" } }), "BAD_USER_INPUT"),
            ("before the memberships began", json!({ "input": { "organizationCode": "SL.BL.CQ", "decisionRef": "QĐ", "effectiveAt": "2001-01-01T00:00:00Z",
                "routing": "BY_RESIDENCE", "transfers": [{ "memberId": people.c, "toOrganizationCode": "SL.BL.R1" }] } }), "BAD_USER_INPUT"),
            ("unknown organization", input("NO.SUCH", "EXPLICIT", json!([])), "NOT_FOUND"),
            ("already dissolved", input("SL.BL.OLD", "EXPLICIT", json!([])), "CONFLICT"),
            ("a committee with active cells", input("SL.BL", "EXPLICIT", json!([])), "BAD_USER_INPUT"),
            ("both ways of naming a member", input("SL.BL.CQ", "EXPLICIT", json!([{ "memberId": people.a, "memberNationalId": "001080000011", "toOrganizationCode": "SL.BL.R1" }])), "BAD_USER_INPUT"),
        ];
        for (name, variables, code) in cases {
            let answer = app.graphql(DISSOLVE, variables).await;
            assert_eq!(error_code(&answer), Some(code), "{name}: {answer}");
        }
        let committee = app.graphql(DISSOLVE, input("SL.BL", "EXPLICIT", json!([]))).await;
        let active: Vec<&str> = committee["errors"][0]["extensions"]["faults"]
            .as_array()
            .expect("faults")
            .iter()
            .filter_map(|f| f["organizationCode"].as_str())
            .collect();
        assert_eq!(active, ["SL.BL.R1", "SL.BL.R2", "SL.BL.CQ", "SL.BL.QS"], "{committee}");
        for (role, code) in [(Role::Reader, "FORBIDDEN"), (Role::Integrator, "FORBIDDEN")] {
            let answer = app.graphql_as(&token_for(role, Some("SL")), DISSOLVE, input("SL.BL.QS", "BY_RESIDENCE", json!([]))).await;
            assert_eq!(error_code(&answer), Some(code), "{answer}");
        }
        app.create_organization("SL.YT", "GRASSROOTS_COMMITTEE", None, Some("SL")).await;
        let other_commune = token_for(Role::Organizer, Some("SL.YT"));
        let answer = app.graphql_as(&other_commune, DISSOLVE, input("SL.BL.QS", "BY_RESIDENCE", json!([]))).await;
        assert_eq!(error_code(&answer), Some("NOT_FOUND"), "out of scope is absent: {answer}");

        let mut after = snapshot(&app).await;
        // SL.YT was added on purpose; everything else is as it was.
        let edges = after["data"]["organizations"]["edges"].as_array_mut().expect("edges");
        edges.retain(|edge| edge["node"]["code"] != "SL.YT");
        assert_eq!(after, before, "nothing changed");
    }
}

on_both_backends! {
    async fn by_residence_sends_members_home_and_temporary_activity_ends(app: TestApp) {
        let people = commune(&app).await;
        // `d` (military cell) is temporarily active in the agency cell.
        let temporary = app
            .graphql(
                "mutation($input: TransferInput!) { submitTransfer(input: $input) { status error { message } } }",
                json!({ "input": { "externalId": "tmp-d", "memberId": people.d, "toOrganizationCode": "SL.BL.CQ", "kind": "TEMPORARY", "reason": "REASSIGNMENT" } }),
            )
            .await;
        assert_eq!(temporary["data"]["submitTransfer"]["status"], "APPLIED", "{temporary}");

        let answer = app
            .graphql(DISSOLVE, input("SL.BL.CQ", "BY_RESIDENCE", json!([{ "memberId": people.c, "toOrganizationCode": "SL.BL.R2" }])))
            .await;
        assert!(answer.get("errors").is_none(), "{answer}");
        let transfers = answer["data"]["dissolveOrganization"]["transfers"].as_array().expect("transfers").clone();
        let moved: Vec<(Value, Value, Value)> = transfers
            .iter()
            .map(|e| (e["member"]["id"].clone(), e["to"]["code"].clone(), e["kind"].clone()))
            .collect();
        assert_eq!(
            moved,
            vec![
                (json!(people.a), json!("SL.BL.R1"), json!("OFFICIAL")),
                (json!(people.b), json!("SL.BL.R2"), json!("OFFICIAL")),
                (json!(people.c), json!("SL.BL.R2"), json!("OFFICIAL")),
                (json!(people.d), json!("SL.BL.QS"), json!("TEMPORARY")),
            ]
        );
        assert_eq!(cell_of(&app, &people.a).await, "SL.BL.R1");
        assert_eq!(cell_of(&app, &people.b).await, "SL.BL.R2");
        assert_eq!(cell_of(&app, &people.d).await, "SL.BL.QS");
        let d = app.graphql("query($id: ID!) { member(id: $id) { temporaryMemberships { id } } }", json!({ "id": people.d })).await;
        assert_eq!(d["data"]["member"]["temporaryMemberships"], json!([]), "{d}");

        // Dissolving twice is refused; the commune dissolves once its cells have.
        let again = app.graphql(DISSOLVE, input("SL.BL.CQ", "BY_RESIDENCE", json!([]))).await;
        assert_eq!(error_code(&again), Some("CONFLICT"), "{again}");
        let military = app.graphql(DISSOLVE, input("SL.BL.QS", "BY_RESIDENCE", json!([]))).await;
        assert!(military.get("errors").is_none(), "{military}");
        assert_eq!(cell_of(&app, &people.d).await, "SL.BL.R1");
    }
}

on_both_backends! {
    async fn a_transfer_racing_a_dissolution_moves_the_member_exactly_once(app: TestApp) {
        app.create_organization("SL", "DISTRICT_COMMITTEE", None, None).await;
        app.create_organization("SL.BL", "GRASSROOTS_COMMITTEE", None, Some("SL")).await;
        app.create_organization("SL.BL.R1", "CELL", Some("RESIDENTIAL"), Some("SL.BL")).await;
        app.create_organization("SL.BL.R2", "CELL", Some("RESIDENTIAL"), Some("SL.BL")).await;
        let mut racers = Vec::new();
        for round in 0..6 {
            let cell = format!("SL.BL.A{round}");
            app.create_organization(&cell, "CELL", Some("AGENCY"), Some("SL.BL")).await;
            let member = app.register_member(&format!("0010810000{round:02}"), &cell, Some("SL.BL.R1")).await;
            app.register_member(&format!("0010820000{round:02}"), &cell, Some("SL.BL.R1")).await;
            racers.push((cell, member));
        }
        for (round, (cell, member)) in racers.iter().enumerate() {
            let transfer = app.graphql(
                "mutation($input: TransferInput!) { submitTransfer(input: $input) { status error { code } } }",
                json!({ "input": { "externalId": format!("race-{round}"), "memberId": member, "fromOrganizationCode": cell,
                                   "toOrganizationCode": "SL.BL.R2", "reason": "RELOCATION" } }),
            );
            let dissolution = app.graphql(DISSOLVE, input(cell, "BY_RESIDENCE", json!([])));
            let (transfer, dissolution) = tokio::join!(transfer, dissolution);
            assert!(dissolution.get("errors").is_none(), "BY_RESIDENCE covers whoever is left: {dissolution}");
            let dissolved_it = dissolution["data"]["dissolveOrganization"]["transfers"]
                .as_array()
                .expect("transfers")
                .iter()
                .any(|e| e["member"]["id"] == json!(member));
            let transferred_it = transfer["data"]["submitTransfer"]["status"] == "APPLIED";
            assert!(dissolved_it ^ transferred_it, "exactly one wins: {transfer} {dissolution}");
            if !transferred_it {
                assert_eq!(transfer["data"]["submitTransfer"]["error"]["code"], "CONFLICT", "{transfer}");
            }
            let expected = if transferred_it { "SL.BL.R2" } else { "SL.BL.R1" };
            assert_eq!(cell_of(&app, member).await, expected);
            let history = app
                .graphql("query($id: ID!) { member(id: $id) { history { organization { code } endedAt } } }", json!({ "id": member }))
                .await;
            let open = history["data"]["member"]["history"]
                .as_array()
                .expect("history")
                .iter()
                .filter(|m| m["endedAt"].is_null())
                .count();
            assert_eq!(open, 1, "one open membership: {history}");
        }
        crate::invariants::assert_registry_invariants(app.db()).await;
    }
}

on_both_backends! {
    async fn two_cells_dissolving_into_each_other_cannot_both_succeed(app: TestApp) {
        let people = commune(&app).await;
        let into_military = input("SL.BL.CQ", "EXPLICIT", json!([
            { "memberId": people.a, "toOrganizationCode": "SL.BL.QS" },
            { "memberId": people.b, "toOrganizationCode": "SL.BL.QS" },
            { "memberId": people.c, "toOrganizationCode": "SL.BL.QS" },
        ]));
        let into_agency = input("SL.BL.QS", "EXPLICIT", json!([{ "memberId": people.d, "toOrganizationCode": "SL.BL.CQ" }]));
        let (first, second) = tokio::join!(app.graphql(DISSOLVE, into_military), app.graphql(DISSOLVE, into_agency));
        let succeeded = [&first, &second].iter().filter(|a| a.get("errors").is_none()).count();
        assert_eq!(succeeded, 1, "{first} {second}");
        // The loser (on PostgreSQL perhaps a deadlock victim, run again)
        // finds its destination dissolved and names the members it cannot move.
        for answer in [&first, &second] {
            if let Some(code) = error_code(answer) {
                assert_eq!(code, "BAD_USER_INPUT", "{answer}");
                assert!(answer["errors"][0]["extensions"]["faults"].to_string().contains("not an ACTIVE CELL"), "{answer}");
            }
        }
        crate::invariants::assert_registry_invariants(app.db()).await;
    }
}
