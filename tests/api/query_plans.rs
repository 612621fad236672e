//! PostgreSQL's plans for the hot reads on a national-shaped registry of
//! 100,000 members (5,000 cells of 20): the statements the server sends for
//! each read are recorded and EXPLAINed with their values. None reads the
//! members, memberships or events in full, and the member counts come from
//! an index alone.

use std::collections::HashSet;

use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestDatabase};

/// 1 province, 10 districts, 250 communes, 5,000 cells (20 a commune),
/// 100,000 members (20 a cell), each with an admission event and an open
/// OFFICIAL membership; then VACUUM ANALYZE, as autovacuum would leave it.
const NATIONAL_SHAPE: &str = r#"
INSERT INTO organization (code, name, kind, cell_type, status, parent_id, path, depth, created_at, updated_at)
VALUES ('P', 'Province', 'PROVINCIAL_COMMITTEE', NULL, 'ACTIVE', NULL, 'pending:P', 0, now(), now());
UPDATE organization SET path = '/' || id || '/' WHERE code = 'P';
INSERT INTO organization (code, name, kind, cell_type, status, parent_id, path, depth, created_at, updated_at)
SELECT 'D' || d, 'District ' || d, 'DISTRICT_COMMITTEE', NULL, 'ACTIVE', p.id, 'pending:D' || d, 1, now(), now()
FROM generate_series(1, 10) d, organization p WHERE p.code = 'P' ORDER BY d;
UPDATE organization o SET path = p.path || o.id || '/' FROM organization p WHERE o.parent_id = p.id AND o.depth = 1;
INSERT INTO organization (code, name, kind, cell_type, status, parent_id, path, depth, created_at, updated_at)
SELECT 'C' || c, 'Commune ' || c, 'GRASSROOTS_COMMITTEE', NULL, 'ACTIVE', d.id, 'pending:C' || c, 2, now(), now()
FROM generate_series(1, 250) c JOIN organization d ON d.code = 'D' || (1 + (c - 1) % 10) ORDER BY c;
UPDATE organization o SET path = p.path || o.id || '/' FROM organization p WHERE o.parent_id = p.id AND o.depth = 2;
INSERT INTO organization (code, name, kind, cell_type, status, parent_id, path, depth, created_at, updated_at)
SELECT 'S' || x, 'Cell ' || x, 'CELL', 'RESIDENTIAL', 'ACTIVE', c.id, 'pending:S' || x, 3, now(), now()
FROM generate_series(1, 5000) x JOIN organization c ON c.code = 'C' || (1 + (x - 1) / 20) ORDER BY x;
UPDATE organization o SET path = p.path || o.id || '/' FROM organization p WHERE o.parent_id = p.id AND o.depth = 3;
INSERT INTO organization_version (organization_id, valid_from, valid_to, parent_id, path, depth, name, status)
SELECT id, created_at, NULL, parent_id, path, depth, name, 'ACTIVE' FROM organization ORDER BY id;
INSERT INTO member (national_id, party_card_number, full_name, birth_date, admitted_on, official_on, status,
                    residence_cell_id, created_at, updated_at)
SELECT lpad(i::text, 12, '0'), 'PC' || lpad(i::text, 9, '0'), 'Member ' || i, date '1970-01-01' + (i % 9000)::int,
       date '1995-01-01' + (i % 9000)::int, date '1996-01-01' + (i % 9000)::int, 'OFFICIAL', c.id, now(), now()
FROM generate_series(1, 100000) i JOIN organization c ON c.code = 'S' || (1 + (i - 1) % 5000) ORDER BY i;
INSERT INTO transfer_event (sequence, submitter, external_id, request_hash, member_id, from_organization_id,
                            to_organization_id, kind, reason, decision_ref, effective_at, recorded_at)
SELECT m.id, 'loader', 'admission-' || m.id, repeat('0', 64), m.id, NULL, m.residence_cell_id, 'OFFICIAL',
       'ADMISSION', NULL, m.admitted_on::timestamptz, now()
FROM member m ORDER BY m.id;
UPDATE counter SET last_value = (SELECT max(sequence) FROM transfer_event) WHERE name = 'transfer_event';
INSERT INTO membership (member_id, organization_id, kind, started_at, ended_at, opened_by_event_id, closed_by_event_id)
SELECT e.member_id, e.to_organization_id, 'OFFICIAL', e.effective_at, NULL, e.id, NULL
FROM transfer_event e ORDER BY e.id;
"#;

/// Every plan node of an EXPLAIN (FORMAT JSON) answer: (node type, relation, index).
fn plan_nodes(plan: &Value, into: &mut Vec<(String, String, String)>) {
    let text = |key: &str| plan[key].as_str().unwrap_or_default().to_owned();
    if plan.get("Node Type").is_some() {
        into.push((text("Node Type"), text("Relation Name"), text("Index Name")));
    }
    for child in plan["Plans"].as_array().into_iter().flatten() {
        plan_nodes(child, into);
    }
    // Subqueries in the select list appear as init or sub plans among "Plans".
    if let Some(inner) = plan.get("Plan") {
        plan_nodes(inner, into);
    }
}

