//! Transfers: the domain operation through GraphQL — every rejection rule
//! with nothing changed, temporary activity and return, idempotency under
//! retries and concurrent duplicates, batches, and the change feed's order
//! under concurrent writers.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use api::auth::Role;
use entity::{membership, transfer_event};
use sea_orm::{ConnectionTrait, EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

use crate::helpers::{Fixture, TestApp, TestDatabase, error_code, token_for};

const SUBMIT: &str = "mutation($input: TransferInput!) { submitTransfer(input: $input) {
    externalId status error { code message } event { id sequence from { code } to { code } reason kind effectiveAt } } }";

fn transfer(key: &str, member: &str, to: &str) -> Value {
    json!({ "externalId": key, "memberId": member, "toOrganizationCode": to, "reason": "RELOCATION" })
}

async fn submit_as(app: &TestApp, token: &str, input: Value) -> Value {
    let answer = app
        .graphql_as(token, SUBMIT, json!({ "input": input }))
        .await;
    assert!(answer.get("errors").is_none(), "{answer}");
    answer["data"]["submitTransfer"].clone()
}

async fn submit(app: &TestApp, input: Value) -> Value {
    let token = app.admin_token().to_owned();
    submit_as(app, &token, input).await
}

async fn counts(app: &TestApp) -> (u64, u64) {
    (
        transfer_event::Entity::find()
            .count(app.db())
            .await
            .expect("count"),
        membership::Entity::find()
            .count(app.db())
            .await
            .expect("count"),
    )
}

on_both_backends! {
    async fn a_transfer_moves_the_member_and_is_in_the_feed(app: TestApp) {
        let seeded = app.seed_district().await;
        let result = submit(&app, json!({ "externalId": "bl-2026-001", "memberId": seeded.bl_member, "fromOrganizationCode": "SL.BL.R1",
                                          "toOrganizationCode": "SL.BL.CQ", "reason": "REASSIGNMENT", "decisionRef": "QĐ 12/2026",
                                          "effectiveAt": "2026-01-01T00:00:00Z" })).await;
        assert_eq!(result["status"], "APPLIED", "{result}");
        assert_eq!(result["event"]["from"]["code"], "SL.BL.R1");
        assert_eq!(result["event"]["to"]["code"], "SL.BL.CQ");
        assert_eq!(result["event"]["sequence"], 3, "after the two admissions");
        let member = app
            .graphql("query($id: ID!) { member(id: $id) { before: membership(asOf: \"2025-12-31T23:59:59Z\") { organization { code } endedAt }
                        now: membership { organization { code } startedAt } history { organization { code } endedAt } } }",
                     json!({ "id": seeded.bl_member }))
            .await;
        assert_eq!(member["data"]["member"]["before"]["organization"]["code"], "SL.BL.R1", "{member}");
        assert_eq!(member["data"]["member"]["before"]["endedAt"], "2026-01-01T00:00:00Z");
        assert_eq!(member["data"]["member"]["now"]["organization"]["code"], "SL.BL.CQ");
        assert_eq!(member["data"]["member"]["history"].as_array().expect("history").len(), 2);
        let feed = app.graphql("{ transferEvents { edges { node { sequence externalId decisionRef } } } }", json!({})).await;
        assert_eq!(feed["data"]["transferEvents"]["edges"][2]["node"], json!({ "sequence": 3, "externalId": "bl-2026-001", "decisionRef": "QĐ 12/2026" }));
    }
}

