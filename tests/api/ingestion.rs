//! Ingestion: a batch of transfers is one transaction with a savepoint per
//! item. Each item is answered as if it came alone (applied, duplicate,
//! refused with nothing of its own kept and its audit row written), the
//! batch's events take consecutive feed sequences in input order, and
//! concurrent batches and single transfers over the same members neither
//! deadlock nor apply a key twice.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use api::audit::service::{Verification, verify};
use api::auth::Role;
use entity::enums::MembershipKind;
use entity::{audit_log, membership, transfer_event};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};

use crate::helpers::{Fixture, TestApp, TestDatabase, token_for};

fn item(key: &str, member: &str, to: &str) -> Value {
    json!({ "externalId": key, "memberId": member.parse::<i64>().expect("id"), "toOrganizationCode": to, "reason": "RELOCATION" })
}

async fn post_batch(app: &TestApp, token: &str, events: &[Value]) -> Vec<Value> {
    let response = app
        .client()
        .post(app.url("/api/v1/transfer-events"))
        .bearer_auth(token)
        .json(&json!({ "events": events }))
        .send()
        .await
        .expect("POST");
    let status = response.status();
    let answer: Value = response.json().await.expect("JSON");
    assert_eq!(status, 200, "{answer}");
    answer["results"].as_array().expect("results").clone()
}

fn statuses(results: &[Value]) -> Vec<String> {
    results
        .iter()
        .map(|r| r["status"].as_str().unwrap_or("-").to_owned())
        .collect()
}

/// Rows of the three tables a transfer writes to: events, memberships, audit rows.
async fn rows(app: &TestApp) -> (u64, u64, u64) {
    let db = app.db();
    (
        transfer_event::Entity::find()
            .count(db)
            .await
            .expect("count"),
        membership::Entity::find().count(db).await.expect("count"),
        audit_log::Entity::find().count(db).await.expect("count"),
    )
}

/// How many open OFFICIAL memberships each member has.
async fn open_official(app: &TestApp) -> HashMap<i64, usize> {
    let open = membership::Entity::find()
        .filter(membership::Column::Kind.eq(MembershipKind::Official))
        .filter(membership::Column::EndedAt.is_null())
        .all(app.db())
        .await
        .expect("memberships");
    let mut per_member = HashMap::new();
    for m in open {
        *per_member.entry(m.member_id).or_default() += 1;
    }
    per_member
}

/// Every event's sequence, in sequence order, as the table holds them.
async fn sequences(app: &TestApp) -> Vec<i64> {
    transfer_event::Entity::find()
        .order_by_asc(transfer_event::Column::Sequence)
        .all(app.db())
        .await
        .expect("events")
        .into_iter()
        .map(|e| e.sequence)
        .collect()
}

/// The REST feed after a sequence: (sequence, externalId) of each event.
async fn feed_after(app: &TestApp, after: i64) -> Vec<(i64, String)> {
    let page: Value = app
        .get_as(
            app.admin_token(),
            &format!("/api/v1/events?after={after}&limit=500"),
        )
        .await
        .json()
        .await
        .expect("feed");
    page["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| {
            (
                e["sequence"].as_i64().expect("sequence"),
                e["externalId"].as_str().expect("key").to_owned(),
            )
        })
        .collect()
}

/// The last `n` audit rows, oldest first: (target, outcome, error code).
async fn last_audit_rows(app: &TestApp, n: u64) -> Vec<(String, String, Option<String>)> {
    let mut rows: Vec<_> = audit_log::Entity::find()
        .order_by_desc(audit_log::Column::Seq)
        .all(app.db())
        .await
        .expect("audit rows")
        .into_iter()
        .take(n as usize)
        .map(|row| (row.target.unwrap_or_default(), row.outcome, row.error_code))
        .collect();
    rows.reverse();
    rows
}

