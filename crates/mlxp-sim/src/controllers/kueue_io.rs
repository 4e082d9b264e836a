//! Kueue's I/O: when a ClusterQueue, LocalQueue, ResourceFlavor, Workload or Job changed,
//! read them all, let `kueue::reconcile` decide, and carry it out (Jobs suspended and
//! started, Workloads created, Workload and queue statuses written).
//!
//! Runs before the Job controller in a pass, so a queued Job is suspended before it could get
//! pods. Its own writes are changes like any other: the next pass looks again, until nothing
//! is left to do (`kueue::reconcile` reaches a fixpoint).

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::kueue::{self, KueueAction, KueueState, QUEUE_NAME_LABEL};
use super::mirror::{Mirror, hash_of};
use super::queue::{Work, WorkQueue};
use crate::api::ApiState;
use crate::resources::StoreKey;

const KUEUE: &str = "kueue.x-k8s.io";

pub struct KueueController {
    queue: WorkQueue,
    /// Decoded Workloads and queued Jobs, kept between passes.
    workloads: Mirror,
    jobs: Mirror,
}

fn key(group: &str, plural: &str) -> StoreKey {
    StoreKey {
        group: group.into(),
        plural: plural.into(),
    }
}

impl KueueController {
    pub fn new(state: &ApiState) -> Self {
        KueueController {
            queue: WorkQueue::new(
                &state.store,
                vec![
                    key(KUEUE, "clusterqueues"),
                    key(KUEUE, "localqueues"),
                    key(KUEUE, "resourceflavors"),
                    key(KUEUE, "workloads"),
                    key("batch", "jobs"),
                ],
            ),
            workloads: Mirror::default(),
            jobs: Mirror::new(queued_job_fingerprint),
        }
    }

    /// One pass: nothing unless something Kueue looks at changed; then the whole queueing
    /// system at once (admission is a decision across every queue, not per object).
    pub fn reconcile(&mut self, state: &ApiState, now: DateTime<Utc>) -> usize {
        let only_jobs = match self.queue.take(now) {
            Work::Some(refs) if refs.is_empty() => return 0,
            Work::Some(refs) => refs.iter().all(|(kind, _, _)| kind.plural == "jobs"),
            Work::All => false,
        };
        self.workloads
            .refresh(&state.list_stored(KUEUE, "workloads", |_| true));
        // Only Jobs with the queue-name label are Kueue's.
        let jobs_changed = self.jobs.refresh(&state.list_stored("batch", "jobs", |j| {
            j.label(QUEUE_NAME_LABEL).is_some_and(|q| !q.is_empty())
        }));
        // A Job's pods coming and going (its status counters) decides nothing here.
        if only_jobs && !jobs_changed {
            return 0;
        }
        let cluster_queues: Vec<Value> = state.list_objects(KUEUE, "clusterqueues").collect();
        let local_queues: Vec<Value> = state.list_objects(KUEUE, "localqueues").collect();
        let flavors: Vec<Value> = state.list_objects(KUEUE, "resourceflavors").collect();
        let actions = kueue::reconcile(
            &KueueState {
                cluster_queues: &cluster_queues,
                local_queues: &local_queues,
                flavors: &flavors,
                workloads: self.workloads.values(),
                jobs: self.jobs.values(),
            },
            now,
        );
        actions
            .into_iter()
            .map(|action| usize::from(apply(state, action)))
            .sum()
    }
}

/// What of a Job Kueue decides on: its identity, labels, spec, whether it finished, and
/// whether a suspended Job still has pods (its Workload is made once they are gone). A
/// running Job's pods coming and going do not matter to it.
fn queued_job_fingerprint(job: &Value) -> u64 {
    let suspended_with_pods =
        job["spec"]["suspend"] == true && job["status"]["active"].as_i64().unwrap_or(0) > 0;
    hash_of(&[
        &job["metadata"]["uid"],
        &job["metadata"]["labels"],
        &job["metadata"]["deletionTimestamp"],
        &job["spec"],
        &job["status"]["conditions"],
        &Value::Bool(suspended_with_pods),
    ])
}

