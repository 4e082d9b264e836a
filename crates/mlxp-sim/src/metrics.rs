//! `GET /metrics`: what the cluster's exporters would report, from the simulated state, in
//! the Prometheus text format — DCGM's per-GPU metrics to start with.
//!
//! Each GPU of a node is handed to the pods bound there in order (as the device plugin does),
//! and reports: busy for a running training pod, ~0 % for a pod that holds it without using
//! it (`sim.mlxp.io/gpu-idle: "true"`: the waste the cockpit points out), a traffic-like load
//! for serving pods, nothing when free. Values move with the simulated clock and are the same
//! for the same object and minute.

use std::collections::BTreeMap;
use std::fmt::Write;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::api::ApiState;
use super::controllers::scheduling::requests_of;
use super::ids::stable_hash;

pub const GPU_IDLE: &str = "sim.mlxp.io/gpu-idle";

/// One GPU's report.
#[derive(Debug, Clone, PartialEq)]
pub struct GpuSample {
    pub node: String,
    pub index: i64,
    pub uuid: String,
    pub model: String,
    /// (namespace, pod, container) of the pod it is allocated to.
    pub pod: Option<(String, String, String)>,
    pub util: f64,
    pub fb_used_mib: f64,
    pub fb_free_mib: f64,
    pub power_watts: f64,
}

/// Memory (MiB) and power range (W) of the GPU products the sim knows.
fn product(model: &str) -> (f64, f64, f64) {
    match model {
        m if m.contains("H100") => (81559.0, 70.0, 700.0),
        m if m.contains("A100") => (81920.0, 55.0, 400.0),
        m if m.contains("L4") => (23034.0, 16.0, 72.0),
        _ => (16384.0, 20.0, 250.0),
    }
}

/// Every GPU in the cluster at `now`.
pub fn gpu_samples(state: &ApiState, now: DateTime<Utc>) -> Vec<GpuSample> {
    // Pods holding GPUs, per node, in the order they were placed.
    let mut holders: BTreeMap<String, Vec<(String, String, i64, Value)>> = BTreeMap::new();
    for pod in state.list_objects("", "pods") {
        let Some(node) = pod["spec"]["nodeName"].as_str().filter(|n| !n.is_empty()) else {
            continue;
        };
        if matches!(
            pod["status"]["phase"].as_str(),
            Some("Succeeded" | "Failed")
        ) {
            continue;
        }
        let gpus = requests_of(&pod).gpus();
        if gpus > 0 {
            let created = pod["metadata"]["creationTimestamp"]
                .as_str()
                .unwrap_or("")
                .to_string();
            let name = pod["metadata"]["name"].as_str().unwrap_or("").to_string();
            holders
                .entry(node.to_string())
                .or_default()
                .push((created, name, gpus, pod));
        }
    }
    let minute = state.clock.scenario_time(now).timestamp() / 60;
    let mut samples = Vec::new();
    for node in state.list_objects("", "nodes") {
        let name = node["metadata"]["name"].as_str().unwrap_or("").to_string();
        let count: i64 = node["status"]["allocatable"]["nvidia.com/gpu"]
            .as_str()
            .and_then(|g| g.parse().ok())
            .unwrap_or(0);
        if count == 0 {
            continue;
        }
        let model = node["metadata"]["labels"]["nvidia.com/gpu.product"]
            .as_str()
            .unwrap_or("NVIDIA-GPU")
            .to_string();
        let (memory, idle_watts, max_watts) = product(&model);
        let mut owners: Vec<Option<&Value>> = Vec::new();
        if let Some(pods) = holders.get_mut(&name) {
            pods.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
            for (_, _, gpus, pod) in pods.iter() {
                for _ in 0..*gpus {
                    owners.push(Some(pod));
                }
            }
        }
        for index in 0..count {
            let uuid = format!("GPU-{:08x}-{:04x}", stable_hash(&name), index);
            let owner = owners.get(index as usize).copied().flatten();
            let noise = (stable_hash(&format!("{uuid}/{minute}")) % 1000) as f64 / 1000.0;
            let util = match owner {
                None => 0.0,
                Some(pod) if pod["metadata"]["annotations"][GPU_IDLE] == "true" => noise * 2.0,
                Some(pod) if pod["status"]["phase"] != "Running" => 0.0,
                Some(pod) if pod["metadata"]["annotations"]["sim.mlxp.io/duration"].is_string() => {
                    88.0 + noise * 11.0
                }
                Some(_) => 35.0 + noise * 30.0,
            };
            let fb_used = match owner {
                None => 0.0,
                Some(_) => (memory * (0.12 + util / 100.0 * 0.75)).round(),
            };
            samples.push(GpuSample {
                node: name.clone(),
                index,
                uuid,
                model: model.clone(),
                pod: owner.map(|p| {
                    (
                        p["metadata"]["namespace"]
                            .as_str()
                            .unwrap_or("")
                            .to_string(),
                        p["metadata"]["name"].as_str().unwrap_or("").to_string(),
                        p["spec"]["containers"][0]["name"]
                            .as_str()
                            .unwrap_or("")
                            .to_string(),
                    )
                }),
                util: util.round(),
                fb_used_mib: fb_used,
                fb_free_mib: memory - fb_used,
                power_watts: ((idle_watts + (max_watts - idle_watts) * util / 100.0) * 10.0)
                    .round()
                    / 10.0,
            });
        }
    }
    samples
}

