//! registerMember: the admission opens the first OFFICIAL membership and
//! records the first transfer event; each rule refuses with nothing written;
//! a retry with the same key is recognised.

use entity::enums::{MembershipKind, TransferReason};
use entity::{member, membership, transfer_event};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_code};
use crate::organizations::dissolve_directly;

const REGISTER: &str = "mutation($input: RegisterMemberInput!) { registerMember(input: $input) { id nationalId fullName status birthDate admittedOn residenceCell { code } membership { organization { code } startedAt } } }";

fn registration(patch: Value) -> Value {
    let mut input = json!({ "nationalId": "036090001234", "partyCardNumber": "93.001234", "fullName": "Phạm Thị Dung",
                            "birthDate": "1990-03-15", "admittedOn": "2015-09-02", "officialOn": "2016-09-02",
                            "status": "OFFICIAL", "organizationCode": "SL.BL.R1", "residenceCellCode": "SL.BL.R1",
                            "externalId": "bl:2015:0007" });
    for (key, value) in patch.as_object().expect("object") {
        input[key] = value.clone();
    }
    json!({ "input": input })
}

on_both_backends! {
    async fn an_admission_opens_the_first_membership_and_records_the_first_event(app: TestApp) {
        app.seed_district().await;
        let answer = app.graphql(REGISTER, registration(json!({}))).await;
        let created = &answer["data"]["registerMember"];
        assert_eq!(created["nationalId"], "036090001234", "{answer}");
        assert_eq!(created["fullName"], "Phạm Thị Dung");
        assert_eq!(created["admittedOn"], "2015-09-02");
        assert_eq!(created["residenceCell"]["code"], "SL.BL.R1");
        assert_eq!(created["membership"]["organization"]["code"], "SL.BL.R1");
        assert_eq!(created["membership"]["startedAt"], "2015-09-02T00:00:00Z");

        let id: i64 = created["id"].as_str().expect("id").parse().expect("number");
        let events: Vec<_> = transfer_event::Entity::find().all(app.db()).await.expect("events").into_iter().filter(|e| e.member_id == id).collect();
        assert_eq!(events.len(), 1);
        let event = &events[0];
        assert_eq!(event.from_organization_id, None, "an admission comes from nowhere");
        assert_eq!(event.reason, TransferReason::Admission);
        assert_eq!(event.kind, MembershipKind::Official);
        assert_eq!(event.external_id, "bl:2015:0007");
        assert_eq!(event.submitter, "admin-all");
        let memberships: Vec<_> = membership::Entity::find().all(app.db()).await.expect("memberships").into_iter().filter(|m| m.member_id == id).collect();
        assert_eq!(memberships.len(), 1);
        assert_eq!(memberships[0].opened_by_event_id, event.id);
        assert_eq!(memberships[0].ended_at, None);

        // Time travel: before the admission there was no membership.
        let before = app
            .graphql("query($id: ID!) { member(id: $id) { membership(asOf: \"2015-09-01T23:59:59Z\") { id } } }", json!({ "id": created["id"] }))
            .await;
        assert_eq!(before["data"]["member"]["membership"], Value::Null, "{before}");
    }
}

on_both_backends! {
    async fn a_retried_admission_is_recognised_and_a_reused_key_is_a_conflict(app: TestApp) {
        app.seed_district().await;
        let first = app.graphql(REGISTER, registration(json!({}))).await;
        let again = app.graphql(REGISTER, registration(json!({}))).await;
        assert_eq!(again["data"]["registerMember"]["id"], first["data"]["registerMember"]["id"], "{again}");
        let events = transfer_event::Entity::find().count(app.db()).await.expect("count");

        let reused = app.graphql(REGISTER, registration(json!({ "nationalId": "036090009999", "partyCardNumber": "93.009999" }))).await;
        assert_eq!(error_code(&reused), Some("CONFLICT"), "{reused}");
        assert_eq!(transfer_event::Entity::find().count(app.db()).await.expect("count"), events, "nothing more recorded");
    }
}

on_both_backends! {
    async fn racing_identical_admissions_all_answer_the_one_member(app: TestApp) {
        app.seed_district().await;
        let racers = (0..16).map(|_| app.graphql(REGISTER, registration(json!({}))));
        let answers = futures_util::future::join_all(racers).await;
        let ids: Vec<&Value> = answers.iter().map(|a| &a["data"]["registerMember"]["id"]).collect();
        for (answer, id) in answers.iter().zip(&ids) {
            assert!(id.is_string(), "every racer answers the member: {answer}");
        }
        assert!(ids.windows(2).all(|pair| pair[0] == pair[1]), "one member: {ids:?}");
        let registered = member::Entity::find().count(app.db()).await.expect("count");
        assert_eq!(registered, 3, "the two seeded members and this one");
        let admissions = transfer_event::Entity::find().count(app.db()).await.expect("count");
        assert_eq!(admissions, 3, "one admission event");
    }
}

