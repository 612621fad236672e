//! The GraphQL read API: lists with filters, cursor pagination, time travel,
//! subtrees, the change feed, and a constant number of SQL statements per
//! query whatever the page size.

use std::collections::HashSet;

use chrono::Utc;
use entity::enums::{CellType, OrganizationKind, OrganizationStatus};
use entity::organization;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_code, token_for};

/// Inserts `count` cells under one commune directly, for paging tests.
async fn bulk_cells(app: &TestApp, parent_code: &str, count: usize) {
    let parent = organization::Entity::find()
        .filter(organization::Column::Code.eq(parent_code))
        .one(app.db())
        .await
        .expect("read")
        .expect("parent");
    let now = Utc::now();
    let rows: Vec<organization::ActiveModel> = (0..count)
        .map(|i| organization::ActiveModel {
            code: Set(format!("{parent_code}.B{i:04}")),
            name: Set(format!("Chi bộ số {i}")),
            kind: Set(OrganizationKind::Cell),
            cell_type: Set(Some(if i % 3 == 0 {
                CellType::Agency
            } else {
                CellType::Residential
            })),
            status: Set(OrganizationStatus::Active),
            parent_id: Set(Some(parent.id)),
            path: Set(format!("{}pending-{i}/", parent.path)),
            depth: Set(parent.depth + 1),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        })
        .collect();
    for chunk in rows.chunks(200) {
        organization::Entity::insert_many(chunk.to_vec())
            .exec(app.db())
            .await
            .expect("insert cells");
    }
    let fix_paths = format!(
        "UPDATE organization SET path = '{}' || CAST(id AS TEXT) || '/' WHERE path LIKE '{}pending-%'",
        parent.path, parent.path
    );
    app.db()
        .execute_unprepared(&fix_paths)
        .await
        .expect("paths");
}

