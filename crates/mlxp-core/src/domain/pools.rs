//! Node pools: which pool a node is in (by the labels clouds set), its role and capacity
//! type, and per pool the nodes and GPUs — allocatable, allocated to pods.

use std::collections::BTreeMap;

use super::objects::{Node, Pod};

/// Labels naming a node's pool, first found wins (mlxp's own, GKE, EKS, Karpenter, AKS).
pub const POOL_LABELS: &[&str] = &[
    "mlxp.io/pool",
    "cloud.google.com/gke-nodepool",
    "eks.amazonaws.com/nodegroup",
    "karpenter.sh/nodepool",
    "kubernetes.azure.com/agentpool",
];
pub const ROLE_LABEL: &str = "mlxp.io/role";
pub const GPU_PRODUCT_LABEL: &str = "nvidia.com/gpu.product";

pub fn pool_of(node: &Node) -> &str {
    POOL_LABELS
        .iter()
        .find_map(|l| node.meta.label(l))
        .unwrap_or("(none)")
}

/// Spot (preemptible) capacity, as GKE, EKS, Karpenter and AKS label it.
pub fn is_spot(node: &Node) -> bool {
    spot_labels(|k| node.meta.label(k))
}

/// Whether labels (a node's, a ResourceFlavor's nodeLabels) say spot or preemptible
/// capacity, as GKE, EKS, Karpenter and AKS label it.
pub fn spot_labels<'a>(label: impl Fn(&str) -> Option<&'a str>) -> bool {
    let label = |k: &str| label(k).map(str::to_ascii_lowercase);
    label("cloud.google.com/gke-spot").as_deref() == Some("true")
        || label("cloud.google.com/gke-preemptible").as_deref() == Some("true")
        || label("eks.amazonaws.com/capacityType").as_deref() == Some("spot")
        || label("karpenter.sh/capacity-type").as_deref() == Some("spot")
        || label("kubernetes.azure.com/scalesetpriority").as_deref() == Some("spot")
}

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct PoolSummary {
    pub name: String,
    pub role: String,
    pub nodes: usize,
    pub ready: usize,
    pub spot: bool,
    pub gpu_product: Option<String>,
    pub gpus: i64,
    /// GPUs requested by pods bound to the pool's nodes and not finished.
    pub gpus_allocated: i64,
}

/// Per pool, ordered by name.
pub fn summarize<'a>(
    nodes: impl IntoIterator<Item = &'a Node>,
    pods: impl IntoIterator<Item = &'a Pod>,
) -> Vec<PoolSummary> {
    let mut pools: BTreeMap<String, PoolSummary> = BTreeMap::new();
    let mut pool_of_node: BTreeMap<&str, String> = BTreeMap::new();
    for node in nodes {
        let name = pool_of(node).to_string();
        pool_of_node.insert(&node.meta.name, name.clone());
        let pool = pools.entry(name.clone()).or_insert_with(|| PoolSummary {
            name,
            role: node.meta.label(ROLE_LABEL).unwrap_or("").to_string(),
            ..PoolSummary::default()
        });
        pool.nodes += 1;
        pool.ready += usize::from(node.ready);
        pool.spot |= is_spot(node);
        pool.gpus += node.allocatable.gpus;
        if pool.gpu_product.is_none() {
            pool.gpu_product = node.meta.label(GPU_PRODUCT_LABEL).map(String::from);
        }
    }
    for pod in pods.into_iter().filter(|p| p.holds_resources()) {
        if let Some(pool) = pool_of_node
            .get(pod.node.as_str())
            .and_then(|p| pools.get_mut(p))
        {
            pool.gpus_allocated += pod.requests.gpus;
        }
    }
    pools.into_values().collect()
}
