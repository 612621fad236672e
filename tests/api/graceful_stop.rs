//! A stop answers what it started: SIGTERM or SIGINT to the real process
//! while integration scripts stream transfer batches over keep-alive
//! connections. Every request the server began is answered; a request left
//! without an answer applied nothing (a retry with its keys finds no
//! DUPLICATE); the process exits 0 well within its shutdown timeout.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::helpers::{Fixture, TestApp, TestDatabase};
use crate::process::ServerProcess;

const CLIENTS: usize = 4;
const BATCH: usize = 20;

/// Each client's own members, so that clients do not contend for them.
fn national_id(client: usize, item: usize) -> String {
    format!("0010800{:05}", 100 + client * BATCH + item)
}

/// Batch `round` of a client: all its members to the other residential cell.
fn batch(client: usize, round: usize) -> Value {
    let to = if round % 2 == 0 {
        "SL.YT.R1"
    } else {
        "SL.BL.R1"
    };
    let events: Vec<Value> = (0..BATCH)
        .map(|item| {
            json!({ "externalId": format!("stop-{client}-{round}-{item}"),
                    "memberNationalId": national_id(client, item),
                    "toOrganizationCode": to, "reason": "RELOCATION" })
        })
        .collect();
    json!({ "events": events })
}

/// What one client saw of its requests.
#[derive(Default)]
struct Seen {
    /// Requests answered 200, with how many of their items were applied.
    answered: Vec<(Instant, Instant, usize)>,
    /// Requests that got no answer (refused, reset or cut): when each was
    /// sent, what the client saw, and the request.
    unanswered: Vec<(Instant, String, Value)>,
}

/// Streams batches until a request gets no answer (or a minute passes).
async fn stream_batches(
    client: usize,
    url: String,
    token: String,
    two_answered: Arc<Notify>,
) -> Seen {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("HTTP client");
    let mut seen = Seen::default();
    let began = Instant::now();
    for round in 0.. {
        if began.elapsed() > Duration::from_secs(60) {
            break;
        }
        let body = batch(client, round);
        let sent = Instant::now();
        let answer = match http.post(&url).bearer_auth(&token).json(&body).send().await {
            Ok(response) => response
                .json::<Value>()
                .await
                .map_err(|err| format!("{err:?}")),
            Err(err) => Err(format!("{err:?}")),
        };
        let answer = match answer {
            Ok(answer) => answer,
            Err(err) => {
                seen.unanswered.push((sent, err, body));
                break;
            }
        };
        let results = answer["results"].as_array().expect("per-item results");
        assert_eq!(results.len(), BATCH, "{answer}");
        let applied = results.iter().filter(|r| r["status"] == "APPLIED").count();
        seen.answered.push((sent, Instant::now(), applied));
        if seen.answered.len() == 2 {
            two_answered.notify_one();
        }
    }
    seen
}