/// Pages through a connection field of `Query` and returns every node's code.
async fn page_through(app: &TestApp, field: &str, args: &str, first: i32) -> (Vec<String>, i64) {
    let mut codes = Vec::new();
    let mut after: Option<String> = None;
    let mut total;
    loop {
        let query = format!(
            "query($after: String) {{ {field}({args} first: {first}, after: $after) {{ totalCount edges {{ cursor node {{ code }} }} pageInfo {{ hasNextPage endCursor }} }} }}"
        );
        let answer = app.graphql(&query, json!({ "after": after })).await;
        let connection = &answer["data"][field];
        assert!(answer.get("errors").is_none(), "{answer}");
        total = connection["totalCount"].as_i64().expect("totalCount");
        let edges = connection["edges"].as_array().expect("edges");
        assert!(edges.len() <= first as usize);
        codes.extend(
            edges
                .iter()
                .map(|e| e["node"]["code"].as_str().expect("code").to_owned()),
        );
        if connection["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = connection["pageInfo"]["endCursor"]
            .as_str()
            .map(str::to_owned);
    }
    (codes, total)
}

on_both_backends! {
    async fn paging_through_1234_items_returns_each_exactly_once(app: TestApp) {
        app.create_organization("SL", "DISTRICT_COMMITTEE", None, None).await;
        app.create_organization("SL.BL", "GRASSROOTS_COMMITTEE", None, Some("SL")).await;
        bulk_cells(&app, "SL.BL", 1234).await;
        let expected: HashSet<String> = (0..1234).map(|i| format!("SL.BL.B{i:04}")).collect();
        for first in [1, 7, 500] {
            let (codes, total) = page_through(&app, "organizations", "kind: CELL,", first).await;
            assert_eq!(total, 1234, "first: {first}");
            assert_eq!(codes.len(), 1234, "first: {first}");
            assert_eq!(codes.iter().cloned().collect::<HashSet<_>>(), expected, "first: {first}");
        }
        // The same through children, a nested connection.
        let answer = app
            .graphql("{ organization(code: \"SL.BL\") { children(first: 500) { totalCount edges { node { code } } pageInfo { hasNextPage } } } }", json!({}))
            .await;
        let children = &answer["data"]["organization"]["children"];
        assert_eq!(children["totalCount"], 1234, "{answer}");
        assert_eq!(children["edges"].as_array().expect("edges").len(), 500);
        assert_eq!(children["pageInfo"]["hasNextPage"], true);
    }
}

on_both_backends! {
    async fn page_sizes_and_cursors_are_checked(app: TestApp) {
        app.seed_district().await;
        for first in [0, -1, 501] {
            for query in [
                "query($first: Int) { organizations(first: $first) { totalCount } }",
                "query($first: Int) { members(first: $first) { totalCount } }",
                "query($first: Int) { transferEvents(first: $first) { totalCount } }",
                "query($first: Int) { organization(code: \"SL\") { children(first: $first) { totalCount } } }",
            ] {
                let answer = app.graphql(query, json!({ "first": first })).await;
                assert_eq!(error_code(&answer), Some("BAD_USER_INPUT"), "{query} with {first}: {answer}");
            }
        }
        let answer = app.graphql("{ organizations(after: \"not-a-cursor\") { totalCount } }", json!({})).await;
        assert_eq!(error_code(&answer), Some("BAD_USER_INPUT"), "{answer}");
        // A cursor of another list is refused too.
        let members = app.graphql("{ members(first: 1) { pageInfo { endCursor } } }", json!({})).await;
        let cursor = members["data"]["members"]["pageInfo"]["endCursor"].clone();
        let answer = app.graphql("query($after: String) { organizations(after: $after) { totalCount } }", json!({ "after": cursor })).await;
        assert_eq!(error_code(&answer), Some("BAD_USER_INPUT"), "{answer}");
        // Absent `first` means 50: 7 + 51 organizations, so the default is what stops the page.
        bulk_cells(&app, "SL.BL", 51).await;
        let answer = app.graphql("{ organizations { totalCount edges { cursor } pageInfo { hasNextPage } } }", json!({})).await;
        assert_eq!(answer["data"]["organizations"]["totalCount"], 58, "{answer}");
        assert_eq!(answer["data"]["organizations"]["edges"].as_array().expect("edges").len(), 50);
        assert_eq!(answer["data"]["organizations"]["pageInfo"]["hasNextPage"], true);
        // A larger `first` is honoured: 50 is a default, not a cap.
        let answer = app.graphql("{ organizations(first: 58) { edges { cursor } pageInfo { hasNextPage } } }", json!({})).await;
        assert_eq!(answer["data"]["organizations"]["edges"].as_array().expect("edges").len(), 58, "{answer}");
        assert_eq!(answer["data"]["organizations"]["pageInfo"]["hasNextPage"], false);
    }
}

fn codes(connection: &Value) -> Vec<&str> {
    connection["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"]["code"].as_str().expect("code"))
        .collect()
}

