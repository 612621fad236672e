//! Scope through nested fields: from every starting point a caller scoped to
//! one commune may query, every field that leads to a Member, Organization,
//! Membership or TransferEvent is followed, and nothing outside the scope
//! comes back beyond the identity of an event's other end. A member who has
//! left the scope is shown as the event that took them away recorded them.

use api::auth::Role;
use serde_json::{Value, json};

use crate::helpers::{TestApp, token_for};

/// Selections of each type, `depth` levels of object fields deep.
fn member(depth: u32) -> String {
    let mut fields =
        "id nationalId partyCardNumber fullName birthDate admittedOn officialOn status".to_owned();
    if depth > 0 {
        let (o, m, e) = (
            organization(depth - 1),
            membership(depth - 1),
            event(depth - 1),
        );
        fields += &format!(
            " residenceCell {{ {o} }} membership {{ {m} }} temporaryMemberships {{ {m} }} history {{ {m} }} \
             transfers(first: 5) {{ totalCount edges {{ node {{ {e} }} }} }}"
        );
    }
    fields
}

fn organization(depth: u32) -> String {
    let mut fields =
        "id code name kind cellType status establishedAt dissolvedAt dissolutionDecision \
                      memberCount(includeDescendants: true)"
            .to_owned();
    if depth > 0 {
        let (o, m) = (organization(depth - 1), membership(depth - 1));
        fields += &format!(
            " parent {{ {o} }} ancestors {{ {o} }} children(first: 3) {{ totalCount edges {{ node {{ {o} }} }} }} \
             members(first: 3, includeDescendants: true) {{ totalCount edges {{ node {{ {m} }} }} }}"
        );
    }
    fields
}

fn membership(depth: u32) -> String {
    let mut fields = "id kind startedAt endedAt".to_owned();
    if depth > 0 {
        let (mb, o) = (member(depth - 1), organization(depth - 1));
        fields += &format!(" member {{ {mb} }} organization {{ {o} }}");
    }
    fields
}

fn event(depth: u32) -> String {
    let mut fields =
        "id externalId sequence kind reason decisionRef effectiveAt submittedBy".to_owned();
    if depth > 0 {
        let (mb, o) = (member(depth - 1), organization(depth - 1));
        fields += &format!(" member {{ {mb} }} from {{ {o} }} to {{ {o} }}");
    }
    fields
}

/// Every query a scoped caller can start from, with its nested selections.
fn walks(member_id: &str) -> Vec<String> {
    let mut queries = Vec::new();
    for depth in 1..=3 {
        queries.push(format!(
            "{{ transferEvents(first: 5) {{ edges {{ node {{ {} }} }} }} }}",
            event(depth)
        ));
        queries.push(format!(
            "{{ organization(code: \"SL.BL\") {{ {} }} }}",
            organization(depth)
        ));
        // The whole list three levels deep is past the row budget; two are not.
        if depth < 3 {
            queries.push(format!(
                "{{ organizations(first: 3) {{ edges {{ node {{ {} }} }} }} }}",
                organization(depth)
            ));
        }
        queries.push(format!(
            "{{ members(first: 3) {{ edges {{ node {{ {} }} }} }} }}",
            member(depth)
        ));
        queries.push(format!(
            "{{ member(id: \"{member_id}\") {{ {} }} }}",
            member(depth)
        ));
        queries.push(format!(
            "{{ organization(code: \"SL.BL.R1\") {{ members(first: 10, asOf: \"2020-01-01T00:00:00Z\") \
               {{ edges {{ node {{ {} }} }} }} }} }}",
            membership(depth)
        ));
    }
    queries
}

/// Every object in an answer, however deep.
fn objects<'a>(value: &'a Value, found: &mut Vec<&'a serde_json::Map<String, Value>>) {
    match value {
        Value::Object(map) => {
            found.push(map);
            map.values().for_each(|v| objects(v, found));
        }
        Value::Array(items) => items.iter().for_each(|v| objects(v, found)),
        _ => {}
    }
}

/// Whether a value says nothing: null, zero, empty, or an empty connection.
fn says_nothing(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Number(n) => n.as_i64() == Some(0),
        Value::Array(items) => items.is_empty(),
        Value::Object(map) => map
            .iter()
            .all(|(key, v)| key == "pageInfo" || says_nothing(v)),
        _ => false,
    }
}

async fn rename(app: &TestApp, member_id: &str, name: &str, card: &str, birth: &str) {
    let answer = app
        .graphql(
            "mutation($input: UpdateMemberInput!) { updateMember(input: $input) { id } }",
            json!({ "input": { "memberId": member_id, "fullName": name, "partyCardNumber": card, "birthDate": birth } }),
        )
        .await;
    assert!(answer.get("errors").is_none(), "{answer}");
}

async fn transfer(app: &TestApp, key: &str, member_id: &str, to: &str) {
    let answer = app
        .graphql(
            "mutation($input: TransferInput!) { submitTransfer(input: $input) { status error { message } } }",
            json!({ "input": { "externalId": key, "memberId": member_id, "toOrganizationCode": to,
                               "reason": "RELOCATION", "effectiveAt": "2021-06-01T00:00:00Z" } }),
        )
        .await;
    assert_eq!(
        answer["data"]["submitTransfer"]["status"], "APPLIED",
        "{answer}"
    );
}

