//! The counters the domain bumps as things happen. A leaf of the house: it
//! imports nothing of the service, so the error type, the limits and the unit
//! of work can count without depending on the metrics endpoint. Codes come as
//! their names (`ErrorCode::as_str`).

use metrics::counter;

pub(super) const MUTATIONS: &str = "cellreg_mutations_total";
pub(super) const TRANSFERS: &str = "cellreg_transfers_total";
pub(super) const RATE_LIMITED: &str = "cellreg_rate_limited_total";
pub(super) const POOL_ACQUIRE_TIMEOUTS: &str = "cellreg_db_pool_acquire_timeouts_total";

/// A mutation's unit of work ended: ALLOWED, DENIED or FAILED, with its code.
pub fn mutation_done(action: &'static str, outcome: &'static str, code: Option<&'static str>) {
    counter!(MUTATIONS, "action" => action, "outcome" => outcome, "code" => code.unwrap_or("none"))
        .increment(1);
}

/// A transfer was answered: APPLIED, DUPLICATE or REJECTED with its code.
pub fn transfer_done(outcome: &'static str, code: Option<&'static str>) {
    counter!(TRANSFERS, "outcome" => outcome, "code" => code.unwrap_or("none")).increment(1);
}

/// A request was refused by a per-caller limit (`mutations`,
/// `auth_failures`, `subscriptions`, `websockets`).
pub fn rate_limited(limit: &'static str) {
    counter!(RATE_LIMITED, "limit" => limit).increment(1);
}

/// A request gave up waiting for a database connection.
pub fn pool_acquire_timed_out() {
    counter!(POOL_ACQUIRE_TIMEOUTS).increment(1);
}
