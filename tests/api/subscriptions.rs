//! Subscriptions over WebSocket (graphql-transport-ws): authenticated by the
//! connection_init payload, scoped like the feed, every new event delivered.

use std::time::Duration;

use api::auth::Role;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::helpers::{Fixture, TestApp, TestDatabase, token_for};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(app: &TestApp, init: Value) -> Socket {
    let url = app.url("/graphql").replacen("http://", "ws://", 1);
    let mut request = url.into_client_request().expect("request");
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().expect("header"),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("websocket");
    socket
        .send(Message::Text(
            json!({ "type": "connection_init", "payload": init })
                .to_string()
                .into(),
        ))
        .await
        .expect("init");
    socket
}

/// The next JSON message, skipping pings; `None` when the server closes.
async fn next_message(socket: &mut Socket) -> Option<Value> {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("a message in time")?;
        match message.expect("frame") {
            Message::Text(text) => {
                let value: Value = serde_json::from_str(&text).expect("JSON");
                if value["type"] == "ping" {
                    continue;
                }
                return Some(value);
            }
            Message::Close(_) => return None,
            _ => continue,
        }
    }
}

async fn subscribe(socket: &mut Socket, id: &str, within: Option<&str>) {
    let query = "subscription($within: String) { transferEvents(within: $within) { sequence externalId to { code } member { nationalId } } }";
    let message = json!({ "id": id, "type": "subscribe", "payload": { "query": query, "variables": { "within": within } } });
    socket
        .send(Message::Text(message.to_string().into()))
        .await
        .expect("subscribe");
}

on_both_backends! {
    async fn subscribers_receive_new_events_in_their_scope(app: TestApp) {
        let seeded = app.seed_district().await;
        let reader = token_for(Role::Reader, Some("SL.BL"));
        let mut socket = connect(&app, json!({ "Authorization": format!("Bearer {reader}") })).await;
        assert_eq!(next_message(&mut socket).await.expect("ack")["type"], "connection_ack");
        subscribe(&mut socket, "1", None).await;
        // Give the subscription its starting point before writing.
        tokio::time::sleep(Duration::from_millis(400)).await;

        let submit = "mutation($input: TransferInput!) { submitTransfer(input: $input) { status } }";
        for (key, member, to) in [("sub-yt", &seeded.yt_member, "SL.YT.CQ"), ("sub-bl", &seeded.bl_member, "SL.BL.CQ")] {
            let answer = app.graphql(submit, json!({ "input": { "externalId": key, "memberId": member, "toOrganizationCode": to, "reason": "RELOCATION" } })).await;
            assert_eq!(answer["data"]["submitTransfer"]["status"], "APPLIED", "{answer}");
        }
        let message = next_message(&mut socket).await.expect("an event");
        assert_eq!(message["type"], "next", "{message}");
        let event = &message["payload"]["data"]["transferEvents"];
        assert_eq!(event["externalId"], "sub-bl", "only the event in scope: {message}");
        assert_eq!(event["sequence"], 4);
        assert_eq!(event["member"]["nationalId"], "********0001", "masked for a reader");
    }
}

on_both_backends! {
    async fn a_connection_without_a_valid_token_is_refused(app: TestApp) {
        for init in [json!({}), json!({ "Authorization": "Bearer not.a.token" })] {
            let mut socket = connect(&app, init.clone()).await;
            let first = next_message(&mut socket).await;
            assert!(first.is_none_or(|message| message["type"] != "connection_ack"), "{init}: no ack");
        }
    }
}

on_both_backends! {
    async fn a_subject_has_at_most_its_limit_of_subscriptions_open(database: TestDatabase) {
        let mut config = database.config();
        config.subscriptions_per_subject = 2;
        let app = TestApp::spawn(config).await;
        let seeded = app.seed_district().await;
        let init = json!({ "Authorization": format!("Bearer {}", app.admin_token()) });
        let mut first = connect(&app, init.clone()).await;
        assert_eq!(next_message(&mut first).await.expect("ack")["type"], "connection_ack");
        subscribe(&mut first, "a", None).await;
        subscribe(&mut first, "b", None).await;

        // A third, on this connection or another one of the same subject: refused and ended.
        subscribe(&mut first, "c", None).await;
        let refused = next_message(&mut first).await.expect("an answer");
        assert_eq!(refused["id"], "c", "{refused}");
        assert_eq!(refused["payload"]["errors"][0]["extensions"]["code"], "LIMIT_EXCEEDED", "{refused}");
        assert_eq!(next_message(&mut first).await.expect("complete"), json!({ "id": "c", "type": "complete" }));
        let mut second = connect(&app, init).await;
        assert_eq!(next_message(&mut second).await.expect("ack")["type"], "connection_ack");
        subscribe(&mut second, "d", None).await;
        let refused = next_message(&mut second).await.expect("an answer");
        assert_eq!(refused["payload"]["errors"][0]["extensions"]["code"], "LIMIT_EXCEEDED", "{refused}");

        // Closing one gives its slot back: a new one streams events.
        first
            .send(Message::Text(json!({ "id": "a", "type": "complete" }).to_string().into()))
            .await
            .expect("complete");
        tokio::time::sleep(Duration::from_millis(200)).await;
        subscribe(&mut second, "e", None).await;
        tokio::time::sleep(Duration::from_millis(400)).await;
        let submit = "mutation($input: TransferInput!) { submitTransfer(input: $input) { status } }";
        let answer = app.graphql(submit, json!({ "input": { "externalId": "slot-1", "memberId": seeded.bl_member, "toOrganizationCode": "SL.BL.CQ", "reason": "RELOCATION" } })).await;
        assert_eq!(answer["data"]["submitTransfer"]["status"], "APPLIED", "{answer}");
        loop {
            let message = next_message(&mut second).await.expect("the event");
            if message["id"] == "e" {
                assert_eq!(message["type"], "next", "{message}");
                assert_eq!(message["payload"]["data"]["transferEvents"]["externalId"], "slot-1", "{message}");
                break;
            }
        }
        app.tear_down().await;
    }
}