on_both_backends! {
    async fn every_rejection_rule_answers_its_code_and_changes_nothing(app: TestApp) {
        let seeded = app.seed_district().await;
        app.create_organization("SL.BL.OLD", "CELL", Some("RESIDENTIAL"), Some("SL.BL")).await;
        crate::organizations::dissolve_directly(&app, "SL.BL.OLD").await;
        let removed = app.register_member("001080000099", "SL.BL.R1", None).await;
        app.db().execute_unprepared(&format!("UPDATE member SET status = 'REMOVED' WHERE id = {removed}")).await.expect("remove");
        let before = counts(&app).await;
        let m = seeded.bl_member.as_str();
        let soon = (chrono::Utc::now() + chrono::Duration::minutes(6)).to_rfc3339();
        let cases: Vec<(&str, Value, &str)> = vec![
            ("unknown member", transfer("k1", "999999", "SL.BL.CQ"), "NOT_FOUND"),
            ("unknown member by national ID", json!({ "externalId": "k2", "memberNationalId": "009999999999", "toOrganizationCode": "SL.BL.CQ", "reason": "RELOCATION" }), "NOT_FOUND"),
            ("unknown destination", transfer("k3", m, "SL.NONE"), "NOT_FOUND"),
            ("destination not a cell", transfer("k4", m, "SL.BL"), "CONFLICT"),
            ("destination dissolved", transfer("k5", m, "SL.BL.OLD"), "CONFLICT"),
            ("destination is the current cell", transfer("k6", m, "SL.BL.R1"), "CONFLICT"),
            ("stale fromOrganizationCode", json!({ "externalId": "k7", "memberId": m, "fromOrganizationCode": "SL.YT.R1", "toOrganizationCode": "SL.BL.CQ", "reason": "RELOCATION" }), "CONFLICT"),
            ("member removed", transfer("k8", &removed, "SL.BL.CQ"), "CONFLICT"),
            ("effectiveAt before the current membership", json!({ "externalId": "k9", "memberId": m, "toOrganizationCode": "SL.BL.CQ", "reason": "RELOCATION", "effectiveAt": "2009-01-01T00:00:00Z" }), "BAD_USER_INPUT"),
            ("effectiveAt 6 minutes ahead", json!({ "externalId": "k10", "memberId": m, "toOrganizationCode": "SL.BL.CQ", "reason": "RELOCATION", "effectiveAt": soon }), "BAD_USER_INPUT"),
            ("malformed externalId", transfer("has space", m, "SL.BL.CQ"), "BAD_USER_INPUT"),
            ("externalId too long", transfer(&"k".repeat(129), m, "SL.BL.CQ"), "BAD_USER_INPUT"),
            ("member named twice", json!({ "externalId": "k11", "memberId": m, "memberNationalId": "001080000001", "toOrganizationCode": "SL.BL.CQ", "reason": "RELOCATION" }), "BAD_USER_INPUT"),
            ("member not named", json!({ "externalId": "k12", "toOrganizationCode": "SL.BL.CQ", "reason": "RELOCATION" }), "BAD_USER_INPUT"),
            ("admission is not a transfer", json!({ "externalId": "k13", "memberId": m, "toOrganizationCode": "SL.BL.CQ", "reason": "ADMISSION" }), "BAD_USER_INPUT"),
            ("official return", json!({ "externalId": "k14", "memberId": m, "toOrganizationCode": "SL.BL.CQ", "reason": "RETURN" }), "BAD_USER_INPUT"),
        ];
        for (name, input, code) in cases {
            let result = submit(&app, input).await;
            assert_eq!(result["status"], "REJECTED", "{name}: {result}");
            assert_eq!(result["error"]["code"], code, "{name}: {result}");
            assert_eq!(result["event"], Value::Null);
        }
        // Roles and scopes.
        let reader = token_for(Role::Reader, Some("SL"));
        let result = submit_as(&app, &reader, transfer("r1", m, "SL.BL.CQ")).await;
        assert_eq!(result["error"]["code"], "FORBIDDEN", "{result}");
        let integrator = token_for(Role::Integrator, Some("SL.BL"));
        let result = submit_as(&app, &integrator, transfer("i1", &seeded.yt_member, "SL.BL.CQ")).await;
        assert_eq!(result["error"]["code"], "NOT_FOUND", "a member outside the scope looks absent: {result}");
        let result = submit_as(&app, &integrator, transfer("i2", m, "SL.YT.CQ")).await;
        assert_eq!(result["error"]["code"], "NOT_FOUND", "a destination outside the scope looks absent: {result}");

        assert_eq!(counts(&app).await, before, "nothing changed");
        let member = app.graphql("query($id: ID!) { member(id: $id) { membership { organization { code } } } }", json!({ "id": m })).await;
        assert_eq!(member["data"]["member"]["membership"]["organization"]["code"], "SL.BL.R1");
        // Refusals are audited.
        let audit = app.graphql("{ auditLog(first: 100, action: \"submitTransfer\") { edges { node { outcome } } } }", json!({})).await;
        assert_eq!(audit["data"]["auditLog"]["edges"].as_array().expect("rows").len(), 19, "{audit}");
    }
}

