//! The access policy end to end: the role × operation matrix, scopes that
//! make other communes invisible (BOLA), and personal-data masking.

use api::auth::Role;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_code, token_for};

const ROLES: [Role; 5] = [
    Role::Admin,
    Role::Organizer,
    Role::Integrator,
    Role::Reader,
    Role::Auditor,
];

/// A token for each role: ADMIN unscoped, the others scoped to the district.
fn token(role: Role) -> String {
    token_for(role, (role != Role::Admin).then_some("SL"))
}

struct Operation {
    name: &'static str,
    query: &'static str,
    variables: fn(Role, &str) -> Value,
    /// Per role, in `ROLES` order: `None` = allowed, `Some(code)` = refused with that code.
    expected: [Option<&'static str>; 5],
}

const ALLOWED_ALL: [Option<&str>; 5] = [None; 5];
const ORGANIZE: [Option<&str>; 5] = [
    None,
    None,
    Some("FORBIDDEN"),
    Some("FORBIDDEN"),
    Some("FORBIDDEN"),
];
const PERSONAL_DATA: [Option<&str>; 5] = [None, None, None, Some("FORBIDDEN"), Some("FORBIDDEN")];
const AUDIT: [Option<&str>; 5] = [
    None,
    Some("FORBIDDEN"),
    Some("FORBIDDEN"),
    Some("FORBIDDEN"),
    None,
];

/// The matrix; later operations add their rows here.
fn operations() -> Vec<Operation> {
    vec![
        Operation {
            name: "me",
            query: "{ me { role } }",
            variables: |_, _| json!({}),
            expected: ALLOWED_ALL,
        },
        Operation {
            name: "organization",
            query: "{ organization(code: \"SL.BL.R1\") { code parent { code } ancestors { code } } }",
            variables: |_, _| json!({}),
            expected: ALLOWED_ALL,
        },
        Operation {
            name: "member by id",
            query: "query($id: ID!) { member(id: $id) { id fullName membership { organization { code } } } }",
            variables: |_, member| json!({ "id": member }),
            expected: ALLOWED_ALL,
        },
        Operation {
            name: "member by party card",
            query: "{ member(partyCardNumber: \"PC001080000001\") { id } }",
            variables: |_, _| json!({}),
            expected: ALLOWED_ALL,
        },
        Operation {
            name: "member by national ID",
            query: "{ member(nationalId: \"001080000001\") { id } }",
            variables: |_, _| json!({}),
            expected: PERSONAL_DATA,
        },
        Operation {
            name: "createOrganization",
            query: "mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { code } }",
            variables: |role, _| {
                json!({ "input": { "code": format!("SL.BL.M-{}", role.as_str()), "name": "Chi bộ mới",
                                   "kind": "CELL", "cellType": "RESIDENTIAL", "parentCode": "SL.BL" } })
            },
            expected: ORGANIZE,
        },
        Operation {
            name: "registerMember",
            query: "mutation($input: RegisterMemberInput!) { registerMember(input: $input) { id } }",
            variables: |role, _| {
                let national_id = format!(
                    "0020900000{:02}",
                    ROLES.iter().position(|r| *r == role).unwrap_or(0)
                );
                json!({ "input": { "nationalId": national_id, "fullName": "Trần Thị Bình",
                                   "organizationCode": "SL.BL.R1", "externalId": format!("adm-{}", role.as_str()) } })
            },
            expected: ORGANIZE,
        },
        Operation {
            name: "renameOrganization",
            query: "mutation($name: String!) { renameOrganization(code: \"SL.BL\", name: $name) { name } }",
            variables: |role, _| json!({ "name": format!("Đảng bộ xã Bạch Lưu ({})", role.as_str()) }),
            expected: ORGANIZE,
        },
        Operation {
            name: "moveOrganization",
            query: "mutation($code: String!) { moveOrganization(code: $code, newParentCode: \"SL.YT\") { code } }",
            variables: |role, _| json!({ "code": format!("SL.BL.MV-{}", role.as_str()) }),
            expected: ORGANIZE,
        },
        Operation {
            name: "dissolveOrganization",
            query: "mutation($code: String!) { dissolveOrganization(input: { organizationCode: $code, decisionRef: \"QĐ-1\" }) { organization { status } } }",
            variables: |role, _| json!({ "code": format!("SL.BL.D-{}", role.as_str()) }),
            expected: ORGANIZE,
        },
        Operation {
            name: "updateMember",
            query: "mutation($id: ID!) { updateMember(input: { memberId: $id, fullName: \"Nguyễn Văn Ân\" }) { fullName } }",
            variables: |_, member| json!({ "id": member }),
            expected: ORGANIZE,
        },
        Operation {
            name: "createPlan",
            query: "mutation($code: String!) { createPlan(input: { code: $code, title: \"Kế hoạch\", issuedByCode: \"SL\", issuedOn: \"2020-01-01\", targetCellTypes: [AGENCY] }) { code } }",
            variables: |role, _| json!({ "code": format!("P-{}", role.as_str()) }),
            expected: ORGANIZE,
        },
        Operation {
            name: "plans",
            query: "{ plans { code progress { committeesTotal } committees { committee { code } } } }",
            variables: |_, _| json!({}),
            expected: ALLOWED_ALL,
        },
        Operation {
            name: "auditLog",
            query: "{ auditLog(first: 5) { edges { node { seq } } } }",
            variables: |_, _| json!({}),
            expected: AUDIT,
        },
    ]
}

on_both_backends! {
    async fn every_role_gets_exactly_what_the_policy_grants(app: TestApp) {
        let seeded = app.seed_district().await;
        // One cell per role for the operations that can only succeed once.
        for role in ROLES {
            for prefix in ["MV", "D"] {
                app.create_organization(&format!("SL.BL.{prefix}-{}", role.as_str()), "CELL", Some("AGENCY"), Some("SL.BL")).await;
            }
        }
        for operation in operations() {
            for (role, expected) in ROLES.iter().zip(operation.expected) {
                let answer = app
                    .graphql_as(&token(*role), operation.query, (operation.variables)(*role, &seeded.bl_member))
                    .await;
                let what = format!("{} as {}: {answer}", operation.name, role.as_str());
                match expected {
                    None => {
                        assert!(answer.get("errors").is_none(), "{what}");
                        let data = answer["data"].as_object().expect("data");
                        assert!(data.values().all(|value| !value.is_null()), "{what}");
                    }
                    Some(code) => {
                        assert_eq!(error_code(&answer), Some(code), "{what}");
                    }
                }
            }
        }
    }
}

on_both_backends! {
    async fn a_caller_scoped_to_one_commune_sees_nothing_of_another(app: TestApp) {
        let seeded = app.seed_district().await;
        let other_cell_id = app.graphql("{ organization(code: \"SL.YT.R1\") { id } }", json!({})).await["data"]["organization"]["id"].clone();
        let integrator = token_for(Role::Integrator, Some("SL.BL"));

        let probes = [
            ("member by id", "query($id: ID!) { member(id: $id) { id } }", json!({ "id": seeded.yt_member })),
            ("member by national ID", "{ member(nationalId: \"001080000002\") { id } }", json!({})),
            ("member by party card", "{ member(partyCardNumber: \"PC001080000002\") { id } }", json!({})),
            ("cell by code", "{ organization(code: \"SL.YT.R1\") { id } }", json!({})),
            ("cell by id", "query($id: ID) { organization(id: $id) { id } }", json!({ "id": other_cell_id })),
            ("commune by code", "{ organization(code: \"SL.YT\") { id } }", json!({})),
            ("district above the scope", "{ organization(code: \"SL\") { id } }", json!({})),
        ];
        let absent = [
            ("member that does not exist", "{ member(id: \"999999\") { id } }"),
            ("organization that does not exist", "{ organization(code: \"NO.SUCH\") { id } }"),
        ];
        let mut shapes = Vec::new();
        for (name, query, variables) in probes {
            let answer = app.graphql_as(&integrator, query, variables).await;
            assert!(answer.get("errors").is_none(), "{name}: {answer}");
            let value = answer["data"].as_object().expect("data").values().next().cloned();
            assert_eq!(value, Some(Value::Null), "{name}: {answer}");
            shapes.push(answer);
        }
        for (name, query) in absent {
            let answer = app.graphql_as(&integrator, query, json!({})).await;
            assert_eq!(answer["data"].as_object().expect("data").values().next(), Some(&Value::Null), "{name}");
            assert!(answer.get("errors").is_none(), "out of scope and absent look the same: {name}");
        }

        // Nested fields stop at the scope: no parent above it, no ancestors outside it.
        let nested = app
            .graphql_as(
                &integrator,
                "query($id: ID!) { organization(code: \"SL.BL\") { parent { code } ancestors { code } }
                   member(id: $id) { residenceCell { code } membership { organization { code parent { code } ancestors { code } } } } }",
                json!({ "id": seeded.bl_member }),
            )
            .await;
        assert_eq!(nested["data"]["organization"], json!({ "parent": null, "ancestors": [] }), "{nested}");
        assert_eq!(
            nested["data"]["member"],
            json!({ "residenceCell": { "code": "SL.BL.R1" },
                    "membership": { "organization": { "code": "SL.BL.R1", "parent": { "code": "SL.BL" }, "ancestors": [{ "code": "SL.BL" }] } } }),
            "{nested}"
        );

        // Writing into another commune is refused as if it did not exist.
        let organizer = token_for(Role::Organizer, Some("SL.BL"));
        let answer = app
            .graphql_as(
                &organizer,
                "mutation { createOrganization(input: { code: \"SL.YT.NEW\", name: \"x\", kind: CELL, cellType: AGENCY, parentCode: \"SL.YT\" }) { code } }",
                json!({}),
            )
            .await;
        assert_eq!(error_code(&answer), Some("NOT_FOUND"), "{answer}");
        let answer = app
            .graphql_as(
                &organizer,
                "mutation { registerMember(input: { nationalId: \"003000000001\", fullName: \"Lê Văn C\", organizationCode: \"SL.YT.R1\", externalId: \"x-1\" }) { id } }",
                json!({}),
            )
            .await;
        assert_eq!(error_code(&answer), Some("NOT_FOUND"), "{answer}");
    }
}

