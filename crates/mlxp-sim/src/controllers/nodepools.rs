//! Node pools: a cluster autoscaler per pool and spot reclamation.
//!
//! Pools are defined in the ConfigMap `kube-system/mlxp-sim-node-pools` (key `pools.json`,
//! a list of `PoolSpec`), so they can be read and changed with kubectl. The autoscaler adds a
//! node when a pod that no node can hold would fit a fresh node of the pool (after the
//! provisioning delay, up to `max`), and removes nodes that stayed empty for the idle period
//! (sooner when cordoned), down to `min`. A spot node is reclaimed now and then (or when
//! annotated `sim.mlxp.io/preempt: "true"`): NotReady, its pods fail with reason
//! `Preempted` so their Jobs retry within backoffLimit, and the node goes away.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::queue::{Work, WorkQueue};
use super::scheduling::{NodeInfo, PodNeeds, schedule};
use crate::api::ApiState;
use crate::api::internal::EventKind;
use crate::clock::timestamp;
use crate::ids;
use crate::resources::StoreKey;
use crate::store::StoredObject;

pub const POOLS_CONFIGMAP: &str = "mlxp-sim-node-pools";
pub const PREEMPT: &str = "sim.mlxp.io/preempt";
const PROVISION_DELAY: i64 = 90;
const IDLE_BEFORE_REMOVAL: i64 = 600;
const CORDONED_IDLE_BEFORE_REMOVAL: i64 = 60;
const RECLAIM_DELAY: i64 = 30;

/// One node pool: its node shape and bounds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PoolSpec {
    pub name: String,
    pub role: String,
    pub min: usize,
    pub max: usize,
    #[serde(default)]
    pub spot: bool,
    pub machine_type: String,
    pub cpu: u32,
    pub memory_gi: u32,
    #[serde(default)]
    pub gpus: u32,
    #[serde(default)]
    pub gpu_product: Option<String>,
    /// Expected reclamations per node-hour, for spot pools.
    #[serde(default)]
    pub preemptions_per_hour: f64,
}

