//! Subscriptions over WebSocket (graphql-transport-ws): authenticated by the
//! connection_init payload, scoped like the feed, every new event delivered.

use std::time::Duration;

use api::auth::Role;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;

use crate::helpers::{Fixture, TestApp, TestDatabase, token_for, token_with_ttl};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Upgrades to a graphql-transport-ws WebSocket and sends nothing.
async fn open(app: &TestApp) -> Result<Socket, tokio_tungstenite::tungstenite::Error> {
    open_speaking(app, "graphql-transport-ws").await
}

/// Upgrades to a WebSocket offering `protocol`.
async fn open_speaking(
    app: &TestApp,
    protocol: &str,
) -> Result<Socket, tokio_tungstenite::tungstenite::Error> {
    let url = app.url("/graphql").replacen("http://", "ws://", 1);
    let mut request = url.into_client_request().expect("request");
    request
        .headers_mut()
        .insert("sec-websocket-protocol", protocol.parse().expect("header"));
    let (socket, _) = tokio_tungstenite::connect_async(request).await?;
    Ok(socket)
}

async fn connect(app: &TestApp, init: Value) -> Socket {
    let mut socket = open(app).await.expect("websocket");
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

/// What the server said next: a JSON message, or the end of the socket.
enum Said {
    Message(Value),
    /// The close frame, if the server sent one.
    Closed(Option<CloseFrame>),
}

/// The next JSON message or the close, skipping pings, within `wait`.
async fn next_said(socket: &mut Socket, wait: Duration) -> Said {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let frame = tokio::time::timeout_at(deadline, socket.next())
            .await
            .expect("the server says something in time");
        match frame {
            Some(Ok(Message::Text(text))) => {
                let value: Value = serde_json::from_str(&text).expect("JSON");
                if value["type"] != "ping" {
                    return Said::Message(value);
                }
            }
            Some(Ok(Message::Close(frame))) => return Said::Closed(frame),
            Some(Ok(_)) => {}
            None | Some(Err(_)) => return Said::Closed(None),
        }
    }
}

/// The close the server ends the socket with, failing on any message before it.
async fn close_of(socket: &mut Socket, wait: Duration) -> (u16, String) {
    match next_said(socket, wait).await {
        Said::Closed(Some(frame)) => (u16::from(frame.code), frame.reason.to_string()),
        Said::Closed(None) => panic!("closed without a close frame"),
        Said::Message(message) => panic!("expected the socket to close, got {message}"),
    }
}

async fn subscribe(socket: &mut Socket, id: &str, within: Option<&str>) {
    subscribe_after(socket, id, within, None).await
}

/// Subscribes from a known point of the feed: no event after it can be missed,
/// however long the server takes to start the subscription.
async fn subscribe_after(socket: &mut Socket, id: &str, within: Option<&str>, after: Option<i64>) {
    let query = "subscription($within: String, $after: Int) { transferEvents(within: $within, afterSequence: $after) { sequence externalId to { code } member { nationalId } } }";
    let message = json!({ "id": id, "type": "subscribe", "payload": { "query": query, "variables": { "within": within, "after": after } } });
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
        subscribe_after(&mut socket, "1", None, Some(feed_head(&app).await)).await;

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
            let (code, _) = close_of(&mut socket, Duration::from_secs(10)).await;
            assert_eq!(code, 4403, "{init}: closed as Forbidden, no ack");
        }
        // Subscribing before connection_init: 4401, nothing streamed.
        let mut socket = open(&app).await.expect("websocket");
        subscribe(&mut socket, "early", None).await;
        let (code, _) = close_of(&mut socket, Duration::from_secs(10)).await;
        assert_eq!(code, 4401);

        // A message that is not the protocol's: 4400.
        let mut socket = open(&app).await.expect("websocket");
        socket.send(Message::Text("hello".into())).await.expect("send");
        let (code, _) = close_of(&mut socket, Duration::from_secs(10)).await;
        assert_eq!(code, 4400);

        // The older graphql-ws protocol: connection_error, then the same close.
        let mut socket = open_speaking(&app, "graphql-ws").await.expect("websocket");
        let init = json!({ "type": "connection_init", "payload": { "Authorization": "Bearer not.a.token" } });
        socket.send(Message::Text(init.to_string().into())).await.expect("init");
        match next_said(&mut socket, Duration::from_secs(10)).await {
            Said::Message(message) => assert_eq!(message["type"], "connection_error", "{message}"),
            Said::Closed(frame) => panic!("expected connection_error first, got {frame:?}"),
        }
        let (code, _) = close_of(&mut socket, Duration::from_secs(10)).await;
        assert_eq!(code, 4403);

        // Neither protocol offered: no socket at all.
        match open_speaking(&app, "chat").await {
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => assert_eq!(response.status(), 400),
            other => panic!("expected 400, got {:?}", other.map(|_| "a socket")),
        }
    }
}

