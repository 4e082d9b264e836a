//! The alerts: what needs a person now, decided once from a snapshot and a metrics frame,
//! and what cannot be known (so that nothing is called "all clear" while blind). The
//! Overview's Alerts panel and `mlxp get alerts` show these values and their texts.

mod unknown;

use std::fmt;

use serde::Serialize;

use crate::domain::cost::{PriceTable, dollars};
use crate::domain::serving::{Breach, Health};
use crate::domain::training::{JobState, job_state};
use crate::gpus::{hourly_price, idle_allocated};
use crate::kinds::KindName;
use crate::metrics::MetricsFrame;
use crate::served::served_versions;
use crate::snapshot::Snapshot;

pub use unknown::{Unknown, unknowns};

/// A ClusterQueue using this share of its GPU nominal quota or more is under pressure: the
/// next Job asking for GPUs is likely to wait. Summed over its flavors, as Kueue falls back
/// from a full flavor to the next.
pub const QUOTA_PRESSURE_AT: f64 = 0.9;

/// Names an alert's text lists before "+N more".
const NAMED: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Broken or paid for and wasted: act now.
    Critical,
    /// Worth a look: it may become critical, or costs money quietly.
    Warning,
}

impl Severity {
    pub fn label(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::Warning => "warning",
        }
    }
}

/// One alert with its figures (serialised as they are, for scripts).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Alert {
    /// GPUs held by pods and doing (almost) nothing; `pods` as namespace/name.
    IdleAllocated {
        gpus: usize,
        per_hour: f64,
        pods: Vec<String>,
    },
    /// A version that takes traffic and is over its Model's error or p99 limit.
    FailingVersion {
        namespace: String,
        model: String,
        version: String,
        breaches: Vec<Breach>,
    },
    /// Jobs failed for good, as namespace/name.
    FailedJobs { jobs: Vec<String> },
    /// A version whose live drift is over its Model's threshold.
    Drift {
        namespace: String,
        model: String,
        version: String,
        drift: f64,
        threshold: f64,
    },
    /// GPUs no pod holds on nodes that are up, and so billed.
    FreeOnBilledNodes { gpus: i64, per_hour: f64 },
    /// A Validated version that waits for a person's approval before it takes traffic.
    AwaitingApproval {
        namespace: String,
        model: String,
        version: String,
    },
    /// A ClusterQueue at `QUOTA_PRESSURE_AT` of its GPU nominal quota or more.
    QuotaPressure {
        queue: String,
        used: i64,
        quota: i64,
        share: f64,
    },
}

impl Alert {
    /// Its name for scripts.
    pub fn kind(&self) -> &'static str {
        match self {
            Alert::IdleAllocated { .. } => "idle_allocated",
            Alert::FailingVersion { .. } => "failing_version",
            Alert::FailedJobs { .. } => "failed_jobs",
            Alert::Drift { .. } => "drift",
            Alert::FreeOnBilledNodes { .. } => "free_on_billed_nodes",
            Alert::QuotaPressure { .. } => "quota_pressure",
            Alert::AwaitingApproval { .. } => "awaiting_approval",
        }
    }

    pub fn severity(&self) -> Severity {
        match self {
            Alert::IdleAllocated { .. }
            | Alert::FailingVersion { .. }
            | Alert::FailedJobs { .. } => Severity::Critical,
            Alert::Drift { .. }
            | Alert::FreeOnBilledNodes { .. }
            | Alert::QuotaPressure { .. }
            | Alert::AwaitingApproval { .. } => Severity::Warning,
        }
    }

    /// The namespace of the one object it is about; None when it is cluster-wide.
    pub fn namespace(&self) -> Option<&str> {
        match self {
            Alert::FailingVersion { namespace, .. }
            | Alert::Drift { namespace, .. }
            | Alert::AwaitingApproval { namespace, .. } => Some(namespace),
            _ => None,
        }
    }
}

/// The first few names, and how many more: "a, b, c, +2 more".
fn named(names: &[String]) -> String {
    let mut text = names[..names.len().min(NAMED)].join(", ");
    if names.len() > NAMED {
        text += &format!(", +{} more", names.len() - NAMED);
    }
    text
}

