//! `cellreg seed demo` and the README walkthrough on it: DA04 at 0/17, one
//! commune dissolved by residence, then all of them, 17/17 and every member
//! transferred; each step checked against counts read independently.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use api::seed::{self, Seeded};
use serde_json::{Value, json};

use crate::dissolution::{DISSOLVE, input as dissolution};
use crate::helpers::TestApp;

/// Each targeted cell's code, commune (in Sông Lô as it stood before the
/// 2025 merge) and member count now, read through the ordinary API.
async fn targeted_cells(app: &TestApp) -> BTreeMap<String, (String, i64, bool)> {
    let mut cells = BTreeMap::new();
    for cell_type in ["AGENCY", "MILITARY"] {
        let answer = app
            .graphql(
                "query($t: CellType) { then: organizations(within: \"SL\", cellType: $t, asOf: \"2025-06-30T00:00:00Z\", first: 500) { edges { node { code parent { code } } } }
                                       now: organizations(within: \"PT\", cellType: $t, first: 500) { edges { node { code status memberCount } } } }",
                json!({ "t": cell_type }),
            )
            .await;
        let now: BTreeMap<&str, &Value> = answer["data"]["now"]["edges"]
            .as_array()
            .expect("edges")
            .iter()
            .map(|edge| (edge["node"]["code"].as_str().expect("code"), &edge["node"]))
            .collect();
        for edge in answer["data"]["then"]["edges"].as_array().expect("edges") {
            let code = edge["node"]["code"].as_str().expect("code");
            let node = now[code];
            cells.insert(
                code.to_owned(),
                (
                    edge["node"]["parent"]["code"]
                        .as_str()
                        .expect("parent")
                        .to_owned(),
                    node["memberCount"].as_i64().expect("count"),
                    node["status"] == "DISSOLVED",
                ),
            );
        }
    }
    cells
}

/// DA04's progress as the test computes it: `initial` holds the member counts before any work.
fn expected_progress(
    initial: &BTreeMap<String, (String, i64, bool)>,
    now: &BTreeMap<String, (String, i64, bool)>,
) -> Value {
    let mut communes: BTreeMap<&str, (i64, i64, i64, i64)> = BTreeMap::new();
    for (code, (commune, count, dissolved)) in now {
        let before = initial[code].1;
        let row = communes.entry(commune).or_default();
        row.0 += 1;
        row.1 += i64::from(*dissolved);
        row.2 += before - count;
        row.3 += count;
    }
    let completed = communes
        .values()
        .filter(|(cells, dissolved, _, remaining)| cells == dissolved && *remaining == 0)
        .count();
    json!({
        "committeesTotal": communes.len(),
        "committeesCompleted": completed,
        "cellsTargeted": now.len(),
        "cellsDissolved": communes.values().map(|r| r.1).sum::<i64>(),
        "membersTransferred": communes.values().map(|r| r.2).sum::<i64>(),
        "membersRemaining": communes.values().map(|r| r.3).sum::<i64>(),
    })
}

async fn da04(app: &TestApp) -> Value {
    let answer = app
        .graphql(
            "{ plan(code: \"DA04\") { issuedOn targetCellTypes progress { committeesTotal committeesCompleted cellsTargeted cellsDissolved membersTransferred membersRemaining } } }",
            json!({}),
        )
        .await;
    assert!(answer.get("errors").is_none(), "{answer}");
    answer["data"]["plan"].clone()
}

on_both_backends! {
    async fn the_walkthrough_reaches_17_of_17(app: TestApp) {
        let built = seed::demo(app.db(), seed::DEFAULT_SEED, false, |_| {}).await.expect("seed");
        let Seeded::Built { communes, cells, members } = built else { panic!("a fresh database is seeded: {built:?}") };
        assert_eq!((communes, cells), (17, 256));
        assert!(members > 1_500, "{members}");
        assert_eq!(seed::demo(app.db(), seed::DEFAULT_SEED, false, |_| {}).await.expect("again"), Seeded::AlreadyThere);

        // Sông Lô as it stood on 30 June 2025, and the same ground today.
        let counts = app
            .graphql("{ organizations(within: \"SL\", kind: CELL, asOf: \"2025-06-30T00:00:00Z\") { totalCount } members(within: \"SL\", asOf: \"2025-06-30T00:00:00Z\") { totalCount }
                        now: organizations(within: \"PT\", kind: CELL) { totalCount } nowMembers: members(within: \"PT\") { totalCount }
                        sl: organization(code: \"SL\") { status children(status: ACTIVE) { totalCount } }
                        communes: organizations(within: \"PT\", kind: GRASSROOTS_COMMITTEE, status: ACTIVE) { totalCount } }", json!({}))
            .await;
        // Two members left by letter for Tam Dương, one is still in transit.
        let letters = app
            .graphql("{ members(within: \"TD\") { totalCount } letters(inTransit: true) { totalCount }
                        overdue: letters(within: \"PT\", overdue: true) { totalCount }
                        cancelled: letters(status: CANCELLED) { totalCount } }", json!({}))
            .await;
        assert_eq!(letters["data"]["members"]["totalCount"], 2, "{letters}");
        assert_eq!(letters["data"]["letters"]["totalCount"], 1);
        assert_eq!(letters["data"]["overdue"]["totalCount"], 1);
        assert_eq!(letters["data"]["cancelled"]["totalCount"], 1);
        assert_eq!(counts["data"]["organizations"]["totalCount"], 256, "{counts}");
        assert_eq!(counts["data"]["members"]["totalCount"], members - 3);
        assert_eq!(counts["data"]["now"]["totalCount"], 256);
        assert_eq!(counts["data"]["nowMembers"]["totalCount"], members - 3);
        assert_eq!(counts["data"]["sl"], json!({ "status": "DISSOLVED", "children": { "totalCount": 0 } }));
        assert_eq!(counts["data"]["communes"]["totalCount"], 5);

        let initial = targeted_cells(&app).await;
        assert_eq!(initial.len(), 34);
        let plan = da04(&app).await;
        assert_eq!(plan["issuedOn"], "2017-08-01");
        assert_eq!(plan["targetCellTypes"], json!(["AGENCY", "MILITARY"]));
        assert_eq!(plan["progress"], expected_progress(&initial, &initial));
        assert_eq!(plan["progress"]["committeesCompleted"], 0);

        // One commune, by residence.
        for cell in ["SL.BL.CQ", "SL.BL.QS"] {
            let answer = app.graphql(DISSOLVE, dissolution(cell, "BY_RESIDENCE", json!([]))).await;
            assert!(answer.get("errors").is_none(), "{answer}");
        }
        let now = targeted_cells(&app).await;
        let plan = da04(&app).await;
        assert_eq!(plan["progress"], expected_progress(&initial, &now));
        assert_eq!(plan["progress"]["committeesCompleted"], 1);

        // Then all the rest.
        for (cell, (_, _, dissolved)) in &now {
            if !dissolved {
                let answer = app.graphql(DISSOLVE, dissolution(cell, "BY_RESIDENCE", json!([]))).await;
                assert!(answer.get("errors").is_none(), "{answer}");
            }
        }
        let now = targeted_cells(&app).await;
        let plan = da04(&app).await;
        assert_eq!(plan["progress"], expected_progress(&initial, &now));
        let everyone: i64 = initial.values().map(|(_, count, _)| count).sum();
        assert_eq!(
            plan["progress"],
            json!({ "committeesTotal": 17, "committeesCompleted": 17, "cellsTargeted": 34, "cellsDissolved": 34,
                    "membersTransferred": everyone, "membersRemaining": 0 })
        );
        let still = app.graphql("{ members(within: \"PT\") { totalCount } }", json!({})).await;
        assert_eq!(still["data"]["members"]["totalCount"], members - 3, "nobody was lost");
        crate::invariants::assert_registry_invariants(app.db()).await;
    }
}

on_both_backends! {
    async fn the_seed_refuses_a_database_with_other_data_unless_forced(app: TestApp) {
        app.create_organization("HN", "DISTRICT_COMMITTEE", None, None).await;
        let refused = seed::demo(app.db(), seed::DEFAULT_SEED, false, |_| {}).await;
        assert!(matches!(refused, Err(seed::SeedError::NotEmpty(_))), "{refused:?}");
        let nothing = app.graphql("{ organizations { totalCount } }", json!({})).await;
        assert_eq!(nothing["data"]["organizations"]["totalCount"], 1, "nothing written");
        let mut lines = 0;
        let forced = seed::demo(app.db(), 7, true, |_| lines += 1).await.expect("forced");
        assert!(matches!(forced, Seeded::Built { cells: 256, .. }), "{forced:?}");
        assert_eq!(lines, 17 + 5, "one progress line per commune, then one per merge");
    }
}

e2e_test! {
    async fn the_same_seed_builds_the_same_registry() {
        type People = Vec<(String, String, Option<i64>)>;
        async fn people(seed_number: u64) -> People {
            use entity::member;
            use sea_orm::{EntityTrait, QueryOrder};
            let found: Arc<Mutex<People>> = Arc::default();
            let sink = found.clone();
            crate::helpers::run::<crate::helpers::TestDatabase, _, _>(
                crate::helpers::Backend::Sqlite,
                |database| async move {
                    let db = database.connect().await;
                    api::database::prepare(&db, "test", true)
                        .await
                        .expect("migrate");
                    seed::demo(&db, seed_number, false, |_| {})
                        .await
                        .expect("seed");
                    let rows = member::Entity::find()
                        .order_by_asc(member::Column::Id)
                        .all(&db)
                        .await
                        .expect("members");
                    *sink.lock().expect("lock") = rows
                        .into_iter()
                        .map(|m| (m.national_id, m.full_name, m.residence_cell_id))
                        .collect();
                },
            )
            .await;
            found.lock().expect("lock").clone()
        }
        let first = people(11).await;
        assert!(first.len() > 1_500, "{}", first.len());
        assert_eq!(
            first,
            people(11).await,
            "same seed, same people in the same cells"
        );
        assert_ne!(first, people(12).await, "another seed, other people");
    }
}