on_both_backends! {
    async fn organization_filters_narrow_the_list(app: TestApp) {
        app.seed_district().await;
        app.create_organization("SL.BL.R2", "CELL", Some("RESIDENTIAL"), Some("SL.BL")).await;
        crate::organizations::dissolve_directly(&app, "SL.BL.R2").await;
        let list = |args: &'static str| {
            let app = app.clone();
            async move { app.graphql(&format!("{{ organizations({args}) {{ totalCount edges {{ node {{ code }} }} }} }}"), json!({})).await }
        };
        assert_eq!(codes(&list("kind: GRASSROOTS_COMMITTEE").await["data"]["organizations"]), ["SL.BL", "SL.YT"]);
        assert_eq!(codes(&list("cellType: AGENCY").await["data"]["organizations"]), ["SL.BL.CQ", "SL.YT.CQ"]);
        assert_eq!(codes(&list("status: DISSOLVED").await["data"]["organizations"]), ["SL.BL.R2"]);
        assert_eq!(codes(&list("within: \"SL.YT\"").await["data"]["organizations"]), ["SL.YT", "SL.YT.R1", "SL.YT.CQ"]);
        assert_eq!(codes(&list("within: \"SL.BL\", kind: CELL, status: ACTIVE").await["data"]["organizations"]), ["SL.BL.R1", "SL.BL.CQ"]);
        assert_eq!(codes(&list("nameContains: \"yt.cq\"").await["data"]["organizations"]), ["SL.YT.CQ"]);
        assert_eq!(codes(&list("nameContains: \"%\"").await["data"]["organizations"]), Vec::<&str>::new(), "wildcards are literal");
        assert_eq!(list("within: \"NO.SUCH\"").await["data"]["organizations"]["totalCount"], 0);
        // A scoped caller's list stops at the scope, and `within` outside it is empty.
        let reader = token_for(api::auth::Role::Reader, Some("SL.BL"));
        let answer = app.graphql_as(&reader, "{ organizations { edges { node { code } } } }", json!({})).await;
        assert_eq!(codes(&answer["data"]["organizations"]), ["SL.BL", "SL.BL.R1", "SL.BL.CQ", "SL.BL.R2"]);
        let answer = app.graphql_as(&reader, "{ organizations(within: \"SL.YT\") { totalCount } }", json!({})).await;
        assert_eq!(answer["data"]["organizations"]["totalCount"], 0);
    }
}

on_both_backends! {
    async fn member_lists_follow_scope_and_filters(app: TestApp) {
        let seeded = app.seed_district().await;
        let ids = |answer: &Value| -> Vec<String> {
            answer["data"]["members"]["edges"].as_array().expect("edges").iter().map(|e| e["node"]["id"].as_str().expect("id").to_owned()).collect()
        };
        let all = app.graphql("{ members { totalCount edges { node { id } } } }", json!({})).await;
        assert_eq!(ids(&all), [seeded.bl_member.clone(), seeded.yt_member.clone()]);
        let within = app.graphql("{ members(within: \"SL.YT\") { edges { node { id } } } }", json!({})).await;
        assert_eq!(ids(&within), std::slice::from_ref(&seeded.yt_member));
        let named = app.graphql("{ members(nameContains: \"văn an\") { totalCount } }", json!({})).await;
        assert_eq!(named["data"]["members"]["totalCount"], 2, "{named}");
        let status = app.graphql("{ members(status: PROBATIONARY) { totalCount } }", json!({})).await;
        assert_eq!(status["data"]["members"]["totalCount"], 0);
        let scoped = app.graphql_as(&token_for(api::auth::Role::Reader, Some("SL.BL")), "{ members { edges { node { id nationalId } } } }", json!({})).await;
        assert_eq!(ids(&scoped), std::slice::from_ref(&seeded.bl_member));
        assert_eq!(scoped["data"]["members"]["edges"][0]["node"]["nationalId"], "********0001");
    }
}

on_both_backends! {
    async fn time_travel_and_subtrees_answer_what_was_true(app: TestApp) {
        let seeded = app.seed_district().await;
        let query = "query($id: ID!, $asOf: DateTime) { member(id: $id) { membership(asOf: $asOf) { organization { code } startedAt endedAt }
                       history { organization { code } } temporaryMemberships { id } } }";
        let before = app.graphql(query, json!({ "id": seeded.bl_member, "asOf": "2010-05-18T23:59:59Z" })).await;
        assert_eq!(before["data"]["member"]["membership"], Value::Null, "{before}");
        let after = app.graphql(query, json!({ "id": seeded.bl_member, "asOf": "2012-01-01T07:00:00+07:00" })).await;
        assert_eq!(after["data"]["member"]["membership"]["organization"]["code"], "SL.BL.R1", "{after}");
        assert_eq!(after["data"]["member"]["history"], json!([{ "organization": { "code": "SL.BL.R1" } }]));
        assert_eq!(after["data"]["member"]["temporaryMemberships"], json!([]));

        let district = "query($asOf: DateTime) { organization(code: \"SL\") {
              direct: memberCount(asOf: $asOf) all: memberCount(asOf: $asOf, includeDescendants: true)
              members(asOf: $asOf, includeDescendants: true) { totalCount edges { node { member { id } organization { code } } } } } }";
        let now = app.graphql(district, json!({ "asOf": null })).await;
        assert_eq!(now["data"]["organization"]["direct"], 0, "{now}");
        assert_eq!(now["data"]["organization"]["all"], 2);
        assert_eq!(now["data"]["organization"]["members"]["totalCount"], 2);
        let then = app.graphql(district, json!({ "asOf": "2009-01-01T00:00:00Z" })).await;
        assert_eq!(then["data"]["organization"]["all"], 0, "{then}");
        let cell = app.graphql("{ organization(code: \"SL.BL.R1\") { memberCount members(kind: OFFICIAL) { totalCount } } }", json!({})).await;
        assert_eq!(cell["data"]["organization"]["memberCount"], 1);
        assert_eq!(cell["data"]["organization"]["members"]["totalCount"], 1);
    }
}

