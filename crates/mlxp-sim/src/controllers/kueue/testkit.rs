//! Test fixtures shared by the Kueue tests: a spot and an on-demand H100 flavor, a
//! ClusterQueue over both, training Jobs, and a `World` that applies the actions as the
//! controller would.

// What every Kueue test uses, for `use testkit::*`.
pub(super) use chrono::{DateTime, Utc};
pub(super) use serde_json::{Value, json};

pub(super) use super::{
    KueueAction, KueueState, QUEUE_NAME_LABEL, pending_in_order, reconcile, workload_name,
};
pub(super) use crate::clock::timestamp;

pub(super) const SPOT: &str = "h100-spot";
pub(super) const ON_DEMAND: &str = "h100-ondemand";
pub(super) const NS: &str = "ml";
pub(super) const SPOT_LABEL: &str = "cloud.google.com/gke-spot";
pub(super) const PRODUCT_LABEL: &str = "nvidia.com/gpu.product";
pub(super) const H100: &str = "NVIDIA-H100-80GB-HBM3";

pub(super) fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_790_000_000 + secs, 0).unwrap_or_default()
}

pub(super) fn gpu_toleration() -> Value {
    json!({"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"})
}

pub(super) fn spot_toleration() -> Value {
    json!({"key": SPOT_LABEL, "operator": "Equal", "value": "true", "effect": "NoSchedule"})
}

pub(super) fn flavor(name: &str, spot: bool) -> Value {
    let mut tolerations = vec![gpu_toleration()];
    if spot {
        tolerations.push(spot_toleration());
    }
    json!({"metadata": {"name": name}, "spec": {
        "nodeLabels": {SPOT_LABEL: if spot { "true" } else { "false" }, PRODUCT_LABEL: H100},
        "tolerations": tolerations,
    }})
}

/// A ClusterQueue covering cpu, memory and GPUs; per flavor 16 cpus and 128Gi per GPU.
pub(super) fn cluster_queue(name: &str, strategy: &str, quotas: &[(&str, i64)]) -> Value {
    let flavors: Vec<Value> = quotas
        .iter()
        .map(|(f, gpus)| {
            json!({"name": f, "resources": [
                {"name": "cpu", "nominalQuota": gpus * 16},
                {"name": "memory", "nominalQuota": format!("{}Gi", gpus * 128)},
                {"name": "nvidia.com/gpu", "nominalQuota": gpus},
            ]})
        })
        .collect();
    json!({"metadata": {"name": name, "generation": 1}, "spec": {
        "queueingStrategy": strategy,
        "namespaceSelector": {},
        "resourceGroups": [{"coveredResources": ["cpu", "memory", "nvidia.com/gpu"], "flavors": flavors}],
    }})
}

pub(super) fn local_queue(ns: &str, name: &str, cq: &str) -> Value {
    json!({"metadata": {"name": name, "namespace": ns, "generation": 1}, "spec": {"clusterQueue": cq}})
}

/// A one-pod training Job asking for `gpus` GPUs (as a limit), 12 cpus and 96Gi.
pub(super) fn job(name: &str, gpus: i64) -> Value {
    json!({
        "metadata": {"name": name, "namespace": NS, "uid": format!("uid-{name}"),
                     "labels": {QUEUE_NAME_LABEL: "team"}},
        "spec": {"parallelism": 1, "completions": 1, "template": {
            "metadata": {"labels": {"app": "train", "batch.kubernetes.io/job-name": name, "job-name": name}},
            "spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": "trainer",
                "resources": {"requests": {"cpu": "12", "memory": "96Gi"}, "limits": {"nvidia.com/gpu": gpus}}}]},
        }},
    })
}

pub(super) fn is_queue_status(a: &KueueAction) -> bool {
    matches!(
        a,
        KueueAction::SetClusterQueueStatus { .. } | KueueAction::SetLocalQueueStatus { .. }
    )
}

pub(super) fn wl_key(job: &str) -> String {
    format!("{NS}/{}", workload_name(job, &format!("uid-{job}")))
}

