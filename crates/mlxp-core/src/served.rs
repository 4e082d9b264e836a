//! The model versions the routes send traffic to: which version a backend is, what it
//! serves, and whether that holds to its Model's limits. Decided here for the Overview, the
//! Serving view, its detail pane, the alerts and `mlxp get`.

use crate::domain::objects::HttpRoute;
use crate::domain::serving::{Health, Limits, health, splits};
use crate::metrics::{MetricsFrame, VersionTraffic};
use crate::snapshot::Snapshot;

/// The model a route carries: its `mlxp.io/model` label, else its name.
pub fn model_of(route: &HttpRoute) -> &str {
    route
        .meta
        .label("mlxp.io/model")
        .unwrap_or(&route.meta.name)
}

/// The version a route's backend serves: its Deployment's `mlxp.io/version` label, else the
/// backend's name without the model's.
pub fn version_of(snapshot: &Snapshot, namespace: &str, model: &str, backend: &str) -> String {
    snapshot
        .deployments
        .get(namespace, backend)
        .and_then(|d| d.meta.label("mlxp.io/version").map(String::from))
        .unwrap_or_else(|| backend.trim_start_matches(&format!("{model}-")).to_string())
}

/// What the frame measured of a version.
pub fn traffic_of<'a>(
    metrics: &'a MetricsFrame,
    model: &str,
    version: &str,
) -> Option<&'a VersionTraffic> {
    metrics
        .traffic
        .iter()
        .find(|t| t.model == model && t.version == version)
}

/// A served version against its Model's limits; None without metrics (nothing measured,
/// which is not "no traffic").
pub fn version_health(
    snapshot: &Snapshot,
    metrics: Option<&MetricsFrame>,
    namespace: &str,
    model: &str,
    version: &str,
) -> Option<Health> {
    let served = traffic_of(metrics?, model, version).map(VersionTraffic::served);
    let limits = snapshot
        .models
        .get(namespace, model)
        .map(|m| Limits::of(m))
        .unwrap_or_default();
    Some(health(served.as_ref(), limits))
}

/// A version that takes traffic (a weight above 0).
#[derive(Debug, Clone, PartialEq)]
pub struct ServedVersion {
    pub namespace: String,
    pub model: String,
    pub version: String,
    pub weight: i32,
    pub share: f64,
    pub traffic: Option<VersionTraffic>,
    /// Against its Model's limits (None without metrics).
    pub health: Option<Health>,
}

impl ServedVersion {
    pub fn failing(&self) -> bool {
        self.health.as_ref().is_some_and(Health::failing)
    }
}

/// Every version with a weight, route by route.
pub fn served_versions(snapshot: &Snapshot, metrics: Option<&MetricsFrame>) -> Vec<ServedVersion> {
    let mut served = Vec::new();
    for route in snapshot.routes.values() {
        let namespace = route.meta.namespace.as_str();
        let model = model_of(route);
        for split in splits(route).into_iter().filter(|s| s.weight > 0) {
            let version = version_of(snapshot, namespace, model, &split.backend);
            served.push(ServedVersion {
                namespace: namespace.to_string(),
                model: model.to_string(),
                traffic: metrics.and_then(|m| traffic_of(m, model, &version).cloned()),
                health: version_health(snapshot, metrics, namespace, model, &version),
                version,
                weight: split.weight,
                share: split.share,
            });
        }
    }
    served
}