on_both_backends! {
    async fn a_socket_that_never_initialises_is_closed_with_4408(database: TestDatabase) {
        let mut config = database.config();
        config.ws_init_timeout = Duration::from_secs(1);
        config.websockets_per_address = 1;
        let app = TestApp::spawn(config).await;
        let opened = tokio::time::Instant::now();
        let mut socket = open(&app).await.expect("websocket");

        let (code, reason) = close_of(&mut socket, Duration::from_secs(10)).await;
        assert_eq!((code, reason.as_str()), (4408, "Connection initialisation timeout"));
        assert!(opened.elapsed() >= Duration::from_millis(900), "after the timeout, not at once: {:?}", opened.elapsed());
        // The connection itself ends, and the address's only slot is free again.
        assert!(matches!(next_said(&mut socket, Duration::from_secs(5)).await, Said::Closed(None)));
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while open(&app).await.is_err() {
            assert!(tokio::time::Instant::now() < deadline, "the slot is given back after the close");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        app.tear_down().await;
    }
}

on_both_backends! {
    async fn an_address_has_at_most_its_limit_of_websockets_open(database: TestDatabase) {
        let mut config = database.config();
        config.websockets_per_address = 2;
        let retry = config.ws_init_timeout.as_secs();
        let app = TestApp::spawn(config).await;
        // One authenticated socket and one that never says anything: both count.
        let init = json!({ "Authorization": format!("Bearer {}", app.admin_token()) });
        let mut first = connect(&app, init).await;
        assert_eq!(next_message(&mut first).await.expect("ack")["type"], "connection_ack");
        let _second = open(&app).await.expect("second websocket");

        let refused = match open(&app).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => response,
            Err(other) => panic!("expected an HTTP refusal, got {other}"),
            Ok(_) => panic!("a third socket from the same address was accepted"),
        };
        assert_eq!(refused.status(), 429);
        assert_eq!(refused.headers()["retry-after"], retry.to_string().as_str());
        assert_eq!(refused.headers()["content-type"], "application/problem+json");
        let problem: Value = serde_json::from_slice(refused.body().as_deref().expect("a body")).expect("problem JSON");
        assert_eq!(problem["code"], "RATE_LIMITED", "{problem}");
        assert_eq!(problem["status"], 429, "{problem}");

        // Closing one gives its slot back; then the limit holds again.
        first.close(None).await.expect("close");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        let _third = loop {
            match open(&app).await {
                Ok(socket) => break socket,
                Err(_) => {
                    assert!(tokio::time::Instant::now() < deadline, "the slot is given back after the close");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        };
        assert!(open(&app).await.is_err(), "two open again: the next is refused");
        app.tear_down().await;
    }
}

/// When the token's `exp` falls, by the wall clock.
fn expiry_of(token: &str) -> std::time::SystemTime {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).expect("a JWT");
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .expect("base64"),
    )
    .expect("JSON claims");
    std::time::UNIX_EPOCH + Duration::from_secs(claims["exp"].as_u64().expect("exp"))
}

