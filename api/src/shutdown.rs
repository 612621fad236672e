//! The graceful stop. Two causes cut requests in flight with actix's own:
//! a keep-alive connection never ends while its client keeps sending (actix
//! goes on serving it, and cuts whatever request is in flight when the
//! timeout strikes), and actix-server stops its accept thread before telling
//! the workers to drain, so a worker that sees its connection channel close
//! first ends at once, dropping its requests. So cellreg drains first: on
//! SIGTERM or SIGINT it stops accepting, answers every request it has read,
//! each with `Connection: close`, and completes open subscriptions; only
//! once no request is in flight (or the timeout has passed) does it stop
//! actix, which then has only idle connections left to close.

use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::ConnectionType;
use actix_web::middleware::Next;
use actix_web::web;
use tokio::sync::watch;

/// Whether the server is stopping (set once, seen by every worker), and
/// how many requests are in flight.
#[derive(Debug, Clone)]
pub struct Stopping {
    flag: Arc<watch::Sender<bool>>,
    in_flight: Arc<watch::Sender<usize>>,
}

impl Default for Stopping {
    fn default() -> Self {
        Self {
            flag: Arc::new(watch::Sender::new(false)),
            in_flight: Arc::new(watch::Sender::new(0)),
        }
    }
}

/// One request in flight, from when it is read until its answer is ready.
pub struct InFlight(Arc<watch::Sender<usize>>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.send_modify(|count| *count -= 1);
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

    /// Counts a request in flight until the guard is dropped.
    pub fn request_started(&self) -> InFlight {
        self.in_flight.send_modify(|count| *count += 1);
        InFlight(self.in_flight.clone())
    }

    /// Resolves once no request is in flight.
    pub async fn drained(&self) {
        let mut watching = self.in_flight.subscribe();
        let _ = watching.wait_for(|count| *count == 0).await;
    }

    /// Resolves once no request has been in flight for `quiet`: a request
    /// already on its way over an idle keep-alive connection is read and
    /// answered (closing it) rather than cut by the stop that follows.
    pub async fn settled(&self, quiet: std::time::Duration) {
        loop {
            self.drained().await;
            tokio::time::sleep(quiet).await;
            if *self.in_flight.borrow() == 0 {
                return;
            }
        }
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

/// Middleware: counts the requests in flight, and once the server is
/// stopping, each answer closes its connection, so that no keep-alive
/// connection brings a new request.
pub async fn close_connections_when_stopping(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let stopping = req
        .app_data::<web::Data<Stopping>>()
        .map(|stopping| Stopping::clone(stopping));
    let _in_flight = stopping.as_ref().map(Stopping::request_started);
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

    #[tokio::test]
    async fn drained_waits_for_every_request_in_flight() {
        let stopping = Stopping::default();
        let first = stopping.request_started();
        let second = stopping.request_started();
        let waiter = tokio::spawn({
            let stopping = stopping.clone();
            async move { stopping.drained().await }
        });
        drop(first);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(!waiter.is_finished(), "one request is still in flight");
        drop(second);
        tokio::time::timeout(std::time::Duration::from_secs(5), waiter)
            .await
            .expect("drained once none is in flight")
            .expect("the waiter ends");
    }
}
