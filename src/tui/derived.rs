//! What the views show, derived from the snapshot and metrics once per change rather than
//! once per frame: at 150,000 pods a view's table takes tens of milliseconds to build, a
//! frame must take under 16.

use std::collections::BTreeMap;

use super::history::spark;
use super::table::Table;
use super::views::detail::Detail;
use super::views::gpus::{hourly_price, idle_allocated};
use super::views::serving::{version_health, version_of};
use super::views::{Body, Inputs, View};
use crate::cluster::KindName;
use crate::metrics::VersionTraffic;
use mlxp_core::domain::cost::GpuSpend;
use mlxp_core::domain::pools::{PoolSummary, pool_of, summarize};
use mlxp_core::domain::serving::{Health, splits};
use mlxp_core::domain::training::{JobState, admission_order, job_state};

/// Pods the idle-GPU alert names.
const IDLE_PODS_NAMED: usize = 3;

/// Samples in a pool's utilisation trend.
pub const POOL_TREND: usize = 10;

/// One line of the Overview's pools panel.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PoolLine {
    pub pool: PoolSummary,
    /// Its GPUs' mean utilisation (when there are metrics).
    pub util: Option<f64>,
    /// Dollars per hour of its nodes.
    pub cost_per_hour: f64,
    /// Its mean utilisation over the last minutes, as a text sparkline.
    pub trend: String,
}

/// A version that takes traffic, on the Overview's Serving panel and in its alerts.
#[derive(Debug, Clone, PartialEq)]
pub struct ServedLine {
    pub model: String,
    pub version: String,
    pub weight: i32,
    pub share: f64,
    pub traffic: Option<VersionTraffic>,
    /// Against its Model's limits (None without metrics).
    pub health: Option<Health>,
}

/// The Overview's numbers.
#[derive(Debug, Clone, Default)]
pub struct Overview {
    pub pools: Vec<PoolLine>,
    /// Dollars per hour of every node.
    pub burn_per_hour: f64,
    /// Dollars per hour of the GPUs allocated to pods but idle.
    pub idle_per_hour: f64,
    /// How many GPUs are allocated but idle, and the first few pods holding them.
    pub idle_gpus: usize,
    pub idle_pods: Vec<String>,
    /// GPUs no pod holds on nodes that are up (None until nodes and pods have listed).
    pub free_billed: Option<GpuSpend>,
    /// Every version with a weight, route by route.
    pub serving: Vec<ServedLine>,
    /// The first queued Workloads: (Job or Workload name, GPUs).
    pub queue_head: Vec<(String, i64)>,
    pub failed_jobs: usize,
    /// Every GPU in (node, index) order, for the heat strip: sorted here, not in each frame
    /// (40,000 GPUs at xlarge).
    pub heat: Vec<HeatCell>,
}

/// One GPU of the heat strip: by its utilisation when there are metrics, else by whether
/// pods hold it, so a cluster without DCGM still shows where its GPUs are used.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum HeatCell {
    Util {
        util: f64,
        /// Held by a pod and doing nothing.
        idle: bool,
    },
    Allocated,
    Free,
}

/// A view's table (filtered, sorted) or the Overview's numbers.
#[derive(Debug, Clone, Default)]
pub struct Derived {
    /// The view it was built for (None before the first build).
    pub view: Option<View>,
    /// The rows as built, before the user's filter and sort: what a new filter or sort
    /// arranges without building them again.
    pub built: Table,
    /// `built` filtered and sorted: what is shown.
    pub table: Table,
    pub overview: Overview,
    /// The selected row's detail pane.
    pub detail: Option<Detail>,
    /// The data it was built from: the app's count of data changes then.
    pub data: u64,
}

pub fn derive(view: View, inputs: &Inputs, arrange: impl FnOnce(&Table) -> Table) -> Derived {
    match &view.def().body {
        Body::Panels => Derived {
            view: Some(view),
            overview: overview(inputs),
            ..Derived::default()
        },
        Body::Table(def) => {
            let built = (def.rows)(inputs);
            Derived {
                view: Some(view),
                table: arrange(&built),
                built,
                ..Derived::default()
            }
        }
    }
}

