//! The state every request handler shares.

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::auth::jwt::JwtVerifier;
use crate::auth::rate::{RateLimits, SubscriptionSlots, WebSocketSlots};
use crate::config::Config;
use crate::shutdown::Stopping;

/// Cloned into each worker; holds nothing per request.
#[derive(Clone)]
pub struct AppState {
    /// The connection pool.
    pub db: DatabaseConnection,
    /// The configuration the server was started with.
    pub config: Arc<Config>,
    /// Verifies bearer tokens.
    pub verifier: Arc<JwtVerifier>,
    /// Mutations per subject and failed authentications per address.
    pub rate_limits: Arc<RateLimits>,
    /// Subscriptions open per subject.
    pub subscriptions: Arc<SubscriptionSlots>,
    /// WebSockets open per client address.
    pub websockets: Arc<WebSocketSlots>,
    /// Set when the server begins its graceful stop.
    pub stopping: Stopping,
}