on_both_backends! {
    async fn readers_and_auditors_never_receive_personal_data(app: TestApp) {
        let seeded = app.seed_district().await;
        let full_id = "001080000001";
        let birth_date = "1980-02-29";
        for role in [Role::Reader, Role::Auditor] {
            let token = token_for(role, Some("SL"));
            let mut bodies = Vec::new();
            let answer = app
                .graphql_as(
                    &token,
                    "query($id: ID!) { member(id: $id) { nationalId birthDate fullName
                         membership { member { nationalId birthDate } organization { code } } } }",
                    json!({ "id": seeded.bl_member }),
                )
                .await;
            assert_eq!(answer["data"]["member"]["nationalId"], "********0001", "{answer}");
            assert_eq!(answer["data"]["member"]["birthDate"], Value::Null);
            assert_eq!(answer["data"]["member"]["membership"]["member"]["nationalId"], "********0001");
            assert_eq!(answer["data"]["member"]["membership"]["member"]["birthDate"], Value::Null);
            bodies.push(answer.to_string());
            let answer = app.graphql_as(&token, "{ member(nationalId: \"001080000001\") { id } }", json!({})).await;
            assert_eq!(error_code(&answer), Some("FORBIDDEN"), "looking up by national ID is an oracle");
            bodies.push(answer.to_string());
            let answer = app.graphql_as(&token, "{ member(partyCardNumber: \"PC001080000001\") { nationalId birthDate } }", json!({})).await;
            bodies.push(answer.to_string());
            for body in &bodies {
                assert!(!body.contains(full_id), "{}: full national ID leaked: {body}", role.as_str());
                assert!(!body.contains(birth_date), "{}: birth date leaked: {body}", role.as_str());
            }
        }
        // The roles with access see it whole.
        let answer = app
            .graphql_as(&token_for(Role::Integrator, Some("SL")), "query($id: ID!) { member(id: $id) { nationalId birthDate } }", json!({ "id": seeded.bl_member }))
            .await;
        assert_eq!(answer["data"]["member"], json!({ "nationalId": full_id, "birthDate": birth_date }));
    }
}