async fn assert_chain_intact(app: &TestApp) {
    let audit_rows = audit_log::Entity::find()
        .count(app.db())
        .await
        .expect("count");
    assert_eq!(
        verify(app.db()).await.expect("verify"),
        Verification::Intact {
            rows: audit_rows as i64
        },
        "the audit chain verifies"
    );
}

on_both_backends! {
    async fn a_mixed_batch_answers_each_item_as_alone_and_commits_them_together(app: TestApp) {
        let seeded = app.seed_district().await;
        let mut m = vec![seeded.bl_member.clone()];
        for i in 0..4 {
            m.push(app.register_member(&format!("00108000030{i}"), "SL.BL.R1", None).await);
        }
        // An earlier request, applied on its own.
        let earlier = post_batch(&app, app.admin_token(), &[item("early-1", &m[0], "SL.BL.CQ")]).await;
        assert_eq!(statuses(&earlier), ["APPLIED"], "{earlier:?}");
        let head = *sequences(&app).await.last().expect("a feed");
        let before = rows(&app).await;

        let soon = (chrono::Utc::now() + chrono::Duration::minutes(6)).to_rfc3339();
        let mut future = item("b-7", &m[4], "SL.BL.CQ");
        future["effectiveAt"] = json!(soon);
        let batch = vec![
            item("b-0", &m[1], "SL.BL.CQ"),   // applied
            item("early-1", &m[0], "SL.BL.CQ"), // the earlier request again: duplicate
            item("b-2", &m[2], "SL.NOWHERE"), // unknown destination
            item("b-3", &m[3], "SL.BL.R1"),   // already in that cell
            item("b-0", &m[1], "SL.BL.CQ"),   // item 0 again: duplicate of this batch's event
            item("b-0", &m[1], "SL.YT.CQ"),   // item 0's key, other content
            item("b-6", &m[1], "SL.BL.R1"),   // back again: sees item 0's move
            future,                           // effectiveAt too far ahead
            item("b-8", &m[2], "SL.YT.CQ"),   // applied: item 2's refusal left it alone
        ];
        let results = post_batch(&app, app.admin_token(), &batch).await;
        assert_eq!(
            statuses(&results),
            ["APPLIED", "DUPLICATE", "REJECTED", "REJECTED", "DUPLICATE", "REJECTED", "APPLIED", "REJECTED", "APPLIED"],
            "{results:?}"
        );
        for (index, result) in results.iter().enumerate() {
            assert_eq!(result["externalId"], batch[index]["externalId"], "input order");
            if result["status"] == "REJECTED" {
                assert_eq!(result["error"]["index"], index, "{result}");
                assert!(result["eventId"].is_null() && result["sequence"].is_null(), "{result}");
            }
        }
        let codes: Vec<&str> = [2, 3, 5, 7].iter().map(|&i| results[i]["error"]["code"].as_str().unwrap_or("-")).collect();
        assert_eq!(codes, ["NOT_FOUND", "CONFLICT", "CONFLICT", "BAD_USER_INPUT"], "{results:?}");
        assert_eq!(results[7]["error"]["field"], "effectiveAt");
        assert_eq!(results[1]["eventId"], earlier[0]["eventId"], "the earlier request's event");
        assert_eq!(results[4]["eventId"], results[0]["eventId"], "the batch's own event");

        // Three events, in input order, right after the head of the feed.
        let applied: Vec<i64> = [0, 6, 8].iter().map(|&i| results[i]["sequence"].as_i64().expect("sequence")).collect();
        assert_eq!(applied, [head + 1, head + 2, head + 3], "{results:?}");
        let feed = feed_after(&app, head).await;
        assert_eq!(feed, [(head + 1, "b-0".to_owned()), (head + 2, "b-6".to_owned()), (head + 3, "b-8".to_owned())]);
        assert_eq!(sequences(&app).await, (1..=head + 3).collect::<Vec<_>>(), "no gap in the feed");

        // Three events, three memberships opened; one audit row per item.
        let after = rows(&app).await;
        assert_eq!(after, (before.0 + 3, before.1 + 3, before.2 + 9), "rows written");
        let audited = last_audit_rows(&app, 9).await;
        let expected: Vec<(String, String, Option<String>)> = batch
            .iter()
            .zip(&results)
            .map(|(input, result)| {
                let target = format!("{}:{}", input["toOrganizationCode"].as_str().expect("code"), input["externalId"].as_str().expect("key"));
                match result["error"]["code"].as_str() {
                    Some(code) => (target, "FAILED".to_owned(), Some(code.to_owned())),
                    None => (target, "ALLOWED".to_owned(), None),
                }
            })
            .collect();
        assert_eq!(audited, expected, "one row per item, in input order, refusals with their code");

        // Where everyone stands: item 3 and the refusals changed nothing.
        let open = open_official(&app).await;
        assert!(open.values().all(|n| *n == 1), "one open OFFICIAL membership each: {open:?}");
        let cell_of = |member: &str| {
            let app = app.clone();
            let member = member.to_owned();
            async move {
                let answer = app.graphql("query($id: ID!) { member(id: $id) { membership { organization { code } } } }", json!({ "id": member })).await;
                answer["data"]["member"]["membership"]["organization"]["code"].as_str().expect("code").to_owned()
            }
        };
        assert_eq!(cell_of(&m[1]).await, "SL.BL.R1", "moved out and back");
        assert_eq!(cell_of(&m[2]).await, "SL.YT.CQ");
        assert_eq!(cell_of(&m[3]).await, "SL.BL.R1");
        assert_eq!(cell_of(&m[4]).await, "SL.BL.R1");
        assert_chain_intact(&app).await;

        // The same batch again: every applied item is a duplicate of its event, every refusal the same.
        let again = post_batch(&app, app.admin_token(), &batch).await;
        assert_eq!(
            statuses(&again),
            ["DUPLICATE", "DUPLICATE", "REJECTED", "REJECTED", "DUPLICATE", "REJECTED", "DUPLICATE", "REJECTED", "DUPLICATE"],
            "{again:?}"
        );
        for i in [0, 6, 8] {
            assert_eq!(again[i]["eventId"], results[i]["eventId"], "item {i}");
        }
        assert_eq!(rows(&app).await.0, after.0, "no event added");

        // A caller who may not transfer: every item DENIED, audited, nothing else changed.
        let reader = token_for(Role::Reader, Some("SL"));
        let denied = post_batch(&app, &reader, &[item("r-1", &m[3], "SL.BL.CQ"), item("r-2", &m[4], "SL.BL.CQ")]).await;
        assert_eq!(statuses(&denied), ["REJECTED", "REJECTED"], "{denied:?}");
        assert_eq!(denied[1]["error"]["code"], "FORBIDDEN");
        let audited = last_audit_rows(&app, 2).await;
        assert_eq!(audited, [
            ("SL.BL.CQ:r-1".to_owned(), "DENIED".to_owned(), Some("FORBIDDEN".to_owned())),
            ("SL.BL.CQ:r-2".to_owned(), "DENIED".to_owned(), Some("FORBIDDEN".to_owned())),
        ]);
        assert_chain_intact(&app).await;
    }
}