on_both_backends! {
    async fn the_feed_lists_visible_events_by_sequence(app: TestApp) {
        let seeded = app.seed_district().await;
        let feed = "query($within: String, $after: String) { transferEvents(within: $within, after: $after) { totalCount
                      edges { cursor node { sequence externalId reason from { code } to { code } member { id } submittedBy } } } }";
        let all = app.graphql(feed, json!({})).await;
        let edges = all["data"]["transferEvents"]["edges"].as_array().expect("edges").clone();
        assert_eq!(edges.len(), 2, "{all}");
        assert_eq!(edges[0]["node"]["sequence"], 1);
        assert_eq!(edges[1]["node"]["sequence"], 2);
        assert_eq!(edges[0]["node"]["reason"], "ADMISSION");
        assert_eq!(edges[0]["node"]["from"], Value::Null);
        assert_eq!(edges[0]["node"]["to"]["code"], "SL.BL.R1");
        assert_eq!(edges[0]["node"]["member"]["id"], seeded.bl_member.as_str());
        let after_first = app.graphql(feed, json!({ "after": edges[0]["cursor"] })).await;
        assert_eq!(after_first["data"]["transferEvents"]["edges"].as_array().expect("edges").len(), 1);
        let within = app.graphql(feed, json!({ "within": "SL.YT" })).await;
        assert_eq!(within["data"]["transferEvents"]["totalCount"], 1);
        let scoped = app.graphql_as(&token_for(api::auth::Role::Integrator, Some("SL.BL")), feed, json!({})).await;
        assert_eq!(scoped["data"]["transferEvents"]["totalCount"], 1, "{scoped}");
        let own = app.graphql("query($id: ID!) { member(id: $id) { transfers { totalCount edges { node { externalId } } } } }", json!({ "id": seeded.yt_member })).await;
        assert_eq!(own["data"]["member"]["transfers"]["edges"][0]["node"]["externalId"], "admission-001080000002");
    }
}

/// Asserts that a page of 42 costs no more statements than a page of 3,
/// give or take `levels`: loaders batch per level of the query, and whether
/// two levels' batches merge depends on timing (1 ms batching window), not
/// on the page size. An N+1 would add one statement per extra row (39 here).
async fn assert_constant_statements(app: &TestApp, name: &str, query: &str, levels: u64) {
    let small = statements_for(app, query, json!({ "first": 3 })).await;
    let large = statements_for(app, query, json!({ "first": 42 })).await;
    assert!(
        large <= small + levels,
        "{name}: {small} statements for 3 rows, {large} for 42"
    );
}

/// Statements the server runs to answer one query.
async fn statements_for(app: &TestApp, query: &str, variables: Value) -> u64 {
    let before = app.statements();
    let answer = app.graphql(query, variables).await;
    assert!(answer.get("errors").is_none(), "{answer}");
    app.statements() - before
}