/// In words, the same on the screen and in `mlxp get alerts`.
impl fmt::Display for Alert {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Alert::IdleAllocated {
                gpus,
                per_hour,
                pods,
            } => write!(
                f,
                "idle allocated: {gpus} GPUs {}/h ({})",
                dollars(*per_hour),
                named(pods)
            ),
            Alert::FailingVersion {
                model,
                version,
                breaches,
                ..
            } => write!(f, "{model} {version} {}", Health::Failing(breaches.clone())),
            Alert::FailedJobs { jobs } => {
                write!(f, "{} training job(s) failed ({})", jobs.len(), named(jobs))
            }
            Alert::Drift {
                model,
                version,
                drift,
                threshold,
                ..
            } => write!(f, "{model} {version} drift {drift:.2} > {threshold:.2}"),
            Alert::FreeOnBilledNodes { gpus, per_hour } => write!(
                f,
                "free on billed nodes: {gpus} GPUs {}/h",
                dollars(*per_hour)
            ),
            Alert::AwaitingApproval { model, version, .. } => {
                write!(f, "{model} {version} awaits approval to take traffic")
            }
            Alert::QuotaPressure {
                queue,
                used,
                quota,
                share,
            } => write!(
                f,
                "queue {queue} at {:.0}% of its GPU quota ({used}/{quota})",
                share * 100.0
            ),
        }
    }
}

/// What is wrong and what cannot be known.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Assessment {
    /// Critical first, then warnings; in each, the order of `alerts`.
    pub alerts: Vec<Alert>,
    pub unknown: Vec<Unknown>,
}

impl Assessment {
    pub fn all_clear(&self) -> bool {
        all_clear(&self.alerts, &self.unknown)
    }
}

/// "All clear" only when nothing is wrong among what is seen and nothing is unseen.
pub fn all_clear(alerts: &[Alert], unknown: &[Unknown]) -> bool {
    alerts.is_empty() && unknown.is_empty()
}

/// The alerts and the unknowns. `metrics` is the last frame, if any; `metrics_failing`
/// whether the latest attempt to read them failed (the last frame's alerts still stand, but
/// are no longer current).
pub fn assess(
    snapshot: &Snapshot,
    metrics: Option<&MetricsFrame>,
    metrics_failing: bool,
    prices: &PriceTable,
) -> Assessment {
    Assessment {
        alerts: alerts(snapshot, metrics, prices),
        unknown: unknowns(snapshot, metrics.is_some(), metrics_failing),
    }
}

/// The alerts alone (the cockpit keeps them between data changes; the unknowns follow the
/// metrics' state, which changes without new data).
pub fn alerts(
    snapshot: &Snapshot,
    metrics: Option<&MetricsFrame>,
    prices: &PriceTable,
) -> Vec<Alert> {
    let from_metrics = metrics
        .map(|frame| metrics_alerts(snapshot, frame, prices))
        .unwrap_or_default();
    combine(from_metrics, &snapshot_alerts(snapshot, prices))
}

/// The alerts a metrics frame raises (idle GPUs, drift, failing versions), in no order.
pub fn metrics_alerts(
    snapshot: &Snapshot,
    frame: &MetricsFrame,
    prices: &PriceTable,
) -> Vec<Alert> {
    let mut alerts: Vec<Alert> = idle(snapshot, frame, prices).into_iter().collect();
    alerts.extend(drifting(snapshot, frame));
    alerts.extend(
        served_versions(snapshot, Some(frame))
            .into_iter()
            .filter_map(|v| match v.health {
                Some(Health::Failing(breaches)) => Some(Alert::FailingVersion {
                    namespace: v.namespace,
                    model: v.model,
                    version: v.version,
                    breaches,
                }),
                _ => None,
            }),
    );
    alerts
}

/// The alerts the snapshot alone raises (free GPUs on billed nodes, failed jobs, quota
/// pressure, versions awaiting approval), in no order: sums over every node, pod and job, so a caller that gets a
/// metrics frame every few seconds keeps them until the snapshot changes.
pub fn snapshot_alerts(snapshot: &Snapshot, prices: &PriceTable) -> Vec<Alert> {
    let mut alerts: Vec<Alert> = free_on_billed_nodes(snapshot, prices).into_iter().collect();
    alerts.extend(failed_jobs(snapshot));
    alerts.extend(quota_pressure(snapshot));
    alerts.extend(awaiting_approval(snapshot));
    alerts
}

