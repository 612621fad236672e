//! createOrganization: each rule, its code and field, and nothing written when refused.

use api::auth::Role;
use entity::organization;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_code, token_for};

const CREATE: &str = "mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { id code kind cellType status parent { code } ancestors { code } } }";

fn input(code: &str, kind: &str, cell_type: Option<&str>, parent: Option<&str>) -> Value {
    json!({ "input": { "code": code, "name": "Chi bộ thôn Đồng", "kind": kind, "cellType": cell_type, "parentCode": parent } })
}

on_both_backends! {
    async fn organizations_are_created_in_the_tree(app: TestApp) {
        app.create_organization("VP", "PROVINCIAL_COMMITTEE", None, None).await;
        app.create_organization("VP.SL", "DISTRICT_COMMITTEE", None, Some("VP")).await;
        app.create_organization("VP.SL.BL", "GRASSROOTS_COMMITTEE", None, Some("VP.SL")).await;
        let answer = app.graphql(CREATE, input("VP.SL.BL.DONG", "CELL", Some("RESIDENTIAL"), Some("VP.SL.BL"))).await;
        assert_eq!(
            answer["data"]["createOrganization"],
            json!({ "id": answer["data"]["createOrganization"]["id"], "code": "VP.SL.BL.DONG", "kind": "CELL", "cellType": "RESIDENTIAL",
                    "status": "ACTIVE", "parent": { "code": "VP.SL.BL" },
                    "ancestors": [{ "code": "VP" }, { "code": "VP.SL" }, { "code": "VP.SL.BL" }] }),
            "{answer}"
        );
        // A cell may also sit directly under a district committee.
        let answer = app.graphql(CREATE, input("VP.SL.CQ", "CELL", Some("AGENCY"), Some("VP.SL"))).await;
        assert!(answer.get("errors").is_none(), "{answer}");
        let by_id = app
            .graphql("query($id: ID) { organization(id: $id) { code } }", json!({ "id": answer["data"]["createOrganization"]["id"] }))
            .await;
        assert_eq!(by_id["data"]["organization"]["code"], "VP.SL.CQ");
        // Since 2025 a commune committee may sit directly under the province.
        let answer = app.graphql(CREATE, input("VP.TD", "GRASSROOTS_COMMITTEE", None, Some("VP"))).await;
        assert_eq!(answer["data"]["createOrganization"]["parent"], json!({ "code": "VP" }), "{answer}");
        assert_eq!(answer["data"]["createOrganization"]["ancestors"], json!([{ "code": "VP" }]), "{answer}");
    }
}