on_both_backends! {
    async fn temporary_activity_opens_beside_the_official_membership_and_a_return_closes_it(app: TestApp) {
        let seeded = app.seed_district().await;
        let m = seeded.bl_member.as_str();
        let result = submit(&app, json!({ "externalId": "t1", "memberId": m, "toOrganizationCode": "SL.YT.R1", "kind": "TEMPORARY", "reason": "OTHER" })).await;
        assert_eq!(result["status"], "APPLIED", "{result}");
        assert_eq!(result["event"]["kind"], "TEMPORARY");
        let state = "query($id: ID!) { member(id: $id) { membership { organization { code } } temporaryMemberships { organization { code } } } }";
        let during = app.graphql(state, json!({ "id": m })).await;
        assert_eq!(during["data"]["member"]["membership"]["organization"]["code"], "SL.BL.R1", "{during}");
        assert_eq!(during["data"]["member"]["temporaryMemberships"], json!([{ "organization": { "code": "SL.YT.R1" } }]));

        let again = submit(&app, json!({ "externalId": "t2", "memberId": m, "toOrganizationCode": "SL.YT.R1", "kind": "TEMPORARY", "reason": "OTHER" })).await;
        assert_eq!(again["error"]["code"], "CONFLICT", "already there temporarily: {again}");

        let back = submit(&app, json!({ "externalId": "t3", "memberId": m, "toOrganizationCode": "SL.BL.R1", "kind": "TEMPORARY", "reason": "RETURN" })).await;
        assert_eq!(back["status"], "APPLIED", "{back}");
        assert_eq!(back["event"]["from"]["code"], "SL.YT.R1");
        let after = app.graphql(state, json!({ "id": m })).await;
        assert_eq!(after["data"]["member"]["temporaryMemberships"], json!([]), "{after}");
        assert_eq!(after["data"]["member"]["membership"]["organization"]["code"], "SL.BL.R1");
    }
}

on_both_backends! {
    async fn a_retry_is_a_duplicate_and_a_reused_key_a_conflict(app: TestApp) {
        let seeded = app.seed_district().await;
        let input = transfer("retry-1", &seeded.bl_member, "SL.BL.CQ");
        let first = submit(&app, input.clone()).await;
        let second = submit(&app, input).await;
        assert_eq!(first["status"], "APPLIED");
        assert_eq!(second["status"], "DUPLICATE", "{second}");
        assert_eq!(second["event"]["id"], first["event"]["id"]);
        let before = counts(&app).await;
        let reused = submit(&app, transfer("retry-1", &seeded.bl_member, "SL.BL.R1")).await;
        assert_eq!(reused["status"], "REJECTED");
        assert_eq!(reused["error"]["code"], "CONFLICT", "{reused}");
        assert_eq!(counts(&app).await, before);
        // Another submitter's key space is its own.
        let other = submit_as(&app, &token_for(Role::Integrator, Some("SL")), transfer("retry-1", &seeded.bl_member, "SL.BL.R1")).await;
        assert_eq!(other["status"], "APPLIED", "{other}");
    }
}

