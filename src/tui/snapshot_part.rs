//! What the Overview shows that a metrics frame does not change, kept between frames: each
//! node's pool (5,000 nodes at xlarge) and the sums over every node, pod and job (150,000
//! pods). A metrics frame every five seconds used to build both again; idle means near zero.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Weak};

use imbl::OrdMap;

use crate::cluster::{Kind, ObjectKey, Snapshot};
use mlxp_core::domain::cost::PriceTable;
use mlxp_core::domain::objects::Node;
use mlxp_core::domain::pools::{PoolSummary, pool_of, summarize};
use mlxp_core::domain::training::admission_order;
use mlxp_core::health::{self, Alert};

/// Each node's pool, with the nodes it was read from: a metrics frame asks it for each of
/// its GPUs, and it needs building again only when the nodes change.
#[derive(Debug, Clone, Default)]
pub struct NodePools {
    /// The snapshot's node map it was built from (a clone shares its tree, so telling
    /// whether the nodes changed is one pointer comparison).
    nodes: OrdMap<ObjectKey, Arc<Node>>,
    pools: HashMap<String, String>,
}

impl NodePools {
    pub fn of(nodes: &Kind<Node>) -> Self {
        NodePools {
            nodes: nodes.items.clone(),
            pools: nodes
                .values()
                .map(|n| (n.meta.name.clone(), pool_of(n).to_string()))
                .collect(),
        }
    }

    /// Whether it was built from these very nodes.
    pub fn is_of(&self, nodes: &Kind<Node>) -> bool {
        self.nodes.ptr_eq(&nodes.items)
    }

    pub fn get(&self, node: &str) -> Option<&str> {
        self.pools.get(node).map(String::as_str)
    }
}

/// What the Overview shows that depends on the snapshot and the prices alone: sums over
/// every node, pod and job (tens of milliseconds at 150,000 pods), so built once per
/// snapshot and not again for each metrics frame.
#[derive(Debug, Clone)]
pub struct SnapshotPart {
    pub node_pools: Arc<NodePools>,
    pub pools: Vec<PoolSummary>,
    pub burn: BTreeMap<String, f64>,
    pub queue_head: Vec<(String, i64)>,
    pub alerts: Vec<Alert>,
}

pub fn snapshot_part(
    snapshot: &Snapshot,
    prices: &PriceTable,
    node_pools: Arc<NodePools>,
) -> SnapshotPart {
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
    SnapshotPart {
        node_pools,
        pools: summarize(
            snapshot.nodes.values().map(|n| n.as_ref()),
            snapshot.pods.values().map(|p| p.as_ref()),
        ),
        burn: prices.burn_by_pool(snapshot.nodes.values().map(|n| n.as_ref())),
        queue_head,
        alerts: health::snapshot_alerts(snapshot, prices),
    }
}

/// Both, each kept until what it was built from changes.
#[derive(Debug, Default)]
pub struct Kept {
    node_pools: Arc<NodePools>,
    /// With the snapshot (weak: it keeps no old snapshot alive, and its address is not
    /// reused while it lives) and the prices it was built from.
    part: Option<(Weak<Snapshot>, PriceTable, Arc<SnapshotPart>)>,
    /// How often each was built: what a metrics frame must not cause.
    pub builds: Builds,
}

/// Counts of the builds that metrics frames must not repeat, for tests and benches.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Builds {
    pub node_pools: u64,
    pub snapshot_parts: u64,
}

impl Kept {
    /// Each node's pool, built again only when the nodes changed.
    pub fn node_pools(&mut self, nodes: &Kind<Node>) -> Arc<NodePools> {
        if self.builds.node_pools == 0 || !self.node_pools.is_of(nodes) {
            self.node_pools = Arc::new(NodePools::of(nodes));
            self.builds.node_pools += 1;
        }
        self.node_pools.clone()
    }

    /// The Overview's snapshot part, built again only for another snapshot or other prices.
    pub fn snapshot_part(
        &mut self,
        snapshot: &Arc<Snapshot>,
        prices: &PriceTable,
    ) -> Arc<SnapshotPart> {
        if let Some((of, priced, part)) = &self.part
            && std::ptr::eq(of.as_ptr(), Arc::as_ptr(snapshot))
            && priced == prices
        {
            return part.clone();
        }
        let node_pools = self.node_pools(&snapshot.nodes);
        let part = Arc::new(snapshot_part(snapshot, prices, node_pools));
        self.builds.snapshot_parts += 1;
        self.part = Some((Arc::downgrade(snapshot), prices.clone(), part.clone()));
        part
    }
}