async fn stop_while_streaming(database: TestDatabase, signal: &str) {
    // The organizations and members, made through the API of an in-process server.
    let setup = TestApp::spawn(database.config()).await;
    setup.seed_district().await;
    for client in 0..CLIENTS {
        for item in 0..BATCH {
            setup
                .register_member(&national_id(client, item), "SL.BL.R1", Some("SL.BL.R1"))
                .await;
        }
    }
    let token = setup.admin_token().to_owned();
    setup.tear_down().await;

    let mut server = ServerProcess::serve(
        &database,
        &[
            ("CELLREG_SHUTDOWN_TIMEOUT", "20s"),
            ("CELLREG_MUTATIONS_PER_MINUTE", "0"),
        ],
    );
    let url = server.url("/api/v1/transfer-events");
    let mut clients = Vec::new();
    let mut ready = Vec::new();
    for client in 0..CLIENTS {
        let two_answered = Arc::new(Notify::new());
        ready.push(two_answered.clone());
        clients.push(tokio::spawn(stream_batches(
            client,
            url.clone(),
            token.clone(),
            two_answered,
        )));
    }
    for two_answered in ready {
        two_answered.notified().await;
    }
    let signalled = Instant::now();
    server.signal(signal);
    let status = server.wait(Duration::from_secs(15)).await;
    let stopped_after = signalled.elapsed();
    let mut seen = Vec::new();
    for client in clients {
        seen.push(client.await.expect("client task"));
    }
    assert!(status.success(), "exit status {status}");
    assert!(
        server
            .logs()
            .iter()
            .any(|line| line.contains("cellreg stopped")),
        "the pool was closed and the stop logged"
    );
    let panics: Vec<String> = server
        .logs()
        .into_iter()
        .filter(|line| line.contains("panicked at"))
        .collect();
    assert!(
        panics.is_empty(),
        "a worker dropped its requests: {panics:?}"
    );

    let in_flight_answered = seen
        .iter()
        .flat_map(|s| &s.answered)
        .filter(|(sent, answered, _)| *sent < signalled && *answered > signalled)
        .count();
    let applied: usize = seen.iter().flat_map(|s| &s.answered).map(|a| a.2).sum();
    assert!(applied > 0, "the batches applied transfers");
    assert!(
        in_flight_answered > 0,
        "the requests in flight at the signal were answered"
    );

    // A retry of every unanswered request: none of its items had been applied.
    let check = TestApp::spawn(database.config()).await;
    for (sent, err, body) in seen.iter().flat_map(|s| &s.unanswered) {
        let answer: Value = check
            .client()
            .post(check.url("/api/v1/transfer-events"))
            .bearer_auth(check.admin_token())
            .json(body)
            .send()
            .await
            .expect("retry")
            .json()
            .await
            .expect("retry answer");
        let duplicates = answer["results"]
            .as_array()
            .expect("per-item results")
            .iter()
            .filter(|r| r["status"] == "DUPLICATE")
            .count();
        assert_eq!(
            duplicates,
            0,
            "a request sent {:?} after SIG{signal} was cut after applying {duplicates} of its items \
             (the server stopped {stopped_after:?} after it): {err}",
            sent.saturating_duration_since(signalled)
        );
    }
    check.tear_down().await;
}

on_both_backends! {
    async fn sigterm_answers_every_request_it_began(database: TestDatabase) {
        stop_while_streaming(database, "TERM").await;
    }
}

on_both_backends! {
    async fn sigint_answers_every_request_it_began(database: TestDatabase) {
        stop_while_streaming(database, "INT").await;
    }
}

/// The next frame that is not a ping, within ten seconds.
async fn next_frame<S>(socket: &mut S) -> Message
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("a frame in time")
            .expect("the socket is open")
            .expect("a frame");
        match &frame {
            Message::Ping(_) | Message::Pong(_) => continue,
            Message::Text(text) if text.contains("\"ping\"") => continue,
            _ => return frame,
        }
    }
}

on_both_backends! {
    async fn sigterm_completes_open_subscriptions(database: TestDatabase) {
        let mut server = ServerProcess::serve(&database, &[]);
        let url = server.url("/graphql").replacen("http://", "ws://", 1);
        let mut request = url.into_client_request().expect("request");
        request
            .headers_mut()
            .insert("sec-websocket-protocol", "graphql-transport-ws".parse().expect("header"));
        let (mut socket, _) = tokio_tungstenite::connect_async(request).await.expect("websocket");
        let token = crate::helpers::token_for(api::auth::Role::Admin, None);
        let init = json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } });
        socket.send(Message::Text(init.to_string().into())).await.expect("init");
        let ack = next_frame(&mut socket).await;
        assert!(ack.to_text().expect("text").contains("connection_ack"), "{ack:?}");
        for id in ["feed-1", "feed-2"] {
            let subscribe = json!({ "id": id, "type": "subscribe",
                                    "payload": { "query": "subscription { transferEvents { sequence } }" } });
            socket.send(Message::Text(subscribe.to_string().into())).await.expect("subscribe");
        }
        // Both subscriptions are running before the stop.
        tokio::time::sleep(Duration::from_millis(400)).await;

        server.signal("TERM");
        let mut completed = Vec::new();
        let close = loop {
            match next_frame(&mut socket).await {
                Message::Text(text) => {
                    let frame: Value = serde_json::from_str(&text).expect("JSON");
                    assert_eq!(frame["type"], "complete", "{frame}");
                    completed.push(frame["id"].as_str().expect("id").to_owned());
                }
                Message::Close(close) => break close,
                other => panic!("unexpected frame {other:?}"),
            }
        };
        completed.sort();
        assert_eq!(completed, ["feed-1", "feed-2"], "each open subscription completed");
        let close = close.expect("a close frame");
        assert_eq!(u16::from(close.code), 1001, "going away: {close:?}");
        let status = server.wait(Duration::from_secs(15)).await;
        assert!(status.success(), "exit status {status}");
    }
}
