//! What the views show, derived from the snapshot and metrics once per change rather than
//! once per frame: at 150,000 pods a view's table takes tens of milliseconds to build, a
//! frame must take under 16.

use std::collections::BTreeMap;

use super::history::spark;
use super::table::Table;
use super::views::detail::Detail;
use super::views::{Body, Inputs, View};
use mlxp_core::domain::pools::{PoolSummary, summarize};
use mlxp_core::domain::training::admission_order;
use mlxp_core::gpus::{idle_allocated, pool_utilisation};
use mlxp_core::health::{self, Alert};
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
#[derive(Debug, Clone, Default)]
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
    let util = inputs
        .metrics
        .map(|m| pool_utilisation(snapshot, m))
        .unwrap_or_default();
    let burn = inputs
        .prices
        .burn_by_pool(snapshot.nodes.values().map(|n| n.as_ref()));
    let pools = summarize(
        snapshot.nodes.values().map(|n| n.as_ref()),
        snapshot.pods.values().map(|p| p.as_ref()),
    )
    .into_iter()
    .map(|pool| PoolLine {
        util: util.get(&pool.name).copied(),
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
    Overview {
        heat,
        alerts: health::alerts(snapshot, inputs.metrics, inputs.prices),
        serving: served_versions(snapshot, inputs.metrics),
        burn_per_hour: burn.values().sum(),
        pools,
        queue_head,
    }
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