on_both_backends! {
    async fn a_subscription_ends_when_its_token_expires(database: TestDatabase) {
        let mut config = database.config();
        config.ws_init_timeout = Duration::from_secs(1);
        let app = TestApp::spawn(config).await;
        let seeded = app.seed_district().await;
        let token = token_with_ttl(Role::Admin, None, Duration::from_secs(3));
        let expiry = expiry_of(&token);
        let mut socket = connect(&app, json!({ "Authorization": format!("Bearer {token}") })).await;
        assert_eq!(next_message(&mut socket).await.expect("ack")["type"], "connection_ack");
        subscribe(&mut socket, "x", None).await;

        // Transfers until one is streamed (the subscription starts from the
        // feed's end when it first runs, which the client cannot see).
        let submit = "mutation($input: TransferInput!) { submitTransfer(input: $input) { status } }";
        let mut submitted = 0;
        let first = 'streamed: loop {
            assert!(std::time::SystemTime::now() < expiry, "an event is streamed before the token expires");
            let to = if submitted % 2 == 0 { "SL.BL.CQ" } else { "SL.BL.R1" };
            let input = json!({ "externalId": format!("before-{submitted}"), "memberId": seeded.bl_member, "toOrganizationCode": to, "reason": "RELOCATION" });
            let answer = app.graphql(submit, json!({ "input": input })).await;
            assert_eq!(answer["data"]["submitTransfer"]["status"], "APPLIED", "{answer}");
            submitted += 1;
            let wait = tokio::time::Instant::now() + Duration::from_millis(600);
            if let Ok(said) = tokio::time::timeout_at(wait, next_said(&mut socket, Duration::from_secs(10))).await {
                match said {
                    Said::Message(message) => break 'streamed message,
                    Said::Closed(frame) => panic!("closed before the expiry: {frame:?}"),
                }
            }
        };
        assert!(std::time::SystemTime::now() < expiry, "streamed before the expiry");
        assert_eq!(first["type"], "next", "{first}");
        assert!(first["payload"]["data"]["transferEvents"]["externalId"].as_str().is_some_and(|key| key.starts_with("before-")), "{first}");

        // Past the expiry, a new event is not streamed: the socket is closed with 4403.
        let until_expiry = expiry.duration_since(std::time::SystemTime::now()).unwrap_or_default();
        tokio::time::sleep(until_expiry).await;
        let to = if submitted % 2 == 0 { "SL.BL.CQ" } else { "SL.BL.R1" };
        let input = json!({ "externalId": "after-expiry", "memberId": seeded.bl_member, "toOrganizationCode": to, "reason": "RELOCATION" });
        let answer = app.graphql(submit, json!({ "input": input })).await;
        assert_eq!(answer["data"]["submitTransfer"]["status"], "APPLIED", "{answer}");
        let closed = loop {
            match next_said(&mut socket, Duration::from_secs(10)).await {
                Said::Message(message) => {
                    // Events of transfers made before the expiry may still arrive before it.
                    assert!(std::time::SystemTime::now() < expiry, "nothing after the expiry: {message}");
                    assert_ne!(message["payload"]["data"]["transferEvents"]["externalId"], "after-expiry");
                }
                Said::Closed(frame) => break frame.expect("a close frame"),
            }
        };
        assert!(std::time::SystemTime::now() >= expiry, "closed at the expiry, not before");
        assert_eq!((u16::from(closed.code), closed.reason.as_str()), (4403, "token expired"));
        app.tear_down().await;
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
        let head = feed_head(&app).await;
        // The slot comes back once the server has ended "a": retry until it streams.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let id = format!("e{attempt}");
            subscribe_after(&mut second, &id, None, Some(head)).await;
            // A refused subscribe answers at once; an accepted one stays silent until an event.
            let refused = loop {
                match tokio::time::timeout(Duration::from_millis(300), next_message(&mut second)).await {
                    Err(_) => break false,
                    // What is still said about earlier subscriptions.
                    Ok(Some(message)) if message["id"] != json!(id) => continue,
                    Ok(message) => {
                        let message = message.expect("an answer");
                        assert_eq!(message["payload"]["errors"][0]["extensions"]["code"], "LIMIT_EXCEEDED", "{message}");
                        break true;
                    }
                }
            };
            if !refused {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "the slot never came back");
        }
        let submit = "mutation($input: TransferInput!) { submitTransfer(input: $input) { status } }";
        let answer = app.graphql(submit, json!({ "input": { "externalId": "slot-1", "memberId": seeded.bl_member, "toOrganizationCode": "SL.BL.CQ", "reason": "RELOCATION" } })).await;
        assert_eq!(answer["data"]["submitTransfer"]["status"], "APPLIED", "{answer}");
        loop {
            let message = next_message(&mut second).await.expect("the event");
            if message["id"].as_str().is_some_and(|id| id.starts_with('e')) && message["type"] == "next" {
                assert_eq!(message["type"], "next", "{message}");
                assert_eq!(message["payload"]["data"]["transferEvents"]["externalId"], "slot-1", "{message}");
                break;
            }
        }
        app.tear_down().await;
    }
}

