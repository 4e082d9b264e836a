//! The decision core of Kueue (kueue.x-k8s.io/v1beta1, as in Kueue v0.9–v0.13) as a pure
//! function of state: ClusterQueues, LocalQueues, ResourceFlavors, Workloads and batch/v1 Jobs
//! go in, the actions to take come out (reconcile, as in kube-rs controller-rs). No I/O; the
//! caller applies them.
//!
//! Modelled: the batch/Job integration (suspend a queued Job, one Workload per Job, start it
//! with its flavors' node labels and tolerations once admitted, Finished when the Job ends),
//! the workload controller's Inadmissible reasons, the scheduler with StrictFIFO /
//! BestEffortFIFO queues, the flavor assigner with the default flavor fungibility (the first
//! flavor of the ResourceGroup where every requested resource fits), and the ClusterQueue /
//! LocalQueue status. Quota reservation and admission happen at once (no admission checks).
//!
//! Left out: cohorts, borrowing / lending limits, preemption, fair sharing, admission checks,
//! partial admission, topology-aware scheduling, PriorityClass / WorkloadPriorityClass lookup
//! (spec.priority is used as stored; Workloads made here get 0), waitForPodsReady, the
//! resource-in-use finalizer, and re-creating a Workload when its Job's spec changes.
//!
//! Stopping (kueuectl stop / resume): a Workload with `spec.active: false` is evicted
//! (reason InactiveWorkload) and queued nowhere; a LocalQueue or ClusterQueue with stopPolicy
//! Hold admits nothing new, and with HoldAndDrain also evicts what it admitted (reasons
//! LocalQueueStopped, ClusterQueueStopped). An evicted Workload's Job is suspended; set back,
//! it is queued again and Evicted turns False.
//!
//! ClusterQueue namespaceSelector as in Kueue: null admits no namespace, `{}` every one. The
//! state carries no Namespace objects, so a selector sees only kubernetes.io/metadata.name.
//!
//! One reconcile stands for as many scheduling cycles as it takes: per ClusterQueue the pending
//! Workloads are tried in queue order against the quota left by those already holding it,
//! including the ones admitted earlier in the same reconcile.
//!
//! Layout: `model` (amounts, ResourceFlavors, ClusterQueues, LocalQueues), `job` (queued Jobs
//! and the Workloads made for them), `workload` (Workload views), `assign` (flavor assignment
//! and fit), `cycle` (the reconcile itself), `status` (conditions, queue statuses).

mod assign;
mod cycle;
mod job;
mod model;
mod status;
#[cfg(test)]
mod stop_tests;
#[cfg(test)]
mod testkit;
mod workload;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

pub use job::workload_name;

#[derive(Debug, Clone, PartialEq)]
pub enum KueueAction {
    /// Suspend a Job that carries the kueue.x-k8s.io/queue-name label and is not admitted (Kueue's webhook does this on create).
    SuspendJob { namespace: String, name: String },
    /// Create the Workload for a queued Job: name "job-<jobname>-<5 hex of a SHA-1 over the Job's kind, group, name and uid>"
    /// (Kueue's GetWorkloadNameForOwnerWithGVK), ownerReference to the Job (controller), spec.queueName,
    /// spec.podSets [{name: "main", count: min(parallelism, completions), template: the Job's pod template}],
    /// spec.priority 0, label kueue.x-k8s.io/job-uid. The caller fills metadata.name/namespace/ownerReferences
    /// from this Value as given.
    CreateWorkload { workload: Value },
    /// Replace a Workload's status (conditions QuotaReserved / Admitted / Finished with reasons and messages, and
    /// status.admission {clusterQueue, podSetAssignments:[{name, flavors: {"nvidia.com/gpu": flavor, "cpu": flavor...}, resourceUsage, count}]}).
    SetWorkloadStatus {
        namespace: String,
        name: String,
        status: Value,
    },
    /// Admit: unsuspend the Job and inject the flavor's nodeLabels into the pod template's nodeSelector and its tolerations
    /// (ResourceFlavor spec.nodeLabels / spec.tolerations), as Kueue's job integration does on start.
    StartJob {
        namespace: String,
        name: String,
        node_selector: Map<String, Value>,
        tolerations: Vec<Value>,
    },
    /// Replace a ClusterQueue's status: pendingWorkloads, reservingWorkloads, admittedWorkloads,
    /// flavorsReservation/flavorsUsage [{name: flavor, resources: [{name: "nvidia.com/gpu", total: "16", borrowed: "0"}]}],
    /// conditions [{type: Active, status: True, reason: Ready, message: "Can admit new workloads"}].
    SetClusterQueueStatus { name: String, status: Value },
    /// Replace a LocalQueue's status: pendingWorkloads, reservingWorkloads, admittedWorkloads,
    /// flavorsReservation/flavorUsage, conditions Active.
    SetLocalQueueStatus {
        namespace: String,
        name: String,
        status: Value,
    },
}