on_both_backends! {
    /// An item refused after it wrote (here the database refuses the new
    /// membership) is rolled back to its savepoint: its event, its feed
    /// sequence and the membership it closed are as if it never ran.
    async fn an_item_refused_after_writing_leaves_nothing_of_its_own(app: TestApp) {
        let seeded = app.seed_district().await;
        let trap = app.create_organization("SL.BL.TRAP", "CELL", Some("RESIDENTIAL"), Some("SL.BL")).await;
        let trap: i64 = trap["id"].as_str().expect("id").parse().expect("id");
        let other = app.register_member("001080000401", "SL.BL.R1", None).await;
        // Any membership opening in the trap breaks a unique key, after the event and the close were written.
        let sql = match app.db().get_database_backend() {
            sea_orm::DbBackend::Sqlite => format!(
                "CREATE TRIGGER trap BEFORE INSERT ON membership WHEN NEW.organization_id = {trap} \
                 BEGIN INSERT INTO counter (name, last_value) VALUES ('transfer_event', 0); END"
            ),
            _ => format!(
                "CREATE FUNCTION trap() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
                   INSERT INTO counter (name, last_value) VALUES ('transfer_event', 0); RETURN NEW; END $$; \
                 CREATE TRIGGER trap BEFORE INSERT ON membership FOR EACH ROW \
                   WHEN (NEW.organization_id = {trap}) EXECUTE FUNCTION trap();"
            ),
        };
        app.db().execute_unprepared(&sql).await.expect("trap");
        let head = *sequences(&app).await.last().expect("a feed");
        let before = rows(&app).await;

        let results = post_batch(&app, app.admin_token(), &[
            item("t-1", &seeded.bl_member, "SL.BL.CQ"),
            item("t-2", &other, "SL.BL.TRAP"),
            item("t-3", &seeded.yt_member, "SL.YT.CQ"),
        ]).await;
        assert_eq!(statuses(&results), ["APPLIED", "REJECTED", "APPLIED"], "{results:?}");
        assert_eq!(results[1]["error"]["code"], "CONFLICT", "{results:?}");
        assert_eq!(results[0]["sequence"], head + 1);
        assert_eq!(results[2]["sequence"], head + 2, "the refused item's sequence was given back");
        assert_eq!(rows(&app).await, (before.0 + 2, before.1 + 2, before.2 + 3));
        let events = transfer_event::Entity::find()
            .filter(transfer_event::Column::ExternalId.eq("t-2"))
            .count(app.db())
            .await
            .expect("count");
        assert_eq!(events, 0, "no event of the refused item");
        let member = app.graphql("query($id: ID!) { member(id: $id) { membership { organization { code } endedAt } } }", json!({ "id": other })).await;
        assert_eq!(member["data"]["member"]["membership"], json!({ "organization": { "code": "SL.BL.R1" }, "endedAt": null }), "{member}");
        assert_eq!(sequences(&app).await, (1..=head + 2).collect::<Vec<_>>(), "no gap in the feed");
        assert_chain_intact(&app).await;
    }
}

