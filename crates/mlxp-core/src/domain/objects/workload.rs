//! Training: batch/v1 Jobs and the Kueue Workloads that queue them.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::meta::{Condition, Meta, is_true};
use super::{RawContainer, Resources, container_requests, null_default};

pub const QUEUE_NAME_LABEL: &str = "kueue.x-k8s.io/queue-name";

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(from = "RawJob")]
pub struct Job {
    pub meta: Meta,
    pub parallelism: i32,
    pub completions: i32,
    pub suspend: bool,
    /// What one of its pods asks for.
    pub pod_requests: Resources,
    /// The pool its template selects (`mlxp.io/pool` in nodeSelector), if any.
    pub pool: Option<String>,
    pub active: i32,
    pub succeeded: i32,
    pub failed: i32,
    pub conditions: Vec<Condition>,
    pub start_time: Option<DateTime<Utc>>,
    pub completion_time: Option<DateTime<Utc>>,
}

impl Job {
    pub fn complete(&self) -> bool {
        is_true(&self.conditions, "Complete")
    }

    pub fn failed_for_good(&self) -> bool {
        is_true(&self.conditions, "Failed")
    }

    pub fn queue(&self) -> Option<&str> {
        self.meta.label(QUEUE_NAME_LABEL)
    }

    /// When it ended: its completionTime, which a Job that failed may not have, else when
    /// it was marked Failed.
    pub fn finished_at(&self) -> Option<DateTime<Utc>> {
        self.completion_time
            .or_else(|| self.failed().and_then(|c| c.last_transition_time))
    }

    /// Why it failed, as the Job controller says it: `Reason: message`.
    pub fn failure(&self) -> Option<String> {
        let failed = self.failed()?;
        let said: Vec<&str> = [failed.reason.as_deref(), failed.message.as_deref()]
            .into_iter()
            .flatten()
            .filter(|s| !s.is_empty())
            .collect();
        Some(if said.is_empty() {
            "Failed".to_string()
        } else {
            said.join(": ")
        })
    }

    fn failed(&self) -> Option<&Condition> {
        super::meta::find(&self.conditions, "Failed").filter(|c| c.status == "True")
    }
}

#[derive(Deserialize)]
struct RawJob {
    #[serde(default)]
    metadata: Meta,
    #[serde(default)]
    spec: RawJobSpec,
    #[serde(default)]
    status: RawJobStatus,
}

#[derive(Default, Deserialize)]
struct RawJobSpec {
    #[serde(default)]
    parallelism: Option<i32>,
    #[serde(default)]
    completions: Option<i32>,
    #[serde(default)]
    suspend: Option<bool>,
    #[serde(default)]
    template: RawTemplate,
}

