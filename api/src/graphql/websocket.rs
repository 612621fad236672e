//! One subscription WebSocket's life. async-graphql speaks the protocol
//! (graphql-transport-ws, and the older graphql-ws); this module holds the
//! socket to the server's rules: it must authenticate within the init
//! timeout (else 4408), it is closed when its token expires (4403), and it
//! is dropped when its client stops answering pings. Whatever ends it, its
//! per-address slot is given back when its task ends.

use std::pin::pin;
use std::str::FromStr;
use std::time::Duration;

use actix_web::HttpRequest;
use actix_ws::{
    AggregatedMessage, AggregatedMessageStream, CloseCode, CloseReason, ProtocolError, Session,
};
use async_graphql::futures_util::{StreamExt, stream};
use async_graphql::http::{WebSocket, WebSocketProtocols, WsMessage};
use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::Pipeline;
use crate::auth::extract::{Origin, authenticate_token, token_from_init_payload};
use crate::auth::rate::WebSocketSlot;
use crate::error::AppError;
use crate::state::AppState;

/// How often the server pings the client.
const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(5);
/// A client silent for longer (not even a pong) is gone: its socket is dropped.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(10);
/// Client messages waiting for the protocol engine; when full, reading pauses.
const INBOX: usize = 16;

/// graphql-transport-ws close codes.
const INVALID_MESSAGE: u16 = 4400;
const UNAUTHORIZED: u16 = 4401;
const FORBIDDEN: u16 = 4403;
const INIT_TIMEOUT: u16 = 4408;

/// The protocol the client asks for (the first one offered that is known);
/// without one the upgrade is refused.
pub fn protocol(req: &HttpRequest) -> Result<WebSocketProtocols, AppError> {
    req.headers()
        .get("sec-websocket-protocol")
        .and_then(|value| value.to_str().ok())
        .and_then(|offered| {
            offered
                .split(',')
                .find_map(|name| WebSocketProtocols::from_str(name.trim()).ok())
        })
        .ok_or_else(|| {
            AppError::BadInput(
                "Sec-WebSocket-Protocol must offer graphql-transport-ws or graphql-ws".to_owned(),
            )
        })
}

/// An accepted upgrade, ready to be served.
pub struct Connection {
    pub pipeline: Pipeline,
    pub state: AppState,
    pub origin: Origin,
    pub protocol: WebSocketProtocols,
    pub session: Session,
    pub messages: AggregatedMessageStream,
    /// Held until the socket's task ends.
    pub slot: Option<WebSocketSlot>,
}

/// What the `connection_init` payload's token came to.
enum Authentication {
    Accepted { expires_at: DateTime<Utc> },
    Refused,
}

/// The moment the socket is closed unless something changes it first: the
/// end of the init timeout, then the token's expiry.
struct Deadline {
    at: Instant,
    code: u16,
    reason: &'static str,
}

impl Deadline {
    fn close(&self) -> CloseReason {
        close(self.code, self.reason)
    }
}

fn close(code: u16, reason: impl Into<String>) -> CloseReason {
    CloseReason {
        code: CloseCode::from(code),
        description: Some(reason.into()),
    }
}

/// The tokio instant of a wall-clock time (now, if it has passed).
fn instant_of(at: DateTime<Utc>) -> Instant {
    Instant::now() + (at - Utc::now()).to_std().unwrap_or_default()
}

/// Serves the socket until it ends, then closes it with the reason, if any
/// (a vanished client gets no close frame). The slot is given back only once
/// the connection itself has ended, so it counts every descriptor held.
pub async fn serve(connection: Connection) {
    let Connection {
        pipeline,
        state,
        origin,
        protocol,
        mut session,
        mut messages,
        slot,
    } = connection;
    let init_timeout = state.config.ws_init_timeout;
    let stopping = state.stopping.clone();
    let (inbox, mut inbox_rx) = mpsc::channel(INBOX);
    let (authenticated, authentication) = oneshot::channel();
    let engine = WebSocket::new(
        pipeline,
        stream::poll_fn(move |cx| inbox_rx.poll_recv(cx)),
        protocol,
    )
    .on_connection_init(move |payload| authenticate(state, origin, payload, authenticated));
    let ending = run(
        &mut session,
        &mut messages,
        pin!(engine),
        inbox,
        authentication,
        protocol,
        init_timeout,
        stopping,
    )
    .await;
    match ending {
        Some(reason) => {
            tracing::debug!(code = ?reason.code, reason = ?reason.description, "closing the WebSocket");
            let _ = tokio::time::timeout(CLIENT_TIMEOUT, session.close(Some(reason))).await;
        }
        None => drop(session),
    }
    // Without a session the response ends; the connection closes once it is
    // flushed, and then the client's side of it ends too.
    while messages.next().await.is_some() {}
    drop(slot);
}

