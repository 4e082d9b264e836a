//! What `mlxp get -o json|yaml` prints: typed records of what the views show. Field names
//! are the JSON names (documented in the README).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::cluster::Snapshot;
use crate::metrics::MetricsFrame;
use mlxp_core::domain::cost::PriceTable;
use mlxp_core::domain::pools::{GPU_PRODUCT_LABEL, PoolSummary, is_spot, pool_of, summarize};
use mlxp_core::domain::serving::splits;
use mlxp_core::domain::training::{JobState, admission_order, job_state};
use mlxp_core::gpus::{hourly_price, idle_allocated, pool_utilisation};
use mlxp_core::served::{model_of, traffic_of, version_of};

#[derive(Debug, Serialize)]
pub struct Pool {
    #[serde(flatten)]
    pub summary: PoolSummary,
    /// Mean utilisation of the pool's GPUs (%), when there are metrics.
    pub gpu_util: Option<f64>,
    /// Dollars per hour of the pool's nodes.
    pub cost_per_hour: f64,
}

pub fn pools(
    snapshot: &Snapshot,
    metrics: Option<&MetricsFrame>,
    prices: &PriceTable,
) -> Vec<Pool> {
    let burn = prices.burn_by_pool(snapshot.nodes.values().map(|n| n.as_ref()));
    let util = metrics
        .map(|m| pool_utilisation(snapshot, m))
        .unwrap_or_default();
    summarize(
        snapshot.nodes.values().map(|n| n.as_ref()),
        snapshot.pods.values().map(|p| p.as_ref()),
    )
    .into_iter()
    .map(|p| Pool {
        gpu_util: util.get(&p.name).copied(),
        cost_per_hour: burn.get(&p.name).copied().unwrap_or(0.0),
        summary: p,
    })
    .collect()
}

#[derive(Debug, Serialize)]
pub struct Node {
    pub name: String,
    pub pool: String,
    pub ready: bool,
    pub unschedulable: bool,
    pub spot: bool,
    pub gpu_product: Option<String>,
    pub gpus: i64,
    pub gpus_allocated: i64,
    pub taints: Vec<String>,
}

pub fn nodes(snapshot: &Snapshot) -> Vec<Node> {
    snapshot
        .nodes
        .values()
        .map(|n| Node {
            name: n.meta.name.clone(),
            pool: pool_of(n).to_string(),
            ready: n.ready,
            unschedulable: n.unschedulable,
            spot: is_spot(n),
            gpu_product: n.meta.label(GPU_PRODUCT_LABEL).map(String::from),
            gpus: n.allocatable.gpus,
            gpus_allocated: snapshot
                .pods
                .values()
                .filter(|p| p.holds_resources() && p.node == n.meta.name)
                .map(|p| p.requests.gpus)
                .sum(),
            taints: n
                .taints
                .iter()
                .map(|t| format!("{}:{}", t.key, t.effect))
                .collect(),
        })
        .collect()
}

#[derive(Debug, Serialize)]
pub struct Gpu {
    pub node: String,
    pub gpu: String,
    pub uuid: String,
    pub product: String,
    /// Utilisation, %.
    pub util: f64,
    pub memory_used_mib: f64,
    pub memory_total_mib: f64,
    pub power_watts: f64,
    /// namespace/name of the pod it is allocated to.
    pub pod: Option<String>,
    /// Allocated to a pod but doing (almost) nothing.
    pub idle_allocated: bool,
    /// Dollars per hour of this GPU.
    pub cost_per_hour: f64,
}

pub fn gpus(snapshot: &Snapshot, metrics: &MetricsFrame, prices: &PriceTable) -> Vec<Gpu> {
    metrics
        .gpus
        .iter()
        .map(|g| Gpu {
            node: g.node.clone(),
            gpu: g.gpu.clone(),
            uuid: g.uuid.clone(),
            product: g.model_name.clone(),
            util: g.util,
            memory_used_mib: g.fb_used_mib,
            memory_total_mib: g.fb_used_mib + g.fb_free_mib,
            power_watts: g.power_watts,
            pod: g
                .pod
                .as_ref()
                .map(|p| format!("{}/{}", p.namespace, p.name)),
            idle_allocated: idle_allocated(g),
            cost_per_hour: hourly_price(prices, snapshot, g),
        })
        .collect()
}

#[derive(Debug, Serialize)]
pub struct Job {
    pub namespace: String,
    pub name: String,
    pub model: Option<String>,
    pub queue: Option<String>,
    pub state: &'static str,
    pub gpus: i64,
    pub pool: Option<String>,
    pub created: Option<chrono::DateTime<chrono::Utc>>,
    pub started: Option<chrono::DateTime<chrono::Utc>>,
    /// When it succeeded or failed.
    pub finished: Option<chrono::DateTime<chrono::Utc>>,
    /// Why it waits (Kueue's or the scheduler's words) or why it failed (the Job's).
    pub reason: Option<String>,
}