/// Everything Kueue looks at, as stored objects.
pub struct KueueState<'a> {
    pub cluster_queues: &'a [Value],
    pub local_queues: &'a [Value],
    pub flavors: &'a [Value],
    pub workloads: &'a [Value],
    /// batch/v1 Jobs (all namespaces).
    pub jobs: &'a [Value],
}

/// The label that hands a Job to Kueue; Jobs without it are not Kueue's.
pub const QUEUE_NAME_LABEL: &str = "kueue.x-k8s.io/queue-name";
/// The label on a Workload naming its Job's uid.
pub const JOB_UID_LABEL: &str = "kueue.x-k8s.io/job-uid";
/// kueue.DefaultPodSetName: a batch Job has one pod set.
const POD_SET_NAME: &str = "main";
/// Every namespace carries this label with its own name; the only one visible here.
const NAMESPACE_NAME_LABEL: &str = "kubernetes.io/metadata.name";
/// Labels the Job controller puts on the pod template; Kueue keeps them out of the Workload.
const JOB_MANAGED_LABELS: [&str; 4] = [
    "job-name",
    "controller-uid",
    "batch.kubernetes.io/job-name",
    "batch.kubernetes.io/controller-uid",
];
/// Workload names: 253 characters at most, 6 of them for "-" and the hash.
const MAX_NAME_PREFIX: usize = 253 - 1 - HASH_LENGTH;
const HASH_LENGTH: usize = 5;
/// Counts in the Kueue and Job APIs are int32.
const MAX_COUNT: i64 = i32::MAX as i64;

const REASON_PENDING: &str = "Pending";
const REASON_INADMISSIBLE: &str = "Inadmissible";
const MSG_NAMESPACE_MISMATCH: &str = "Workload namespace doesn't match ClusterQueue selector";
const MSG_ADMITTED: &str = "The workload is admitted";
const MSG_NO_RESERVATION: &str = "The workload has no reservation";
const MSG_CQ_ACTIVE: &str = "Can admit new workloads";
const MSG_LQ_ACTIVE: &str = "Can submit new workloads to localQueue";
const MSG_LQ_INACTIVE: &str = "Can't submit new workloads to clusterQueue";
const MSG_LQ_STOPPED: &str = "LocalQueue is stopped";

/// One reconcile of the whole queueing system at `now`.
///
/// Apply the actions in order before the next call; a Workload created here is queued from
/// the next reconcile on. Applying them all and calling again yields no actions.
pub fn reconcile(state: &KueueState, now: DateTime<Utc>) -> Vec<KueueAction> {
    cycle::plan(state, now).actions
}

/// The pending workloads of a ClusterQueue in admission order, with why each waits — for the
/// cockpit's queue view and tests.
///
/// This is what stays pending after [`reconcile`] at this state. The reason is the message of
/// the Workload's QuotaReserved=False condition that reconcile writes, except for Workloads
/// stuck behind the head of a StrictFIFO queue: Kueue never tries (or writes) those, so the
/// reason names the head they wait for.
pub fn pending_in_order(state: &KueueState, cluster_queue: &str) -> Vec<(String, String)> {
    // The time only stamps conditions, which this view does not return.
    cycle::plan(state, DateTime::<Utc>::UNIX_EPOCH)
        .queues
        .remove(cluster_queue)
        .unwrap_or_default()
}

#[derive(Default)]
struct Plan {
    actions: Vec<KueueAction>,
    /// ClusterQueue name → its pending Workloads ("ns/name", reason) in queue order.
    queues: BTreeMap<String, Vec<(String, String)>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controllers::kueue::testkit::*;