on_both_backends! {
    /// Batches at once over the same members in opposite orders, one key in
    /// every batch, and single transfers of the same members beside them:
    /// no deadlock reaches a caller, every key is applied once, every member
    /// has one open OFFICIAL membership, each batch's events are consecutive
    /// in the feed and the feed has no gap.
    async fn concurrent_batches_over_the_same_members_apply_each_key_once(database: TestDatabase) {
        let mut config = database.config();
        config.mutations_per_minute = 0;
        config.database.max_connections = 10;
        let app = TestApp::spawn(config).await;
        app.seed_district().await;
        let cells = ["SL.BL.R1", "SL.BL.CQ", "SL.YT.R1", "SL.YT.CQ"];
        let mut members = Vec::new();
        for i in 0..24 {
            members.push(app.register_member(&format!("0070001{i:05}"), cells[i % 4], None).await);
        }
        // The shared key moves a member no other request touches: its first try applies.
        let alone = app.register_member("007000200000", "SL.BL.R1", None).await;
        let shared = item("shared-1", &alone, "SL.YT.CQ");
        const ROUNDS: usize = 3;
        const BATCHES: usize = 4;
        let mut answers: Vec<Vec<Value>> = Vec::new();
        let mut single_answers: Vec<Value> = Vec::new();
        for round in 0..ROUNDS {
            let barrier = Arc::new(tokio::sync::Barrier::new(BATCHES + 2));
            let mut batches = Vec::new();
            for b in 0..BATCHES {
                // Every batch over all the members; half of them in the opposite order.
                let mut order: Vec<usize> = (0..members.len()).collect();
                if b % 2 == 1 {
                    order.reverse();
                }
                let mut events: Vec<Value> = order
                    .iter()
                    .map(|&i| item(&format!("r{round}-b{b}-m{i}"), &members[i], cells[(i + b + round + 1) % 4]))
                    .collect();
                events.insert(events.len() / 2, shared.clone());
                let (app, barrier) = (app.clone(), barrier.clone());
                batches.push(tokio::spawn(async move {
                    let client = reqwest::Client::builder().pool_max_idle_per_host(0).build().expect("client");
                    barrier.wait().await;
                    let response = client
                        .post(app.url("/api/v1/transfer-events"))
                        .bearer_auth(app.admin_token())
                        .json(&json!({ "events": events }))
                        .send()
                        .await
                        .expect("POST");
                    let status = response.status();
                    let answer: Value = response.json().await.expect("JSON");
                    assert_eq!(status, 200, "{answer}");
                    answer["results"].as_array().expect("results").clone()
                }));
            }
            let mut singles = Vec::new();
            for s in 0..2 {
                let (app, barrier, members) = (app.clone(), barrier.clone(), members.clone());
                singles.push(tokio::spawn(async move {
                    barrier.wait().await;
                    let mut results = Vec::new();
                    for k in 0..6 {
                        let i = (k * 5 + s * 11 + round) % members.len();
                        let input = json!({ "externalId": format!("r{round}-s{s}-{k}"), "memberId": members[i],
                                            "toOrganizationCode": cells[(k + s) % 4], "reason": "RELOCATION" });
                        let answer = app.graphql("mutation($input: TransferInput!) { submitTransfer(input: $input) { status error { code } event { sequence } } }", json!({ "input": input })).await;
                        assert!(answer.get("errors").is_none(), "{answer}");
                        results.push(answer["data"]["submitTransfer"].clone());
                    }
                    results
                }));
            }
            for batch in batches {
                answers.push(batch.await.expect("batch"));
            }
            for single in singles {
                single_answers.extend(single.await.expect("singles"));
            }
        }

        // Each item applied, a duplicate of the shared key, or refused moving a member where it already is.
        let mut shared_answers: BTreeMap<String, usize> = BTreeMap::new();
        let mut shared_events = Vec::new();
        let mut batches_applying = 0;
        for results in &answers {
            let mut applied = Vec::new();
            for result in results {
                let status = result["status"].as_str().expect("status");
                if result["externalId"] == "shared-1" {
                    *shared_answers.entry(status.to_owned()).or_default() += 1;
                    shared_events.push(result["eventId"].clone());
                } else if status == "REJECTED" {
                    assert_eq!(result["error"]["code"], "CONFLICT", "{result}");
                } else {
                    assert_eq!(status, "APPLIED", "{result}");
                }
                if status == "APPLIED" {
                    applied.push(result["sequence"].as_i64().expect("sequence"));
                }
            }
            // A batch may find every member already where it sends them, after another batch.
            if let Some(&first) = applied.first() {
                assert_eq!(applied, (first..first + applied.len() as i64).collect::<Vec<_>>(), "a batch's events are consecutive, in input order");
                batches_applying += 1;
            }
        }
        assert!(batches_applying >= ROUNDS, "at least one batch a round applied something: {batches_applying}");
        assert_eq!(shared_answers.get("APPLIED"), Some(&1), "{shared_answers:?}");
        assert_eq!(shared_answers.get("DUPLICATE"), Some(&(ROUNDS * BATCHES - 1)), "{shared_answers:?}");
        assert!(shared_events.windows(2).all(|w| w[0] == w[1]), "every answer names the one event");
        for result in &single_answers {
            let status = result["status"].as_str().expect("status");
            assert!(status == "APPLIED" || result["error"]["code"] == "CONFLICT", "{result}");
        }

        let events = transfer_event::Entity::find().all(app.db()).await.expect("events");
        let mut keys: HashMap<&str, usize> = HashMap::new();
        for event in &events {
            *keys.entry(event.external_id.as_str()).or_default() += 1;
        }
        assert!(keys.values().all(|n| *n == 1), "every key applied once");
        assert_eq!(sequences(&app).await, (1..=events.len() as i64).collect::<Vec<_>>(), "no gap in the feed");
        let open = open_official(&app).await;
        assert_eq!(open.len(), members.len() + 3, "every member has an open OFFICIAL membership: {open:?}");
        assert!(open.values().all(|n| *n == 1), "exactly one each: {open:?}");
        assert_chain_intact(&app).await;
        app.tear_down().await;
    }
}