/// The last sequence of the feed, as an unscoped caller reads it.
async fn feed_head(app: &TestApp) -> i64 {
    let answer = app
        .graphql(
            "{ transferEvents(first: 500) { edges { node { sequence } } } }",
            json!({}),
        )
        .await;
    answer["data"]["transferEvents"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .filter_map(|edge| edge["node"]["sequence"].as_i64())
        .max()
        .unwrap_or(0)
}

on_both_backends! {
    async fn a_dropped_subscription_resumes_after_the_last_sequence_it_saw(app: TestApp) {
        let seeded = app.seed_district().await;
        let token = token_for(Role::Integrator, Some("SL"));
        let init = json!({ "Authorization": format!("Bearer {token}") });
        let submit = "mutation($input: TransferInput!) { submitTransfer(input: $input) { status event { sequence } } }";
        let moves = [("r-1", "SL.BL.CQ"), ("r-2", "SL.BL.R1"), ("r-3", "SL.BL.CQ")];
        let mut socket = connect(&app, init.clone()).await;
        assert_eq!(next_message(&mut socket).await.expect("ack")["type"], "connection_ack");
        subscribe_after(&mut socket, "s", None, Some(feed_head(&app).await)).await;
        let (key, to) = moves[0];
        let answer = app.graphql(submit, json!({ "input": { "externalId": key, "memberId": seeded.bl_member, "toOrganizationCode": to, "reason": "RELOCATION" } })).await;
        assert_eq!(answer["data"]["submitTransfer"]["status"], "APPLIED", "{answer}");
        let first = next_message(&mut socket).await.expect("the first event");
        let seen = &first["payload"]["data"]["transferEvents"];
        assert_eq!(seen["externalId"], "r-1", "{first}");
        let last_seen = seen["sequence"].as_i64().expect("sequence");
        drop(socket);

        // Written while nobody listened.
        for (key, to) in &moves[1..] {
            let answer = app.graphql(submit, json!({ "input": { "externalId": key, "memberId": seeded.bl_member, "toOrganizationCode": to, "reason": "RELOCATION" } })).await;
            assert_eq!(answer["data"]["submitTransfer"]["status"], "APPLIED", "{answer}");
        }
        let mut socket = connect(&app, init).await;
        assert_eq!(next_message(&mut socket).await.expect("ack")["type"], "connection_ack");
        subscribe_after(&mut socket, "s", None, Some(last_seen)).await;
        let mut resumed = Vec::new();
        while resumed.len() < 2 {
            let message = next_message(&mut socket).await.expect("an event");
            assert_eq!(message["type"], "next", "{message}");
            let event = &message["payload"]["data"]["transferEvents"];
            resumed.push((event["externalId"].clone(), event["sequence"].as_i64().expect("sequence")));
        }
        assert_eq!(resumed.iter().map(|(key, _)| key.clone()).collect::<Vec<_>>(), vec![json!("r-2"), json!("r-3")]);
        assert_eq!(resumed[0].1, last_seen + 1, "nothing skipped");
        assert_eq!(resumed[1].1, last_seen + 2, "in order");

        // A negative starting point is refused.
        subscribe_after(&mut socket, "bad", None, Some(-1)).await;
        loop {
            let message = next_message(&mut socket).await.expect("an answer");
            if message["id"] == "bad" {
                assert_eq!(message["payload"]["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{message}");
                break;
            }
        }
    }
}

on_both_backends! {
    async fn the_receiving_side_hears_a_letter_depart_and_arrive_in_order(app: TestApp) {
        use crate::letters::{ISSUE, RECEIVE, letter_input, two_districts};
        let seeded = two_districts(&app).await;
        let (sender, receiver) = (token_for(Role::Integrator, Some("SL")), token_for(Role::Integrator, Some("TD")));
        let mut socket = connect(&app, json!({ "Authorization": format!("Bearer {receiver}") })).await;
        assert_eq!(next_message(&mut socket).await.expect("ack")["type"], "connection_ack");
        let query = "subscription($after: Int) { transferEvents(afterSequence: $after) { sequence phase letterId to { code } member { id } } }";
        let message = json!({ "id": "1", "type": "subscribe", "payload": { "query": query, "variables": { "after": feed_head(&app).await } } });
        socket.send(Message::Text(message.to_string().into())).await.expect("subscribe");

        let issued = app.graphql_as(&sender, ISSUE, letter_input("sub-letter", &seeded.bl_member, "S-1")).await;
        let letter_id = issued["data"]["issueLetter"]["letter"]["id"].clone();
        let received = app
            .graphql_as(&receiver, RECEIVE, json!({ "input": { "letterId": letter_id, "cellCode": "TD.HG.R1" } }))
            .await;
        assert!(received.get("errors").is_none(), "{received}");
        let mut heard = Vec::new();
        for _ in 0..2 {
            let message = next_message(&mut socket).await.expect("an event");
            let event = message["payload"]["data"]["transferEvents"].clone();
            assert_eq!(event["letterId"], letter_id, "{message}");
            assert_eq!(event["member"]["id"], json!(seeded.bl_member));
            heard.push((event["phase"].clone(), event["to"]["code"].clone(), event["sequence"].as_i64().expect("seq")));
        }
        assert_eq!((heard[0].0.clone(), heard[0].1.clone()), (json!("DEPARTED"), json!("TD.HG")));
        assert_eq!((heard[1].0.clone(), heard[1].1.clone()), (json!("ARRIVED"), json!("TD.HG.R1")));
        assert!(heard[0].2 < heard[1].2, "in order: {heard:?}");
    }
}