on_both_backends! {
    async fn every_rule_of_register_member_refuses_with_nothing_written(app: TestApp) {
        app.seed_district().await;
        app.create_organization("SL.BL.OLD", "CELL", Some("RESIDENTIAL"), Some("SL.BL")).await;
        dissolve_directly(&app, "SL.BL.OLD").await;
        let members_before = member::Entity::find().count(app.db()).await.expect("count");
        let events_before = transfer_event::Entity::find().count(app.db()).await.expect("count");

        let cases: Vec<(&str, Value, &str, Option<&str>)> = vec![
            ("11 digits", json!({ "nationalId": "03609000123" }), "BAD_USER_INPUT", Some("nationalId")),
            ("13 digits", json!({ "nationalId": "0360900012345" }), "BAD_USER_INPUT", Some("nationalId")),
            ("letters", json!({ "nationalId": "03609000123A" }), "BAD_USER_INPUT", Some("nationalId")),
            ("spaces", json!({ "nationalId": "036 090 00123" }), "BAD_USER_INPUT", Some("nationalId")),
            ("full-width digits", json!({ "nationalId": "０３６０９０００１２３４" }), "BAD_USER_INPUT", Some("nationalId")),
            ("party card format", json!({ "partyCardNumber": "x" }), "BAD_USER_INPUT", Some("partyCardNumber")),
            ("blank name", json!({ "fullName": " " }), "BAD_USER_INPUT", Some("fullName")),
            ("birth in the future", json!({ "birthDate": "2999-01-01" }), "BAD_USER_INPUT", Some("birthDate")),
            ("under 18 at admission", json!({ "birthDate": "1998-01-01" }), "BAD_USER_INPUT", Some("birthDate")),
            ("admitted in the future", json!({ "admittedOn": "2999-01-01" }), "BAD_USER_INPUT", Some("admittedOn")),
            ("official before admission", json!({ "officialOn": "2014-01-01" }), "BAD_USER_INPUT", Some("officialOn")),
            ("registered as deceased", json!({ "status": "DECEASED" }), "BAD_USER_INPUT", Some("status")),
            ("bad external id", json!({ "externalId": "has spaces" }), "BAD_USER_INPUT", Some("externalId")),
            ("external id too long", json!({ "externalId": "k".repeat(129) }), "BAD_USER_INPUT", Some("externalId")),
            ("not a cell", json!({ "organizationCode": "SL.BL" }), "BAD_USER_INPUT", Some("organizationCode")),
            ("dissolved cell", json!({ "organizationCode": "SL.BL.OLD" }), "BAD_USER_INPUT", Some("organizationCode")),
            ("unknown cell", json!({ "organizationCode": "SL.BL.NONE" }), "NOT_FOUND", None),
            ("residence not residential", json!({ "residenceCellCode": "SL.BL.CQ" }), "BAD_USER_INPUT", Some("residenceCellCode")),
            ("national ID taken", json!({ "nationalId": "001080000001" }), "CONFLICT", None),
            ("party card taken", json!({ "partyCardNumber": "PC001080000001" }), "CONFLICT", None),
        ];
        for (name, patch, code, field) in cases {
            let answer = app.graphql(REGISTER, registration(patch)).await;
            assert_eq!(error_code(&answer), Some(code), "{name}: {answer}");
            if let Some(field) = field {
                assert_eq!(answer["errors"][0]["extensions"]["field"], field, "{name}: {answer}");
            }
        }
        // An impossible date is refused while the input is read, before any
        // resolver runs: its error names the type and the input object.
        let answer = app.graphql(REGISTER, registration(json!({ "birthDate": "1990-02-30" }))).await;
        assert!(answer["data"].is_null(), "{answer}");
        assert_eq!(error_code(&answer), Some("BAD_USER_INPUT"), "{answer}");
        let message = answer["errors"][0]["message"].as_str().expect("a message");
        assert!(message.starts_with("Failed to parse \"Date\": a date must be YYYY-MM-DD, exist"), "{answer}");
        assert!(message.contains("RegisterMemberInput"), "{answer}");
        assert_eq!(member::Entity::find().count(app.db()).await.expect("count"), members_before, "no member written");
        assert_eq!(transfer_event::Entity::find().count(app.db()).await.expect("count"), events_before, "no event written");
    }
}