on_both_backends! {
    /// Two batches over different members at once, both using one key for
    /// different transfers: one applies it, the other answers CONFLICT on
    /// the key (its savepoint refused by the unique index, or the key found
    /// already taken), and every other item of both applies.
    async fn a_key_two_concurrent_batches_use_for_different_transfers_is_applied_once(database: TestDatabase) {
        let mut config = database.config();
        config.mutations_per_minute = 0;
        let app = TestApp::spawn(config).await;
        app.seed_district().await;
        let cells = ["SL.BL.R1", "SL.BL.CQ", "SL.YT.R1", "SL.YT.CQ"];
        let mut sides: Vec<Vec<String>> = Vec::new();
        for (side, first_cell) in cells.iter().take(2).enumerate() {
            let mut members = Vec::new();
            for i in 0..12 {
                members.push(app.register_member(&format!("00700030{side}{i:03}"), first_cell, None).await);
            }
            sides.push(members);
        }
        for round in 0..4 {
            let barrier = Arc::new(tokio::sync::Barrier::new(2));
            let mut tasks = Vec::new();
            for (side, members) in sides.iter().enumerate() {
                let mut events: Vec<Value> = members[4..]
                    .iter()
                    .enumerate()
                    .map(|(i, member)| item(&format!("r{round}-s{side}-{i}"), member, cells[(side + round + 1 + i % 2) % 4]))
                    .collect();
                // A member of its own each round, moved out of its first cell: only the key can refuse it.
                events.insert(5, item(&format!("contested-{round}"), &members[round], cells[2 + side]));
                let (app, barrier) = (app.clone(), barrier.clone());
                tasks.push(tokio::spawn(async move {
                    barrier.wait().await;
                    post_batch(&app, app.admin_token(), &events).await
                }));
            }
            let mut contested = Vec::new();
            for task in tasks {
                let results = task.await.expect("batch");
                for (i, result) in results.iter().enumerate() {
                    if i == 5 {
                        contested.push(result.clone());
                    } else {
                        assert!(result["status"] == "APPLIED" || result["error"]["code"] == "CONFLICT", "{result}");
                        assert_ne!(result["error"]["message"], "externalId: already used for a different request", "{result}");
                    }
                }
            }
            let mut outcomes: Vec<&str> = contested.iter().map(|r| r["status"].as_str().unwrap_or("-")).collect();
            outcomes.sort_unstable();
            assert_eq!(outcomes, ["APPLIED", "REJECTED"], "{contested:?}");
            let loser = contested.iter().find(|r| r["status"] == "REJECTED").expect("a loser");
            assert_eq!(loser["error"]["code"], "CONFLICT", "{loser}");
            assert_eq!(loser["error"]["message"], "externalId: already used for a different request", "{loser}");
        }
        let events = transfer_event::Entity::find()
            .filter(transfer_event::Column::ExternalId.like("contested-%"))
            .count(app.db())
            .await
            .expect("count");
        assert_eq!(events, 4, "each contested key applied once");
        assert_eq!(sequences(&app).await.len() as u64, transfer_event::Entity::find().count(app.db()).await.expect("count"));
        let all = sequences(&app).await;
        assert_eq!(all, (1..=all.len() as i64).collect::<Vec<_>>(), "no gap in the feed");
        assert_chain_intact(&app).await;
        app.tear_down().await;
    }
}