/// Whether the client took the frame in time; one that does not is gone.
async fn delivered(send: impl Future<Output = Result<(), actix_ws::Closed>>) -> bool {
    matches!(tokio::time::timeout(CLIENT_TIMEOUT, send).await, Ok(Ok(())))
}

/// The `connection_init` callback: the token must verify like a bearer
/// header; the loop learns its expiry (or the refusal) before the answer goes out.
async fn authenticate(
    state: AppState,
    origin: Origin,
    payload: serde_json::Value,
    authenticated: oneshot::Sender<Authentication>,
) -> async_graphql::Result<async_graphql::Data> {
    let token = token_from_init_payload(&payload);
    match authenticate_token(&state, token, origin).await {
        Ok(caller) => {
            let _ = authenticated.send(Authentication::Accepted {
                expires_at: caller.expires_at,
            });
            let mut data = async_graphql::Data::default();
            data.insert(caller);
            data.insert(super::loaders::uncached_loaders(state.db.clone()));
            Ok(data)
        }
        Err(err) => {
            let _ = authenticated.send(Authentication::Refused);
            Err(async_graphql::Error::new(err.to_string()))
        }
    }
}

/// The type and id of a protocol frame, either way.
#[derive(serde::Deserialize)]
struct Frame {
    #[serde(rename = "type")]
    kind: String,
    id: Option<String>,
}

/// The operations open on the socket, followed from the frames both ways,
/// so that a stopping server can complete each of them.
#[derive(Default)]
struct OpenOperations(std::collections::BTreeSet<String>);

impl OpenOperations {
    fn follow_client(&mut self, frame: &[u8]) {
        if let Ok(Frame { kind, id: Some(id) }) = serde_json::from_slice(frame) {
            match kind.as_str() {
                // graphql-transport-ws, then the older graphql-ws.
                "subscribe" | "start" => {
                    self.0.insert(id);
                }
                "complete" | "stop" => {
                    self.0.remove(&id);
                }
                _ => {}
            }
        }
    }

    fn follow_server(&mut self, frame: &str) {
        if let Ok(Frame { kind, id: Some(id) }) = serde_json::from_str(frame)
            && matches!(kind.as_str(), "complete" | "error")
        {
            self.0.remove(&id);
        }
    }
}