on_both_backends! {
    async fn nested_queries_cost_the_same_statements_whatever_the_page_size(app: TestApp) {
        let seeded = app.seed_district().await;
        for i in 0..40 {
            let cell = if i % 2 == 0 { "SL.BL.R1" } else { "SL.YT.R1" };
            app.register_member(&format!("0050000000{i:02}"), cell, Some(cell)).await;
        }
        let moved = app.graphql("mutation($input: TransferInput!) { submitTransfer(input: $input) { status } }",
            json!({ "input": { "externalId": "nested-1", "memberId": seeded.bl_member, "toOrganizationCode": "SL.BL.CQ", "reason": "RELOCATION" } })).await;
        assert_eq!(moved["data"]["submitTransfer"]["status"], "APPLIED", "{moved}");
        let members = "query($first: Int) { members(first: $first) { totalCount edges { node { fullName nationalId residenceCell { code }
                         membership { startedAt organization { name parent { name } ancestors { code } } } history { id }
                         transfers(first: 2) { totalCount edges { node { sequence to { code } } } } } } } }";
        assert_constant_statements(&app, "members", members, 3).await;
        // A list's pages of events are the pages each member gives alone.
        let events = "transfers(first: 1) { totalCount pageInfo { hasNextPage endCursor } edges { node { sequence } } }";
        let listed = app.graphql(&format!("{{ members(first: 100) {{ edges {{ node {{ id {events} }} }} }} }}"), json!({})).await;
        let listed = listed["data"]["members"]["edges"].as_array().expect("members").clone();
        assert!(listed.iter().any(|n| n["node"]["transfers"]["pageInfo"]["hasNextPage"] == true), "some page is cut: {listed:?}");
        for node in listed.iter().map(|n| &n["node"]) {
            let alone = app.graphql(&format!("query($id: ID!) {{ member(id: $id) {{ id {events} }} }}"), json!({ "id": node["id"] })).await;
            assert_eq!(&alone["data"]["member"], node, "{}", node["id"]);
        }

        bulk_cells(&app, "SL.YT", 40).await;
        let organizations = "query($first: Int) { organizations(first: $first) { edges { node { code parent { code } ancestors { code }
                               here: memberCount below: memberCount(includeDescendants: true)
                               members(first: 2) { totalCount edges { node { id member { fullName } } } }
                               subtree: members(first: 2, includeDescendants: true) { totalCount pageInfo { hasNextPage } edges { node { id } } }
                               children { totalCount edges { node { code parent { name } memberCount } } } } } } }";
        assert_constant_statements(&app, "organizations", organizations, 3).await;
        // Counted in one statement for the page, each count still its own organization's.
        let counts = app.graphql("{ organizations(first: 100) { edges { node { code here: memberCount below: memberCount(includeDescendants: true)
                                    official: members(kind: OFFICIAL) { totalCount } subtree: members(kind: OFFICIAL, includeDescendants: true) { totalCount } } } } }", json!({})).await;
        let nodes = counts["data"]["organizations"]["edges"].as_array().expect("organizations");
        assert!(nodes.iter().any(|n| n["node"]["below"].as_i64() > n["node"]["here"].as_i64()), "some committee counts its subtree: {counts}");
        for node in nodes.iter().map(|n| &n["node"]) {
            assert_eq!(node["here"], node["official"]["totalCount"], "{node}");
            assert_eq!(node["below"], node["subtree"]["totalCount"], "{node}");
        }
        // Pages of members fetched for a whole list are the pages each organization gives alone.
        let pages = "members(first: 3) { totalCount pageInfo { hasNextPage endCursor } edges { node { id } } }
                     deep: members(first: 3, includeDescendants: true) { totalCount pageInfo { hasNextPage endCursor } edges { node { id } } }";
        let listed = app.graphql(&format!("{{ organizations(first: 100) {{ edges {{ node {{ code {pages} }} }} }} }}"), json!({})).await;
        let listed = listed["data"]["organizations"]["edges"].as_array().expect("organizations").clone();
        assert!(listed.iter().any(|n| n["node"]["deep"]["pageInfo"]["hasNextPage"] == true), "some page is cut: {listed:?}");
        for node in listed.iter().map(|n| &n["node"]) {
            let alone = app.graphql(&format!("{{ organization(code: \"{}\") {{ code {pages} }} }}", node["code"].as_str().expect("code")), json!({})).await;
            assert_eq!(&alone["data"]["organization"], node, "{}", node["code"]);
        }

        let memberships = "query($first: Int) { organization(code: \"SL\") { members(includeDescendants: true, first: $first) { edges { node {
                             startedAt member { fullName residenceCell { code } } organization { code parent { code } } } } } } }";
        assert_constant_statements(&app, "memberships", memberships, 3).await;

        let feed = "query($first: Int) { transferEvents(first: $first) { edges { node { sequence member { fullName } from { code } to { code parent { code } } } } } }";
        assert_constant_statements(&app, "feed", feed, 3).await;
    }
}

