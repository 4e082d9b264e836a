//! Kueue's queues: a ClusterQueue's GPU quota and usage per flavor, LocalQueues.

use serde::Deserialize;

use super::meta::Meta;
use super::null_default;
use crate::domain::quantity::parse_units;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(from = "RawClusterQueue")]
pub struct ClusterQueue {
    pub meta: Meta,
    pub strategy: String,
    /// Per flavor, in the order the ClusterQueue lists them.
    pub flavors: Vec<FlavorQuota>,
    pub pending: i64,
    pub admitted: i64,
    /// spec.stopPolicy: Hold or HoldAndDrain when stopped.
    pub stop_policy: Option<String>,
}

/// A flavor's nominal quota and usage of `nvidia.com/gpu`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FlavorQuota {
    pub flavor: String,
    pub gpu_quota: i64,
    pub gpu_used: i64,
}

/// A Kueue ResourceFlavor: the nodes a flavor's quota stands for, by their labels.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(from = "RawFlavorObject")]
pub struct ResourceFlavor {
    pub meta: Meta,
    pub node_labels: std::collections::BTreeMap<String, String>,
}

impl ResourceFlavor {
    /// Its nodes are spot (preemptible) capacity.
    pub fn spot(&self) -> bool {
        crate::domain::pools::spot_labels(|k| self.node_labels.get(k).map(String::as_str))
    }
}

#[derive(Deserialize)]
struct RawFlavorObject {
    #[serde(default)]
    metadata: Meta,
    #[serde(default)]
    spec: serde_json::Value,
}

impl From<RawFlavorObject> for ResourceFlavor {
    fn from(raw: RawFlavorObject) -> Self {
        let node_labels = raw.spec["nodeLabels"]
            .as_object()
            .map(|labels| {
                labels
                    .iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        ResourceFlavor {
            meta: raw.metadata,
            node_labels,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(from = "RawLocalQueue")]
pub struct LocalQueue {
    pub meta: Meta,
    pub cluster_queue: String,
    pub pending: i64,
    pub admitted: i64,
    /// spec.stopPolicy: Hold or HoldAndDrain when stopped.
    pub stop_policy: Option<String>,
}

/// A stopPolicy that stops the queue (not None or absent).
fn stopping(policy: Option<String>) -> Option<String> {
    policy.filter(|p| p == "Hold" || p == "HoldAndDrain")
}

#[derive(Deserialize)]
struct RawClusterQueue {
    #[serde(default)]
    metadata: Meta,
    #[serde(default)]
    spec: RawCqSpec,
    #[serde(default)]
    status: RawCqStatus,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCqSpec {
    #[serde(default)]
    queueing_strategy: Option<String>,
    #[serde(default)]
    stop_policy: Option<String>,
    #[serde(default, deserialize_with = "null_default")]
    resource_groups: Vec<RawGroup>,
}

#[derive(Deserialize)]
struct RawGroup {
    #[serde(default, deserialize_with = "null_default")]
    flavors: Vec<RawFlavor>,
}

#[derive(Deserialize)]
struct RawFlavor {
    #[serde(default)]
    name: String,
    #[serde(default, deserialize_with = "null_default")]
    resources: Vec<RawResource>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawResource {
    #[serde(default)]
    name: String,
    #[serde(default)]
    nominal_quota: Option<serde_json::Value>,
    #[serde(default)]
    total: Option<serde_json::Value>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCqStatus {
    #[serde(default, deserialize_with = "null_default")]
    flavors_usage: Vec<RawFlavor>,
    #[serde(default)]
    pending_workloads: Option<i64>,
    #[serde(default)]
    admitted_workloads: Option<i64>,
}

/// A quantity that may come as a string ("40") or a number.
fn amount(v: &Option<serde_json::Value>) -> i64 {
    match v {
        Some(serde_json::Value::String(s)) => parse_units(s).unwrap_or(0),
        Some(serde_json::Value::Number(n)) => n.as_i64().unwrap_or(0),
        _ => 0,
    }
}

fn gpu_of(flavor: &RawFlavor, pick: impl Fn(&RawResource) -> i64) -> i64 {
    flavor
        .resources
        .iter()
        .filter(|r| super::is_gpu(&r.name))
        .map(pick)
        .sum()
}

impl From<RawClusterQueue> for ClusterQueue {
    fn from(raw: RawClusterQueue) -> Self {
        let usage = &raw.status.flavors_usage;
        let flavors = raw
            .spec
            .resource_groups
            .iter()
            .flat_map(|g| &g.flavors)
            .map(|f| FlavorQuota {
                flavor: f.name.clone(),
                gpu_quota: gpu_of(f, |r| amount(&r.nominal_quota)),
                gpu_used: usage
                    .iter()
                    .find(|u| u.name == f.name)
                    .map(|u| gpu_of(u, |r| amount(&r.total)))
                    .unwrap_or(0),
            })
            .collect();
        ClusterQueue {
            strategy: raw
                .spec
                .queueing_strategy
                .unwrap_or_else(|| "BestEffortFIFO".into()),
            flavors,
            pending: raw.status.pending_workloads.unwrap_or(0),
            admitted: raw.status.admitted_workloads.unwrap_or(0),
            stop_policy: stopping(raw.spec.stop_policy),
            meta: raw.metadata,
        }
    }
}

#[derive(Deserialize)]
struct RawLocalQueue {
    #[serde(default)]
    metadata: Meta,
    #[serde(default)]
    spec: RawLqSpec,
    #[serde(default)]
    status: RawLqStatus,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawLqSpec {
    #[serde(default)]
    cluster_queue: Option<String>,
    #[serde(default)]
    stop_policy: Option<String>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawLqStatus {
    #[serde(default)]
    pending_workloads: Option<i64>,
    #[serde(default)]
    admitted_workloads: Option<i64>,
}

impl From<RawLocalQueue> for LocalQueue {
    fn from(raw: RawLocalQueue) -> Self {
        LocalQueue {
            cluster_queue: raw.spec.cluster_queue.unwrap_or_default(),
            pending: raw.status.pending_workloads.unwrap_or(0),
            admitted: raw.status.admitted_workloads.unwrap_or(0),
            stop_policy: stopping(raw.spec.stop_policy),
            meta: raw.metadata,
        }
    }
}
