//! Logs without personal data: the real process at `RUST_LOG=debug` goes
//! through a full scenario (admission, lookups by national ID over GraphQL
//! and REST, an update of the birth date, transfers by national ID, the
//! feed, a subscription, refused tokens) and its logs hold none of the
//! national IDs, birth dates or tokens it was given.

use std::time::Duration;

use api::auth::Role;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::helpers::{TestDatabase, token_for};
use crate::process::ServerProcess;

const NATIONAL_IDS: [&str; 2] = ["001061004217", "038061009932"];
const BIRTH_DATES: [&str; 2] = ["1961-07-13", "1961-11-29"];
const NEW_BIRTH_DATE: &str = "1961-08-14";

async fn graphql(
    http: &reqwest::Client,
    server: &ServerProcess,
    token: &str,
    query: &str,
    variables: Value,
) -> Value {
    http.post(server.url("/graphql"))
        .bearer_auth(token)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .expect("POST /graphql")
        .json()
        .await
        .expect("JSON")
}

on_both_backends! {
    async fn debug_logs_hold_no_national_id_birth_date_or_token(database: TestDatabase) {
        let mut server = ServerProcess::serve(&database, &[("RUST_LOG", "debug")]);
        let http = reqwest::Client::new();
        let admin = token_for(Role::Admin, None);
        let reader = token_for(Role::Reader, Some("SL"));
        let create = "mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { id } }";
        for (code, kind, cell_type, parent) in [
            ("SL", "DISTRICT_COMMITTEE", None, None),
            ("SL.BL", "GRASSROOTS_COMMITTEE", None, Some("SL")),
            ("SL.BL.R1", "CELL", Some("RESIDENTIAL"), Some("SL.BL")),
            ("SL.BL.R2", "CELL", Some("RESIDENTIAL"), Some("SL.BL")),
        ] {
            let answer = graphql(&http, &server, &admin, create, json!({ "input": {
                "code": code, "name": format!("Tổ chức {code}"), "kind": kind, "cellType": cell_type, "parentCode": parent } })).await;
            assert!(answer.get("errors").is_none(), "{answer}");
        }
        let register = "mutation($input: RegisterMemberInput!) { registerMember(input: $input) { id nationalId birthDate } }";
        for (national_id, birth_date) in NATIONAL_IDS.iter().zip(BIRTH_DATES) {
            let answer = graphql(&http, &server, &admin, register, json!({ "input": {
                "nationalId": national_id, "fullName": "Trần Thị Bình", "birthDate": birth_date,
                "admittedOn": "1990-05-19", "status": "OFFICIAL", "officialOn": "1991-05-19",
                "partyCardNumber": format!("PC{national_id}"), "organizationCode": "SL.BL.R1",
                "residenceCellCode": "SL.BL.R1", "externalId": format!("admission-{national_id}") } })).await;
            assert_eq!(answer["data"]["registerMember"]["birthDate"], birth_date, "{answer}");
        }
        // A subscription, authenticated in its connection_init.
        let url = server.url("/graphql").replacen("http://", "ws://", 1);
        let mut request = url.into_client_request().expect("request");
        request.headers_mut().insert("sec-websocket-protocol", "graphql-transport-ws".parse().expect("header"));
        let (mut socket, _) = tokio_tungstenite::connect_async(request).await.expect("websocket");
        socket.send(Message::Text(json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {admin}") } }).to_string().into())).await.expect("init");
        socket.send(Message::Text(json!({ "id": "1", "type": "subscribe", "payload": { "query": "subscription { transferEvents { sequence member { nationalId } } }" } }).to_string().into())).await.expect("subscribe");
        tokio::time::sleep(Duration::from_millis(300)).await;

        // Lookups by national ID: GraphQL, and REST with the ID in the path.
        let lookup = graphql(&http, &server, &admin, "query($id: String) { member(nationalId: $id) { fullName birthDate } }",
            json!({ "id": NATIONAL_IDS[0] })).await;
        assert_eq!(lookup["data"]["member"]["birthDate"], BIRTH_DATES[0], "{lookup}");
        let inline = graphql(&http, &server, &admin, &format!("{{ member(nationalId: \"{}\") {{ id }} }}", NATIONAL_IDS[1]), json!({})).await;
        assert!(inline["data"]["member"]["id"].is_string(), "{inline}");
        let membership = http.get(server.url(&format!("/api/v1/members/{}/membership", NATIONAL_IDS[0])))
            .bearer_auth(&admin).send().await.expect("membership");
        assert_eq!(membership.status(), 200);
        let refused = graphql(&http, &server, &reader, "query($id: String) { member(nationalId: $id) { id } }",
            json!({ "id": NATIONAL_IDS[1] })).await;
        assert!(refused.get("errors").is_some(), "READER may not look up by national ID: {refused}");
        // An update of the birth date, transfers by national ID (one refused), the feed.
        let update = graphql(&http, &server, &admin,
            "mutation($input: UpdateMemberInput!) { updateMember(input: $input) { birthDate } }",
            json!({ "input": { "memberNationalId": NATIONAL_IDS[1], "birthDate": NEW_BIRTH_DATE } })).await;
        assert_eq!(update["data"]["updateMember"]["birthDate"], NEW_BIRTH_DATE, "{update}");
        let batch: Value = http.post(server.url("/api/v1/transfer-events")).bearer_auth(&admin)
            .json(&json!({ "events": [
                { "externalId": "log-1", "memberNationalId": NATIONAL_IDS[0], "toOrganizationCode": "SL.BL.R2", "reason": "RELOCATION" },
                { "externalId": "log-2", "memberNationalId": NATIONAL_IDS[1], "toOrganizationCode": "SL.NOWHERE", "reason": "RELOCATION" },
            ] }))
            .send().await.expect("batch").json().await.expect("batch answer");
        assert_eq!(batch["results"][0]["status"], "APPLIED", "{batch}");
        assert_eq!(batch["results"][1]["status"], "REJECTED", "{batch}");
        let feed = http.get(server.url("/api/v1/events")).bearer_auth(&admin).send().await.expect("feed");
        assert_eq!(feed.status(), 200);
        let event = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                if let Some(Ok(Message::Text(text))) = socket.next().await && text.contains("\"next\"") {
                    return text.to_string();
                }
            }
        }).await.expect("the subscription delivered the transfer");
        assert!(event.contains(NATIONAL_IDS[0]), "the subscriber sees the national ID: {event}");
        // Tokens that are refused: a forged one and one in the WebSocket init.
        let forged = format!("{admin}x");
        let answer = graphql(&http, &server, &forged, "{ me { role } }", json!({})).await;
        assert_eq!(answer["code"], "UNAUTHENTICATED", "{answer}");
        let _ = socket.close(None).await;

        server.signal("TERM");
        assert!(server.wait(Duration::from_secs(30)).await.success());
        let logs = server.logs().join("\n");
        assert!(logs.contains("\"level\":\"DEBUG\""), "the logs are at debug level");
        assert!(
            logs.contains("/api/v1/members/{national_id}/membership"),
            "the lookup by national ID was logged, by its route pattern"
        );
        let signature = admin.rsplit('.').next().expect("signature");
        for (what, secret) in NATIONAL_IDS.iter().map(|id| ("a national ID", *id))
            .chain(BIRTH_DATES.iter().map(|date| ("a birth date", *date)))
            .chain([("a birth date", NEW_BIRTH_DATE), ("a token", admin.as_str()), ("a token", reader.as_str()),
                    ("a token", forged.as_str()), ("a token's signature", signature)])
        {
            let leaks: Vec<&str> = logs.lines().filter(|line| line.contains(secret)).take(3).collect();
            assert!(leaks.is_empty(), "the logs hold {what} ({secret}):\n{}", leaks.join("\n"));
        }
    }
}