on_both_backends! {
    async fn a_member_lookup_with_cell_and_committee_is_one_statement(app: TestApp) {
        let seeded = app.seed_district().await;
        let query = "query($v: String) { member(nationalId: $v) { id fullName membership { startedAt organization { code name parent { code name } } } } }";
        let answer = app.graphql(query, json!({ "v": "001080000001" })).await;
        assert_eq!(
            answer["data"]["member"]["membership"]["organization"],
            json!({ "code": "SL.BL.R1", "name": "Tổ chức SL.BL.R1", "parent": { "code": "SL.BL", "name": "Tổ chức SL.BL" } }),
            "{answer}"
        );
        assert_eq!(answer["data"]["member"]["id"], json!(seeded.bl_member));
        assert_eq!(statements_for(&app, query, json!({ "v": "001080000001" })).await, 1);
        // The same answer through the general path, for a member with no open membership.
        let removed = app
            .graphql("mutation($id: ID!) { updateMember(input: { memberId: $id, status: REMOVED }) { membership { id } } }", json!({ "id": seeded.yt_member }))
            .await;
        assert_eq!(removed["data"]["updateMember"]["membership"], Value::Null, "{removed}");
        let gone = app.graphql(query, json!({ "v": "001080000002" })).await;
        assert_eq!(gone["data"]["member"]["id"], json!(seeded.yt_member), "still readable: {gone}");
        assert_eq!(gone["data"]["member"]["membership"], Value::Null);
        // A scoped reader of the other commune sees nothing, as before.
        let other = crate::helpers::token_for(api::auth::Role::Integrator, Some("SL.YT"));
        let hidden = app.graphql_as(&other, query, json!({ "v": "001080000001" })).await;
        assert_eq!(hidden["data"]["member"], Value::Null, "{hidden}");
    }
}