on_both_backends! {
    async fn twenty_concurrent_identical_submissions_apply_once(app: TestApp) {
        let seeded = app.seed_district().await;
        let input = transfer("race-1", &seeded.bl_member, "SL.BL.CQ");
        let barrier = Arc::new(tokio::sync::Barrier::new(20));
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let (app, input, barrier) = (app.clone(), input.clone(), barrier.clone());
            tasks.push(tokio::spawn(async move {
                // Each on its own connection.
                let client = reqwest::Client::builder().pool_max_idle_per_host(0).build().expect("client");
                barrier.wait().await;
                let response = client
                    .post(app.url("/graphql"))
                    .bearer_auth(app.admin_token())
                    .json(&json!({ "query": SUBMIT, "variables": { "input": input } }))
                    .send()
                    .await
                    .expect("POST");
                assert_eq!(response.status(), 200);
                let answer: Value = response.json().await.expect("JSON");
                answer["data"]["submitTransfer"].clone()
            }));
        }
        let mut statuses: HashMap<String, usize> = HashMap::new();
        let mut event_ids = BTreeSet::new();
        for task in tasks {
            let result = task.await.expect("task");
            *statuses.entry(result["status"].as_str().unwrap_or("ERROR").to_owned()).or_default() += 1;
            event_ids.insert(result["event"]["id"].to_string());
        }
        assert_eq!(statuses.get("APPLIED"), Some(&1), "{statuses:?}");
        assert_eq!(statuses.get("DUPLICATE"), Some(&19), "{statuses:?}");
        assert_eq!(event_ids.len(), 1, "every answer names the same event");
        let events = transfer_event::Entity::find().all(app.db()).await.expect("events");
        assert_eq!(events.iter().filter(|e| e.external_id == "race-1").count(), 1);
    }
}

const BATCH: &str = "mutation($inputs: [TransferInput!]!) { submitTransfers(inputs: $inputs) { externalId status error { code } event { sequence } } }";

on_both_backends! {
    async fn a_batch_answers_each_item_in_order_and_501_items_apply_nothing(app: TestApp) {
        let seeded = app.seed_district().await;
        app.create_organization("SL.BL.R2", "CELL", Some("RESIDENTIAL"), Some("SL.BL")).await;
        let cycle = ["SL.BL.CQ", "SL.BL.R2", "SL.BL.R1"];
        let inputs: Vec<Value> = (0..500)
            .map(|i| {
                let to = if i % 50 == 49 { "SL.NOWHERE" } else { cycle[i % 3] };
                transfer(&format!("batch-{i:03}"), &seeded.bl_member, to)
            })
            .collect();
        let before = counts(&app).await;
        let too_many: Vec<Value> = (0..501).map(|i| transfer(&format!("big-{i}"), &seeded.bl_member, cycle[i % 3])).collect();
        let answer = app.graphql(BATCH, json!({ "inputs": too_many })).await;
        assert_eq!(error_code(&answer), Some("LIMIT_EXCEEDED"), "{}", answer["errors"]);
        assert_eq!(counts(&app).await, before, "nothing applied");

        let answer = app.graphql(BATCH, json!({ "inputs": inputs })).await;
        let results = answer["data"]["submitTransfers"].as_array().expect("results").clone();
        assert_eq!(results.len(), 500);
        for (i, result) in results.iter().enumerate() {
            assert_eq!(result["externalId"], format!("batch-{i:03}"), "order kept");
            if i % 50 == 49 {
                assert_eq!(result["status"], "REJECTED", "{i}: {result}");
                assert_eq!(result["error"]["code"], "NOT_FOUND");
            } else {
                assert_eq!(result["status"], "APPLIED", "{i}: {result}");
            }
        }
        // The same batch again: every applied item is a duplicate, every rejection the same.
        let again = app.graphql(BATCH, json!({ "inputs": (0..500).map(|i| {
            let to = if i % 50 == 49 { "SL.NOWHERE" } else { cycle[i % 3] };
            transfer(&format!("batch-{i:03}"), &seeded.bl_member, to)
        }).collect::<Vec<_>>() })).await;
        let statuses: Vec<&str> = again["data"]["submitTransfers"].as_array().expect("results").iter().map(|r| r["status"].as_str().unwrap_or("")).collect();
        assert_eq!(statuses.iter().filter(|s| **s == "DUPLICATE").count(), 490);
        assert_eq!(statuses.iter().filter(|s| **s == "REJECTED").count(), 10);
    }
}

