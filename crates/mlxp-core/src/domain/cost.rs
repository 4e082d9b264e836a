//! What the cluster costs: dollars per hour of a GPU (by product, spot or on-demand), of a
//! node, of a pool. Prices come from the `[cost]` section of mlxp.toml (see `config`).

mod config;

use std::collections::BTreeMap;

use super::objects::{Node, Pod};
use super::pools::{GPU_PRODUCT_LABEL, is_spot, pool_of};

pub use config::CostConfigError;

/// Below this a GPU held by a pod counts as idle: paid for, doing nothing.
pub const IDLE_BELOW: f64 = 5.0;

/// Held by a pod and doing (almost) nothing.
pub fn idle_allocated(held_by_pod: bool, util: f64) -> bool {
    held_by_pod && util < IDLE_BELOW
}

/// Some GPUs and what they cost.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct GpuSpend {
    pub gpus: i64,
    pub per_hour: f64,
}

/// Dollars per hour, on-demand and spot.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Price {
    pub on_demand: f64,
    pub spot: f64,
}

impl Price {
    pub fn hourly(self, spot: bool) -> f64 {
        if spot { self.spot } else { self.on_demand }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct PriceTable {
    /// Per GPU-hour, by product as `product_key` spells it.
    gpus: BTreeMap<String, Price>,
    /// Per GPU-hour of a product not in `gpus`.
    pub default_gpu: Price,
    /// Per hour of a node without GPUs.
    pub cpu_node: Price,
}

/// Products compare without case, spaces as dashes: the node label says
/// "NVIDIA-H100-80GB-HBM3" where DCGM's modelName says "NVIDIA H100 80GB HBM3".
fn product_key(product: &str) -> String {
    product.trim().replace(' ', "-").to_ascii_lowercase()
}

impl PriceTable {
    pub fn new(
        gpus: impl IntoIterator<Item = (String, Price)>,
        default_gpu: Price,
        cpu_node: Price,
    ) -> Self {
        PriceTable {
            gpus: gpus
                .into_iter()
                .map(|(product, price)| (product_key(&product), price))
                .collect(),
            default_gpu,
            cpu_node,
        }
    }

    /// The price of one GPU of this product; the default for an unknown or missing product.
    pub fn gpu(&self, product: Option<&str>) -> Price {
        product
            .and_then(|p| self.gpus.get(&product_key(p)))
            .copied()
            .unwrap_or(self.default_gpu)
    }

    pub fn gpu_hourly(&self, product: Option<&str>, spot: bool) -> f64 {
        self.gpu(product).hourly(spot)
    }

    /// A GPU node costs its allocatable GPUs at their price (the price of a GPU-hour
    /// includes its share of the machine); a node without GPUs costs the CPU-node price.
    pub fn node_hourly(&self, node: &Node) -> f64 {
        let spot = is_spot(node);
        if node.allocatable.gpus > 0 {
            node.allocatable.gpus as f64 * self.gpu_hourly(node.meta.label(GPU_PRODUCT_LABEL), spot)
        } else {
            self.cpu_node.hourly(spot)
        }
    }

    /// The GPUs no pod holds on nodes that are up (Ready) and so billed: headroom paid for
    /// by the hour, which the idle-allocated count does not see.
    pub fn free_on_billed_nodes<'a>(
        &self,
        nodes: impl IntoIterator<Item = &'a Node>,
        pods: impl IntoIterator<Item = &'a Pod>,
    ) -> GpuSpend {
        let mut held: BTreeMap<&str, i64> = BTreeMap::new();
        for pod in pods.into_iter().filter(|p| p.holds_resources()) {
            *held.entry(pod.node.as_str()).or_default() += pod.requests.gpus;
        }
        let mut free = GpuSpend::default();
        for node in nodes.into_iter().filter(|n| n.ready) {
            let held = held.get(node.meta.name.as_str()).copied().unwrap_or(0);
            let gpus = (node.allocatable.gpus - held).max(0);
            free.gpus += gpus;
            free.per_hour +=
                gpus as f64 * self.gpu_hourly(node.meta.label(GPU_PRODUCT_LABEL), is_spot(node));
        }
        free
    }

    /// Dollars per hour of each pool's nodes, by pool name. Every node counts, ready or not:
    /// a node is billed while it exists.
    pub fn burn_by_pool<'a>(
        &self,
        nodes: impl IntoIterator<Item = &'a Node>,
    ) -> BTreeMap<String, f64> {
        let mut burn: BTreeMap<String, f64> = BTreeMap::new();
        for node in nodes {
            *burn.entry(pool_of(node).to_string()).or_default() += self.node_hourly(node);
        }
        burn
    }
}

/// "$0.71", "$11.06", "$352.0", "$1770": about four significant figures.
pub fn dollars(amount: f64) -> String {
    // An empty sum of floats is -0.0, which would print as "$-0.00".
    let amount = amount + 0.0;
    match amount.abs() {
        a if a < 100.0 => format!("${amount:.2}"),
        a if a < 1000.0 => format!("${amount:.1}"),
        _ => format!("${amount:.0}"),
    }
}

#[cfg(test)]
mod tests;