on_both_backends! {
    /// The list reads integrators run most, each in as few statements as its
    /// answer needs: the organization, then one statement for its page with
    /// what the page shows (members, counts), whatever the page size.
    async fn the_hot_list_reads_cost_two_statements_and_the_feed_one(app: TestApp) {
        app.seed_district().await;
        for i in 0..12 {
            app.register_member(&format!("0060000000{i:02}"), "SL.BL.R1", Some("SL.BL.R1")).await;
        }
        let cell = "query($first: Int) { organization(code: \"SL.BL.R1\") { members(first: $first) { edges { node { member { id nationalId fullName } } } } } }";
        for first in [5, 50] {
            assert_eq!(statements_for(&app, cell, json!({ "first": first })).await, 2, "a cell's first {first} members");
        }
        let answer = app.graphql(cell, json!({ "first": 50 })).await;
        let listed = answer["data"]["organization"]["members"]["edges"].as_array().expect("members");
        assert_eq!(listed.len(), 13, "{answer}");
        assert!(listed.iter().all(|edge| edge["node"]["member"]["fullName"].is_string()), "{answer}");
        // Asked for, the total costs its own count.
        let counted = "query($first: Int) { organization(code: \"SL.BL.R1\") { members(first: $first) { totalCount edges { node { member { id } } } } } }";
        let answer = app.graphql(counted, json!({ "first": 5 })).await;
        assert_eq!(answer["data"]["organization"]["members"]["totalCount"], 13, "{answer}");
        assert_eq!(statements_for(&app, counted, json!({ "first": 5 })).await, 3);

        let commune = "query($first: Int) { organization(code: \"SL.BL\") { children(first: $first) { edges { node { id code name cellType memberCount } } } } }";
        for first in [1, 50] {
            assert_eq!(statements_for(&app, commune, json!({ "first": first })).await, 2, "a commune's first {first} cells with counts");
        }
        let answer = app.graphql(commune, json!({ "first": 50 })).await;
        let r1 = answer["data"]["organization"]["children"]["edges"]
            .as_array()
            .expect("cells")
            .iter()
            .find(|edge| edge["node"]["code"] == "SL.BL.R1")
            .cloned()
            .expect("SL.BL.R1");
        assert_eq!(r1["node"]["memberCount"], 13, "{answer}");

        let feed = "query($first: Int) { transferEvents(first: $first) { edges { node { sequence externalId member { id fullName } from { id } to { code } } } } }";
        for first in [5, 500] {
            assert_eq!(statements_for(&app, feed, json!({ "first": first })).await, 1, "a feed page of {first}");
        }
        let before = app.statements();
        let response = app.get_as(app.admin_token(), "/api/v1/events?limit=500").await;
        assert_eq!(response.status(), 200);
        let page: Value = response.json().await.expect("a feed page");
        assert!(page["events"].as_array().is_some_and(|events| events.len() >= 13), "{page}");
        assert_eq!(app.statements() - before, 1, "the REST feed page");
    }
}

on_both_backends! {
    /// A feed page read with its members and cells in one statement (read by
    /// column position) shows exactly what the events read one by one show.
    async fn a_feed_page_read_in_one_statement_shows_what_its_events_show_alone(app: TestApp) {
        let seeded = app.seed_district().await;
        let moved = app.graphql("mutation($input: TransferInput!) { submitTransfer(input: $input) { status } }",
            json!({ "input": { "externalId": "joined-1", "memberId": seeded.bl_member, "toOrganizationCode": "SL.BL.CQ",
                               "reason": "RELOCATION", "decisionRef": "QĐ-12/2025" } })).await;
        assert_eq!(moved["data"]["submitTransfer"]["status"], "APPLIED", "{moved}");
        let organization = "id code name kind cellType status establishedAt dissolvedAt dissolutionDecision";
        let fields = format!("id sequence externalId kind reason decisionRef effectiveAt recordedAt submittedBy phase letterId
            member {{ id nationalId partyCardNumber fullName birthDate admittedOn officialOn status }}
            from {{ {organization} }} to {{ {organization} }}");
        // Without totalCount the page joins its ends; with it, they come through the loaders.
        let joined = format!("{{ transferEvents(first: 500) {{ edges {{ node {{ {fields} }} }} }} }}");
        let alone = format!("{{ transferEvents(first: 500) {{ totalCount edges {{ node {{ {fields} }} }} }} }}");
        for token in [app.admin_token().to_owned(), token_for(api::auth::Role::Reader, Some("SL.BL"))] {
            let (joined, alone) = (app.graphql_as(&token, &joined, json!({})).await, app.graphql_as(&token, &alone, json!({})).await);
            let edges = &joined["data"]["transferEvents"]["edges"];
            assert!(edges.as_array().is_some_and(|edges| edges.len() >= 2), "{joined}");
            assert_eq!(edges, &alone["data"]["transferEvents"]["edges"], "{joined}\n{alone}");
            let decided = edges.as_array().into_iter().flatten().find(|edge| edge["node"]["externalId"] == "joined-1").expect("the transfer");
            assert_eq!(decided["node"]["decisionRef"], "QĐ-12/2025", "{decided}");
            assert_eq!(decided["node"]["to"]["code"], "SL.BL.CQ", "{decided}");
            assert!(decided["node"]["from"]["code"].is_string(), "{decided}");
        }
    }
}
