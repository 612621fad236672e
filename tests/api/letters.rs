//! Introduction letters between two INTEGRATOR tokens whose scopes do not
//! overlap: issue, in transit, receipt, cancellation, the clocks, and the
//! races; every refusal with its code and field and nothing written.

use api::auth::Role;
use chrono::{Days, Utc};
use entity::{letter, membership, transfer_event};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_code, token_for};
use crate::holds::place_hold;

pub const ISSUE: &str = "mutation($input: IssueLetterInput!) { issueLetter(input: $input) {
    status letter { id number kind status presentBy daysOverdue issuedOn from { code } to { code }
                    issuingCommittee { code } member { id fullName nationalId } } } }";
pub const RECEIVE: &str = "mutation($input: ReceiveLetterInput!) { receiveLetter(input: $input) {
    id status lateReason receivedCell { code } closedAt } }";
pub const CANCEL: &str =
    "mutation($input: CancelLetterInput!) { cancelLetter(input: $input) { id status } }";
const LETTER: &str = "query($id: ID!) { letter(id: $id) { id status number member { id fullName membership { organization { code } } } } }";
const MEMBER: &str =
    "query($id: ID!) { member(id: $id) { id fullName membership { organization { code } } } }";
const FEED: &str =
    "{ transferEvents(first: 100) { edges { node { sequence phase letterId kind reason
    member { id } from { code } to { code } } } } }";

/// Sông Lô (SL) as `seed_district` makes it, and a second district, Tam
/// Dương (TD), with commune TD.HG and its cells R1 and R2.
pub async fn two_districts(app: &TestApp) -> crate::helpers::Seeded {
    let seeded = app.seed_district().await;
    app.create_organization("TD", "DISTRICT_COMMITTEE", None, None)
        .await;
    app.create_organization("TD.HG", "GRASSROOTS_COMMITTEE", None, Some("TD"))
        .await;
    for cell in ["TD.HG.R1", "TD.HG.R2"] {
        app.create_organization(cell, "CELL", Some("RESIDENTIAL"), Some("TD.HG"))
            .await;
    }
    seeded
}

fn sender() -> String {
    token_for(Role::Integrator, Some("SL"))
}

fn receiver() -> String {
    token_for(Role::Integrator, Some("TD"))
}

pub fn letter_input(key: &str, member: &str, number: &str) -> Value {
    json!({ "input": { "externalId": key, "memberId": member, "toOrganizationCode": "TD.HG",
                       "number": number, "reason": "RELOCATION", "decisionRef": "QĐ-45/ĐU",
                       "duesPaidThrough": "2026-11" } })
}

/// Every row a letter's step writes, to show a refusal wrote none.
async fn counts(app: &TestApp) -> [u64; 3] {
    [
        transfer_event::Entity::find()
            .count(app.db())
            .await
            .expect("count"),
        membership::Entity::find()
            .count(app.db())
            .await
            .expect("count"),
        letter::Entity::find().count(app.db()).await.expect("count"),
    ]
}

async fn member_count(app: &TestApp, token: &str, code: &str) -> Value {
    let answer = app
        .graphql_as(
            token,
            "query($c: String!) { organization(code: $c) { memberCount } }",
            json!({ "c": code }),
        )
        .await;
    answer["data"]["organization"]["memberCount"].clone()
}

async fn in_transit(app: &TestApp, token: &str, within: &str) -> Vec<Value> {
    let answer = app
        .graphql_as(token, "query($w: String!) { letters(within: $w, inTransit: true) { edges { node { id member { id } } } } }",
            json!({ "w": within }))
        .await;
    assert!(answer.get("errors").is_none(), "{answer}");
    answer["data"]["letters"]["edges"]
        .as_array()
        .expect("edges")
        .clone()
}