fn overview(inputs: &Inputs) -> Overview {
    let snapshot = inputs.snapshot;
    let node_pool: BTreeMap<&str, &str> = snapshot
        .nodes
        .values()
        .map(|n| (n.meta.name.as_str(), pool_of(n)))
        .collect();
    let mut util: BTreeMap<&str, (f64, usize)> = BTreeMap::new();
    for gpu in inputs.metrics.iter().flat_map(|m| &m.gpus) {
        if let Some(pool) = node_pool.get(gpu.node.as_str()) {
            let entry = util.entry(pool).or_default();
            entry.0 += gpu.util;
            entry.1 += 1;
        }
    }
    let burn = inputs
        .prices
        .burn_by_pool(snapshot.nodes.values().map(|n| n.as_ref()));
    let pools = summarize(
        snapshot.nodes.values().map(|n| n.as_ref()),
        snapshot.pods.values().map(|p| p.as_ref()),
    )
    .into_iter()
    .map(|pool| PoolLine {
        util: util
            .get(pool.name.as_str())
            .filter(|(_, n)| *n > 0)
            .map(|(sum, n)| sum / *n as f64),
        cost_per_hour: burn.get(&pool.name).copied().unwrap_or(0.0),
        trend: inputs
            .history
            .pools
            .get(&pool.name)
            .map(|h| spark(h.values().map(f64::from), POOL_TREND, Some(100.0)))
            .unwrap_or_default(),
        pool,
    })
    .collect();
    let idle: Vec<_> = inputs
        .metrics
        .iter()
        .flat_map(|m| &m.gpus)
        .filter(|g| idle_allocated(g))
        .collect();
    let idle_per_hour = idle
        .iter()
        .map(|g| hourly_price(inputs.prices, snapshot, g))
        .sum();
    let idle_pods = idle
        .iter()
        .filter_map(|g| g.pod.as_ref())
        .map(|p| format!("{}/{}", p.namespace, p.name))
        .take(IDLE_PODS_NAMED)
        .collect();
    let queue_head = admission_order(snapshot.workloads.values().map(|w| w.as_ref()))
        .iter()
        .take(3)
        .map(|wl| {
            let name = wl
                .meta
                .controller()
                .map(|o| o.name.clone())
                .unwrap_or_else(|| wl.meta.name.clone());
            (name, wl.requests.gpus)
        })
        .collect();
    let heat = match inputs.metrics {
        Some(metrics) => {
            let mut gpus: Vec<_> = metrics.gpus.iter().collect();
            gpus.sort_by(|a, b| (&a.node, &a.gpu).cmp(&(&b.node, &b.gpu)));
            gpus.into_iter()
                .map(|g| HeatCell::Util {
                    util: g.util,
                    idle: idle_allocated(g),
                })
                .collect()
        }
        None => allocation_heat(inputs),
    };
    // Current, not just listed once: while the server is silent a node may be gone.
    let blind = snapshot.blind_spots();
    let listed = [KindName::Nodes, KindName::Pods]
        .iter()
        .all(|k| snapshot.status(*k).synced() && !blind.contains(k));
    let free_billed = listed.then(|| {
        inputs.prices.free_on_billed_nodes(
            snapshot.nodes.values().map(|n| n.as_ref()),
            snapshot.pods.values().map(|p| p.as_ref()),
        )
    });
    Overview {
        heat,
        free_billed,
        serving: served_lines(inputs),
        burn_per_hour: burn.values().sum(),
        idle_per_hour,
        idle_gpus: idle.len(),
        idle_pods,
        pools,
        queue_head,
        failed_jobs: snapshot
            .jobs
            .values()
            .filter(|j| job_state(j) == JobState::Failed)
            .count(),
    }
}

fn served_lines(inputs: &Inputs) -> Vec<ServedLine> {
    let mut lines = Vec::new();
    for route in inputs.snapshot.routes.values() {
        let ns = route.meta.namespace.as_str();
        let model = route
            .meta
            .label("mlxp.io/model")
            .unwrap_or(&route.meta.name);
        for split in splits(route).into_iter().filter(|s| s.weight > 0) {
            let version = version_of(inputs, ns, model, &split.backend);
            let traffic = inputs.metrics.and_then(|m| {
                m.traffic
                    .iter()
                    .find(|t| t.model == model && t.version == version)
                    .cloned()
            });
            lines.push(ServedLine {
                health: version_health(inputs, ns, model, &version),
                model: model.to_string(),
                version,
                weight: split.weight,
                share: split.share,
                traffic,
            });
        }
    }
    lines
}

/// Without metrics: each GPU node's GPUs, the ones its running pods hold first.
fn allocation_heat(inputs: &Inputs) -> Vec<HeatCell> {
    let snapshot = inputs.snapshot;
    let mut held: BTreeMap<&str, i64> = BTreeMap::new();
    for pod in snapshot.pods.values().filter(|p| p.holds_resources()) {
        *held.entry(pod.node.as_str()).or_default() += pod.requests.gpus;
    }
    snapshot
        .nodes
        .values()
        .filter(|n| n.allocatable.gpus > 0)
        .flat_map(|n| {
            let gpus = n.allocatable.gpus;
            let used = held
                .get(n.meta.name.as_str())
                .copied()
                .unwrap_or(0)
                .clamp(0, gpus);
            (0..gpus).map(move |i| {
                if i < used {
                    HeatCell::Allocated
                } else {
                    HeatCell::Free
                }
            })
        })
        .collect()
}