on_both_backends! {
    async fn nothing_outside_the_scope_is_reached_through_nested_fields(app: TestApp) {
        let seeded = app.seed_district().await;
        app.create_organization("SL.YT.R2", "CELL", Some("RESIDENTIAL"), Some("SL.YT")).await;
        // The member leaves SL.BL for SL.YT, then lives on there: a new name,
        // card and birth date, and a move between two cells of SL.YT.
        transfer(&app, "leaves-bl", &seeded.bl_member, "SL.YT.R1").await;
        rename(&app, &seeded.bl_member, "Trần Thị Sau Khi Đi", "PCAFTERLEAVING", "1979-03-03").await;
        let now = chrono::Utc::now().to_rfc3339();
        let answer = app
            .graphql(
                "mutation($input: TransferInput!) { submitTransfer(input: $input) { status } }",
                json!({ "input": { "externalId": "inside-yt", "memberId": seeded.bl_member,
                                   "toOrganizationCode": "SL.YT.R2", "reason": "RELOCATION", "effectiveAt": now } }),
            )
            .await;
        assert_eq!(answer["data"]["submitTransfer"]["status"], "APPLIED", "{answer}");

        // What only the other commune may know.
        let secrets = [
            "Trần Thị Sau Khi Đi", "PCAFTERLEAVING", "1979-03-03", "inside-yt", "SL.YT.R2",
            "001080000002", "PC001080000002", "1980-02-29", "SL.YT.CQ", "\"SL.YT\"", "\"SL\"",
        ];
        let outside_codes = ["SL.YT.R1", "SL.YT.R2", "SL.YT", "SL", "SL.YT.CQ"];
        for role in [Role::Integrator, Role::Reader] {
            let token = token_for(role, Some("SL.BL"));
            let mut saw_the_departure = false;
            for query in walks(&seeded.bl_member) {
                let answer = app.graphql_as(&token, &query, json!({})).await;
                assert!(answer.get("errors").is_none(), "{query}\n{answer}");
                let text = answer.to_string();
                for secret in secrets {
                    // The birth date 1980-02-29 is the other commune's member's;
                    // a READER sees no birth date at all.
                    assert!(!text.contains(secret), "{} reached {secret} through\n{query}\n{answer}", role.as_str());
                }
                let mut found = Vec::new();
                objects(&answer["data"], &mut found);
                for object in found {
                    let code = object.get("code").and_then(Value::as_str);
                    if code.is_some_and(|code| outside_codes.contains(&code)) {
                        // The far end of a visible event: who it is, nothing inside it.
                        for (key, value) in object {
                            let identity = ["id", "code", "name", "kind", "cellType", "status"];
                            assert!(identity.contains(&key.as_str()) || says_nothing(value),
                                "{}: {key} of {code:?} = {value}\n{query}", role.as_str());
                        }
                    }
                    if object.get("externalId").and_then(Value::as_str) == Some("leaves-bl") {
                        saw_the_departure = true;
                        if let Some(moved) = object.get("member") {
                            // As the departure found them.
                            assert_eq!(moved["fullName"], "Nguyễn Văn An", "{query}");
                            assert!(moved["birthDate"].is_null() && moved["partyCardNumber"].is_null(), "{moved}");
                            assert!(moved["residenceCell"].is_null(), "{moved}");
                            let national_id = moved["nationalId"].as_str().expect("nationalId");
                            match role {
                                Role::Reader => assert_eq!(national_id, "********0001"),
                                _ => assert_eq!(national_id, "001080000001"),
                            }
                            if let Some(transfers) = moved.get("transfers") {
                                // Only what SL.BL wrote: the admission and the departure.
                                assert_eq!(transfers["totalCount"], 2, "{moved}");
                            }
                        }
                    }
                }
            }
            assert!(saw_the_departure, "the departure is SL.BL's own event");
        }

        // The other commune still sees the member in full, as they are now.
        let yt = token_for(Role::Integrator, Some("SL.YT"));
        let answer = app
            .graphql_as(&yt, "query($id: ID!) { member(id: $id) { fullName partyCardNumber transfers { totalCount } } }",
                        json!({ "id": seeded.bl_member }))
            .await;
        assert_eq!(answer["data"]["member"]["fullName"], "Trần Thị Sau Khi Đi", "{answer}");
        assert_eq!(answer["data"]["member"]["partyCardNumber"], "PCAFTERLEAVING", "{answer}");
        assert_eq!(answer["data"]["member"]["transfers"]["totalCount"], 2, "arrival and the move inside SL.YT: {answer}");
        // And an unscoped ADMIN sees every event.
        let answer = app
            .graphql("query($id: ID!) { member(id: $id) { transfers { totalCount } } }", json!({ "id": seeded.bl_member }))
            .await;
        assert_eq!(answer["data"]["member"]["transfers"]["totalCount"], 3, "{answer}");
    }
}
