//! How each watched kind is doing, for the views' banners and the health line.

use chrono::{DateTime, Utc};

#[derive(Debug, Clone, PartialEq, Default)]
pub enum SourceState {
    /// Listing for the first time.
    #[default]
    Syncing,
    /// Listed, and watching.
    Synced,
    /// The API does not serve this kind (no Kueue, no Gateway API CRDs …).
    NotInstalled,
    /// RBAC does not let us list it.
    Forbidden,
    /// Lost: the data shown is what was last seen; reconnecting with backoff.
    Failing,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct SourceStatus {
    pub state: SourceState,
    /// When the last list or watch event arrived.
    pub last_event: Option<DateTime<Utc>>,
    /// Since when it has been failing (the "stale since" of the banner).
    pub failing_since: Option<DateTime<Utc>>,
    /// What went wrong last, as the API or the connection said it.
    pub error: Option<String>,
    /// Lists made so far (the first, and each relist after a 410 or a reconnect).
    pub lists: u32,
    /// Watch events received so far.
    pub events: u64,
}

impl SourceStatus {
    pub fn synced(&self) -> bool {
        self.state == SourceState::Synced
    }
}

/// Whether the API server answers at all, by a liveness probe apart from the watches: a
/// hung server (a frozen proxy, a dead node behind a load balancer) keeps a watch open and
/// silent, so a watch alone cannot tell "nothing changed" from "nobody is there".
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Reachability {
    /// Not probed yet.
    #[default]
    Unknown,
    Answering,
    /// The probe failed or timed out: everything shown is what was last seen.
    Silent,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ApiStatus {
    pub reachability: Reachability,
    /// When it stopped answering.
    pub silent_since: Option<DateTime<Utc>>,
    /// Why, named as kubectl would (`x509: …`, `Unauthorized`, `connection refused`).
    pub cause: Option<String>,
    /// The last time it answered the probe.
    pub last_answer: Option<DateTime<Utc>>,
    /// Times the credentials were read again from the kubeconfig after a TLS or 401 error.
    pub credential_reloads: u32,
}

impl ApiStatus {
    pub fn silent(&self) -> bool {
        self.reachability == Reachability::Silent
    }
}