pub(super) fn cond(obj: &Value, kind: &str) -> Value {
    obj["status"]["conditions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == kind))
        .cloned()
        .unwrap_or(Value::Null)
}

/// The stored objects, with the actions applied as the caller would.
pub(super) struct World {
    pub(super) cqs: Vec<Value>,
    pub(super) lqs: Vec<Value>,
    pub(super) flavors: Vec<Value>,
    pub(super) workloads: Vec<Value>,
    pub(super) jobs: Vec<Value>,
}

impl World {
    pub(super) fn new(strategy: &str) -> Self {
        World {
            cqs: vec![cluster_queue(
                "gpu",
                strategy,
                &[(SPOT, 16), (ON_DEMAND, 8)],
            )],
            lqs: vec![local_queue(NS, "team", "gpu")],
            flavors: vec![flavor(SPOT, true), flavor(ON_DEMAND, false)],
            workloads: Vec::new(),
            jobs: Vec::new(),
        }
    }

    pub(super) fn state(&self) -> KueueState<'_> {
        KueueState {
            cluster_queues: &self.cqs,
            local_queues: &self.lqs,
            flavors: &self.flavors,
            workloads: &self.workloads,
            jobs: &self.jobs,
        }
    }

    pub(super) fn step(&mut self, secs: i64) -> Vec<KueueAction> {
        let actions = reconcile(&self.state(), at(secs));
        for a in &actions {
            self.apply(a, secs);
        }
        actions
    }

    /// Steps until nothing changes; the reconcile must reach a fixpoint.
    pub(super) fn settle(&mut self, secs: i64) {
        for _ in 0..6 {
            if self.step(secs).is_empty() {
                return;
            }
        }
        panic!("no fixpoint");
    }

    pub(super) fn submit(&mut self, name: &str, gpus: i64, secs: i64) {
        self.jobs.push(job(name, gpus));
        self.step(secs);
    }

    pub(super) fn find<'v>(list: &'v mut [Value], ns: &str, name: &str) -> &'v mut Value {
        list.iter_mut()
            .find(|o| o["metadata"]["name"] == name && o["metadata"]["namespace"] == ns)
            .expect("object exists")
    }

    pub(super) fn apply(&mut self, action: &KueueAction, secs: i64) {
        match action {
            KueueAction::SuspendJob { namespace, name } => {
                Self::find(&mut self.jobs, namespace, name)["spec"]["suspend"] = json!(true);
            }
            KueueAction::CreateWorkload { workload } => {
                let mut w = workload.clone();
                w["metadata"]["creationTimestamp"] = json!(timestamp(at(secs)));
                w["metadata"]["generation"] = json!(1);
                self.workloads.push(w);
            }
            KueueAction::SetWorkloadStatus {
                namespace,
                name,
                status,
            } => {
                Self::find(&mut self.workloads, namespace, name)["status"] = status.clone();
            }
            KueueAction::StartJob {
                namespace,
                name,
                node_selector,
                tolerations,
            } => {
                let job = Self::find(&mut self.jobs, namespace, name);
                job["spec"]["suspend"] = json!(false);
                let spec = &mut job["spec"]["template"]["spec"];
                for (k, v) in node_selector {
                    spec["nodeSelector"][k] = v.clone();
                }
                if !spec["tolerations"].is_array() {
                    spec["tolerations"] = json!([]);
                }
                if let Some(list) = spec["tolerations"].as_array_mut() {
                    list.extend(tolerations.iter().cloned());
                }
            }
            KueueAction::SetClusterQueueStatus { name, status } => {
                let cq = self
                    .cqs
                    .iter_mut()
                    .find(|c| c["metadata"]["name"] == name.as_str())
                    .expect("cq exists");
                cq["status"] = status.clone();
            }
            KueueAction::SetLocalQueueStatus {
                namespace,
                name,
                status,
            } => {
                Self::find(&mut self.lqs, namespace, name)["status"] = status.clone();
            }
        }
    }

    pub(super) fn wl(&self, job: &str) -> &Value {
        self.workloads
            .iter()
            .find(|w| w["metadata"]["ownerReferences"][0]["name"] == job)
            .expect("workload exists")
    }

    pub(super) fn job(&self, name: &str) -> &Value {
        self.jobs
            .iter()
            .find(|j| j["metadata"]["name"] == name)
            .expect("job exists")
    }

    pub(super) fn finish(&mut self, job: &str, ok: bool) {
        let (kind, message) = if ok {
            ("Complete", "Reached expected number of succeeded pods")
        } else {
            ("Failed", "Job has reached the specified backoff limit")
        };
        Self::find(&mut self.jobs, NS, job)["status"]["conditions"] =
            json!([{"type": kind, "status": "True", "message": message}]);
    }

    pub(super) fn flavor_of(&self, job: &str) -> Value {
        self.wl(job)["status"]["admission"]["podSetAssignments"][0]["flavors"]["nvidia.com/gpu"]
            .clone()
    }

    pub(super) fn pending(&self, cq: &str) -> Vec<(String, String)> {
        pending_in_order(&self.state(), cq)
    }
}

pub(super) fn insufficient(flavors: &[(&str, i64)]) -> String {
    let mut reasons: Vec<String> = flavors
        .iter()
        .map(|(f, n)| {
            format!("insufficient unused quota for nvidia.com/gpu in flavor {f}, {n} more needed")
        })
        .collect();
    reasons.sort();
    format!(
        "couldn't assign flavors to pod set main: {}",
        reasons.join(", ")
    )
}

/// Five 8-GPU jobs submitted a second apart into 16 spot + 8 on-demand GPUs.
pub(super) fn five_jobs(strategy: &str) -> World {
    let mut w = World::new(strategy);
    for i in 0..5 {
        w.submit(&format!("train-{i}"), 8, i);
    }
    w.settle(5);
    w
}
