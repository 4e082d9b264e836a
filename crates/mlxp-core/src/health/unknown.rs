//! Why the alerts cannot be complete: the kinds they read are not current, or the metrics
//! behind the idle, drift and error alerts are missing.

use std::fmt;

use crate::kinds::KindName;
use crate::snapshot::Snapshot;

/// The kinds the alerts are decided from.
const READ: [KindName; 6] = [
    KindName::Nodes,
    KindName::Pods,
    KindName::Jobs,
    KindName::ClusterQueues,
    KindName::HttpRoutes,
    KindName::Models,
];

#[derive(Debug, Clone, PartialEq)]
pub enum Unknown {
    /// The API server does not answer: everything is what was last seen.
    ApiSilent,
    /// These kinds are not listed yet, or their watch is failing.
    NotSynced(Vec<KindName>),
    /// The last attempt to read the metrics failed.
    MetricsFailing,
    /// No metrics source, or no frame yet.
    NoMetrics,
}

impl Unknown {
    /// Its name for scripts.
    pub fn kind(&self) -> &'static str {
        match self {
            Unknown::ApiSilent => "api_silent",
            Unknown::NotSynced(_) => "not_synced",
            Unknown::MetricsFailing => "metrics_failing",
            Unknown::NoMetrics => "no_metrics",
        }
    }
}

impl fmt::Display for Unknown {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Unknown::ApiSilent => f.write_str("the API server cannot be read"),
            Unknown::NotSynced(kinds) => {
                let labels: Vec<&str> = kinds.iter().map(|k| k.label()).collect();
                write!(f, "{} not synced", labels.join(", "))
            }
            Unknown::MetricsFailing => f.write_str("metrics failing: idle GPUs, drift and errors"),
            Unknown::NoMetrics => f.write_str("no metrics: idle GPUs, drift and errors"),
        }
    }
}

/// What the alerts cannot see. `has_frame`: a metrics frame was read at least once;
/// `metrics_failing`: the latest read failed.
pub fn unknowns(snapshot: &Snapshot, has_frame: bool, metrics_failing: bool) -> Vec<Unknown> {
    let mut unknown = Vec::new();
    let blind: Vec<KindName> = snapshot
        .blind_spots()
        .into_iter()
        .filter(|k| READ.contains(k))
        .collect();
    if snapshot.api.silent() {
        unknown.push(Unknown::ApiSilent);
    } else if !blind.is_empty() {
        unknown.push(Unknown::NotSynced(blind));
    }
    if metrics_failing {
        unknown.push(Unknown::MetricsFailing);
    } else if !has_frame {
        unknown.push(Unknown::NoMetrics);
    }
    unknown
}