/// A node of the pool as a cloud provider would register it.
pub fn node_object(pool: &PoolSpec, name: &str, index: usize, created: &str) -> Value {
    let zone = ["us-central1-a", "us-central1-b", "us-central1-c"][index % 3];
    let mut labels = json!({
        "kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
        "node.kubernetes.io/instance-type": pool.machine_type,
        "topology.kubernetes.io/zone": zone, "topology.kubernetes.io/region": "us-central1",
        "cloud.google.com/gke-nodepool": pool.name, "mlxp.io/pool": pool.name, "mlxp.io/role": pool.role,
    });
    if pool.spot {
        labels["cloud.google.com/gke-spot"] = json!("true");
    }
    let mut capacity = json!({
        "cpu": pool.cpu.to_string(), "memory": format!("{}Gi", pool.memory_gi),
        "pods": "110", "ephemeral-storage": "196Gi",
    });
    let mut taints = Vec::new();
    if let Some(product) = &pool.gpu_product {
        labels["nvidia.com/gpu.product"] = json!(product);
        labels["nvidia.com/gpu.count"] = json!(pool.gpus.to_string());
        labels["nvidia.com/gpu.present"] = json!("true");
        capacity["nvidia.com/gpu"] = json!(pool.gpus.to_string());
        taints.push(json!({"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}));
    }
    let condition = |kind: &str, status: &str, reason: &str, message: &str| {
        json!({"type": kind, "status": status, "reason": reason, "message": message,
               "lastHeartbeatTime": created, "lastTransitionTime": created})
    };
    json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": labels},
        "spec": {"providerID": format!("gce://mlxp-prod/{zone}/{name}"), "taints": taints},
        "status": {
            "capacity": capacity, "allocatable": capacity,
            "conditions": [
                condition("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                condition("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                condition("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
            ],
            "addresses": [{"type": "InternalIP", "address": format!("10.128.{}.{}", index / 250, index % 250 + 2)},
                          {"type": "Hostname", "address": name}],
            // machineID, systemUUID and bootID are required by the Node schema.
            "nodeInfo": {"machineID": crate::ids::stable_hex(name),
                         "systemUUID": crate::ids::stable_uuid(&format!("{name}/system")),
                         "bootID": crate::ids::stable_uuid(&format!("{name}/boot")),
                         "kubeletVersion": "v1.33.0", "kubeProxyVersion": "v1.33.0",
                         "osImage": "Ubuntu 22.04.4 LTS", "kernelVersion": "6.8.0-1015-gcp",
                         "containerRuntimeVersion": "containerd://1.7.22",
                         "operatingSystem": "linux", "architecture": "amd64"},
        },
    })
}

pub struct NodePools {
    last: Option<DateTime<Utc>>,
    /// Pool → when a scale-up was decided (the node appears after the provisioning delay).
    provisioning: BTreeMap<String, Vec<DateTime<Utc>>>,
    /// Node → since when it has been empty.
    empty_since: HashMap<String, DateTime<Utc>>,
    /// Node → when it was reclaimed (deleted after the reclaim delay).
    reclaimed: HashMap<String, DateTime<Utc>>,
    /// Node → the resourceVersion last looked at for the preempt annotation.
    seen: HashMap<String, u64>,
    /// Pod changes, so the pods' placement is kept up to date without listing them.
    pod_changes: WorkQueue,
    /// Unfinished pods bound to a node: pod → node.
    bound: HashMap<(String, String), String>,
    /// Pending pods with no node yet.
    unbound: BTreeSet<(String, String)>,
}

/// What the pool controller needs of a node, read from the store's indexes; the node is
/// decoded only when acted on (5,000 nodes every ten simulated seconds would cost a core).
struct NodeRow {
    name: String,
    pool: String,
    cordoned: bool,
    stored: Arc<StoredObject>,
}

impl NodeRow {
    fn new(stored: Arc<StoredObject>) -> Self {
        NodeRow {
            name: stored.name.to_string(),
            pool: stored.label("mlxp.io/pool").unwrap_or("").to_string(),
            cordoned: stored.field("spec.unschedulable") == Some("true"),
            stored,
        }
    }
}

fn finished(pod: &StoredObject) -> bool {
    matches!(pod.field("status.phase"), Some("Succeeded" | "Failed"))
}

/// The unfinished pods bound to `node`, decoded.
fn live_pods_on(state: &ApiState, node: &str) -> Vec<Value> {
    state
        .list_stored("", "pods", |p| {
            p.field("spec.nodeName") == Some(node) && !finished(p)
        })
        .iter()
        .map(|p| p.value())
        .collect()
}

impl NodePools {
    pub fn new(state: &ApiState) -> Self {
        NodePools {
            last: None,
            provisioning: BTreeMap::new(),
            empty_since: HashMap::new(),
            reclaimed: HashMap::new(),
            seen: HashMap::new(),
            pod_changes: WorkQueue::new(
                &state.store,
                vec![StoreKey {
                    group: String::new(),
                    plural: "pods".into(),
                }],
            ),
            bound: HashMap::new(),
            unbound: BTreeSet::new(),
        }
    }

    /// Where a pod stands for the pools: bound to a node, waiting for one, or neither.
    fn place(&mut self, key: (String, String), pod: Option<&StoredObject>) {
        let node = pod
            .filter(|p| !finished(p))
            .and_then(|p| p.field("spec.nodeName"))
            .filter(|n| !n.is_empty());
        let waiting = pod.is_some_and(|p| {
            p.field("status.phase") == Some("Pending")
                && p.field("spec.nodeName").unwrap_or("").is_empty()
        });
        match node {
            Some(node) => {
                self.bound.insert(key.clone(), node.to_string());
            }
            None => {
                self.bound.remove(&key);
            }
        }
        if waiting {
            self.unbound.insert(key);
        } else {
            self.unbound.remove(&key);
        }
    }

    fn track_pods(&mut self, state: &ApiState, now: DateTime<Utc>) {
        match self.pod_changes.take(now) {
            Work::All => {
                self.bound.clear();
                self.unbound.clear();
                for pod in state.list_stored("", "pods", |_| true) {
                    self.place(
                        (pod.namespace.to_string(), pod.name.to_string()),
                        Some(&pod),
                    );
                }
            }
            Work::Some(refs) => {
                for (kind, ns, name) in refs {
                    let pod = state.store.get(&kind, &ns, &name);
                    self.place((ns, name), pod.as_deref());
                }
            }
        }
    }

    /// One pass every 10 simulated seconds; returns how many objects it changed.
    pub fn reconcile(&mut self, state: &ApiState, now: DateTime<Utc>) -> usize {
        let elapsed = match self.last {
            Some(last) if now < last + Duration::seconds(10) => return 0,
            Some(last) => (now - last).num_seconds() as f64,
            None => 0.0,
        };
        self.last = Some(now);
        self.track_pods(state, now);
        let Some(pools) = pools(state) else {
            return 0;
        };
        let nodes: Vec<NodeRow> = state
            .list_stored("", "nodes", |_| true)
            .into_iter()
            .map(NodeRow::new)
            .collect();
        let names: HashSet<&str> = nodes.iter().map(|n| n.name.as_str()).collect();
        self.seen.retain(|name, _| names.contains(name.as_str()));
        let busy: HashSet<String> = self.bound.values().cloned().collect();
        let unschedulable: Vec<PodNeeds> = self
            .unbound
            .iter()
            .filter_map(|(ns, name)| state.get_object("", "pods", ns, name))
            .filter(|p| {
                p["status"]["conditions"].as_array().is_some_and(|c| {
                    c.iter()
                        .any(|c| c["type"] == "PodScheduled" && c["reason"] == "Unschedulable")
                })
            })
            .map(|p| PodNeeds::from_json(&p))
            .collect();
        let mut changed = self.reclaim(state, &pools, &nodes, elapsed, now);
        changed += self.scale_up(state, &pools, &nodes, &unschedulable, now);
        changed += self.scale_down(state, &pools, &nodes, &busy, now);
        changed
    }

    fn scale_up(
        &mut self,
        state: &ApiState,
        pools: &[PoolSpec],
        nodes: &[NodeRow],
        unschedulable: &[PodNeeds],
        now: DateTime<Utc>,
    ) -> usize {
        let mut changed = 0;
        for pool in pools {
            let existing = nodes.iter().filter(|n| n.pool == pool.name).count();
            let requested = self.provisioning.entry(pool.name.clone()).or_default();
            // Bring up the nodes whose provisioning delay has passed.
            let (ready, waiting): (Vec<_>, Vec<_>) = requested
                .iter()
                .partition(|t| now >= **t + Duration::seconds(PROVISION_DELAY));
            *requested = waiting;
            let mut added = 0;
            for _ in ready {
                let index = existing + changed;
                let name = format!(
                    "gke-mlxp-{}-{}",
                    pool.name,
                    state.random(|rng| ids::hex(rng, 8))
                );
                if state
                    .create_object(node_object(pool, &name, index, &timestamp(now)))
                    .is_ok()
                {
                    changed += 1;
                    added += 1;
                }
            }
            // A pool below its minimum (a reclaimed spot node) gets its nodes back, as the
            // cloud's instance group recreates them.
            let missing = pool.min.saturating_sub(existing + added + requested.len());
            requested.extend(std::iter::repeat_n(now, missing));
            if unschedulable.is_empty() {
                continue;
            }
            // Decide new nodes: pending pods that would fit a fresh node of this pool.
            let template = match NodeInfo::from_json(&node_object(pool, "new", 0, &timestamp(now)))
            {
                Some(t) => t,
                None => continue,
            };
            let mut fresh: Vec<NodeInfo> = Vec::new();
            for needs in unschedulable {
                if schedule(needs, std::slice::from_ref(&template)).is_err() {
                    continue;
                }
                match fresh
                    .iter_mut()
                    .find(|n| schedule(needs, std::slice::from_ref(*n)).is_ok())
                {
                    Some(node) => node.requested.add(&needs.requests),
                    None => {
                        let mut node = template.clone();
                        node.requested.add(&needs.requests);
                        fresh.push(node);
                    }
                }
            }
            let room = pool.max.saturating_sub(existing + requested.len());
            let wanted = fresh.len().saturating_sub(requested.len()).min(room);
            for _ in 0..wanted {
                requested.push(now);
            }
        }
        changed
    }

    fn scale_down(
        &mut self,
        state: &ApiState,
        pools: &[PoolSpec],
        nodes: &[NodeRow],
        busy: &HashSet<String>,
        now: DateTime<Utc>,
    ) -> usize {
        let mut changed = 0;
        for pool in pools {
            let mut count = nodes.iter().filter(|n| n.pool == pool.name).count();
            for node in nodes.iter().filter(|n| n.pool == pool.name) {
                if busy.contains(&node.name) {
                    self.empty_since.remove(&node.name);
                    continue;
                }
                let since = *self.empty_since.entry(node.name.clone()).or_insert(now);
                let idle = if node.cordoned {
                    CORDONED_IDLE_BEFORE_REMOVAL
                } else {
                    IDLE_BEFORE_REMOVAL
                };
                if count > pool.min
                    && now >= since + Duration::seconds(idle)
                    && state.delete_object("", "nodes", "", &node.name)
                {
                    changed += 1;
                    count -= 1;
                    self.empty_since.remove(&node.name);
                }
            }
        }
        changed
    }

    fn reclaim(
        &mut self,
        state: &ApiState,
        pools: &[PoolSpec],
        nodes: &[NodeRow],
        elapsed: f64,
        now: DateTime<Utc>,
    ) -> usize {
        let mut changed = 0;
        for node in nodes {
            if let Some(at) = self.reclaimed.get(&node.name) {
                if now >= *at + Duration::seconds(RECLAIM_DELAY)
                    && state.delete_object("", "nodes", "", &node.name)
                {
                    // Pods of a node that is gone are removed, as the pod garbage collector does.
                    for pod in live_pods_on(state, &node.name) {
                        let ns = pod["metadata"]["namespace"].as_str().unwrap_or("");
                        let pod_name = pod["metadata"]["name"].as_str().unwrap_or("");
                        state.delete_object("", "pods", ns, pod_name);
                    }
                    self.reclaimed.remove(&node.name);
                    changed += 1;
                }
                continue;
            }
            let Some(pool) = pools.iter().find(|p| p.name == node.pool && p.spot) else {
                continue;
            };
            let asked = self.asked_to_preempt(node);
            let chance = pool.preemptions_per_hour * elapsed / 3600.0;
            let unlucky = chance > 0.0 && state.random(|rng| rng.random_bool(chance.min(1.0)));
            if asked || unlucky {
                changed += self.reclaim_node(state, &node.stored.value(), now);
            }
        }
        changed
    }

    /// Whether the node is annotated to be preempted; looked at once per version of it.
    fn asked_to_preempt(&mut self, node: &NodeRow) -> bool {
        if self.seen.get(&node.name) == Some(&node.stored.rv) {
            return false;
        }
        self.seen.insert(node.name.clone(), node.stored.rv);
        node.stored.value()["metadata"]["annotations"][PREEMPT] == "true"
    }

    /// The cloud takes a spot node back: it goes NotReady and its pods fail.
    fn reclaim_node(&mut self, state: &ApiState, node: &Value, now: DateTime<Utc>) -> usize {
        let name = node["metadata"]["name"].as_str().unwrap_or("").to_string();
        let mut next = node.clone();
        if let Some(conditions) = next["status"]["conditions"].as_array_mut() {
            for c in conditions.iter_mut().filter(|c| c["type"] == "Ready") {
                c["status"] = json!("False");
                c["reason"] = json!("KubeletNotReady");
                c["message"] = json!("node is shutting down: spot instance preempted");
                c["lastTransitionTime"] = json!(timestamp(now));
            }
        }
        next["spec"]["unschedulable"] = json!(true);
        if !state.replace_object("", "nodes", next) {
            return 0;
        }
        state.record_event(
            node,
            EventKind::Warning,
            "Preempted",
            "Spot instance preempted by the cloud provider",
            "cloud-controller-manager",
        );
        for pod in live_pods_on(state, &name) {
            let mut failed = pod.clone();
            failed["status"]["phase"] = json!("Failed");
            failed["status"]["reason"] = json!("Preempted");
            failed["status"]["message"] = json!(format!("The node {name} was preempted"));
            if let Some(conditions) = failed["status"]["conditions"].as_array_mut() {
                conditions.push(json!({"type": "DisruptionTarget", "status": "True", "reason": "TerminationByKubelet",
                                       "message": "Pod was terminated in response to imminent node shutdown.",
                                       "lastTransitionTime": timestamp(now)}));
            }
            if let Some(statuses) = failed["status"]["containerStatuses"].as_array_mut() {
                for s in statuses {
                    let started = s["state"]["running"]["startedAt"].clone();
                    s["state"] = json!({"terminated": {"exitCode": 137, "reason": "Error",
                        "message": "node preempted", "startedAt": started, "finishedAt": timestamp(now)}});
                    s["ready"] = json!(false);
                }
            }
            state.replace_object("", "pods", failed);
        }
        self.reclaimed.insert(name, now);
        1
    }
}

/// The pools, from their ConfigMap; None when it is absent or unreadable.
pub fn pools(state: &ApiState) -> Option<Vec<PoolSpec>> {
    let cm = state.get_object("", "configmaps", "kube-system", POOLS_CONFIGMAP)?;
    serde_json::from_str(cm["data"]["pools.json"].as_str()?).ok()
}

/// The ConfigMap that defines `pools`.
pub fn pools_configmap(pools: &[PoolSpec]) -> Value {
    json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": POOLS_CONFIGMAP, "namespace": "kube-system"},
        "data": {"pools.json": serde_json::to_string_pretty(pools).unwrap_or_default()},
    })
}