pub fn jobs(snapshot: &Snapshot) -> Vec<Job> {
    // Why each queued Job waits, by its Workload's owner.
    let waiting: BTreeMap<(&str, &str), &str> = snapshot
        .workloads
        .values()
        .filter_map(|w| {
            let owner = w.meta.controller()?;
            Some((
                (w.meta.namespace.as_str(), owner.name.as_str()),
                w.pending_reason()?,
            ))
        })
        .collect();
    snapshot
        .jobs
        .values()
        .map(|j| {
            let state = job_state(j);
            let (ns, name) = (j.meta.namespace.as_str(), j.meta.name.as_str());
            let reason = match state {
                JobState::Queued => waiting.get(&(ns, name)).map(|r| r.to_string()),
                JobState::Pending => snapshot
                    .pods_of_job(ns, name)
                    .find_map(|p| p.unschedulable.as_deref().map(str::to_string)),
                JobState::Failed => j.failure(),
                JobState::Running | JobState::Succeeded => None,
            };
            Job {
                namespace: j.meta.namespace.to_string(),
                name: j.meta.name.clone(),
                model: j.meta.label("mlxp.io/model").map(String::from),
                queue: j.queue().map(String::from),
                state: state.label(),
                gpus: j.pod_requests.gpus * i64::from(j.parallelism),
                pool: j.pool.clone(),
                created: j.meta.creation_timestamp,
                started: j.start_time,
                finished: j.finished_at(),
                reason,
            }
        })
        .collect()
}

#[derive(Debug, Serialize)]
pub struct Queue {
    pub name: String,
    pub strategy: String,
    pub flavors: Vec<Flavor>,
    /// Waiting Workloads, in the order Kueue tries them.
    pub pending: Vec<Pending>,
}

#[derive(Debug, Serialize)]
pub struct Flavor {
    pub flavor: String,
    pub gpu_quota: i64,
    pub gpu_used: i64,
}

#[derive(Debug, Serialize)]
pub struct Pending {
    pub workload: String,
    pub job: Option<String>,
    pub gpus: i64,
    pub reason: Option<String>,
}

pub fn queues(snapshot: &Snapshot) -> Vec<Queue> {
    let order = admission_order(snapshot.workloads.values().map(|w| w.as_ref()));
    snapshot
        .cluster_queues
        .values()
        .map(|cq| {
            let local: Vec<&str> = snapshot
                .local_queues
                .values()
                .filter(|lq| lq.cluster_queue == cq.meta.name)
                .map(|lq| lq.meta.name.as_str())
                .collect();
            Queue {
                name: cq.meta.name.clone(),
                strategy: cq.strategy.clone(),
                flavors: cq
                    .flavors
                    .iter()
                    .map(|f| Flavor {
                        flavor: f.flavor.clone(),
                        gpu_quota: f.gpu_quota,
                        gpu_used: f.gpu_used,
                    })
                    .collect(),
                pending: order
                    .iter()
                    .filter(|w| local.contains(&w.queue.as_str()))
                    .map(|w| Pending {
                        workload: format!("{}/{}", w.meta.namespace, w.meta.name),
                        job: w.meta.controller().map(|o| o.name.clone()),
                        gpus: w.requests.gpus,
                        reason: w.pending_reason().map(String::from),
                    })
                    .collect(),
            }
        })
        .collect()
}

#[derive(Debug, Serialize)]
pub struct ModelVersion {
    pub namespace: String,
    pub model: String,
    pub version: String,
    pub stage: String,
    pub accuracy: Option<f64>,
    pub live_accuracy: Option<f64>,
    pub drift: Option<f64>,
    pub source_job: String,
}

pub fn models(snapshot: &Snapshot, metrics: Option<&MetricsFrame>) -> Vec<ModelVersion> {
    snapshot
        .model_versions
        .values()
        .map(|v| {
            let live = metrics.and_then(|m| {
                m.quality
                    .iter()
                    .find(|q| q.model == v.model && q.version == v.version)
            });
            ModelVersion {
                namespace: v.meta.namespace.to_string(),
                model: v.model.clone(),
                version: v.version.clone(),
                stage: v.stage.clone(),
                accuracy: v.accuracy,
                live_accuracy: live.and_then(|q| q.accuracy),
                drift: live.and_then(|q| q.drift),
                source_job: v.source_job.clone(),
            }
        })
        .collect()
}

#[derive(Debug, Serialize)]
pub struct Canary {
    pub namespace: String,
    pub model: String,
    pub route: String,
    pub versions: Vec<Backend>,
}

#[derive(Debug, Serialize)]
pub struct Backend {
    pub backend: String,
    pub weight: i32,
    /// weight / sum of the route's weights.
    pub share: f64,
    pub ready: Option<i32>,
    pub replicas: Option<i32>,
    pub rps: Option<f64>,
    pub error_ratio: Option<f64>,
    pub p50_seconds: Option<f64>,
    pub p99_seconds: Option<f64>,
}

pub fn canaries(snapshot: &Snapshot, metrics: Option<&MetricsFrame>) -> Vec<Canary> {
    snapshot
        .routes
        .values()
        .map(|route| {
            let model = model_of(route).to_string();
            let ns = route.meta.namespace.clone();
            let versions = splits(route)
                .into_iter()
                .map(|s| {
                    let deployment = snapshot.deployments.get(&ns, &s.backend);
                    let version = version_of(snapshot, &ns, &model, &s.backend);
                    let traffic = metrics.and_then(|m| traffic_of(m, &model, &version));
                    Backend {
                        backend: s.backend,
                        weight: s.weight,
                        share: s.share,
                        ready: deployment.map(|d| d.ready),
                        replicas: deployment.map(|d| d.replicas),
                        rps: traffic.map(|t| t.rps),
                        error_ratio: traffic.map(|t| t.error_ratio),
                        p50_seconds: traffic.and_then(|t| t.p50_seconds),
                        p99_seconds: traffic.and_then(|t| t.p99_seconds),
                    }
                })
                .collect();
            Canary {
                namespace: ns.to_string(),
                model,
                route: route.meta.name.clone(),
                versions,
            }
        })
        .collect()
}