/// The (phase, member, from, to) of each event of a caller's feed, in sequence order.
async fn feed(app: &TestApp, token: &str) -> Vec<(String, String, String, String)> {
    let answer = app.graphql_as(token, FEED, json!({})).await;
    let edges = answer["data"]["transferEvents"]["edges"]
        .as_array()
        .expect("edges")
        .clone();
    let sequences: Vec<i64> = edges
        .iter()
        .map(|e| e["node"]["sequence"].as_i64().expect("seq"))
        .collect();
    assert!(
        sequences.windows(2).all(|w| w[0] < w[1]),
        "in order: {sequences:?}"
    );
    edges
        .iter()
        .map(|e| {
            let n = &e["node"];
            (
                n["phase"].as_str().unwrap_or_default().to_owned(),
                n["member"]["id"].as_str().unwrap_or_default().to_owned(),
                n["from"]["code"].as_str().unwrap_or_default().to_owned(),
                n["to"]["code"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

on_both_backends! {
    async fn a_letter_between_disjoint_scopes_from_issue_to_receipt(app: TestApp) {
        let seeded = two_districts(&app).await;
        let member = seeded.bl_member.clone();
        let (sender, receiver) = (sender(), receiver());
        // Neither side sees the other's member before the letter.
        assert_eq!(app.graphql_as(&receiver, MEMBER, json!({ "id": member })).await["data"]["member"], Value::Null);

        let answer = app.graphql_as(&sender, ISSUE, letter_input("gt-1", &member, "01-GGT/DU")).await;
        assert!(answer.get("errors").is_none(), "{answer}");
        let issued = &answer["data"]["issueLetter"];
        assert_eq!(issued["status"], "APPLIED");
        let letter = &issued["letter"];
        let today = Utc::now().date_naive();
        assert_eq!(letter["status"], "OPEN");
        assert_eq!(letter["issuedOn"], today.to_string());
        assert_eq!(letter["presentBy"], (today + Days::new(30)).to_string());
        assert_eq!(letter["daysOverdue"], 0);
        assert_eq!(letter["from"]["code"], "SL.BL.R1");
        assert_eq!(letter["to"]["code"], "TD.HG");
        assert_eq!(letter["issuingCommittee"]["code"], "SL.BL");
        let letter_id = letter["id"].as_str().expect("id").to_owned();

        // In transit: counted by neither cell, listed by both committees, seen by both sides.
        assert_eq!(member_count(&app, &sender, "SL.BL.R1").await, 0);
        assert_eq!(in_transit(&app, &sender, "SL.BL").await.len(), 1);
        assert_eq!(in_transit(&app, &receiver, "TD.HG").await.len(), 1);
        assert_eq!(in_transit(&app, &receiver, "TD.HG").await[0]["node"]["member"]["id"], json!(member));
        for token in [&sender, &receiver] {
            let seen = app.graphql_as(token, LETTER, json!({ "id": letter_id })).await;
            assert_eq!(seen["data"]["letter"]["status"], "OPEN", "{seen}");
            assert_eq!(seen["data"]["letter"]["member"]["fullName"], "Nguyễn Văn An");
            assert_eq!(seen["data"]["letter"]["member"]["membership"], Value::Null, "no cell holds them");
            let person = app.graphql_as(token, MEMBER, json!({ "id": member })).await;
            assert_eq!(person["data"]["member"]["id"], json!(member), "{person}");
        }
        // A READER of the receiving side sees the member masked.
        let masked = app
            .graphql_as(&token_for(Role::Reader, Some("TD.HG")), "query($id: ID!) { letter(id: $id) { member { nationalId birthDate } } }",
                json!({ "id": letter_id }))
            .await;
        assert_eq!(masked["data"]["letter"]["member"], json!({ "nationalId": "********0001", "birthDate": null }), "{masked}");
        let full = app
            .graphql_as(&receiver, "query($id: ID!) { letter(id: $id) { member { nationalId birthDate } } }", json!({ "id": letter_id }))
            .await;
        assert_eq!(full["data"]["letter"]["member"], json!({ "nationalId": "001080000001", "birthDate": "1980-02-29" }), "{full}");
        // A reader elsewhere sees neither.
        let other = token_for(Role::Integrator, Some("SL.YT"));
        assert_eq!(app.graphql_as(&other, LETTER, json!({ "id": letter_id })).await["data"]["letter"], Value::Null);
        assert_eq!(app.graphql_as(&other, MEMBER, json!({ "id": member })).await["data"]["member"], Value::Null);

        // The sender cannot receive its own letter: the destination is not in its scope.
        let before = counts(&app).await;
        let refused = app
            .graphql_as(&sender, RECEIVE, json!({ "input": { "letterId": letter_id, "cellCode": "TD.HG.R2" } }))
            .await;
        assert_eq!(error_code(&refused), Some("NOT_FOUND"), "{refused}");
        // Nor may the receiver place the member outside the destination.
        let outside = app
            .graphql_as(&token_for(Role::Admin, None), RECEIVE, json!({ "input": { "letterId": letter_id, "cellCode": "SL.YT.R1" } }))
            .await;
        assert_eq!(error_code(&outside), Some("CONFLICT"), "{outside}");
        assert_eq!(outside["errors"][0]["extensions"]["field"], "cellCode");
        assert_eq!(counts(&app).await, before, "nothing written");

        let received = app
            .graphql_as(&receiver, RECEIVE, json!({ "input": { "letterId": letter_id, "cellCode": "TD.HG.R2" } }))
            .await;
        assert!(received.get("errors").is_none(), "{received}");
        assert_eq!(received["data"]["receiveLetter"]["status"], "RECEIVED");
        assert_eq!(received["data"]["receiveLetter"]["receivedCell"]["code"], "TD.HG.R2");
        assert_eq!(received["data"]["receiveLetter"]["lateReason"], Value::Null);

        // The member is where the receiver put them; the sender sees only its history.
        let there = app.graphql_as(&receiver, MEMBER, json!({ "id": member })).await;
        assert_eq!(there["data"]["member"]["membership"]["organization"]["code"], "TD.HG.R2");
        assert_eq!(member_count(&app, &receiver, "TD.HG.R2").await, 1);
        assert_eq!(app.graphql_as(&sender, MEMBER, json!({ "id": member })).await["data"]["member"], Value::Null);
        let kept = app.graphql_as(&sender, LETTER, json!({ "id": letter_id })).await;
        assert_eq!(kept["data"]["letter"]["status"], "RECEIVED", "{kept}");
        assert_eq!(kept["data"]["letter"]["member"]["membership"], Value::Null, "not the new life");
        assert!(in_transit(&app, &sender, "SL.BL").await.is_empty());
        assert!(in_transit(&app, &receiver, "TD.HG").await.is_empty());

        // Each step's event in order, on both sides' feeds.
        let steps: Vec<_> = feed(&app, &sender).await.into_iter().filter(|e| e.1 == member).collect();
        assert_eq!(steps, vec![
            ("COMPLETED".into(), member.clone(), String::new(), "SL.BL.R1".into()),
            ("DEPARTED".into(), member.clone(), "SL.BL.R1".into(), "TD.HG".into()),
            ("ARRIVED".into(), member.clone(), "SL.BL.R1".into(), "TD.HG.R2".into()),
        ]);
        let steps: Vec<_> = feed(&app, &receiver).await;
        assert_eq!(steps, vec![
            ("DEPARTED".into(), member.clone(), "SL.BL.R1".into(), "TD.HG".into()),
            ("ARRIVED".into(), member.clone(), "SL.BL.R1".into(), "TD.HG.R2".into()),
        ]);

        // A received letter cannot be cancelled.
        let before = counts(&app).await;
        let late = app.graphql_as(&sender, CANCEL, json!({ "input": { "letterId": letter_id } })).await;
        assert_eq!(error_code(&late), Some("CONFLICT"), "{late}");
        assert_eq!(late["errors"][0]["extensions"]["field"], "letterId");
        assert_eq!(counts(&app).await, before);
    }
}

on_both_backends! {
    async fn an_overdue_letter_is_listed_and_received_only_with_a_late_reason(app: TestApp) {
        let seeded = two_districts(&app).await;
        let (sender, receiver) = (sender(), receiver());
        let today = Utc::now().date_naive();
        let issued_on = today - Days::new(40);
        let mut input = letter_input("gt-old", &seeded.bl_member, "02-GGT/DU");
        input["input"]["issuedOn"] = json!(issued_on.to_string());
        let answer = app.graphql_as(&sender, ISSUE, input).await;
        assert!(answer.get("errors").is_none(), "{answer}");
        let letter_id = answer["data"]["issueLetter"]["letter"]["id"].as_str().expect("id").to_owned();
        assert_eq!(answer["data"]["issueLetter"]["letter"]["presentBy"], (issued_on + Days::new(30)).to_string());
        // One more, on time, that the overdue list leaves out.
        let answer = app.graphql_as(&sender, ISSUE, letter_input("gt-new", &seeded.yt_member, "01-GGT/DU")).await;
        assert!(answer.get("errors").is_none(), "{answer}");

        let overdue_query = "query($w: String!) { letters(within: $w, overdue: true) { edges { node { id daysOverdue } } } }";
        for (token, within) in [(&sender, "SL"), (&receiver, "TD.HG")] {
            let listed = app.graphql_as(token, overdue_query, json!({ "w": within })).await;
            assert_eq!(listed["data"]["letters"]["edges"], json!([{ "node": { "id": letter_id, "daysOverdue": 10 } }]), "{listed}");
        }

        let before = counts(&app).await;
        let refused = app
            .graphql_as(&receiver, RECEIVE, json!({ "input": { "letterId": letter_id, "cellCode": "TD.HG.R1" } }))
            .await;
        assert_eq!(error_code(&refused), Some("BAD_USER_INPUT"), "{refused}");
        assert_eq!(refused["errors"][0]["extensions"]["field"], "lateReason");
        assert_eq!(counts(&app).await, before, "nothing written");

        let received = app
            .graphql_as(&receiver, RECEIVE, json!({ "input": { "letterId": letter_id, "cellCode": "TD.HG.R1",
                "lateReason": "Nằm viện từ ngày nhận giấy" } }))
            .await;
        assert!(received.get("errors").is_none(), "{received}");
        assert_eq!(received["data"]["receiveLetter"]["lateReason"], "Nằm viện từ ngày nhận giấy");
        let listed = app.graphql_as(&receiver, overdue_query, json!({ "w": "TD.HG" })).await;
        assert_eq!(listed["data"]["letters"]["edges"], json!([]));
    }
}

on_both_backends! {
    async fn cancellation_returns_the_member_and_refusals_change_nothing(app: TestApp) {
        let seeded = two_districts(&app).await;
        let (sender, receiver) = (sender(), receiver());
        let member = seeded.bl_member.clone();
        let answer = app.graphql_as(&sender, ISSUE, letter_input("gt-c", &member, "03-GGT/DU")).await;
        let letter_id = answer["data"]["issueLetter"]["letter"]["id"].as_str().expect("id").to_owned();

        // Retried with the same key and content: the same letter; other content: CONFLICT.
        let again = app.graphql_as(&sender, ISSUE, letter_input("gt-c", &member, "03-GGT/DU")).await;
        assert_eq!(again["data"]["issueLetter"]["status"], "DUPLICATE", "{again}");
        assert_eq!(again["data"]["issueLetter"]["letter"]["id"], json!(letter_id));
        let before = counts(&app).await;
        let reused = app.graphql_as(&sender, ISSUE, letter_input("gt-c", &member, "04-GGT/DU")).await;
        assert_eq!(error_code(&reused), Some("CONFLICT"), "{reused}");
        assert_eq!(reused["errors"][0]["extensions"]["field"], "externalId");
        // A second letter while one is open; a number the committee has used.
        let second = app.graphql_as(&sender, ISSUE, letter_input("gt-d", &member, "05-GGT/DU")).await;
        assert_eq!(error_code(&second), Some("CONFLICT"), "{second}");
        assert_eq!(second["errors"][0]["extensions"]["field"], "letter");
        let yt = app.graphql_as(&sender, ISSUE, letter_input("gt-e", &seeded.yt_member, "03-GGT/DU")).await;
        assert!(yt.get("errors").is_none(), "another committee may use the number: {yt}");
        let before_yt = counts(&app).await;
        let bad = app.graphql_as(&sender, ISSUE, json!({ "input": { "externalId": "gt-f", "memberId": member,
            "toOrganizationCode": "TD.HG", "number": "06", "reason": "RELOCATION", "duesPaidThrough": "2026-13" } })).await;
        assert_eq!(error_code(&bad), Some("BAD_USER_INPUT"), "{bad}");
        assert_eq!(bad["errors"][0]["extensions"]["field"], "duesPaidThrough");
        // The receiving side cannot cancel; a reader cannot either.
        let refused = app.graphql_as(&receiver, CANCEL, json!({ "input": { "letterId": letter_id } })).await;
        assert_eq!(error_code(&refused), Some("NOT_FOUND"), "{refused}");
        let reader = app.graphql_as(&token_for(Role::Reader, Some("SL")), CANCEL, json!({ "input": { "letterId": letter_id } })).await;
        assert_eq!(error_code(&reader), Some("FORBIDDEN"), "{reader}");
        assert_eq!(counts(&app).await, before_yt, "nothing written");
        assert_eq!(before_yt[2], before[2] + 1);

        let cancelled = app.graphql_as(&sender, CANCEL, json!({ "input": { "letterId": letter_id } })).await;
        assert_eq!(cancelled["data"]["cancelLetter"]["status"], "CANCELLED", "{cancelled}");
        let back = app.graphql_as(&sender, MEMBER, json!({ "id": member })).await;
        assert_eq!(back["data"]["member"]["membership"]["organization"]["code"], "SL.BL.R1");
        assert_eq!(app.graphql_as(&receiver, MEMBER, json!({ "id": member })).await["data"]["member"], Value::Null);
        let steps: Vec<_> = feed(&app, &sender).await.into_iter().filter(|e| e.1 == member).map(|e| e.0).collect();
        assert_eq!(steps, vec!["COMPLETED", "DEPARTED", "RETURNED"]);
        let twice = app.graphql_as(&sender, CANCEL, json!({ "input": { "letterId": letter_id } })).await;
        assert_eq!(error_code(&twice), Some("CONFLICT"), "{twice}");
    }
}

on_both_backends! {
    async fn a_held_member_gets_no_letter(app: TestApp) {
        let seeded = two_districts(&app).await;
        place_hold(&app, &token_for(Role::Organizer, Some("SL")), &seeded.bl_member, "COMPLAINT").await;
        let before = counts(&app).await;
        let refused = app.graphql_as(&sender(), ISSUE, letter_input("gt-h", &seeded.bl_member, "07")).await;
        assert_eq!(error_code(&refused), Some("CONFLICT"), "{refused}");
        assert_eq!(refused["errors"][0]["extensions"]["field"], "hold");
        assert_eq!(counts(&app).await, before, "nothing written");
    }
}

on_both_backends! {
    async fn a_cancelled_letter_whose_cell_ended_returns_the_member_where_named(app: TestApp) {
        let seeded = two_districts(&app).await;
        let admin = token_for(Role::Admin, None);
        app.create_organization("SL.BL.R9", "CELL", Some("RESIDENTIAL"), Some("SL.BL")).await;
        let moved = app.graphql_as(&admin, "mutation($i: TransferInput!) { submitTransfer(input: $i) { status } }",
            json!({ "i": { "externalId": "to-r9", "memberId": seeded.bl_member, "toOrganizationCode": "SL.BL.R9", "reason": "RELOCATION" } })).await;
        assert_eq!(moved["data"]["submitTransfer"]["status"], "APPLIED", "{moved}");
        let answer = app.graphql_as(&sender(), ISSUE, letter_input("gt-r9", &seeded.bl_member, "08")).await;
        let letter_id = answer["data"]["issueLetter"]["letter"]["id"].as_str().expect("id").to_owned();
        let dissolved = app.graphql_as(&admin, crate::dissolution::DISSOLVE, crate::dissolution::input("SL.BL.R9", "EXPLICIT", json!([]))).await;
        assert!(dissolved.get("errors").is_none(), "an empty cell dissolves: {dissolved}");

        let before = counts(&app).await;
        let refused = app.graphql_as(&sender(), CANCEL, json!({ "input": { "letterId": letter_id } })).await;
        assert_eq!(error_code(&refused), Some("CONFLICT"), "{refused}");
        assert_eq!(refused["errors"][0]["extensions"]["field"], "returnCellCode");
        assert_eq!(counts(&app).await, before);
        let cancelled = app.graphql_as(&sender(), CANCEL, json!({ "input": { "letterId": letter_id, "returnCellCode": "SL.BL.R1" } })).await;
        assert_eq!(cancelled["data"]["cancelLetter"]["status"], "CANCELLED", "{cancelled}");
        assert_eq!(crate::dissolution::cell_of(&app, &seeded.bl_member).await, "SL.BL.R1");
    }
}

on_both_backends! {
    async fn receipt_racing_cancellation_lets_exactly_one_win(app: TestApp) {
        let seeded = two_districts(&app).await;
        let (sender, receiver) = (sender(), receiver());
        for round in 0..4 {
            let member = if round % 2 == 0 { &seeded.bl_member } else { &seeded.yt_member };
            let answer = app.graphql_as(&sender, ISSUE, letter_input(&format!("race-{round}"), member, &format!("R-{round}"))).await;
            assert!(answer.get("errors").is_none(), "{answer}");
            let letter_id = answer["data"]["issueLetter"]["letter"]["id"].as_str().expect("id").to_owned();
            let receive = app.graphql_as(&receiver, RECEIVE, json!({ "input": { "letterId": letter_id, "cellCode": "TD.HG.R1" } }));
            let cancel = app.graphql_as(&sender, CANCEL, json!({ "input": { "letterId": letter_id } }));
            let (received, cancelled) = tokio::join!(receive, cancel);
            let won = [received.get("errors").is_none(), cancelled.get("errors").is_none()];
            assert_eq!(won.iter().filter(|w| **w).count(), 1, "{received} {cancelled}");
            let loser = if won[0] { &cancelled } else { &received };
            assert_eq!(error_code(loser), Some("CONFLICT"), "{loser}");
            let open = membership::Entity::find().all(app.db()).await.expect("rows").into_iter()
                .filter(|m| m.member_id.to_string() == *member && m.ended_at.is_none()).count();
            assert_eq!(open, 1, "the member is in exactly one cell");
            if won[0] {
                // Bring them back for the next round.
                let admin = token_for(Role::Admin, None);
                let home = if round % 2 == 0 { "SL.BL.R1" } else { "SL.YT.R1" };
                let back = app.graphql_as(&admin, "mutation($i: TransferInput!) { submitTransfer(input: $i) { status } }",
                    json!({ "i": { "externalId": format!("back-{round}"), "memberId": member, "toOrganizationCode": home, "reason": "RELOCATION" } })).await;
                assert_eq!(back["data"]["submitTransfer"]["status"], "APPLIED", "{back}");
            }
        }
    }
}

on_both_backends! {
    async fn a_letter_racing_a_transfer_of_the_same_member_lets_one_apply(app: TestApp) {
        let seeded = two_districts(&app).await;
        let sender = sender();
        for round in 0..4 {
            let member = &seeded.bl_member;
            let before = counts(&app).await;
            let issue = app.graphql_as(&sender, ISSUE, letter_input(&format!("lr-{round}"), member, &format!("L-{round}")));
            let transfer = app.graphql_as(&sender, "mutation($i: TransferInput!) { submitTransfer(input: $i) { status error { code } } }",
                json!({ "i": { "externalId": format!("tr-{round}"), "memberId": member,
                               "toOrganizationCode": if round % 2 == 0 { "SL.BL.CQ" } else { "SL.BL.R1" }, "reason": "RELOCATION" } }));
            let (issued, transferred) = tokio::join!(issue, transfer);
            let letter_applied = issued.get("errors").is_none();
            let transfer_applied = transferred["data"]["submitTransfer"]["status"] == "APPLIED";
            assert!(letter_applied || transfer_applied, "{issued} {transferred}");
            let open = membership::Entity::find().all(app.db()).await.expect("rows").into_iter()
                .filter(|m| m.member_id.to_string() == *member && m.ended_at.is_none()).count();
            let after = counts(&app).await;
            if letter_applied {
                let letter_id = issued["data"]["issueLetter"]["letter"]["id"].as_str().expect("id").to_owned();
                if transfer_applied {
                    // The transfer came first; the letter then left from its destination.
                    assert_eq!(after[0], before[0] + 2);
                } else {
                    assert_eq!(transferred["data"]["submitTransfer"]["error"]["code"], "CONFLICT", "{transferred}");
                    assert_eq!(after[0], before[0] + 1);
                }
                assert_eq!(open, 0, "in transit");
                let cancelled = app.graphql_as(&sender, CANCEL, json!({ "input": { "letterId": letter_id } })).await;
                assert!(cancelled.get("errors").is_none(), "{cancelled}");
            } else {
                assert_eq!(open, 1);
                assert_eq!(after[2], before[2], "no letter written");
            }
        }
    }
}

on_both_backends! {
    async fn temporary_activity_carries_its_end_and_is_listed_before_it(app: TestApp) {
        let seeded = two_districts(&app).await;
        let (sender, receiver) = (sender(), receiver());
        let today = Utc::now().date_naive();
        // A TEMPORARY letter for work: at most a year.
        let mut input = letter_input("tmp-1", &seeded.bl_member, "T-1");
        input["input"]["kind"] = json!("TEMPORARY");
        input["input"]["purpose"] = json!("WORK");
        input["input"]["endsOn"] = json!((today + Days::new(400)).to_string());
        let before = counts(&app).await;
        let refused = app.graphql_as(&sender, ISSUE, input.clone()).await;
        assert_eq!(error_code(&refused), Some("BAD_USER_INPUT"), "{refused}");
        assert_eq!(refused["errors"][0]["extensions"]["field"], "endsOn");
        assert_eq!(counts(&app).await, before);
        let ends_on = today + Days::new(20);
        input["input"]["endsOn"] = json!(ends_on.to_string());
        let issued = app.graphql_as(&sender, ISSUE, input).await;
        assert!(issued.get("errors").is_none(), "{issued}");
        let letter_id = issued["data"]["issueLetter"]["letter"]["id"].as_str().expect("id").to_owned();
        // A temporary letter leaves the official membership where it is.
        assert_eq!(member_count(&app, &sender, "SL.BL.R1").await, 1);
        assert!(in_transit(&app, &sender, "SL.BL").await.is_empty());
        let received = app
            .graphql_as(&receiver, RECEIVE, json!({ "input": { "letterId": letter_id, "cellCode": "TD.HG.R1" } }))
            .await;
        assert!(received.get("errors").is_none(), "{received}");

        // A direct TEMPORARY transfer for study, begun long ago and past its end.
        let admin = token_for(Role::Admin, None);
        let started = today - Days::new(400);
        let transfer = |ends: chrono::NaiveDate, key: &str| json!({ "i": { "externalId": key, "memberId": seeded.yt_member,
            "toOrganizationCode": "SL.YT.CQ", "kind": "TEMPORARY", "reason": "OTHER", "purpose": "STUDY",
            "effectiveAt": format!("{started}T00:00:00Z"), "endsOn": ends.to_string() } });
        const SUBMIT: &str = "mutation($i: TransferInput!) { submitTransfer(input: $i) { status error { code message } } }";
        let too_long = app.graphql_as(&admin, SUBMIT, transfer(started + Days::new(800), "tmp-long")).await;
        assert_eq!(too_long["data"]["submitTransfer"]["status"], "REJECTED", "{too_long}");
        assert!(too_long["data"]["submitTransfer"]["error"]["message"].as_str().expect("m").starts_with("endsOn"));
        let past_end = today - Days::new(5);
        let applied = app.graphql_as(&admin, SUBMIT, transfer(past_end, "tmp-study")).await;
        assert_eq!(applied["data"]["submitTransfer"]["status"], "APPLIED", "{applied}");

        let ending = "query($w: String, $d: Int) { temporaryMembershipsEnding(within: $w, days: $d) {
            endsOn organization { code } member { id } } }";
        let listed = app.graphql_as(&admin, ending, json!({ "w": null, "d": 30 })).await;
        assert_eq!(listed["data"]["temporaryMembershipsEnding"], json!([
            { "endsOn": past_end.to_string(), "organization": { "code": "SL.YT.CQ" }, "member": { "id": seeded.yt_member } },
            { "endsOn": ends_on.to_string(), "organization": { "code": "TD.HG.R1" }, "member": { "id": seeded.bl_member } },
        ]), "{listed}");
        // Each cell lists its own; a shorter horizon leaves the later end out.
        let mine = app.graphql_as(&receiver, ending, json!({ "w": "TD.HG", "d": 30 })).await;
        assert_eq!(mine["data"]["temporaryMembershipsEnding"].as_array().expect("list").len(), 1, "{mine}");
        let soon = app.graphql_as(&admin, ending, json!({ "w": "SL", "d": 10 })).await;
        assert_eq!(soon["data"]["temporaryMembershipsEnding"].as_array().expect("list").len(), 1, "{soon}");
    }
}

on_both_backends! {
    async fn party_age_counts_a_transit_inside_the_window_and_not_beyond_it(app: TestApp) {
        use chrono::Datelike;
        let seeded = two_districts(&app).await;
        let (sender, receiver) = (sender(), receiver());
        let today = Utc::now().date_naive();
        let admitted = chrono::NaiveDate::from_ymd_opt(2010, 5, 19).expect("date");
        let issued_on = today - Days::new(60);
        let present_by = issued_on + Days::new(30);
        for (member, number) in [(&seeded.bl_member, "PA-1"), (&seeded.yt_member, "PA-2")] {
            let mut input = letter_input(&format!("pa-{number}"), member, number);
            input["input"]["issuedOn"] = json!(issued_on.to_string());
            let answer = app.graphql_as(&sender, ISSUE, input).await;
            assert!(answer.get("errors").is_none(), "{answer}");
        }
        let letter_of = |answer: &Value, member: &str| answer["data"]["letters"]["edges"].as_array().expect("edges").iter()
            .find(|e| e["node"]["member"]["id"] == json!(member)).map(|e| e["node"]["id"].clone()).expect("letter");
        let open = app.graphql_as(&receiver, "{ letters(inTransit: true) { edges { node { id member { id } } } } }", json!({})).await;
        // The first member presents the letter inside the window.
        let received = app.graphql_as(&receiver, RECEIVE, json!({ "input": { "letterId": letter_of(&open, &seeded.bl_member),
            "cellCode": "TD.HG.R1", "receivedOn": (issued_on + Days::new(15)).to_string() } })).await;
        assert!(received.get("errors").is_none(), "{received}");

        const AGE: &str = "query($id: ID!, $on: Date) { member(id: $id) { partyAge(asOf: $on) {
            years months days daysNotCounted countedFrom nextBadge { years dueOn } } } }";
        let age = app.graphql_as(&receiver, AGE, json!({ "id": seeded.bl_member, "on": today.to_string() })).await;
        let age = &age["data"]["member"]["partyAge"];
        let whole_years = today.year() - 2010 - i32::from((today.month(), today.day()) < (5, 19));
        assert_eq!(age["daysNotCounted"], 0, "{age}");
        assert_eq!(age["countedFrom"], admitted.to_string());
        assert_eq!(age["years"], whole_years);
        assert_eq!(age["nextBadge"], json!({ "years": 30, "dueOn": "2040-05-19" }));

        // The second is still in transit, past the window: those days do not count.
        let lost = (today - present_by).num_days() - 1;
        let age = app.graphql_as(&sender, AGE, json!({ "id": seeded.yt_member, "on": today.to_string() })).await;
        let age = &age["data"]["member"]["partyAge"];
        assert_eq!(age["daysNotCounted"], lost, "{age}");
        let counted_from = admitted + Days::new(lost as u64);
        assert_eq!(age["countedFrom"], counted_from.to_string());
        assert_eq!(age["nextBadge"]["dueOn"], counted_from.with_year(counted_from.year() + 30).expect("date").to_string());
        // Asked as of a day inside the window, nothing is lost yet.
        let earlier = app.graphql_as(&sender, AGE, json!({ "id": seeded.yt_member, "on": present_by.to_string() })).await;
        assert_eq!(earlier["data"]["member"]["partyAge"]["daysNotCounted"], 0, "{earlier}");
        // Received late with its reason: the whole transit counts.
        let received = app.graphql_as(&receiver, RECEIVE, json!({ "input": { "letterId": letter_of(&open, &seeded.yt_member),
            "cellCode": "TD.HG.R2", "lateReason": "Ốm dài ngày" } })).await;
        assert!(received.get("errors").is_none(), "{received}");
        let age = app.graphql_as(&receiver, AGE, json!({ "id": seeded.yt_member, "on": today.to_string() })).await;
        assert_eq!(age["data"]["member"]["partyAge"]["daysNotCounted"], 0, "{age}");
    }
}