/// Kueue's own metrics, from its ClusterQueues' status (what kueue-controller-manager exports).
fn render_kueue(state: &ApiState, out: &mut String) {
    let queues: Vec<Value> = state
        .list_objects("kueue.x-k8s.io", "clusterqueues")
        .collect();
    let _ = writeln!(
        out,
        "# HELP kueue_pending_workloads The number of pending workloads, per 'cluster_queue' and 'status'.\n# TYPE kueue_pending_workloads gauge"
    );
    for cq in &queues {
        let name = cq["metadata"]["name"].as_str().unwrap_or("");
        let pending = cq["status"]["pendingWorkloads"].as_i64().unwrap_or(0);
        let _ = writeln!(
            out,
            "kueue_pending_workloads{{cluster_queue=\"{name}\",status=\"active\"}} {pending}"
        );
    }
    let _ = writeln!(
        out,
        "# HELP kueue_cluster_queue_resource_usage Reports the cluster_queue's total resource usage.\n# TYPE kueue_cluster_queue_resource_usage gauge"
    );
    for cq in &queues {
        let name = cq["metadata"]["name"].as_str().unwrap_or("");
        for flavor in cq["status"]["flavorsUsage"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let flavor_name = flavor["name"].as_str().unwrap_or("");
            for resource in flavor["resources"].as_array().into_iter().flatten() {
                let total = resource["total"]
                    .as_str()
                    .and_then(mlxp_core::domain::quantity::parse_milli)
                    .map_or(0.0, |milli| milli as f64 / 1000.0);
                let _ = writeln!(
                    out,
                    "kueue_cluster_queue_resource_usage{{cluster_queue=\"{name}\",flavor=\"{flavor_name}\",resource=\"{}\"}} {total}",
                    resource["name"].as_str().unwrap_or("")
                );
            }
        }
    }
}

/// The whole exposition.
pub fn render(state: &ApiState) -> String {
    let samples = gpu_samples(state, state.clock.now());
    let mut out = String::with_capacity(samples.len() * 1200);
    state
        .traffic
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .render(&mut out);
    super::quality::render(state, state.clock.now(), &mut out);
    render_kueue(state, &mut out);
    for (name, help, value) in [
        (
            "DCGM_FI_DEV_GPU_UTIL",
            "GPU utilization (in %).",
            (|s: &GpuSample| s.util) as fn(&GpuSample) -> f64,
        ),
        (
            "DCGM_FI_DEV_FB_USED",
            "Framebuffer memory used (in MiB).",
            |s| s.fb_used_mib,
        ),
        (
            "DCGM_FI_DEV_FB_FREE",
            "Framebuffer memory free (in MiB).",
            |s| s.fb_free_mib,
        ),
        ("DCGM_FI_DEV_POWER_USAGE", "Power draw (in W).", |s| {
            s.power_watts
        }),
    ] {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
        for s in &samples {
            let _ = write!(
                out,
                "{name}{{gpu=\"{}\",UUID=\"{}\",device=\"nvidia{}\",modelName=\"{}\",Hostname=\"{}\"",
                s.index, s.uuid, s.index, s.model, s.node
            );
            if let Some((namespace, pod, container)) = &s.pod {
                let _ = write!(
                    out,
                    ",container=\"{container}\",namespace=\"{namespace}\",pod=\"{pod}\""
                );
            }
            let _ = writeln!(out, "}} {}", value(s));
        }
    }
    out
}