/// The socket's loop: client frames into the protocol engine, its answers
/// out, the deadline and the heartbeat in between. Returns how to close.
#[allow(clippy::too_many_arguments)]
async fn run<E>(
    session: &mut Session,
    messages: &mut AggregatedMessageStream,
    mut engine: std::pin::Pin<&mut E>,
    inbox: mpsc::Sender<actix_web::web::Bytes>,
    mut authentication: oneshot::Receiver<Authentication>,
    protocol: WebSocketProtocols,
    init_timeout: Duration,
    stopping: crate::shutdown::Stopping,
) -> Option<CloseReason>
where
    E: async_graphql::futures_util::Stream<Item = WsMessage>,
{
    let mut deadline = Deadline {
        at: Instant::now() + init_timeout,
        code: INIT_TIMEOUT,
        reason: "Connection initialisation timeout",
    };
    let mut refused = false;
    let mut timer = pin!(tokio::time::sleep_until(deadline.at));
    let mut heartbeat =
        tokio::time::interval_at(Instant::now() + HEARTBEAT_INTERVAL, HEARTBEAT_INTERVAL);
    let mut last_heard = Instant::now();
    let mut open = OpenOperations::default();
    let mut stop = pin!(stopping.begun());
    loop {
        tokio::select! {
            () = &mut timer => return Some(deadline.close()),
            // The server is stopping: each open operation is completed, then
            // the socket closed, so that clients know to resubscribe elsewhere.
            () = &mut stop => {
                for id in std::mem::take(&mut open.0) {
                    let complete = serde_json::json!({ "id": id, "type": "complete" });
                    if !delivered(session.text(complete.to_string())).await {
                        return None;
                    }
                }
                return Some(close(u16::from(CloseCode::Away), "server is stopping"));
            }
            // Read only what the engine has room for: a flood waits in TCP, not here.
            message = messages.next(), if inbox.capacity() > 0 => {
                last_heard = Instant::now();
                let bytes = match message {
                    Some(Ok(AggregatedMessage::Text(text))) => text.into_bytes(),
                    Some(Ok(AggregatedMessage::Binary(bytes))) => bytes,
                    Some(Ok(AggregatedMessage::Ping(bytes))) => {
                        if !delivered(session.pong(&bytes)).await {
                            return None;
                        }
                        continue;
                    }
                    Some(Ok(AggregatedMessage::Pong(_))) => continue,
                    Some(Ok(AggregatedMessage::Close(_))) => return Some(CloseCode::Normal.into()),
                    Some(Err(err)) => {
                        let code = match err {
                            ProtocolError::Overflow => CloseCode::Size,
                            _ => CloseCode::Protocol,
                        };
                        return Some(CloseReason { code, description: Some(err.to_string()) });
                    }
                    None => return None,
                };
                open.follow_client(&bytes);
                if inbox.try_send(bytes).is_err() {
                    return None;
                }
            }
            answer = engine.next() => {
                // The engine has just run the init callback if this is its answer to it.
                if let Ok(outcome) = authentication.try_recv() {
                    match outcome {
                        Authentication::Accepted { expires_at } => {
                            deadline = Deadline {
                                at: instant_of(expires_at),
                                code: FORBIDDEN,
                                reason: "token expired",
                            };
                            timer.as_mut().reset(deadline.at);
                        }
                        Authentication::Refused => refused = true,
                    }
                }
                match answer {
                    // Nothing goes out past the deadline, however close the race.
                    Some(WsMessage::Text(_)) if Instant::now() >= deadline.at => {
                        return Some(deadline.close());
                    }
                    Some(WsMessage::Text(text)) => {
                        open.follow_server(&text);
                        if !delivered(session.text(text)).await {
                            return None;
                        }
                    }
                    Some(WsMessage::Close(code, reason)) => {
                        return Some(close(close_code(protocol, code, refused), reason));
                    }
                    None if refused => return Some(close(FORBIDDEN, "Forbidden")),
                    None => return Some(CloseCode::Normal.into()),
                }
            }
            _ = heartbeat.tick() => {
                if last_heard.elapsed() > CLIENT_TIMEOUT {
                    tracing::debug!("WebSocket client stopped answering pings");
                    return None;
                }
                if !delivered(session.ping(b"")).await {
                    return None;
                }
            }
        }
    }
}

/// graphql-transport-ws close codes for async-graphql's generic ones: a
/// refused `connection_init` is 4403, a subscription before it 4401, a
/// message that is not the protocol's 4400. The older protocol keeps its codes.
fn close_code(protocol: WebSocketProtocols, code: u16, refused: bool) -> u16 {
    if protocol != WebSocketProtocols::GraphQLWS {
        return code;
    }
    match code {
        _ if refused => FORBIDDEN,
        // async-graphql: "The handshake is not completed."
        1011 => UNAUTHORIZED,
        // async-graphql: a message it could not parse.
        1002 => INVALID_MESSAGE,
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn library_close_codes_become_graphql_transport_ws_ones() {
        let current = WebSocketProtocols::GraphQLWS;
        assert_eq!(close_code(current, 1002, true), FORBIDDEN);
        assert_eq!(close_code(current, 1002, false), INVALID_MESSAGE);
        assert_eq!(close_code(current, 1011, false), UNAUTHORIZED);
        assert_eq!(close_code(current, 4429, false), 4429);
        let legacy = WebSocketProtocols::SubscriptionsTransportWS;
        assert_eq!(close_code(legacy, 1002, false), 1002);
    }

    #[test]
    fn a_past_expiry_is_due_now() {
        let before = Instant::now();
        assert!(instant_of(Utc::now() - chrono::Duration::seconds(30)) <= Instant::now());
        assert!(instant_of(Utc::now() + chrono::Duration::seconds(30)) > before);
    }
}
