//! The graceful stop. On SIGTERM or SIGINT the server stops accepting
//! connections and waits, up to the shutdown timeout, for the connections it
//! has to end. A keep-alive connection would never end by itself while its
//! client keeps sending: actix goes on serving it, and cuts whatever request
//! is in flight when the timeout strikes. So once stopping, every answer
//! closes its connection, and open subscriptions are completed; then the
//! connections end soon after their current answer.

use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::ConnectionType;
use actix_web::middleware::Next;
use actix_web::web;
use tokio::sync::watch;

use crate::state::AppState;

/// Whether the server is stopping; set once, seen by every worker.
#[derive(Debug, Clone)]
pub struct Stopping {
    flag: Arc<watch::Sender<bool>>,
}

impl Default for Stopping {
    fn default() -> Self {
        Self {
            flag: Arc::new(watch::Sender::new(false)),
        }
    }
}

impl Stopping {
    /// Marks the server as stopping.
    pub fn begin(&self) {
        self.flag.send_replace(true);
    }

    pub fn is_stopping(&self) -> bool {
        *self.flag.borrow()
    }

    /// Resolves once the server is stopping.
    pub async fn begun(&self) {
        let mut watching = self.flag.subscribe();
        // The sender lives as long as `self`, so this cannot fail.
        let _ = watching.wait_for(|stopping| *stopping).await;
    }
}

/// Waits for SIGTERM or SIGINT and names it.
pub async fn signal() -> std::io::Result<&'static str> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut terminate = signal(SignalKind::terminate())?;
        let mut interrupt = signal(SignalKind::interrupt())?;
        tokio::select! {
            _ = terminate.recv() => Ok("SIGTERM"),
            _ = interrupt.recv() => Ok("SIGINT"),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await?;
        Ok("Ctrl-C")
    }
}

/// Middleware: once the server is stopping, each answer closes its
/// connection, so that no keep-alive connection brings a new request.
pub async fn close_connections_when_stopping(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let stopping = req
        .app_data::<web::Data<AppState>>()
        .map(|state| state.stopping.clone());
    let mut response = next.call(req).await?;
    if stopping.is_some_and(|stopping| stopping.is_stopping()) {
        response
            .response_mut()
            .head_mut()
            .set_connection_type(ConnectionType::Close);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn stopping_is_seen_by_every_clone() {
        let stopping = Stopping::default();
        let seen_by = stopping.clone();
        assert!(!seen_by.is_stopping());
        let waiter = tokio::spawn(async move { seen_by.begun().await });
        stopping.begin();
        tokio::time::timeout(std::time::Duration::from_secs(5), waiter)
            .await
            .expect("the waiter wakes")
            .expect("the waiter ends");
        assert!(stopping.is_stopping());
    }
}