/// Carries out one action on the object as stored now; whether it was written.
fn apply(state: &ApiState, action: KueueAction) -> bool {
    match action {
        KueueAction::SuspendJob { namespace, name } => {
            update(state, "batch", "jobs", &namespace, &name, |job| {
                job["spec"]["suspend"] = json!(true);
            })
        }
        KueueAction::CreateWorkload { mut workload } => {
            if workload["metadata"]["namespace"]
                .as_str()
                .is_none_or(str::is_empty)
            {
                workload["metadata"]["namespace"] = json!("default");
            }
            state.create_object(workload).is_ok()
        }
        KueueAction::SetWorkloadStatus {
            namespace,
            name,
            status,
        } => update(state, KUEUE, "workloads", &namespace, &name, |wl| {
            wl["status"] = status;
        }),
        KueueAction::SetClusterQueueStatus { name, status } => {
            update(state, KUEUE, "clusterqueues", "", &name, |cq| {
                cq["status"] = status;
            })
        }
        KueueAction::SetLocalQueueStatus {
            namespace,
            name,
            status,
        } => update(state, KUEUE, "localqueues", &namespace, &name, |lq| {
            lq["status"] = status;
        }),
        KueueAction::StartJob {
            namespace,
            name,
            node_selector,
            tolerations,
        } => update(state, "batch", "jobs", &namespace, &name, |job| {
            start(job, node_selector, tolerations);
        }),
    }
}

/// Reads an object, changes it, writes it back; false when it is gone or changed meanwhile.
fn update(
    state: &ApiState,
    group: &str,
    plural: &str,
    namespace: &str,
    name: &str,
    change: impl FnOnce(&mut Value),
) -> bool {
    let Some(mut object) = state.get_object(group, plural, namespace, name) else {
        return false;
    };
    change(&mut object);
    state.replace_object(group, plural, object)
}

/// What Kueue's job integration does on start: the flavors' node labels merged into the pod
/// template's nodeSelector, their tolerations appended, and the Job unsuspended.
fn start(job: &mut Value, node_selector: Map<String, Value>, tolerations: Vec<Value>) {
    job["spec"]["suspend"] = json!(false);
    let spec = &mut job["spec"]["template"]["spec"];
    if !spec.is_object() {
        *spec = json!({});
    }
    if !node_selector.is_empty() && !spec["nodeSelector"].is_object() {
        spec["nodeSelector"] = json!({});
    }
    if let Some(selector) = spec.get_mut("nodeSelector").and_then(Value::as_object_mut) {
        selector.extend(node_selector);
    }
    if !spec["tolerations"].is_array() {
        spec["tolerations"] = json!([]);
    }
    if let Some(list) = spec["tolerations"].as_array_mut() {
        list.extend(tolerations);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_merges_the_selector_and_appends_tolerations() {
        let mut job = json!({"spec": {"suspend": true, "template": {"spec": {
            "nodeSelector": {"team": "ml"},
            "tolerations": [{"key": "a", "operator": "Exists"}],
        }}}});
        let selector = json!({"mlxp.io/pool": "training"})
            .as_object()
            .cloned()
            .unwrap_or_default();
        start(
            &mut job,
            selector,
            vec![json!({"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"})],
        );
        assert_eq!(job["spec"]["suspend"], false);
        let spec = &job["spec"]["template"]["spec"];
        assert_eq!(
            spec["nodeSelector"],
            json!({"team": "ml", "mlxp.io/pool": "training"})
        );
        assert_eq!(spec["tolerations"].as_array().map(Vec::len), Some(2));

        // A template without a spec still gets one.
        let mut bare = json!({"spec": {"suspend": true}});
        start(&mut bare, Map::new(), Vec::new());
        assert_eq!(bare["spec"]["template"]["spec"], json!({"tolerations": []}));
    }
}