#[derive(Default, Deserialize)]
struct RawTemplate {
    #[serde(default)]
    spec: RawPodSpec,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawPodSpec {
    #[serde(default, deserialize_with = "null_default")]
    containers: Vec<RawContainer>,
    #[serde(default, deserialize_with = "null_default")]
    node_selector: std::collections::BTreeMap<String, String>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawJobStatus {
    #[serde(default)]
    active: Option<i32>,
    #[serde(default)]
    succeeded: Option<i32>,
    #[serde(default)]
    failed: Option<i32>,
    #[serde(default, deserialize_with = "null_default")]
    conditions: Vec<Condition>,
    #[serde(default)]
    start_time: Option<DateTime<Utc>>,
    #[serde(default)]
    completion_time: Option<DateTime<Utc>>,
}

impl From<RawJob> for Job {
    fn from(raw: RawJob) -> Self {
        let spec = raw.spec;
        Job {
            parallelism: spec.parallelism.unwrap_or(1),
            completions: spec.completions.unwrap_or(1),
            suspend: spec.suspend.unwrap_or(false),
            pod_requests: container_requests(&spec.template.spec.containers),
            pool: spec
                .template
                .spec
                .node_selector
                .get("mlxp.io/pool")
                .cloned(),
            active: raw.status.active.unwrap_or(0),
            succeeded: raw.status.succeeded.unwrap_or(0),
            failed: raw.status.failed.unwrap_or(0),
            conditions: raw.status.conditions,
            start_time: raw.status.start_time,
            completion_time: raw.status.completion_time,
            meta: raw.metadata,
        }
    }
}

/// A Kueue Workload: one queued Job, its demand and where it stands.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(from = "RawWorkload")]
pub struct Workload {
    pub meta: Meta,
    pub queue: String,
    pub priority: i32,
    /// Pods × what each asks for, over all pod sets.
    pub requests: Resources,
    pub conditions: Vec<Condition>,
    /// The ClusterQueue holding its quota, once reserved.
    pub cluster_queue: Option<String>,
    /// The flavor assigned to its GPUs, once reserved.
    pub gpu_flavor: Option<String>,
    /// spec.active: false when stopped (kueuectl stop workload).
    pub active: bool,
}

impl Workload {
    pub fn admitted(&self) -> bool {
        is_true(&self.conditions, "Admitted")
    }

    pub fn finished(&self) -> bool {
        is_true(&self.conditions, "Finished")
    }

    /// Waiting for quota: neither holding it nor done.
    pub fn pending(&self) -> bool {
        !self.finished() && !is_true(&self.conditions, "QuotaReserved")
    }

    /// Why it waits, as Kueue says it (the QuotaReserved=False message).
    pub fn pending_reason(&self) -> Option<&str> {
        super::meta::find(&self.conditions, "QuotaReserved")
            .filter(|c| c.status == "False")
            .and_then(|c| c.message.as_deref())
    }
}

#[derive(Deserialize)]
struct RawWorkload {
    #[serde(default)]
    metadata: Meta,
    #[serde(default)]
    spec: RawWorkloadSpec,
    #[serde(default)]
    status: RawWorkloadStatus,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawWorkloadSpec {
    #[serde(default)]
    queue_name: Option<String>,
    #[serde(default)]
    priority: Option<i32>,
    #[serde(default)]
    active: Option<bool>,
    #[serde(default, deserialize_with = "null_default")]
    pod_sets: Vec<RawPodSet>,
}

#[derive(Deserialize)]
struct RawPodSet {
    #[serde(default)]
    count: Option<i64>,
    #[serde(default)]
    template: RawTemplate,
}

#[derive(Default, Deserialize)]
struct RawWorkloadStatus {
    #[serde(default, deserialize_with = "null_default")]
    conditions: Vec<Condition>,
    #[serde(default)]
    admission: Option<RawAdmission>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawAdmission {
    #[serde(default)]
    cluster_queue: Option<String>,
    #[serde(default, deserialize_with = "null_default")]
    pod_set_assignments: Vec<RawAssignment>,
}

#[derive(Deserialize)]
struct RawAssignment {
    #[serde(default, deserialize_with = "null_default")]
    flavors: std::collections::BTreeMap<String, String>,
}

impl From<RawWorkload> for Workload {
    fn from(raw: RawWorkload) -> Self {
        let mut requests = Resources::default();
        for set in &raw.spec.pod_sets {
            let one = container_requests(&set.template.spec.containers);
            let n = set.count.unwrap_or(1);
            requests.add(&Resources {
                cpu_milli: one.cpu_milli * n,
                memory: one.memory * n,
                gpus: one.gpus * n,
            });
        }
        let admission = raw.status.admission;
        Workload {
            active: raw.spec.active != Some(false),
            queue: raw.spec.queue_name.unwrap_or_default(),
            priority: raw.spec.priority.unwrap_or(0),
            requests,
            conditions: raw.status.conditions,
            gpu_flavor: admission.as_ref().and_then(|a| {
                a.pod_set_assignments
                    .iter()
                    .find_map(|p| p.flavors.get("nvidia.com/gpu").cloned())
            }),
            cluster_queue: admission.and_then(|a| a.cluster_queue),
            meta: raw.metadata,
        }
    }
}
