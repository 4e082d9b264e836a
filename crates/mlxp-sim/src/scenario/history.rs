//! What a platform has left behind: finished data-preparation Jobs (Indexed, up to 100 pods
//! each) from the days before, with their Succeeded pods — never cleaned up, because these
//! Jobs carry no `ttlSecondsAfterFinished`. On big clusters such pods are most of the pod
//! list, which is what makes listing pods slow in other tools; the cockpit must cope.
//!
//! They are written as the Job controller and kubelets left them, without replaying them.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use super::create;
use crate::api::ApiState;
use crate::clock::timestamp;
use crate::controllers::job::COMPLETION_INDEX;
use crate::ids;

pub const NAMESPACE: &str = "data";
/// Most pods one data-preparation Job runs.
const PODS_PER_JOB: usize = 100;
/// The finished Jobs are spread over this many hours before the warm-up.
const SPREAD_HOURS: i64 = 72;
const DATASETS: &[&str] = &[
    "clicks",
    "transactions",
    "images",
    "sessions",
    "support-chats",
];

/// `pods` finished pods in Jobs of up to 100, on `nodes` (where they ran).
pub fn populate(state: &ApiState, pods: usize, nodes: &[String]) -> anyhow::Result<()> {
    if pods == 0 || nodes.is_empty() {
        return Ok(());
    }
    let now = state.clock.now();
    let jobs = pods.div_ceil(PODS_PER_JOB);
    let mut node = 0;
    for j in 0..jobs {
        let completions = PODS_PER_JOB.min(pods - j * PODS_PER_JOB);
        let finished = now - Duration::minutes((jobs - j) as i64 * SPREAD_HOURS * 60 / jobs as i64);
        let started = finished - Duration::minutes(20 + (j % 7) as i64 * 5);
        let dataset = DATASETS[j % DATASETS.len()];
        let name = format!("prep-{dataset}-{}", 1000 + j);
        let job = create(
            state,
            finished_job(&name, dataset, completions, started, finished),
        )?;
        for index in 0..completions {
            create(
                state,
                finished_pod(
                    state,
                    &job,
                    index,
                    &nodes[node % nodes.len()],
                    started,
                    finished,
                ),
            )?;
            node += 1;
        }
    }
    Ok(())
}

fn finished_job(
    name: &str,
    dataset: &str,
    completions: usize,
    started: DateTime<Utc>,
    finished: DateTime<Utc>,
) -> Value {
    json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": {"app": "data-prep", "mlxp.io/dataset": dataset},
                     "creationTimestamp": timestamp(started)},
        "spec": {
            "completions": completions, "parallelism": 20, "completionMode": "Indexed", "backoffLimit": 6,
            "template": {
                "metadata": {"labels": {"app": "data-prep", "mlxp.io/dataset": dataset}},
                "spec": {"restartPolicy": "Never",
                         "containers": [{"name": "prep", "image": "ghcr.io/mlxp/data-prep:1.8",
                                         "args": ["--dataset", dataset, "--shards", completions.to_string()],
                                         "resources": {"requests": {"cpu": "2", "memory": "8Gi"}}}]},
            },
        },
        "status": {
            "conditions": [{"type": "Complete", "status": "True", "lastProbeTime": timestamp(finished),
                            "lastTransitionTime": timestamp(finished)}],
            "startTime": timestamp(started), "completionTime": timestamp(finished),
            "succeeded": completions, "active": 0, "ready": 0, "terminating": 0,
            "completedIndexes": if completions == 1 { "0".to_string() } else { format!("0-{}", completions - 1) },
            "uncountedTerminatedPods": {},
        },
    })
}

fn finished_pod(
    state: &ApiState,
    job: &Value,
    index: usize,
    node: &str,
    started: DateTime<Utc>,
    finished: DateTime<Utc>,
) -> Value {
    let job_name = job["metadata"]["name"].as_str().unwrap_or("");
    let uid = job["metadata"]["uid"].as_str().unwrap_or("");
    let template = &job["spec"]["template"];
    let (started, finished) = (timestamp(started), timestamp(finished));
    let mut labels = template["metadata"]["labels"].clone();
    for (label, value) in [
        ("batch.kubernetes.io/job-name", job_name),
        ("job-name", job_name),
        ("batch.kubernetes.io/controller-uid", uid),
        ("controller-uid", uid),
        (COMPLETION_INDEX, &index.to_string()),
    ] {
        labels[label] = json!(value);
    }
    let container = &template["spec"]["containers"][0];
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "name": format!("{job_name}-{index}-{}", state.random(ids::name_suffix)),
            "namespace": NAMESPACE, "labels": labels,
            "annotations": {COMPLETION_INDEX: index.to_string()},
            "creationTimestamp": started,
            "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": job_name, "uid": uid,
                                 "controller": true, "blockOwnerDeletion": true}],
        },
        "spec": {"nodeName": node, "restartPolicy": "Never", "schedulerName": "default-scheduler",
                 "containers": [container],
                 "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]},
        "status": {
            "phase": "Succeeded", "startTime": started, "qosClass": "Burstable",
            "conditions": [
                {"type": "PodScheduled", "status": "True", "lastTransitionTime": started},
                {"type": "Ready", "status": "False", "reason": "PodCompleted", "lastTransitionTime": finished},
            ],
            "containerStatuses": [{
                "name": "prep", "ready": false, "started": false, "restartCount": 0,
                "image": container["image"], "imageID": "",
                "state": {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": started, "finishedAt": finished}},
            }],
        },
    })
}
