//! What the views show, derived from the snapshot and metrics once per change rather than
//! once per frame: at 150,000 pods a view's table takes tens of milliseconds to build, a
//! frame must take under 16.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::history::spark;
use super::snapshot_part::{NodePools, SnapshotPart, snapshot_part};
use super::table::Table;
use super::views::detail::Detail;
use super::views::{Body, Inputs, View};
use mlxp_core::domain::pools::PoolSummary;
use mlxp_core::gpus::{idle_allocated, pool_means};
use mlxp_core::health::{self, Alert};
use mlxp_core::metrics::GpuSample;
use mlxp_core::served::{ServedVersion, served_versions};

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

/// The Overview's numbers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overview {
    pub pools: Vec<PoolLine>,
    /// Dollars per hour of every node.
    pub burn_per_hour: f64,
    /// As the core decides them (the unknowns follow the metrics' state, read per frame).
    pub alerts: Vec<Alert>,
    /// Every version with a weight, route by route.
    pub serving: Vec<ServedVersion>,
    /// The first queued Workloads: (Job or Workload name, GPUs).
    pub queue_head: Vec<(String, i64)>,
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

/// What `view` shows. The Overview's snapshot part is `part` when given (built from this
/// snapshot and these prices), else built here.
pub fn derive(
    view: View,
    inputs: &Inputs,
    part: Option<&SnapshotPart>,
    arrange: impl FnOnce(&Table) -> Table,
) -> Derived {
    match &view.def().body {
        Body::Panels => {
            let built;
            let part = match part {
                Some(part) => part,
                None => {
                    let node_pools = Arc::new(NodePools::of(&inputs.snapshot.nodes));
                    built = snapshot_part(inputs.snapshot, inputs.prices, node_pools);
                    &built
                }
            };
            Derived {
                view: Some(view),
                overview: overview(inputs, part),
                ..Derived::default()
            }
        }
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

/// The Overview from its snapshot part and the metrics: what a metrics frame changes.
fn overview(inputs: &Inputs, part: &SnapshotPart) -> Overview {
    let snapshot = inputs.snapshot;
    let util = inputs
        .metrics
        .map(|m| pool_means(&m.gpus, |node| part.node_pools.get(node)))
        .unwrap_or_default();
    let pools = part
        .pools
        .iter()
        .map(|pool| PoolLine {
            util: util
                .iter()
                .find(|(name, _)| *name == pool.name)
                .map(|(_, mean)| *mean),
            cost_per_hour: part.burn.get(&pool.name).copied().unwrap_or(0.0),
            trend: inputs
                .history
                .pools
                .get(&pool.name)
                .map(|h| spark(h.values().map(f64::from), POOL_TREND, Some(100.0)))
                .unwrap_or_default(),
            pool: pool.clone(),
        })
        .collect();
    let heat = match inputs.metrics {
        Some(metrics) => {
            let mut gpus: Vec<_> = metrics.gpus.iter().collect();
            // Prometheus answers them sorted: checking is one pass, sorting 40,000 is more.
            if !gpus.is_sorted_by(|a, b| key(a) <= key(b)) {
                gpus.sort_by(|a, b| key(a).cmp(&key(b)));
            }
            gpus.into_iter()
                .map(|g| HeatCell::Util {
                    util: g.util,
                    idle: idle_allocated(g),
                })
                .collect()
        }
        None => allocation_heat(inputs),
    };
    let from_metrics = inputs
        .metrics
        .map(|m| health::metrics_alerts(snapshot, m, inputs.prices))
        .unwrap_or_default();
    Overview {
        heat,
        alerts: health::combine(from_metrics, &part.alerts),
        serving: served_versions(snapshot, inputs.metrics),
        burn_per_hour: part.burn.values().sum(),
        pools,
        queue_head: part.queue_head.clone(),
    }
}

/// A GPU's place in the heat strip.
fn key(gpu: &GpuSample) -> (&str, &str) {
    (&gpu.node, &gpu.gpu)
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