on_both_backends! {
    async fn every_rule_of_create_organization_refuses_with_nothing_written(app: TestApp) {
        app.create_organization("SL", "DISTRICT_COMMITTEE", None, None).await;
        app.create_organization("SL.BL", "GRASSROOTS_COMMITTEE", None, Some("SL")).await;
        app.create_organization("SL.BL.R1", "CELL", Some("RESIDENTIAL"), Some("SL.BL")).await;
        app.create_organization("SL.OLD", "GRASSROOTS_COMMITTEE", None, Some("SL")).await;
        dissolve_directly(&app, "SL.OLD").await;
        let before = organization::Entity::find().count(app.db()).await.expect("count");

        let far_future = (chrono::Utc::now() + chrono::Duration::days(2)).to_rfc3339();
        let cases: Vec<(&str, Value, &str, Option<&str>)> = vec![
            ("empty code", input("", "CELL", Some("RESIDENTIAL"), Some("SL.BL")), "BAD_USER_INPUT", Some("code")),
            ("code with a space", input("SL BL", "CELL", Some("RESIDENTIAL"), Some("SL.BL")), "BAD_USER_INPUT", Some("code")),
            ("code too long", input(&"C".repeat(65), "CELL", Some("RESIDENTIAL"), Some("SL.BL")), "BAD_USER_INPUT", Some("code")),
            ("blank name", json!({ "input": { "code": "SL.BL.X", "name": "  ", "kind": "CELL", "cellType": "RESIDENTIAL", "parentCode": "SL.BL" } }), "BAD_USER_INPUT", Some("name")),
            ("name too long", json!({ "input": { "code": "SL.BL.X", "name": "x".repeat(256), "kind": "CELL", "cellType": "RESIDENTIAL", "parentCode": "SL.BL" } }), "BAD_USER_INPUT", Some("name")),
            ("NUL in name", json!({ "input": { "code": "SL.BL.X", "name": "a\u{0}b", "kind": "CELL", "cellType": "RESIDENTIAL", "parentCode": "SL.BL" } }), "BAD_USER_INPUT", Some("name")),
            ("cell without a cell type", input("SL.BL.X", "CELL", None, Some("SL.BL")), "BAD_USER_INPUT", Some("cellType")),
            ("committee with a cell type", input("SL.X", "GRASSROOTS_COMMITTEE", Some("AGENCY"), Some("SL")), "BAD_USER_INPUT", Some("cellType")),
            ("cell without a parent", input("X", "CELL", Some("RESIDENTIAL"), None), "BAD_USER_INPUT", Some("parentCode")),
            ("commune without a parent", input("X", "GRASSROOTS_COMMITTEE", None, None), "BAD_USER_INPUT", Some("parentCode")),
            ("unknown parent", input("SL.BL.X", "CELL", Some("RESIDENTIAL"), Some("NO.SUCH")), "NOT_FOUND", None),
            ("commune under a commune", input("SL.BL.X", "GRASSROOTS_COMMITTEE", None, Some("SL.BL")), "BAD_USER_INPUT", Some("parentCode")),
            ("district under a district", input("SL.X", "DISTRICT_COMMITTEE", None, Some("SL")), "BAD_USER_INPUT", Some("parentCode")),
            ("cell under a cell", input("SL.BL.R1.X", "CELL", Some("RESIDENTIAL"), Some("SL.BL.R1")), "BAD_USER_INPUT", Some("parentCode")),
            ("province under a district", input("X", "PROVINCIAL_COMMITTEE", None, Some("SL")), "BAD_USER_INPUT", Some("parentCode")),
            ("dissolved parent", input("SL.OLD.X", "CELL", Some("RESIDENTIAL"), Some("SL.OLD")), "BAD_USER_INPUT", Some("parentCode")),
            ("code already in use", input("SL.BL", "GRASSROOTS_COMMITTEE", None, Some("SL")), "CONFLICT", None),
            (
                "established in the future",
                json!({ "input": { "code": "SL.BL.X", "name": "x", "kind": "CELL", "cellType": "RESIDENTIAL", "parentCode": "SL.BL", "establishedAt": far_future } }),
                "BAD_USER_INPUT",
                Some("establishedAt"),
            ),
        ];
        for (name, variables, code, field) in cases {
            let answer = app.graphql(CREATE, variables).await;
            assert_eq!(error_code(&answer), Some(code), "{name}: {answer}");
            if let Some(field) = field {
                assert_eq!(answer["errors"][0]["extensions"]["field"], field, "{name}: {answer}");
            }
            assert_eq!(answer["data"], Value::Null, "{name}");
        }
        // A scoped organizer may not create roots.
        let answer = app.graphql_as(&token_for(Role::Organizer, Some("SL")), CREATE, input("HN", "DISTRICT_COMMITTEE", None, None)).await;
        assert_eq!(error_code(&answer), Some("FORBIDDEN"), "{answer}");

        assert_eq!(organization::Entity::find().count(app.db()).await.expect("count"), before, "nothing was written");
    }
}

/// Marks an empty committee dissolved, as the dissolution operation will.
pub async fn dissolve_directly(app: &TestApp, code: &str) {
    use sea_orm::{ActiveModelTrait, ColumnTrait, QueryFilter, Set};
    let found = organization::Entity::find()
        .filter(organization::Column::Code.eq(code))
        .one(app.db())
        .await
        .expect("read")
        .expect("exists");
    let mut dissolving: organization::ActiveModel = found.into();
    dissolving.status = Set(entity::enums::OrganizationStatus::Dissolved);
    dissolving.dissolved_at = Set(Some(chrono::Utc::now()));
    dissolving.update(app.db()).await.expect("dissolve");
}