    #[test]
    fn jobs_follow_their_workloads() {
        let mut w = five_jobs("StrictFIFO");
        // Someone unsuspends a queued Job, and suspends a running one.
        World::find(&mut w.jobs, NS, "train-4")["spec"]["suspend"] = json!(false);
        World::find(&mut w.jobs, NS, "train-0")["spec"]["suspend"] = json!(true);
        let actions = w.step(6);
        assert!(actions.contains(&KueueAction::SuspendJob {
            namespace: NS.into(),
            name: "train-4".into()
        }));
        assert!(actions.iter().any(|a| matches!(a,
            KueueAction::StartJob { name, node_selector, .. }
                if name == "train-0" && node_selector[SPOT_LABEL] == "true")));
        assert_eq!(w.workloads.len(), 5);
    }

    #[test]
    fn garbage_never_panics() {
        let junk = [
            Value::Null,
            json!(7),
            json!("x"),
            json!([1, {}]),
            json!({}),
            json!({"metadata": [], "spec": 3, "status": "s"}),
            json!({"metadata": {"name": 5, "namespace": {}, "labels": [], "ownerReferences": {}}}),
            json!({"metadata": {"name": "n", "namespace": "ml", "labels": {QUEUE_NAME_LABEL: "team"},
                                "creationTimestamp": "yesterday", "generation": "one",
                                "ownerReferences": [1, {"controller": true, "kind": "Job", "apiVersion": "batch/v1"}]},
                   "spec": {"queueName": 3, "priority": "high", "parallelism": -5, "completions": u64::MAX,
                            "suspend": "no", "template": [],
                            "podSets": [7, {"count": -1, "template": {"spec": {"containers": {}}}},
                                        {"name": "main", "count": u64::MAX, "template": {"spec": {
                                            "containers": [1, {"resources": {"requests": {"cpu": "1e400", "memory": -1,
                                                "nvidia.com/gpu": "9223372036854775807"}}}],
                                            "initContainers": "x", "overhead": [],
                                            "nodeSelector": {"a": 1},
                                            "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution":
                                                {"nodeSelectorTerms": [{"matchExpressions": [{"key": SPOT_LABEL, "operator": "Gt", "values": ["x"]}]}, 5]}}},
                                            "tolerations": [1, {"operator": 5}]}}}],
                            "queueingStrategy": 1, "namespaceSelector": {"matchLabels": 4, "matchExpressions": [1]},
                            "resourceGroups": [5, {"coveredResources": "cpu", "flavors": [{"name": 1}, {"name": SPOT, "resources": [{"name": "nvidia.com/gpu", "nominalQuota": "-3"}, 2]}]},
                                               {"coveredResources": ["nvidia.com/gpu", 3], "flavors": [{"name": SPOT, "resources": {}}]}],
                            "clusterQueue": ["gpu"], "nodeLabels": {"a": 1}, "nodeTaints": [{"effect": "NoExecute"}, 3], "tolerations": 5},
                   "status": {"conditions": [1, {"type": "QuotaReserved", "status": "True"}, {"type": "Finished"}],
                              "admission": {"clusterQueue": "gpu", "podSetAssignments": [3, {"flavors": {"cpu": 1, "nvidia.com/gpu": SPOT},
                                            "resourceUsage": {"nvidia.com/gpu": "lots"}}]},
                              "active": "yes"}}),
        ];
        let mut mixed = World::new("StrictFIFO");
        mixed.submit("ok", 8, 0);
        mixed.settle(1);
        for now in [at(0), DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC] {
            let state = KueueState {
                cluster_queues: &junk,
                local_queues: &junk,
                flavors: &junk,
                workloads: &junk,
                jobs: &junk,
            };
            let _ = reconcile(&state, now);
            let _ = pending_in_order(&state, "gpu");
            let _ = pending_in_order(&state, "");
            let all =
                |base: &[Value]| -> Vec<Value> { base.iter().chain(&junk).cloned().collect() };
            let (cqs, lqs, flavors, wls, jobs) = (
                all(&mixed.cqs),
                all(&mixed.lqs),
                all(&mixed.flavors),
                all(&mixed.workloads),
                all(&mixed.jobs),
            );
            let state = KueueState {
                cluster_queues: &cqs,
                local_queues: &lqs,
                flavors: &flavors,
                workloads: &wls,
                jobs: &jobs,
            };
            let _ = reconcile(&state, now);
            let _ = pending_in_order(&state, "gpu");
        }
        // Nothing at all: nothing to do.
        let empty = KueueState {
            cluster_queues: &[],
            local_queues: &[],
            flavors: &[],
            workloads: &[],
            jobs: &[],
        };
        assert_eq!(reconcile(&empty, at(0)), []);
    }
}