on_both_backends! {
    async fn a_hold_placed_while_the_letter_travels_stops_its_receipt(app: TestApp) {
        let seeded = two_districts(&app).await;
        let (sender, receiver) = (sender(), receiver());
        let issued = app.graphql_as(&sender, ISSUE, letter_input("held-1", &seeded.bl_member, "H-1")).await;
        assert!(issued.get("errors").is_none(), "{issued}");
        let letter_id = issued["data"]["issueLetter"]["letter"]["id"].as_str().expect("id").to_owned();
        // The sending side's inspection committee opens a case on the member in transit.
        let hold = place_hold(&app, &token_for(Role::Organizer, Some("SL")), &seeded.bl_member, "INSPECTION").await;
        let before = counts(&app).await;
        let refused = app
            .graphql_as(&receiver, RECEIVE, json!({ "input": { "letterId": letter_id, "cellCode": "TD.HG.R1" } }))
            .await;
        assert_eq!(error_code(&refused), Some("CONFLICT"), "{refused}");
        assert_eq!(refused["errors"][0]["extensions"]["field"], "hold", "{refused}");
        assert_eq!(counts(&app).await, before, "nothing written");
        let letter = app.graphql_as(&receiver, LETTER, json!({ "id": letter_id })).await;
        assert_eq!(letter["data"]["letter"]["status"], "OPEN", "{letter}");
        // Released, the member is received.
        let released = app
            .graphql_as(&token_for(Role::Organizer, Some("SL")), "mutation($input: ReleaseHoldInput!) { releaseHold(input: $input) { id } }",
                json!({ "input": { "holdId": hold, "decisionRef": "QĐ-14/UBKT" } }))
            .await;
        assert!(released.get("errors").is_none(), "{released}");
        let received = app
            .graphql_as(&receiver, RECEIVE, json!({ "input": { "letterId": letter_id, "cellCode": "TD.HG.R1" } }))
            .await;
        assert_eq!(received["data"]["receiveLetter"]["status"], "RECEIVED", "{received}");
    }
}