/// Whether some plan node reads an index of `table` (named `table_…`,
/// `ix_table_…` or `ux_table_…`, as the migrations name them).
fn reads_an_index_of(nodes: &[(String, String, String)], table: &str) -> bool {
    nodes.iter().any(|(_, _, index)| {
        [
            format!("{table}_"),
            format!("ix_{table}_"),
            format!("ux_{table}_"),
        ]
        .iter()
        .any(|prefix| index.starts_with(prefix.as_str()))
    })
}

/// The plan nodes of every statement `read` makes the server send.
async fn plans_of(
    app: &TestApp,
    name: &str,
    read: impl std::future::Future<Output = Value>,
) -> Vec<(String, String, String)> {
    let (answer, statements) = app.statements_of(read).await;
    assert!(answer.get("errors").is_none(), "{name}: {answer}");
    assert!(!statements.is_empty(), "{name}: no statement recorded");
    let mut nodes = Vec::new();
    for statement in statements {
        if !statement
            .sql
            .trim_start()
            .to_uppercase()
            .starts_with("SELECT")
        {
            continue;
        }
        let explain = Statement {
            sql: format!("EXPLAIN (FORMAT JSON) {}", statement.sql),
            values: statement.values.clone(),
            db_backend: DatabaseBackend::Postgres,
        };
        let row = app
            .db()
            .query_one_raw(explain)
            .await
            .expect("EXPLAIN")
            .expect("a plan");
        let plan: Value = row.try_get_by_index::<Value>(0).expect("JSON plan");
        let mut found = Vec::new();
        plan_nodes(&plan[0], &mut found);
        for (node, relation, _) in &found {
            assert!(
                !(node == "Seq Scan"
                    && ["member", "membership", "transfer_event"].contains(&relation.as_str())),
                "{name}: a sequential scan of {relation} in\n{}\n{plan:#}",
                statement.sql
            );
        }
        nodes.extend(found);
    }
    nodes
}

on_postgres! {
    async fn the_hot_reads_use_their_indexes_on_a_national_shaped_registry(database: TestDatabase) {
        let app = TestApp::spawn(database.config()).await;
        // Loaded outside the server's pool, whose statements have a time limit.
        let loader = database.connect().await;
        for sql in NATIONAL_SHAPE.split(';').map(str::trim).filter(|s| !s.is_empty()) {
            loader.execute_unprepared(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
        loader.execute_unprepared("VACUUM ANALYZE").await.expect("vacuum");

        let member = "query($v: String) { member(nationalId: $v) { id fullName membership { organization { code parent { code } } } } }";
        let nodes = plans_of(&app, "member lookup", app.graphql(member, json!({ "v": "000000054321" }))).await;
        assert!(reads_an_index_of(&nodes, "member"), "{nodes:?}");

        let cell = "query($v: String) { organization(code: $v) { members(first: 50) { edges { node { member { id nationalId fullName } } } } } }";
        let answer = app.graphql(cell, json!({ "v": "S4321" })).await;
        assert_eq!(answer["data"]["organization"]["members"]["edges"].as_array().map(Vec::len), Some(20), "{answer}");
        let nodes = plans_of(&app, "a cell's members", app.graphql(cell, json!({ "v": "S4321" }))).await;
        assert!(reads_an_index_of(&nodes, "membership"), "{nodes:?}");

        let commune = "query($v: String) { organization(code: $v) { children(first: 50) { edges { node { code memberCount } } } } }";
        let answer = app.graphql(commune, json!({ "v": "C123" })).await;
        let counts: HashSet<i64> = answer["data"]["organization"]["children"]["edges"]
            .as_array()
            .expect("children")
            .iter()
            .map(|edge| edge["node"]["memberCount"].as_i64().expect("a count"))
            .collect();
        assert_eq!(counts, HashSet::from([20]), "{answer}");
        let nodes = plans_of(&app, "a commune's cells with counts", app.graphql(commune, json!({ "v": "C123" }))).await;
        assert!(
            nodes.iter().any(|(n, _, i)| n == "Index Only Scan" && i == "ix_membership_official_by_organization"),
            "the counts read the index alone: {nodes:?}"
        );

        let feed = "query($s: Int) { transferEvents(afterSequence: $s, first: 500) { edges { node { sequence member { id } from { id } to { code } } } } }";
        let nodes = plans_of(&app, "the feed", app.graphql(feed, json!({ "s": 60000 }))).await;
        assert!(reads_an_index_of(&nodes, "transfer_event"), "{nodes:?}");

        let rest = async {
            let admin = crate::helpers::token_for(api::auth::Role::Admin, None);
            let response = app.get_as(&admin, "/api/v1/events?after=70000&limit=500").await;
            assert_eq!(response.status(), 200);
            response.json::<Value>().await.expect("a feed page")
        };
        let nodes = plans_of(&app, "the REST feed", rest).await;
        assert!(reads_an_index_of(&nodes, "transfer_event"), "{nodes:?}");
    }
}
