//! The Job controller's I/O: which Jobs to reconcile, and carrying out what `job::reconcile`
//! decides (pods created with their owner reference and labels, pods deleted, status
//! written, finished Jobs removed after their TTL) and the Event the job-controller records
//! when a Job finishes.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::job::{self, JobAction};
use super::queue::{Work, WorkQueue};
use crate::api::ApiState;
use crate::api::internal::EventKind;
use crate::ids;
use crate::resources::StoreKey;

pub struct JobController {
    queue: WorkQueue,
}

fn key(group: &str, plural: &str) -> StoreKey {
    StoreKey {
        group: group.into(),
        plural: plural.into(),
    }
}

impl JobController {
    pub fn new(state: &ApiState) -> Self {
        JobController {
            queue: WorkQueue::new(&state.store, vec![key("batch", "jobs"), key("", "pods")]),
        }
    }

    /// One pass over the Jobs that changed, whose pods changed, or that are due.
    pub fn reconcile(&mut self, state: &ApiState, now: DateTime<Utc>) -> usize {
        let jobs: Vec<Value> = match self.queue.take(now) {
            Work::All => state.list_objects("batch", "jobs").collect(),
            Work::Some(refs) => {
                let mut names: Vec<(String, String)> = refs
                    .into_iter()
                    .filter_map(|(kind, ns, name)| match kind.plural.as_str() {
                        "jobs" => Some((ns, name)),
                        // A Job's pods are named <job>-<suffix>: that finds the Job even
                        // when the pod is already gone.
                        _ => name.rsplit_once('-').map(|(job, _)| (ns, job.to_string())),
                    })
                    .collect();
                names.sort();
                names.dedup();
                names
                    .iter()
                    .filter_map(|(ns, name)| state.get_object("batch", "jobs", ns, name))
                    .collect()
            }
        };
        let mut changed = 0;
        for job in jobs {
            changed += self.reconcile_one(state, &job, now);
        }
        changed
    }

    fn reconcile_one(&mut self, state: &ApiState, job: &Value, now: DateTime<Utc>) -> usize {
        let uid = job["metadata"]["uid"].as_str().unwrap_or("");
        let pods = state.owned_by(uid);
        let namespace = job["metadata"]["namespace"]
            .as_str()
            .unwrap_or("")
            .to_string();
        let name = job["metadata"]["name"].as_str().unwrap_or("").to_string();
        let mut changed = 0;
        for action in job::reconcile(job, &pods, now) {
            let done = match action {
                JobAction::CreatePod { pod } => {
                    state.create_object(owned_pod(state, job, pod)).is_ok()
                }
                JobAction::DeletePod { name } => state.delete_object("", "pods", &namespace, &name),
                JobAction::SetStatus { status } => {
                    let end = job::finished(&job["status"], &status);
                    let mut next = job.clone();
                    next["status"] = status;
                    let written = state.replace_object("batch", "jobs", next);
                    if let (true, Some(end)) = (written, end) {
                        let kind = if end.failed {
                            EventKind::Warning
                        } else {
                            EventKind::Normal
                        };
                        state.record_event(job, kind, &end.reason, &end.message, COMPONENT);
                    }
                    written
                }
                JobAction::DeleteJob => state.delete_object("batch", "jobs", &namespace, &name),
            };
            changed += usize::from(done);
        }
        let pods = state.owned_by(uid);
        if let Some(at) = job::next_due_with_pods(job, &pods, now) {
            self.queue.after(
                at.max(now + chrono::Duration::seconds(1)),
                (key("batch", "jobs"), namespace, name),
            );
        }
        changed
    }
}

/// Who reports the Job controller's Events, as in kube-controller-manager.
const COMPONENT: &str = "job-controller";

/// The pod a Job asked for, named and labelled as the Job controller does.
fn owned_pod(state: &ApiState, job: &Value, mut pod: Value) -> Value {
    let meta = &job["metadata"];
    let job_name = meta["name"].as_str().unwrap_or("");
    let uid = meta["uid"].as_str().unwrap_or("");
    let prefix = pod["metadata"]["generateName"]
        .as_str()
        .map(String::from)
        .unwrap_or_else(|| format!("{job_name}-"));
    pod["metadata"]["name"] = json!(format!("{prefix}{}", state.random(ids::name_suffix)));
    pod["metadata"]["namespace"] = meta["namespace"].clone();
    if !pod["metadata"]["labels"].is_object() {
        pod["metadata"]["labels"] = json!({});
    }
    for (label, value) in [
        ("batch.kubernetes.io/job-name", job_name),
        ("job-name", job_name),
        ("batch.kubernetes.io/controller-uid", uid),
        ("controller-uid", uid),
    ] {
        pod["metadata"]["labels"][label] = json!(value);
    }
    pod["metadata"]["ownerReferences"] = json!([{
        "apiVersion": "batch/v1", "kind": "Job", "name": job_name, "uid": uid,
        "controller": true, "blockOwnerDeletion": true,
    }]);
    pod
}
