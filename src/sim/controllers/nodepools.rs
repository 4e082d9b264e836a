//! Node pools: a cluster autoscaler per pool and spot reclamation.
//!
//! Pools are defined in the ConfigMap `kube-system/mlxp-sim-node-pools` (key `pools.json`,
//! a list of `PoolSpec`), so they can be read and changed with kubectl. The autoscaler adds a
//! node when a pod that no node can hold would fit a fresh node of the pool (after the
//! provisioning delay, up to `max`), and removes nodes that stayed empty for the idle period
//! (sooner when cordoned), down to `min`. A spot node is reclaimed now and then (or when
//! annotated `sim.mlxp.io/preempt: "true"`): NotReady, its pods fail with reason
//! `Preempted` so their Jobs retry within backoffLimit, and the node goes away.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::scheduling::{NodeInfo, PodNeeds, schedule};
use crate::sim::api::ApiState;
use crate::sim::api::internal::EventKind;
use crate::sim::clock::timestamp;
use crate::sim::ids;

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
            "nodeInfo": {"kubeletVersion": "v1.33.0", "kubeProxyVersion": "v1.33.0",
                         "osImage": "Ubuntu 22.04.4 LTS", "kernelVersion": "6.8.0-1015-gcp",
                         "containerRuntimeVersion": "containerd://1.7.22",
                         "operatingSystem": "linux", "architecture": "amd64"},
        },
    })
}

#[derive(Default)]
pub struct NodePools {
    last: Option<DateTime<Utc>>,
    /// Pool → when a scale-up was decided (the node appears after the provisioning delay).
    provisioning: BTreeMap<String, Vec<DateTime<Utc>>>,
    /// Node → since when it has been empty.
    empty_since: HashMap<String, DateTime<Utc>>,
    /// Node → when it was reclaimed (deleted after the reclaim delay).
    reclaimed: HashMap<String, DateTime<Utc>>,
}

fn pool_of(node: &Value) -> &str {
    node["metadata"]["labels"]["mlxp.io/pool"]
        .as_str()
        .unwrap_or("")
}

impl NodePools {
    /// One pass every 10 simulated seconds; returns how many objects it changed.
    pub fn reconcile(&mut self, state: &ApiState, now: DateTime<Utc>) -> usize {
        let elapsed = match self.last {
            Some(last) if now < last + Duration::seconds(10) => return 0,
            Some(last) => (now - last).num_seconds() as f64,
            None => 0.0,
        };
        self.last = Some(now);
        let Some(pools) = pools(state) else {
            return 0;
        };
        let nodes: Vec<Value> = state.list_objects("", "nodes").collect();
        let pods: Vec<Value> = state
            .list_objects("", "pods")
            .filter(|p| !matches!(p["status"]["phase"].as_str(), Some("Succeeded" | "Failed")))
            .collect();
        let mut changed = self.reclaim(state, &pools, &nodes, &pods, elapsed, now);
        changed += self.scale_up(state, &pools, &nodes, &pods, now);
        changed += self.scale_down(state, &pools, &nodes, &pods, now);
        changed
    }

    fn scale_up(
        &mut self,
        state: &ApiState,
        pools: &[PoolSpec],
        nodes: &[Value],
        pods: &[Value],
        now: DateTime<Utc>,
    ) -> usize {
        let unschedulable: Vec<PodNeeds> = pods
            .iter()
            .filter(|p| {
                p["spec"]["nodeName"].as_str().unwrap_or("").is_empty()
                    && p["status"]["conditions"].as_array().is_some_and(|c| {
                        c.iter()
                            .any(|c| c["type"] == "PodScheduled" && c["reason"] == "Unschedulable")
                    })
            })
            .map(PodNeeds::from_json)
            .collect();
        let mut changed = 0;
        for pool in pools {
            let existing = nodes.iter().filter(|n| pool_of(n) == pool.name).count();
            let requested = self.provisioning.entry(pool.name.clone()).or_default();
            // Bring up the nodes whose provisioning delay has passed.
            let (ready, waiting): (Vec<_>, Vec<_>) = requested
                .iter()
                .partition(|t| now >= **t + Duration::seconds(PROVISION_DELAY));
            *requested = waiting;
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
                }
            }
            // Decide new nodes: pending pods that would fit a fresh node of this pool.
            let template = match NodeInfo::from_json(&node_object(pool, "new", 0, &timestamp(now)))
            {
                Some(t) => t,
                None => continue,
            };
            let mut fresh: Vec<NodeInfo> = Vec::new();
            for needs in &unschedulable {
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
        nodes: &[Value],
        pods: &[Value],
        now: DateTime<Utc>,
    ) -> usize {
        let mut changed = 0;
        for pool in pools {
            let mut count = nodes.iter().filter(|n| pool_of(n) == pool.name).count();
            for node in nodes.iter().filter(|n| pool_of(n) == pool.name) {
                let name = node["metadata"]["name"].as_str().unwrap_or("").to_string();
                let busy = pods.iter().any(|p| p["spec"]["nodeName"] == name.as_str());
                if busy {
                    self.empty_since.remove(&name);
                    continue;
                }
                let since = *self.empty_since.entry(name.clone()).or_insert(now);
                let cordoned = node["spec"]["unschedulable"] == true;
                let idle = if cordoned {
                    CORDONED_IDLE_BEFORE_REMOVAL
                } else {
                    IDLE_BEFORE_REMOVAL
                };
                if count > pool.min
                    && now >= since + Duration::seconds(idle)
                    && state.delete_object("", "nodes", "", &name)
                {
                    changed += 1;
                    count -= 1;
                    self.empty_since.remove(&name);
                }
            }
        }
        changed
    }

    fn reclaim(
        &mut self,
        state: &ApiState,
        pools: &[PoolSpec],
        nodes: &[Value],
        pods: &[Value],
        elapsed: f64,
        now: DateTime<Utc>,
    ) -> usize {
        let mut changed = 0;
        for node in nodes {
            let name = node["metadata"]["name"].as_str().unwrap_or("").to_string();
            if let Some(at) = self.reclaimed.get(&name) {
                if now >= *at + Duration::seconds(RECLAIM_DELAY)
                    && state.delete_object("", "nodes", "", &name)
                {
                    // Pods of a node that is gone are removed, as the pod garbage collector does.
                    for pod in pods
                        .iter()
                        .filter(|p| p["spec"]["nodeName"] == name.as_str())
                    {
                        let ns = pod["metadata"]["namespace"].as_str().unwrap_or("");
                        let pod_name = pod["metadata"]["name"].as_str().unwrap_or("");
                        state.delete_object("", "pods", ns, pod_name);
                    }
                    self.reclaimed.remove(&name);
                    changed += 1;
                }
                continue;
            }
            let Some(pool) = pools.iter().find(|p| p.name == pool_of(node) && p.spot) else {
                continue;
            };
            let asked = node["metadata"]["annotations"][PREEMPT] == "true";
            let chance = pool.preemptions_per_hour * elapsed / 3600.0;
            let unlucky = chance > 0.0 && state.random(|rng| rng.random_bool(chance.min(1.0)));
            if asked || unlucky {
                changed += self.reclaim_node(state, node, pods, now);
            }
        }
        changed
    }

    /// The cloud takes a spot node back: it goes NotReady and its pods fail.
    fn reclaim_node(
        &mut self,
        state: &ApiState,
        node: &Value,
        pods: &[Value],
        now: DateTime<Utc>,
    ) -> usize {
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
        for pod in pods
            .iter()
            .filter(|p| p["spec"]["nodeName"] == name.as_str())
        {
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