/// Reads the whole feed as an admin, following cursors.
async fn read_feed(app: &TestApp, after: Option<String>) -> (Vec<i64>, Option<String>) {
    let mut sequences = Vec::new();
    let mut cursor = after;
    loop {
        let page = app
            .graphql("query($after: String) { transferEvents(first: 500, after: $after) { edges { cursor node { sequence } } pageInfo { hasNextPage } } }", json!({ "after": cursor }))
            .await;
        let edges = page["data"]["transferEvents"]["edges"]
            .as_array()
            .expect("edges")
            .clone();
        for edge in &edges {
            sequences.push(edge["node"]["sequence"].as_i64().expect("sequence"));
            cursor = edge["cursor"].as_str().map(str::to_owned);
        }
        if page["data"]["transferEvents"]["pageInfo"]["hasNextPage"] != true {
            return (sequences, cursor);
        }
    }
}

on_both_backends! {
    async fn concurrent_writers_keep_every_invariant_and_the_feed_never_skips(database: TestDatabase) {
        // A 200-member district; 16 clients transfer random members among its
        // cells for 20 s, some requests deliberately stale, some repeated,
        // while a reader follows the feed. As fast as they can: no rate limit.
        let mut config = database.config();
        config.mutations_per_minute = 0;
        let app = TestApp::spawn(config).await;
        app.seed_district().await;
        let cells = ["SL.BL.R1", "SL.BL.CQ", "SL.YT.R1", "SL.YT.CQ"];
        let mut members = Vec::new();
        for i in 0..198 {
            members.push(app.register_member(&format!("0070000{i:05}"), cells[i % 4], None).await);
        }
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let reader = {
            let (app, stop) = (app.clone(), stop.clone());
            tokio::spawn(async move {
                let mut seen = Vec::new();
                let mut cursor = None;
                loop {
                    let done = stop.load(std::sync::atomic::Ordering::SeqCst);
                    let (batch, next) = read_feed(&app, cursor.clone()).await;
                    seen.extend(batch);
                    cursor = next.or(cursor);
                    if done {
                        return seen;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
            })
        };
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
        let mut writers = Vec::new();
        for w in 0..16usize {
            let (app, members) = (app.clone(), members.clone());
            writers.push(tokio::spawn(async move {
                let mut applied = Vec::new();
                let mut n = 0usize;
                // A small deterministic generator: no shared RNG state between writers.
                let mut state = (w as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                let mut next = move || {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state as usize
                };
                while tokio::time::Instant::now() < deadline {
                    let member = &members[next() % members.len()];
                    let to = cells[next() % cells.len()];
                    let mut input = transfer(&format!("w{w}-{n}"), member, to);
                    if n % 5 == 0 {
                        // Deliberately stale: names a cell the member is probably not in.
                        input["fromOrganizationCode"] = json!(cells[next() % cells.len()]);
                    }
                    let result = submit(&app, input.clone()).await;
                    if result["status"] == "APPLIED" {
                        applied.push(result["event"]["sequence"].as_i64().expect("sequence"));
                        if n % 7 == 0 {
                            // A retry of an applied request is a duplicate of the same event.
                            let again = submit(&app, input).await;
                            assert_eq!(again["status"], "DUPLICATE", "{again}");
                            assert_eq!(again["event"]["id"], result["event"]["id"]);
                        }
                    } else {
                        assert_eq!(result["status"], "REJECTED", "{result}");
                        assert_eq!(result["error"]["code"], "CONFLICT", "{result}");
                    }
                    n += 1;
                }
                applied
            }));
        }
        let mut applied = BTreeSet::new();
        for writer in writers {
            applied.extend(writer.await.expect("writer"));
        }
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let seen = reader.await.expect("reader");

        let (feed, _) = read_feed(&app, None).await;
        assert!(feed.windows(2).all(|w| w[0] < w[1]), "strictly increasing");
        assert_eq!(feed, (1..=feed.len() as i64).collect::<Vec<_>>(), "no sequence missing");
        assert_eq!(seen, feed, "the live reader saw every event, in order, none skipped");
        let feed_set: BTreeSet<i64> = feed.iter().copied().collect();
        assert!(applied.is_subset(&feed_set), "every APPLIED answer is in the feed");
        let events = transfer_event::Entity::find().count(app.db()).await.expect("count");
        assert_eq!(events, feed.len() as u64, "nothing in the table the feed does not show");
        assert!(applied.len() > 100, "the writers got work done: {}", applied.len());

        // Every member has exactly one open OFFICIAL membership, and no gap or overlap in history.
        for member in &members {
            let answer = app.graphql("query($id: ID!) { member(id: $id) { history { kind startedAt endedAt } } }", json!({ "id": member })).await;
            let history: Vec<Value> = answer["data"]["member"]["history"].as_array().expect("history").iter().filter(|m| m["kind"] == "OFFICIAL").cloned().collect();
            assert_eq!(history.iter().filter(|m| m["endedAt"].is_null()).count(), 1, "{answer}");
            for pair in history.windows(2) {
                assert_eq!(pair[0]["endedAt"], pair[1]["startedAt"], "no gap or overlap: {answer}");
            }
        }
        app.tear_down().await;
    }
}

/// How the database is made to break off every attempt at a transfer.
enum Contention {
    /// SQLite: another connection holds the write lock, so each attempt
    /// stays busy past the 5 s timeout.
    WriteLock(sea_orm::DatabaseTransaction),
    /// PostgreSQL: each insert of an event whose key starts with
    /// `contended` fails with a serialization failure (SQLSTATE 40001), as
    /// under a conflicting serializable writer.
    SerializationFailures,
}

impl Contention {
    async fn start(app: &TestApp) -> Self {
        match app.db().get_database_backend() {
            sea_orm::DbBackend::Sqlite => Self::WriteLock(
                api::database::begin_write(app.db())
                    .await
                    .expect("write lock"),
            ),
            _ => {
                app.db()
                    .execute_unprepared(
                        "CREATE FUNCTION contend() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
                           RAISE EXCEPTION 'could not serialize access' USING ERRCODE = 'serialization_failure'; END $$; \
                         CREATE TRIGGER contended BEFORE INSERT ON transfer_event FOR EACH ROW \
                           WHEN (NEW.external_id LIKE 'contended%') EXECUTE FUNCTION contend();",
                    )
                    .await
                    .expect("trigger");
                Self::SerializationFailures
            }
        }
    }

    async fn end(self, app: &TestApp) {
        match self {
            Self::WriteLock(lock) => lock.rollback().await.expect("unlock"),
            Self::SerializationFailures => {
                app.db()
                    .execute_unprepared("DROP TRIGGER contended ON transfer_event")
                    .await
                    .expect("drop trigger");
            }
        }
    }
}

on_both_backends! {
    /// Contention past the retries is the service's error, not an item's:
    /// GraphQL answers UNAVAILABLE as an error with 503, REST a 503 problem;
    /// a batch is one transaction, so nothing of it is applied, and a retry
    /// applies every item.
    async fn a_transfer_contended_past_its_retries_fails_the_request_whole(app: TestApp) {
        app.seed_district().await;
        let mut members = Vec::new();
        for i in 0..7 {
            members.push(app.register_member(&format!("00108000010{i}"), "SL.BL.R1", None).await);
        }
        let item = |key: &str, member: usize| transfer(key, &members[member], "SL.BL.CQ");
        let graphql_batch = json!({ "inputs": [item("g-1", 0), item("contended-g", 1), item("g-3", 2)] });
        let events: Vec<Value> = ["r-1", "contended-r", "r-3"].iter().zip(&members[3..6])
            .map(|(key, member)| json!({ "externalId": key, "memberId": member.parse::<i64>().expect("id"),
                                         "toOrganizationCode": "SL.BL.CQ", "reason": "RELOCATION" }))
            .collect();
        let rest_batch = json!({ "events": events });
        let single = json!({ "input": item("contended-s", 6) });
        let post_rest = || app.client().post(app.url("/api/v1/transfer-events")).bearer_auth(app.admin_token()).json(&rest_batch).send();
        let batch_body = json!({ "query": BATCH, "variables": graphql_batch });
        let single_body = json!({ "query": SUBMIT, "variables": single });

        let before = counts(&app).await;
        let contention = Contention::start(&app).await;
        let (batch, one, rest) = tokio::join!(
            app.post_graphql(app.admin_token(), &batch_body),
            app.post_graphql(app.admin_token(), &single_body),
            post_rest()
        );
        let rest = rest.expect("POST");
        let mut answers = Vec::new();
        for response in [batch, one, rest] {
            assert_eq!(response.status(), 503);
            assert_eq!(response.headers().get("retry-after").map(|v| v.to_str().expect("text").to_owned()), Some("1".to_owned()));
            answers.push(response.json::<Value>().await.expect("JSON"));
        }
        contention.end(&app).await;
        for answer in &answers[..2] {
            assert!(answer["data"].is_null(), "no item answered: {answer}");
            assert_eq!(error_code(answer), Some("UNAVAILABLE"), "{answer}");
        }
        assert_eq!(answers[2]["code"], "UNAVAILABLE", "{}", answers[2]);
        assert!(answers[2].get("results").is_none(), "a problem, not items: {}", answers[2]);
        // On PostgreSQL only the second item of each batch contended, yet
        // the first was not kept either: nothing of a failed batch is.
        assert_eq!(counts(&app).await, before, "nothing applied");

        let again = app.graphql(BATCH, graphql_batch.clone()).await;
        let statuses: Vec<&str> = again["data"]["submitTransfers"].as_array().expect("results").iter().map(|r| r["status"].as_str().unwrap_or("")).collect();
        assert_eq!(statuses, ["APPLIED", "APPLIED", "APPLIED"], "{again}");
        let again: Value = post_rest().await.expect("POST").json().await.expect("JSON");
        let statuses: Vec<&str> = again["results"].as_array().expect("results").iter().map(|r| r["status"].as_str().unwrap_or("")).collect();
        assert_eq!(statuses, ["APPLIED", "APPLIED", "APPLIED"], "{again}");
        let again = app.graphql(SUBMIT, single).await;
        assert_eq!(again["data"]["submitTransfer"]["status"], "APPLIED", "{again}");
    }
}

on_both_backends! {
    async fn a_batch_over_the_limit_is_refused_413_on_both_transports(app: TestApp) {
        let seeded = app.seed_district().await;
        let member: i64 = seeded.bl_member.parse().expect("id");
        let before = counts(&app).await;
        let too_many: Vec<Value> = (0..501).map(|i| transfer(&format!("big-{i}"), &seeded.bl_member, "SL.BL.CQ")).collect();
        let response = app.post_graphql(app.admin_token(), &json!({ "query": BATCH, "variables": { "inputs": too_many } })).await;
        assert_eq!(response.status(), 413, "GraphQL");
        let answer: Value = response.json().await.expect("JSON");
        assert_eq!(error_code(&answer), Some("LIMIT_EXCEEDED"), "{answer}");
        assert_eq!(answer["data"], Value::Null, "{answer}");

        let events: Vec<Value> = (0..501).map(|i| json!({ "externalId": format!("big-{i}"), "memberId": member, "toOrganizationCode": "SL.BL.CQ", "reason": "RELOCATION" })).collect();
        let response = app.client().post(app.url("/api/v1/transfer-events")).bearer_auth(app.admin_token())
            .json(&json!({ "events": events })).send().await.expect("POST");
        assert_eq!(response.status(), 413, "REST");
        let problem: Value = response.json().await.expect("problem");
        assert_eq!(problem["code"], "LIMIT_EXCEEDED");
        assert_eq!(problem["detail"], answer["errors"][0]["message"], "the same refusal");
        assert_eq!(counts(&app).await, before, "nothing applied");

        // The document's own limits answer the same status.
        let within: String = (0..30).map(|i| format!("v{i}: version ")).collect();
        let within = app.post_graphql(app.admin_token(), &json!({ "query": format!("{{ {within} }}") })).await;
        assert_eq!(within.status(), 200, "30 aliases are within the limit");
        let aliases: String = (0..31).map(|i| format!("v{i}: version ")).collect();
        let wide = app.post_graphql(app.admin_token(), &json!({ "query": format!("{{ {aliases} }}") })).await;
        assert_eq!(wide.status(), 413, "31 aliases");
        let answer: Value = wide.json().await.expect("JSON");
        assert_eq!(error_code(&answer), Some("LIMIT_EXCEEDED"), "{answer}");
    }
}

on_both_backends! {
    async fn the_feed_query_resumes_after_a_sequence(app: TestApp) {
        let seeded = app.seed_district().await;
        for (n, to) in ["SL.BL.CQ", "SL.BL.R1", "SL.BL.CQ"].into_iter().enumerate() {
            let applied = submit(&app, transfer(&format!("resume-{n}"), &seeded.bl_member, to)).await;
            assert_eq!(applied["status"], "APPLIED", "{applied}");
        }
        let feed = "query($after: String, $seq: Int, $first: Int) { transferEvents(after: $after, afterSequence: $seq, first: $first) {
            edges { cursor node { sequence externalId } } pageInfo { hasNextPage } } }";
        let all = app.graphql(feed, json!({ "first": 500 })).await;
        let edges = all["data"]["transferEvents"]["edges"].as_array().expect("edges").clone();
        let sequences: Vec<i64> = edges.iter().map(|e| e["node"]["sequence"].as_i64().expect("sequence")).collect();
        assert_eq!(sequences.len(), 5, "two admissions and three transfers: {all}");

        let third = sequences[2];
        let by_sequence = app.graphql(feed, json!({ "seq": third, "first": 1 })).await;
        let by_cursor = app.graphql(feed, json!({ "after": edges[2]["cursor"], "first": 1 })).await;
        assert_eq!(by_sequence, by_cursor, "afterSequence is the cursor of that event");
        assert_eq!(by_sequence["data"]["transferEvents"]["edges"][0]["node"]["sequence"], sequences[3]);
        assert_eq!(by_sequence["data"]["transferEvents"]["pageInfo"]["hasNextPage"], true);
        let rest = app.graphql(feed, json!({ "seq": third })).await;
        let resumed: Vec<i64> = rest["data"]["transferEvents"]["edges"].as_array().expect("edges").iter()
            .map(|e| e["node"]["sequence"].as_i64().expect("sequence")).collect();
        assert_eq!(resumed, &sequences[3..], "everything after it, in order, nothing skipped");
        let head = app.graphql(feed, json!({ "seq": sequences[4] })).await;
        assert_eq!(head["data"]["transferEvents"]["edges"], json!([]), "nothing after the head");

        for (variables, what) in [(json!({ "seq": -1 }), "negative"), (json!({ "seq": third, "after": edges[0]["cursor"] }), "both")] {
            let refused = app.graphql(feed, variables).await;
            assert_eq!(error_code(&refused), Some("BAD_USER_INPUT"), "{what}: {refused}");
            assert_eq!(refused["errors"][0]["extensions"]["field"], "afterSequence", "{what}: {refused}");
        }
    }
}