on_both_backends! {
    /// What a batch reads for all its items at once (holds, letters,
    /// destinations, the caller's scope) refuses an item exactly as a
    /// transfer alone is refused.
    async fn holds_letters_and_scope_refuse_an_item_as_they_refuse_a_transfer_alone(app: TestApp) {
        let seeded = crate::letters::two_districts(&app).await;
        let held = seeded.bl_member.clone();
        crate::holds::place_hold(&app, app.admin_token(), &held, "INSPECTION").await;
        let travelling = app.register_member("001080000501", "SL.BL.R1", None).await;
        let issued = app.graphql(crate::letters::ISSUE, crate::letters::letter_input("letter-1", &travelling, "07-GGT/DU")).await;
        assert!(issued.get("errors").is_none(), "{issued}");
        let free = app.register_member("001080000502", "SL.BL.R1", None).await;
        app.create_organization("SL.BL.OLD", "CELL", Some("RESIDENTIAL"), Some("SL.BL")).await;
        crate::organizations::dissolve_directly(&app, "SL.BL.OLD").await;
        let before = rows(&app).await;

        let by_national_id = json!({ "externalId": "h-4", "memberNationalId": "001080000001", "toOrganizationCode": "SL.BL.CQ", "reason": "RELOCATION" });
        let batch = vec![
            item("h-1", &held, "SL.BL.CQ"),
            item("h-2", &travelling, "SL.BL.CQ"),
            item("h-3", &free, "SL.BL.OLD"),
            by_national_id,
            item("h-5", &free, "SL.BL.CQ"),
        ];
        let results = post_batch(&app, app.admin_token(), &batch).await;
        let answers: Vec<(String, Value, Value)> = results
            .iter()
            .map(|r| (r["status"].as_str().unwrap_or("-").to_owned(), r["error"]["code"].clone(), r["error"]["field"].clone()))
            .collect();
        let refused = |field: Value| ("REJECTED".to_owned(), json!("CONFLICT"), field);
        assert_eq!(answers, [
            refused(json!("hold")),
            refused(json!("letter")),
            refused(Value::Null),
            refused(json!("hold")),
            ("APPLIED".to_owned(), Value::Null, Value::Null),
        ], "{results:?}");
        // The same transfers alone answer the same.
        for (index, input) in batch.iter().take(4).enumerate() {
            let mut alone = input.clone();
            alone["externalId"] = json!(format!("alone-{index}"));
            let answer = post_batch(&app, app.admin_token(), &[alone]).await;
            assert_eq!(answer[0]["error"], json!({ "code": results[index]["error"]["code"], "message": results[index]["error"]["message"],
                                                   "field": results[index]["error"]["field"], "index": 0 }), "{index}");
        }

        // A caller scoped to the commune: the other commune's member and cells look absent.
        let integrator = token_for(Role::Integrator, Some("SL.BL"));
        let scoped = post_batch(&app, &integrator, &[
            item("s-1", &seeded.yt_member, "SL.BL.CQ"),
            item("s-2", &free, "SL.YT.CQ"),
            item("s-3", &free, "SL.BL.R1"),
        ]).await;
        assert_eq!(statuses(&scoped), ["REJECTED", "REJECTED", "APPLIED"], "{scoped:?}");
        assert_eq!(scoped[0]["error"]["code"], "NOT_FOUND");
        assert_eq!(scoped[1]["error"]["code"], "NOT_FOUND");
        let after = rows(&app).await;
        assert_eq!((after.0, after.1), (before.0 + 2, before.1 + 2), "two transfers applied, nothing of the refused");
        assert_chain_intact(&app).await;
    }
}