fn awaiting_approval(snapshot: &Snapshot) -> impl Iterator<Item = Alert> + '_ {
    snapshot.model_versions.values().filter_map(|v| {
        let model = snapshot.models.get(&v.meta.namespace, &v.model);
        v.awaits_approval(model.map(|m| m.as_ref()))
            .then(|| Alert::AwaitingApproval {
                namespace: v.meta.namespace.to_string(),
                model: v.model.clone(),
                version: v.version.clone(),
            })
    })
}

/// Both parts as they are shown: critical first, then warnings; within a severity the
/// metrics' alerts, then the snapshot's.
pub fn combine(from_metrics: Vec<Alert>, from_snapshot: &[Alert]) -> Vec<Alert> {
    let mut alerts = from_metrics;
    alerts.extend_from_slice(from_snapshot);
    // Stable: within a severity, the order above.
    alerts.sort_by_key(Alert::severity);
    alerts
}

fn idle(snapshot: &Snapshot, frame: &MetricsFrame, prices: &PriceTable) -> Option<Alert> {
    let idle: Vec<_> = frame.gpus.iter().filter(|g| idle_allocated(g)).collect();
    if idle.is_empty() {
        return None;
    }
    let mut pods: Vec<String> = Vec::new();
    for pod in idle.iter().filter_map(|g| g.pod.as_ref()) {
        // A pod holding several idle GPUs is named once.
        let name = format!("{}/{}", pod.namespace, pod.name);
        if !pods.contains(&name) {
            pods.push(name);
        }
    }
    Some(Alert::IdleAllocated {
        gpus: idle.len(),
        per_hour: idle.iter().map(|g| hourly_price(prices, snapshot, g)).sum(),
        pods,
    })
}

fn drifting<'a>(
    snapshot: &'a Snapshot,
    frame: &'a MetricsFrame,
) -> impl Iterator<Item = Alert> + 'a {
    snapshot.models.values().flat_map(move |model| {
        frame
            .quality
            .iter()
            .filter(move |q| q.model == model.meta.name)
            .filter_map(move |q| match (q.drift, model.drift_threshold) {
                (Some(drift), Some(threshold)) if drift > threshold => Some(Alert::Drift {
                    namespace: model.meta.namespace.to_string(),
                    model: q.model.clone(),
                    version: q.version.clone(),
                    drift,
                    threshold,
                }),
                _ => None,
            })
    })
}

/// Only from nodes and pods that are current: while the server is silent a node may be
/// gone, and its free GPUs are no figure.
fn free_on_billed_nodes(snapshot: &Snapshot, prices: &PriceTable) -> Option<Alert> {
    let blind = snapshot.blind_spots();
    let current = [KindName::Nodes, KindName::Pods]
        .iter()
        .all(|k| snapshot.status(*k).synced() && !blind.contains(k));
    if !current {
        return None;
    }
    let free = prices.free_on_billed_nodes(
        snapshot.nodes.values().map(|n| n.as_ref()),
        snapshot.pods.values().map(|p| p.as_ref()),
    );
    (free.gpus > 0).then_some(Alert::FreeOnBilledNodes {
        gpus: free.gpus,
        per_hour: free.per_hour,
    })
}

fn failed_jobs(snapshot: &Snapshot) -> Option<Alert> {
    let jobs: Vec<String> = snapshot
        .jobs
        .values()
        .filter(|j| job_state(j) == JobState::Failed)
        .map(|j| format!("{}/{}", j.meta.namespace, j.meta.name))
        .collect();
    (!jobs.is_empty()).then_some(Alert::FailedJobs { jobs })
}

fn quota_pressure(snapshot: &Snapshot) -> impl Iterator<Item = Alert> + '_ {
    snapshot.cluster_queues.values().filter_map(|cq| {
        let quota: i64 = cq.flavors.iter().map(|f| f.gpu_quota).sum();
        let used: i64 = cq.flavors.iter().map(|f| f.gpu_used).sum();
        let share = used as f64 / quota as f64;
        (quota > 0 && share >= QUOTA_PRESSURE_AT).then(|| Alert::QuotaPressure {
            queue: cq.meta.name.clone(),
            used,
            quota,
            share,
        })
    })
}

#[cfg(test)]
mod tests;
